"""The town's Facebook Page: one post per bulletin, ``POST /{page-id}/feed`` at the Graph API, through httpx.

The Python SDKs for the Graph API are unmaintained; the call is one form post, so plain httpx (already the
channels' client) does it. The post carries ``message`` (the text) and ``link`` (the bulletin's page): Facebook
draws the link preview from the page's OpenGraph tags (``site/meta.py``), so the image is the site's.
The Graph API has no idempotency key: a timeout leaves the post uncertain and the run stops on this channel;
the publications ledger keeps a post that succeeded from being sent again.
"""

from __future__ import annotations

from typing import Any

from site_tools.channels.base import Channel, Delivered, DeliveryContext, Outcome, Rendered, Secret, register
from site_tools.channels.errors import Action
from site_tools.channels.posting import publish_post
from site_tools.content.bulletin import Bulletin
from site_tools.formatting import number
from site_tools.render.links import Links
from site_tools.render.social import render_facebook
from site_tools.settings import reveal

#: Graph API error codes for a Page post (``error.code``): what the sender does with each. Throttling: 4 (app),
#: 17 (user), 32 (Page), 613 (calls within a time); 190 an invalid or expired token; 10 and 200–299 a
#: permission the token lacks (``pages_manage_posts``); 368 the Page temporarily blocked from posting.
_ACTIONS = {4: Action.THROTTLE, 17: Action.THROTTLE, 32: Action.THROTTLE, 613: Action.THROTTLE}
_ACTIONS |= {1: Action.RETRY, 2: Action.RETRY}
_EXPLAIN = {
    190: "il token della Pagina non è valido o è scaduto: generane uno nuovo (FACEBOOK_PAGE_TOKEN)",
    10: "il token non ha il permesso di pubblicare sulla Pagina (pages_manage_posts)",
    200: "il token non ha il permesso di pubblicare sulla Pagina (pages_manage_posts)",
    368: "Facebook ha bloccato temporaneamente la pubblicazione dalla Pagina",
    100: "Facebook ha rifiutato la richiesta: controlla l'ID della Pagina (extra.town.facebook.page_id)",
    506: "Facebook rifiuta un post identico a uno appena pubblicato",
}

#: A gateway's answers without a Graph error (502 Bad Gateway, 504 Gateway Timeout): the post may be online.
_LOST_ANSWER = (502, 504)


def classify(code: int | None, http_status: int) -> Action:
    if code in _ACTIONS:
        return _ACTIONS[code]
    if code is None and (http_status >= 500 or http_status == 429):
        return Action.RETRY if http_status >= 500 else Action.THROTTLE
    return Action.STOP_RUN


@register
class FacebookChannel(Channel):
    name = "facebook"
    order = 30

    secrets = (
        Secret(
            "FACEBOOK_PAGE_TOKEN",
            "aggiungi sul server del servizio il token della Pagina (vedi la guida «Facebook, Mastodon e Bluesky» "
            "per il Comune).",
        ),
    )

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        post = render_facebook(bulletin, self.config, links)
        facts = f"un post della Pagina ({number(len(post.message))} caratteri), con l'anteprima di {post.link}"
        return Rendered((post.message,), facts)

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        assert self.config.facebook and self.settings.facebook_page_token
        post = render_facebook(bulletin, self.config, ctx.links)
        url = f"{self.settings.facebook_api_url}/{self.config.facebook.page_id}/feed"
        headers = {"Authorization": f"Bearer {reveal(self.settings.facebook_page_token)}"}
        form = {"message": post.message, "link": post.link}
        return await publish_post(
            self.name,
            lambda client: _send(client, url, headers, form),
            timeout=self.settings.http_timeout,
            idempotent=False,
            where="la Pagina Facebook",
            done="post pubblicato sulla Pagina",
        )


async def _send(client: Any, url: str, headers: dict[str, str], form: dict[str, str]) -> Outcome:
    import httpx

    try:
        response = await client.post(url, data=form, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached the server: safe to try again
        return Outcome(False, Action.RETRY, detail=type(exc).__name__)
    except httpx.TimeoutException:
        return Outcome(False, Action.RETRY, detail="timeout", uncertain=True)
    except httpx.TransportError as exc:
        return Outcome(False, Action.RETRY, detail=type(exc).__name__, uncertain=True)
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get("id"):
        return Outcome(True, message_id=str(body["id"]), http_status=200)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) and response.status_code in _LOST_ANSWER:
        # A proxy's page, not the Graph API's: the request may have been done, its answer lost. No idempotency key.
        return Outcome(False, Action.RETRY, http_status=response.status_code, detail=f"HTTP {response.status_code}",
                       uncertain=True)  # fmt: skip
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    action = classify(code, response.status_code)
    family = 200 if code is not None and 200 <= code < 300 else code
    detail = _EXPLAIN.get(family or -1) or str(error.get("message") or f"HTTP {response.status_code}")
    return Outcome(False, action, code=code, http_status=response.status_code, detail=detail)
