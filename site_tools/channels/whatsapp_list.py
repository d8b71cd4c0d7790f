"""The opt-in WhatsApp lists: an approved utility template to every subscriber, through the Cloud API.

Messages to the lists are business-initiated, so each is a template message
(:mod:`site_tools.render.whatsapp_template`); they go out through the
fan-out the delivery layer lends (rate-limited, resumable, once each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from site_tools.channels.base import Channel, Delivered, DeliveryContext, Estimate, Rendered, register, secret_problem
from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.content.dates import now
from site_tools.content.problems import Problem
from site_tools.formatting import number
from site_tools.render.links import Links
from site_tools.render.whatsapp_template import BUTTON_LABEL, CHANNEL_BUTTON_LABEL, TemplateMessage, render_template
from site_tools.settings import reveal

if TYPE_CHECKING:
    from site_tools.channels.cloud_api import WhatsAppCloud


@register
class WhatsAppListChannel(Channel):
    name = "whatsapp_list"
    order = 90  # the long one, after the one-post channels
    shared = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._cloud: WhatsAppCloud | None = None

    def missing_secrets(self) -> list[Problem]:
        if self.settings.whatsapp_token and self.settings.whatsapp_phone_number_id:
            return []
        return [
            secret_problem(
                "WHATSAPP_TOKEN",
                "mancano WHATSAPP_TOKEN o WHATSAPP_PHONE_NUMBER_ID.",
                "aggiungi i due segreti nelle impostazioni del repository (Settings › Secrets).",
            )
        ]

    def _message(self, bulletin: Bulletin, scheduled: bool = False) -> TemplateMessage:
        """The template as sent today (SITE_TOOLS_NOW for previews and tests), or on the bulletin's own day when it
        is ``scheduled`` later (the preview): the transition variant in its period."""
        day = now(self.config.timezone, self.settings.now).date()
        if scheduled:
            day = max(day, bulletin.date.astimezone(self.config.timezone).date())
        return render_template(bulletin, self.config, day)

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        message = self._message(bulletin, scheduled=True)
        text = f"{message.text}\n\n{message.footer}\n[Pulsante «{BUTTON_LABEL}»: {message.url}]"
        if message.channel_url:
            text += f"\n[Pulsante «{CHANNEL_BUTTON_LABEL}»: {message.channel_url}]"
        facts = f"modello «{message.name}», {len(message.text)}/{number(limits.TEMPLATE_BODY_MAX)} caratteri"
        return Rendered((text,), facts)

    def estimate(self, bulletin: Bulletin, audience: int, rate: float) -> Estimate:
        return Estimate(audience, audience / rate if rate else 0.0, audience * self.config.price_per_template, rate)

    async def open(self) -> None:
        from site_tools.channels.cloud_api import WhatsAppCloud  # aiohttp: imported only when the lists are used

        s = self.settings
        self._cloud = WhatsAppCloud(
            s.whatsapp_api_url,
            s.whatsapp_phone_number_id or "",
            reveal(s.whatsapp_token),
            max_in_flight=512,
            timeout=s.http_timeout,
        )
        await self._cloud.__aenter__()

    async def close(self) -> None:
        if self._cloud is not None:
            await self._cloud.__aexit__(None, None, None)
            self._cloud = None

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        if self._cloud is None:
            await self.open()
        assert self._cloud is not None
        message = self._message(bulletin)
        report = await ctx.fan_out(bulletin, self.name, message.payload, self._cloud)
        if report.state == "done":
            return Delivered("done", recipients=report.accepted, report=report, first_send_at=report.first_accept_at)
        return Delivered(
            report.state,
            report.reason or "",
            report=report,
            first_send_at=report.first_accept_at,
            channel_down=report.state == "failed",
        )
