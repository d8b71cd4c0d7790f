"""«Urgente» is what people write to a town hall when something is urgent («Urgente! Albero caduto in via Roma» is
prose, but «Urgente», «urgente per favore» alone are common first messages to the counter). Taken as the choice
«solo urgenti», it subscribed someone who never asked (consent from a word that is not one) and moved a subscriber
who wrote it off «tutto». Like «TUTTO», the singular needs the town's keyword; the documented «URGENTI» and
«SOLO URGENTI» keep working alone."""

from __future__ import annotations

import pytest

from site_tools.service.keywords import choice
from site_tools.store.choices import URGENT_ONLY

from .test_choices import WA


@pytest.mark.parametrize("text", ["Urgente", "urgente!", "URGENTE per favore", "Urgente grazie"])
def test_urgente_alone_is_not_a_choice(text: str) -> None:
    assert choice(text, WA) is None


@pytest.mark.parametrize("text", ["VALFIORITA URGENTE", "urgenti", "solo urgenti", "VALFIORITA SOLO URGENTE"])
def test_the_documented_keywords_still_choose_urgent_only(text: str) -> None:
    assert choice(text, WA) == URGENT_ONLY
