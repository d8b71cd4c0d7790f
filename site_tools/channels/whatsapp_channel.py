"""The WhatsApp Channel: one post for all followers. There is no official API to post to it.

By default the post is prepared and handed to the editor (printed in the
publish log and the PR preview) and the publication is recorded as
*manual*. Only a town that opts in knowingly configures a third-party
gateway (Whapi.Cloud's request shape): such gateways drive a linked
WhatsApp Web session, which Meta's terms forbid.
"""

from __future__ import annotations

import time

from site_tools.channels import https
from site_tools.channels.base import (
    Channel,
    ChannelStopped,
    Delivered,
    DeliveryContext,
    Outcome,
    Rendered,
    register,
    secret_problem,
)
from site_tools.channels.errors import Action
from site_tools.content.bulletin import Bulletin
from site_tools.content.problems import Problem
from site_tools.render.channel_post import render_channel_post
from site_tools.render.links import Links
from site_tools.settings import reveal


@register
class WhatsAppChannel(Channel):
    name = "whatsapp_channel"
    order = 20

    def mode(self) -> str:
        return "gateway" if self.settings.channel_gateway_url else "manual"

    def missing_secrets(self) -> list[Problem]:
        s = self.settings
        if s.channel_gateway_url and not (s.channel_gateway_token and s.channel_id):
            return [
                secret_problem(
                    "WHATSAPP_CHANNEL_GATEWAY_TOKEN",
                    "il gateway del Canale è configurato ma mancano token o WHATSAPP_CHANNEL_ID.",
                    "aggiungi i segreti, oppure togli WHATSAPP_CHANNEL_GATEWAY_URL per la pubblicazione manuale.",
                )
            ]
        return []

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        post = render_channel_post(bulletin, self.config, links)
        manual = self.mode() == "manual"
        how = "; da incollare nell'app dopo il merge (nessuna API ufficiale)" if manual else "; tramite il gateway"
        return Rendered((post,), f"{len(post)} caratteri{how}", manual=manual)

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        post = render_channel_post(bulletin, self.config, ctx.links)
        if self.mode() == "manual":
            return Delivered("manual", "da pubblicare a mano dall'app", post=post)
        s = self.settings
        gateway = GatewayClient(
            s.channel_gateway_url or "", reveal(s.channel_gateway_token), s.channel_id or "", timeout=s.http_timeout
        )
        message_id = await gateway.post(post)
        return Delivered(
            "done", "pubblicato tramite gateway", external_id=message_id, recipients=1, first_send_at=time.monotonic()
        )


class GatewayClient:
    name = "whatsapp_channel"

    def __init__(self, base_url: str, token: str, channel_id: str, timeout: float = 20.0):
        self.url = f"{base_url.rstrip('/')}/messages/text"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.channel_id = channel_id
        self.timeout = timeout

    async def post(self, text: str) -> str:
        import httpx  # when first used: the first urgent message does not wait for its import

        async with httpx.AsyncClient(timeout=self.timeout, verify=https.context()) as client:
            try:
                response = await client.post(self.url, json={"to": self.channel_id, "body": text}, headers=self.headers)
            except httpx.HTTPError as exc:
                raise ChannelStopped(
                    self.name,
                    Outcome(False, Action.RETRY, detail=str(exc), uncertain=True),
                    "il gateway non risponde: controlla il canale prima di ripubblicare",
                ) from exc
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code == 200 and body.get("sent"):
            return str(body.get("message", {}).get("id", ""))
        raise ChannelStopped(
            self.name,
            Outcome(False, Action.STOP_RUN, http_status=response.status_code),
            f"il gateway ha rifiutato il messaggio (HTTP {response.status_code})",
        )
