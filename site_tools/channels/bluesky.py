"""The town's Bluesky account: one post per bulletin, through the ``atproto`` SDK (its asynchronous client).

The post (``render/social.py``) is at most 300 graphemes; its link is a facet whose offsets count UTF-8 bytes,
and it carries a link card (``app.bsky.embed.external``) whose thumbnail is the bulletin's share image, uploaded
first as a blob. Bluesky draws no card by itself: the channel builds it.

The session is reused: ``createSession`` (the app password) is limited to 30 calls in 5 minutes and 300 a day
per account, so the session (its access and refresh tokens) is kept in the store (``DeliveryContext.state``),
refreshed by the SDK when the access token is about to expire, and a new one created only when the stored one
is refused. ``createRecord`` has no idempotency key: a timeout leaves the post uncertain and the run stops on
this channel, never posting twice on a guess.

The SDK is imported when a post is sent, and Bluesky is the last channel of a run: the first urgent message,
and the WhatsApp list's fan-out, do not wait for its imports (seconds: see ``order``).
"""

from __future__ import annotations

import io
import time
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from site_tools.channels import https
from site_tools.channels.base import (
    Channel,
    ChannelStopped,
    Delivered,
    DeliveryContext,
    KeyValue,
    Outcome,
    Rendered,
    Secret,
    register,
)
from site_tools.channels.errors import Action
from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.render.links import Links
from site_tools.render.share_image import share_image
from site_tools.render.social import BlueskyPost, grapheme_count, render_bluesky
from site_tools.settings import reveal

if TYPE_CHECKING:
    from atproto import AsyncClient

#: service_state key of the account's session (the SDK's session string), per handle. ``secret.``: a live
#: credential, left out of backups (store/service_state.py SECRET_PREFIX; channels may not import the store).
SESSION_KEY = "secret.bluesky.session.{handle}"


@register
class BlueskyChannel(Channel):
    name = "bluesky"
    #: After the WhatsApp list's fan-out, unlike the other one-post channels: the SDK's import alone took 8–14 s of a
    #: 2-core machine at load 11 (``atproto_client.namespaces.async_ns`` is most of it), and an urgent alert to the
    #: list must not wait for it. The post itself is one request; the fan-out is minutes.
    order = 95

    secrets = (
        Secret(
            "BLUESKY_APP_PASSWORD",
            "crea una password per le app nell'account Bluesky del Comune (Impostazioni › Password per le app) "
            "e aggiungila sul server del servizio: mai la password dell'account.",
        ),
    )

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        post = render_bluesky(bulletin, self.config, links)
        image = f"immagine {post.image.name}" if post.image else "l'immagine di anteprima del Comune"
        facts = (
            f"un post ({grapheme_count(post.text)}/{limits.BLUESKY_POST_GRAPHEMES} caratteri) con la scheda del "
            f"link ({image})"
        )
        return Rendered((post.text,), facts)

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        assert self.config.bluesky and self.settings.bluesky_app_password
        post = render_bluesky(bulletin, self.config, ctx.links)
        account = Account(
            self.settings.bluesky_api_url,
            self.config.bluesky.handle,
            reveal(self.settings.bluesky_app_password),
            ctx.state,
            self.settings.http_timeout,
            timezone=self.config.timezone,
        )
        image = post.image.read_bytes() if post.image else share_image(self.config)  # as the site's og:image
        try:
            uri, note = await account.publish(post, image)
        finally:
            await account.close()
        return Delivered("done", f"post pubblicato su Bluesky{note}", external_id=uri, recipients=1,
                         first_send_at=time.monotonic())  # fmt: skip


class Account:
    """One logged-in client of the town's account, its session kept in ``state``."""

    name = "bluesky"

    def __init__(
        self,
        base_url: str,
        handle: str,
        password: str,
        state: KeyValue,
        timeout: float = 20.0,
        *,
        timezone: tzinfo | None = None,
    ):
        from atproto import AsyncClient
        from atproto_client.request import AsyncRequest

        self.handle = handle
        self.password = password
        self.state = state
        self.timezone = timezone  # the town's: the times told to editors (the server's clock is often UTC)
        self.key = SESSION_KEY.format(handle=handle)
        self.client: AsyncClient = AsyncClient(base_url, request=AsyncRequest(timeout=timeout, verify=https.context()))
        self.client.on_session_change(self._keep)
        self.did = ""

    def _keep(self, event: Any, session: Any) -> None:
        self.state.put(self.key, session.export())

    async def close(self) -> None:
        await self.client.request.close()

    async def login(self) -> None:
        """Resume the stored session (refreshed if needed); create one with the app password only if refused."""
        import httpx
        from atproto_client import exceptions

        stored = self.state.get(self.key)
        if stored:
            try:
                await self.client.login(session_string=stored, fetch_bsky_profile=False)
                answer = await self.client.com.atproto.server.get_session()  # refreshes an expiring token first
                self.did = answer.did
                return
            except (exceptions.BadRequestError, exceptions.UnauthorizedError, exceptions.LoginRequiredError):
                pass  # expired or revoked: a new session below
            except Exception as exc:  # noqa: BLE001 — a network failure, a malformed stored session
                if isinstance(exc, exceptions.NetworkError):
                    raise ChannelStopped(
                        self.name, _outcome(exc), "Bluesky non risponde: si riprova più tardi"
                    ) from exc
        try:
            await self.client.login(self.handle, self.password, fetch_bsky_profile=False)
        except exceptions.RateLimitExceededError as exc:
            when = exc.reset_at.astimezone(self.timezone).strftime("%H:%M") if exc.reset_at else "più tardi"
            raise ChannelStopped(
                self.name,
                _outcome(exc),
                f"Bluesky limita gli accessi con la password per le app ({limits.BLUESKY_SESSIONS_PER_5_MIN} ogni "
                f"5 minuti, {limits.BLUESKY_SESSIONS_PER_DAY} al giorno): si riprova dopo le {when}",
            ) from exc
        except exceptions.UnauthorizedError as exc:
            raise ChannelStopped(
                self.name,
                _outcome(exc),
                f"Bluesky rifiuta l'accesso di «{self.handle}»: controlla BLUESKY_APP_PASSWORD (una password per "
                "le app, non revocata) e extra.town.bluesky.handle",
            ) from exc
        except exceptions.AtProtocolError as exc:
            raise ChannelStopped(self.name, _outcome(exc), f"accesso a Bluesky non riuscito: {exc}") from exc
        except httpx.TransportError as exc:  # one the SDK lets through (a connection closed without an answer)
            raise ChannelStopped(
                self.name,
                Outcome(False, Action.RETRY, detail=type(exc).__name__),
                "Bluesky non risponde: si riprova più tardi",
            ) from exc
        session = self.client._session
        self.did = session.did if session else ""

    async def publish(self, post: BlueskyPost, image: bytes) -> tuple[str, str]:
        """Post it, ``image`` as the card's thumbnail; the record's ``at://`` address and a note for the report."""
        import httpx
        from atproto import models
        from atproto_client import exceptions

        await self.login()
        thumb, note = None, ""
        try:
            thumb = (await self.client.upload_blob(thumbnail(image))).blob
        except (exceptions.AtProtocolError, httpx.TransportError, OSError, ValueError) as exc:
            note = f" (senza immagine: {type(exc).__name__})"  # the alert matters more than its picture
        card = models.AppBskyEmbedExternal.Main(
            external=models.AppBskyEmbedExternal.External(
                uri=post.uri, title=post.title, description=post.description, thumb=thumb
            )
        )
        facets = [
            models.AppBskyRichtextFacet.Main(
                index=models.AppBskyRichtextFacet.ByteSlice(byte_start=f.byte_start, byte_end=f.byte_end),
                features=[models.AppBskyRichtextFacet.Link(uri=f.uri)],
            )
            for f in post.facets
        ]
        try:
            created = await self.client.send_post(
                post.text, profile_identify=self.did, embed=card, langs=["it"], facets=facets
            )
        except (exceptions.AtProtocolError, httpx.TransportError) as exc:
            # A timeout, a dropped answer (the SDK lets some of httpx's through), a gateway's 502 or 504: the post may
            # be online. Never a second one on a guess.
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if (isinstance(exc, httpx.TransportError | exceptions.NetworkError) and status is None) or status in _LOST:
                raise ChannelStopped(
                    self.name,
                    _outcome(exc, uncertain=True),
                    f"esito incerto ({_what(exc)}): controlla l'account Bluesky prima di ripubblicare",
                ) from exc
            if isinstance(exc, exceptions.NetworkError):
                raise ChannelStopped(self.name, _outcome(exc), f"Bluesky non ha accettato il post: {exc}") from exc
            raise ChannelStopped(self.name, _outcome(exc), f"Bluesky ha rifiutato il post: {exc}") from exc
        return created.uri, note


#: A gateway's answers: the request may have been done, its answer lost.
_LOST = (502, 504)


def _what(exc: Exception) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"HTTP {status}" if status else "timeout" if "Timeout" in type(exc).__name__ else "connessione interrotta"


def _outcome(exc: Exception, uncertain: bool = False) -> Outcome:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    action = Action.THROTTLE if status == 429 else (Action.RETRY if uncertain else Action.STOP_RUN)
    return Outcome(False, action, http_status=status, detail=type(exc).__name__, uncertain=uncertain)


def thumbnail(data: bytes) -> bytes:
    """The image as the card's thumbnail: as it is if small enough, else a JPEG reduced under Bluesky's limit."""
    if len(data) <= limits.BLUESKY_THUMB_MAX_BYTES:
        return data
    from PIL import Image

    try:
        opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # not an OSError: it would crash the run before the post
        raise ValueError("immagine troppo grande da ridurre") from exc
    with opened as original:
        if original.width * original.height > (Image.MAX_IMAGE_PIXELS or 0) > 0:  # Pillow only warns up to 2×
            raise ValueError("immagine troppo grande da ridurre")
        image = original.convert("RGB")
        image.thumbnail((1200, 1200))
        for quality in (85, 70, 50):
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality)
            if out.tell() <= limits.BLUESKY_THUMB_MAX_BYTES:
                return out.getvalue()
    raise ValueError("immagine troppo grande")
