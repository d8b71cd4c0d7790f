"""Telegram: one HTML post (split above 4,096 characters) to the town's channel, through the Bot API."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

from site_tools.channels import https
from site_tools.channels.base import (
    Channel,
    ChannelStopped,
    Delivered,
    DeliveryContext,
    Outcome,
    Rendered,
    Secret,
    register,
)
from site_tools.channels.errors import Action, classify_telegram
from site_tools.content.bulletin import Bulletin
from site_tools.formatting import count
from site_tools.render.links import Links
from site_tools.settings import reveal

if TYPE_CHECKING:
    import httpx

# httpx and the Telegram renderer (markdown-it) are imported when first used: a publish whose first message
# goes to the WhatsApp list does not wait for them.


@register
class TelegramChannel(Channel):
    name = "telegram"
    order = 10

    secrets = (
        Secret(
            "TELEGRAM_BOT_TOKEN",
            "aggiungi il token del bot (da @BotFather) sul server del servizio.",
        ),
    )

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        from site_tools.render.telegram import render_telegram, visible_length

        parts = render_telegram(bulletin, self.config, links)
        sizes = ", ".join(f"{visible_length(p)}/4.096" for p in parts)
        return Rendered(
            tuple(parts), f"{count(len(parts), 'messaggio', 'messaggi')} ({sizes} caratteri)", markup="html"
        )

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        assert self.config.telegram and self.settings.telegram_bot_token
        bot = TelegramBot(
            self.settings.telegram_api_url,
            reveal(self.settings.telegram_bot_token),
            self.config.telegram.chat,
            timeout=self.settings.http_timeout,
        )
        from site_tools.render.telegram import render_telegram

        ids = await bot.post(render_telegram(bulletin, self.config, ctx.links))
        return Delivered(
            "done",
            f"{count(len(ids), 'messaggio', 'messaggi')} nel canale",
            external_id=",".join(ids),
            recipients=1,
            first_send_at=time.monotonic(),
        )


MAX_ATTEMPTS = 5


class TelegramBot:
    name = "telegram"

    def __init__(self, base_url: str, token: str, chat_id: str, timeout: float = 20.0):
        self.url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self.chat_id = chat_id
        self.timeout = timeout

    async def send_one(self, client: httpx.AsyncClient, text: str) -> Outcome:
        import httpx

        payload = {
            "chat_id": self.chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": False},
        }
        try:
            response = await client.post(self.url, json=payload)
        except httpx.TimeoutException:
            return Outcome(False, Action.RETRY, detail="timeout", uncertain=True)
        except httpx.TransportError as exc:
            return Outcome(False, Action.RETRY, detail=type(exc).__name__, uncertain=True)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("ok"):
            return Outcome(True, message_id=str(body["result"]["message_id"]), http_status=200)
        retry_after = (body.get("parameters") or {}).get("retry_after")
        action = classify_telegram(response.status_code, retry_after)
        return Outcome(
            False,
            action,
            code=body.get("error_code"),
            http_status=response.status_code,
            retry_after=float(retry_after) if retry_after is not None else None,
            detail=str(body.get("description", f"HTTP {response.status_code}")),
        )

    async def post(self, messages: list[str]) -> list[str]:
        """Send the parts in order; return their message ids. Raises ChannelStopped."""
        import httpx

        ids: list[str] = []
        async with httpx.AsyncClient(timeout=self.timeout, verify=https.context()) as client:
            for text in messages:
                for attempt in range(MAX_ATTEMPTS):
                    outcome = await self.send_one(client, text)
                    if outcome.ok:
                        ids.append(outcome.message_id or "")
                        break
                    if outcome.uncertain:
                        # The post may be in the channel already: never post twice on a guess.
                        raise ChannelStopped(
                            self.name, outcome, "esito incerto (timeout): controlla il canale prima di ripubblicare"
                        )
                    if outcome.action is Action.THROTTLE:
                        await asyncio.sleep(outcome.retry_after or 2**attempt)
                    elif outcome.action is Action.RETRY:
                        await asyncio.sleep(min(30, 2**attempt) * random.uniform(0.5, 1.5))
                    else:
                        raise ChannelStopped(self.name, outcome, outcome.detail)
                else:
                    raise ChannelStopped(self.name, outcome, f"troppi tentativi falliti: {outcome.detail}")
        return ids
