"""The one-off invitation to the town's WhatsApp Channel, sent to every active list subscriber once.

It goes through the fan-out and its ledger like a bulletin, under the pseudo-bulletin id :data:`INVITE_ID`: the
ledger's claim (``ON CONFLICT DO NOTHING`` on bulletin, channel, subscriber) is what makes it exactly-once, so a
crash and a rerun send only to those not yet served, and a second run sends nothing.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from site_tools.channels.base import FanOutReport
from site_tools.content.config import TownConfig
from site_tools.delivery.fanout import FanOut, FanOutOptions
from site_tools.render.whatsapp_template import invite_payload
from site_tools.settings import Settings, reveal
from site_tools.store import Store

#: The pseudo-bulletin the ledger records the invitation under (never a bulletin's id: those start with a date).
INVITE_ID = "invito-canale"
CHANNEL = "whatsapp_list"


@dataclass(frozen=True)
class InviteEstimate:
    #: Active subscribers not yet invited.
    recipients: int
    #: Subscribers the ledger holds a settled invitation for (accepted by Meta, or refused for good).
    already: int
    cost_eur: float


def estimate(store: Store, config: TownConfig) -> InviteEstimate:
    """Who would receive the invitation now, and what it costs (the town's price per template): the active
    subscribers without a row, plus those a run that stopped still owes it (retry, or an unknown outcome)."""
    held = sum(store.ledger.delivery_counts(INVITE_ID).get(CHANNEL, {}).values())
    owed = store.ledger.pending_count(INVITE_ID, CHANNEL)
    recipients = store.ledger.owed_to_active(INVITE_ID, CHANNEL)  # those invited and gone since are not counted
    return InviteEstimate(recipients, held - owed, recipients * config.price_per_template)


def invite_options(config: TownConfig, settings: Settings) -> FanOutOptions:
    """The fan-out's options: the town's rate (at most 20/s while the number is also in the phone app)."""
    return FanOutOptions(
        rate=config.whatsapp_rate(settings.whatsapp_mps), number_id=settings.whatsapp_phone_number_id or None
    )


async def send_invitation(
    store: Store, config: TownConfig, settings: Settings, options: FanOutOptions | None = None
) -> FanOutReport:
    """Send the invitation to every active subscriber without one (the ledger decides who)."""
    from site_tools.channels.cloud_api import WhatsAppCloud  # aiohttp: only when something is sent

    number_id = settings.whatsapp_phone_number_id or ""
    opts = options or invite_options(config, settings)
    run_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    store.ledger.start_run(run_id, os.getpid())
    async with WhatsAppCloud(
        settings.whatsapp_api_url, number_id, reveal(settings.whatsapp_token), timeout=settings.http_timeout
    ) as cloud:
        fan = FanOut(store, cloud, run_id, opts)
        return await fan.run(INVITE_ID, lambda to: invite_payload(to, INVITE_ID), "normal", CHANNEL)
