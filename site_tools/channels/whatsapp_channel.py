"""The WhatsApp Channel: there is no official API to post to it.

By default the post is prepared and handed to the editor (printed in the
publish log and the PR preview) and the publication is recorded as
*manual*. Only a town that opts in knowingly configures a third-party
gateway (Whapi.Cloud's request shape): such gateways drive a linked
WhatsApp Web session, which Meta's terms forbid.
"""

from __future__ import annotations

import httpx

from ..api_errors import Action
from .base import ChannelStopped, Outcome


class ManualChannel:
    name = "whatsapp_channel"
    mode = "manual"


class GatewayChannel:
    name = "whatsapp_channel"
    mode = "gateway"

    def __init__(self, base_url: str, token: str, channel_id: str, timeout: float = 20.0):
        self.url = f"{base_url.rstrip('/')}/messages/text"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.channel_id = channel_id
        self.timeout = timeout

    async def post(self, text: str) -> str:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            try:
                response = await client.post(self.url, json={"to": self.channel_id, "body": text}, headers=self.headers)
            except httpx.HTTPError as exc:
                raise ChannelStopped(self.name, Outcome(False, Action.RETRY, detail=str(exc), uncertain=True),
                                     "il gateway non risponde: controlla il canale prima di ripubblicare") from exc
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code == 200 and body.get("sent"):
            return str(body.get("message", {}).get("id", ""))
        raise ChannelStopped(self.name, Outcome(False, Action.STOP_RUN, http_status=response.status_code),
                             f"il gateway ha rifiutato il messaggio (HTTP {response.status_code})")
