"""Attack: the Channel invitation goes out during the transition, typically while the number is still in the phone
app (coexistence: 20 messages/s at most, shared with the app). A town whose WHATSAPP_MPS is its tier's 80/s must
still send the invitation at 20/s, as the bulletins and the service's replies are sent.
"""

from __future__ import annotations

from site_tools.content.limits import WHATSAPP_SHARED_APP_MPS
from site_tools.delivery.invitation import invite_options
from site_tools.settings import Settings

from .conftest import Town
from .test_coexistence_rate import in_coexistence


def test_the_invitation_keeps_to_the_shared_apps_rate(town: Town) -> None:
    settings = Settings.from_env({"WHATSAPP_MPS": "80", "WHATSAPP_PHONE_NUMBER_ID": "106540352242922"})
    assert invite_options(town.config, settings).rate == 80.0  # the Cloud API alone: its own tier
    assert invite_options(in_coexistence(town).config, settings).rate == WHATSAPP_SHARED_APP_MPS
