"""The town's Mastodon account: one public post per bulletin, ``POST /api/v1/statuses``, through httpx.

httpx rather than Mastodon.py: the publisher is asynchronous and its channels already use httpx, while
Mastodon.py is synchronous (over requests) and would need a thread and a second HTTP stack for one call.

Each post carries ``Idempotency-Key: <bulletin id>:mastodon``: a server that received it already (a timeout,
a dropped answer) returns the first post instead of making a second one, for an hour. So, unlike Facebook and
Bluesky, an uncertain outcome is simply tried again within the run. The text fits the instance's
``max_characters`` (``extra.town.mastodon.max_characters``, 500 by default; every link counts 23).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from site_tools.channels.base import Channel, Delivered, DeliveryContext, Outcome, Rendered, Secret, register
from site_tools.channels.errors import Action
from site_tools.channels.posting import publish_post
from site_tools.content.bulletin import Bulletin
from site_tools.render.links import Links
from site_tools.render.social import mastodon_length, mastodon_limit, render_mastodon
from site_tools.settings import reveal

_EXPLAIN = {
    401: "il token di Mastodon non è valido o è stato revocato: generane uno nuovo (MASTODON_ACCESS_TOKEN)",
    403: "il token di Mastodon non ha il permesso write:statuses",
    404: "il server Mastodon non risponde a /api/v1/statuses: controlla extra.town.mastodon.instance",
    422: "Mastodon ha rifiutato il testo",
}


def idempotency_key(bulletin: Bulletin) -> str:
    return f"{bulletin.id}:mastodon"


def classify(http_status: int) -> Action:
    if http_status == 429:
        return Action.THROTTLE
    if http_status >= 500:
        return Action.RETRY
    return Action.STOP_RUN


@register
class MastodonChannel(Channel):
    name = "mastodon"
    order = 31

    secrets = (
        Secret(
            "MASTODON_ACCESS_TOKEN",
            "aggiungi sul server del servizio il token dell'account Mastodon, con il solo permesso write:statuses "
            "(vedi la guida «Facebook, Mastodon e Bluesky» per il Comune).",
        ),
    )

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        text = render_mastodon(bulletin, self.config, links)
        facts = f"un post pubblico ({mastodon_length(text)}/{mastodon_limit(self.config)} caratteri, i link contano 23)"
        return Rendered((text,), facts)

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        assert self.config.mastodon and self.settings.mastodon_access_token
        base = self.settings.mastodon_api_url or self.config.mastodon.instance
        headers = {
            "Authorization": f"Bearer {reveal(self.settings.mastodon_access_token)}",
            "Idempotency-Key": idempotency_key(bulletin),
        }
        payload = {
            "status": render_mastodon(bulletin, self.config, ctx.links),
            "visibility": "public",
            "language": "it",
        }
        return await publish_post(
            self.name,
            lambda client: _send(client, f"{base}/api/v1/statuses", headers, payload),
            timeout=self.settings.http_timeout,
            idempotent=True,
            where="l'account Mastodon",
            done="post pubblicato su Mastodon",
        )


async def _send(client: Any, url: str, headers: dict[str, str], payload: dict[str, str]) -> Outcome:
    import httpx

    try:
        response = await client.post(url, json=payload, headers=headers)
    except httpx.TransportError as exc:  # the key makes a second request safe, whatever happened to the first
        return Outcome(False, Action.RETRY, detail=type(exc).__name__, uncertain=True)
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get("id"):
        return Outcome(True, message_id=str(body["id"]), http_status=200)
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    explained = _EXPLAIN.get(response.status_code)
    detail = f"{explained}: {error}" if explained and error and response.status_code == 422 else explained
    return Outcome(
        False,
        classify(response.status_code),
        http_status=response.status_code,
        retry_after=_reset_in(response.headers.get("X-RateLimit-Reset")) if response.status_code == 429 else None,
        detail=detail or error or f"HTTP {response.status_code}",
    )


def _reset_in(value: str | None) -> float | None:
    """``X-RateLimit-Reset`` (an ISO 8601 time) → seconds from now."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
