"""Web Push: a notification from the town's site to every browser that subscribed on the signup page. Free.

Each subscription gets its own request (RFC 8030) to its browser's push service: the notification's JSON,
encrypted for that browser (RFC 8291, ``aes128gcm``), signed by the town's VAPID key (RFC 8292). The site's
service worker (``sw.js``) shows it and opens the bulletin when tapped.

pywebpush's building blocks (``WebPusher.encode`` for RFC 8291, ``py_vapid`` for the token), sent with httpx:
pywebpush's own senders are ``requests`` (blocking) or a new aiohttp session per call that raises on any answer
above 202, losing the ``Retry-After`` of a 429; one pooled ``httpx.AsyncClient`` with a bounded number of
connections (``WEBPUSH_CONCURRENCY``) and our own reading of 201/404/410/413/429 is what a fan-out needs.
The fan-out itself (the ledger, once per subscription) is lent by the delivery layer (``push_fan_out``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from site_tools.channels import https
from site_tools.channels.base import (
    Channel,
    ChannelStopped,
    Delivered,
    DeliveryContext,
    Estimate,
    Outcome,
    Rendered,
    Secret,
    register,
)
from site_tools.channels.errors import Action
from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.formatting import number
from site_tools.render.links import Links
from site_tools.settings import Settings, reveal

if TYPE_CHECKING:
    import httpx
    from py_vapid import Vapid02

#: A VAPID token lives at most 24 hours (RFC 8292 §2); ours 12, renewed an hour before.
TOKEN_LIFETIME = 12 * 3600
#: Tries for one subscription within a run (429 and 5xx); after that it waits for the next run.
MAX_ATTEMPTS = 4
#: The longest a 429's Retry-After is waited for inside a run.
MAX_RETRY_AFTER = 60.0


def notification(bulletin: Bulletin, config: TownConfig, links: Links) -> dict[str, Any]:
    """What the service worker shows: the bulletin's title and summary, its address, urgent or not."""
    from site_tools.render.common import status_labels

    # «ANNULLATO / REVOCATO – …», «AGGIORNAMENTO – …»: a phone shows only the title at a glance.
    heads = [label for _, label in status_labels(bulletin) if label != "URGENTE"]
    title = " – ".join([*heads, bulletin.title])
    title = f"⚠️ {title}" if bulletin.urgent else title
    return {
        "title": title,
        "body": bulletin.summary,
        "url": links.page(bulletin),
        # A second notification of the same bulletin replaces the first; a withdrawal or an update replaces the
        # notification of the bulletin it is about.
        "tag": bulletin.refers_to or bulletin.id,
        "urgent": bulletin.urgent,
        "town": config.short_name,
    }


def payload_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def push_headers(urgent: bool) -> dict[str, str]:
    """RFC 8030 §5.2–5.3: how long the push service keeps it for an offline browser, and how urgent it is (a phone
    saving battery delivers ``high`` at once, ``normal`` when it wakes)."""
    if urgent:
        return {"TTL": str(limits.PUSH_TTL_URGENT), "Urgency": "high"}
    return {"TTL": str(limits.PUSH_TTL_NORMAL), "Urgency": "normal"}


def load_vapid(value: str) -> Vapid02:
    """VAPID_PRIVATE_KEY: a PEM file's path, a PEM, or the raw or DER key in base64url."""
    from py_vapid import Vapid02

    text = value.strip()
    if "-----BEGIN" not in text and len(text) < 200 and Path(text).is_file():
        text = Path(text).read_text(encoding="utf-8").strip()
    if "-----BEGIN" in text:
        return Vapid02.from_pem(text.encode())
    return Vapid02.from_string(text)


def public_key_of(vapid: Vapid02) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_key_pair() -> tuple[str, str]:
    """A new VAPID key pair: the public key as ``extra.town.webpush.public_key`` takes it (base64url, uncompressed
    P-256), and the private key as PEM (PKCS#8), for ``VAPID_PRIVATE_KEY``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return base64.urlsafe_b64encode(public).rstrip(b"=").decode(), pem


def classify(status: int, retry_after: str | None) -> Outcome:
    """A push service's answer (RFC 8030 §5, §7; FCM, Mozilla and Apple answer alike)."""
    if status in (200, 201, 202):
        return Outcome(True, http_status=status)
    if status in (404, 410):  # the subscription expired or was withdrawn: prune it
        return Outcome(False, Action.PERMANENT, http_status=status, detail="gone")
    if status == 413:  # the same payload goes to everyone: nothing else would pass either
        return Outcome(False, Action.STOP_RUN, http_status=status, detail="payload troppo grande")
    if status in (429, 406) or status >= 500:  # WNS (Edge on Windows) throttles with 406, not 429
        wait = _seconds(retry_after)
        throttled = status in (429, 406)
        return Outcome(False, Action.THROTTLE if throttled else Action.RETRY, http_status=status, retry_after=wait)
    return Outcome(False, Action.PERMANENT, http_status=status, detail=f"HTTP {status}")


def _seconds(retry_after: str | None) -> float | None:
    if retry_after is None:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class PushSender:
    """One bulletin's encrypted request to one subscription at a time, over one pooled client."""

    def __init__(self, vapid: Vapid02, subject: str, client: httpx.AsyncClient):
        self.vapid = vapid
        self.subject = subject
        self.client = client
        self._tokens: dict[str, tuple[float, str]] = {}  # audience → (exp, Authorization header)

    def authorization(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        cached = self._tokens.get(audience)
        if cached is None or cached[0] - time.time() < 3600:
            exp = int(time.time()) + TOKEN_LIFETIME
            header = self.vapid.sign({"aud": audience, "exp": exp, "sub": self.subject})["Authorization"]
            cached = self._tokens[audience] = (exp, header)
        return cached[1]

    async def send(self, subscription: dict[str, Any], data: bytes, urgent: bool) -> Outcome:
        import httpx
        from pywebpush import WebPusher

        endpoint = str(subscription["endpoint"])
        body = WebPusher(subscription).encode(data, "aes128gcm")["body"]
        headers = {
            **push_headers(urgent),
            "Authorization": self.authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
        }
        for attempt in range(MAX_ATTEMPTS):
            try:
                response = await self.client.post(endpoint, content=body, headers=headers)
            except httpx.TimeoutException:
                return Outcome(False, Action.RETRY, detail="timeout", uncertain=True)
            except httpx.TransportError as exc:
                outcome = Outcome(False, Action.RETRY, detail=type(exc).__name__)
            else:
                outcome = classify(response.status_code, response.headers.get("Retry-After"))
            if outcome.ok or outcome.action not in (Action.THROTTLE, Action.RETRY) or attempt == MAX_ATTEMPTS - 1:
                return outcome
            await asyncio.sleep(min(MAX_RETRY_AFTER, outcome.retry_after or 2.0**attempt))
        return outcome


@register
class WebPushChannel(Channel):
    name = "webpush"
    order = 20  # after Telegram's one post, before the long fan-out of the list
    shared = True  # a fan-out whose claims are disjoint: a run after a crash resumes it (store/push.py)

    def __init__(self, config: TownConfig, settings: Settings):
        super().__init__(config, settings)
        self._client: httpx.AsyncClient | None = None

    secrets = (
        Secret(
            "VAPID_PRIVATE_KEY",
            "sul server del servizio imposta VAPID_PRIVATE_KEY: il file scritto da «site-tools webpush chiavi».",
        ),
        Secret("VAPID_SUBJECT", "sul server del servizio imposta VAPID_SUBJECT: mailto: con l'indirizzo dell'ufficio."),
    )

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        data = notification(bulletin, self.config, links)
        size = len(payload_bytes(data))
        urgency = push_headers(bulletin.urgent)["Urgency"]
        text = f"{data['title']}\n{data['body']}\n[Tocca per aprire: {data['url']}]"
        facts = (
            f"notifica di {number(size)}/{number(limits.PUSH_PAYLOAD_MAX)} byte, "
            f"priorità {'alta' if urgency == 'high' else 'normale'}, gratuita"
        )
        return Rendered((text,), facts)

    def estimate(self, bulletin: Bulletin, audience: int, rate: float) -> Estimate:
        return Estimate(recipients=0, seconds=0.0, cost=0.0)

    @cached_property
    def vapid(self) -> Vapid02:
        return load_vapid(reveal(self.settings.vapid_private_key))

    async def open(self) -> None:
        import httpx
        import pywebpush  # noqa: F401 — imported here, not on the first notification (it also imports requests)

        n = self.settings.webpush_concurrency
        self._client = httpx.AsyncClient(
            timeout=self.settings.http_timeout,
            verify=https.context(),
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        try:
            public = public_key_of(self.vapid)
        except Exception as exc:  # noqa: BLE001 — an unreadable key, whatever py_vapid or cryptography raise
            raise ChannelStopped(
                self.name,
                Outcome(False, Action.STOP_RUN),
                f"VAPID_PRIVATE_KEY non è leggibile ({type(exc).__name__}): indica il file scritto da "
                "«site-tools webpush chiavi» o la chiave PEM",
            ) from None
        if public != (self.config.webpush.public_key if self.config.webpush else None):
            raise ChannelStopped(
                self.name,
                Outcome(False, Action.STOP_RUN),
                "la chiave VAPID_PRIVATE_KEY non corrisponde a extra.town.webpush.public_key: i browser "
                "rifiuterebbero ogni notifica",
            )
        if self._client is None:
            await self.open()
        assert self._client is not None
        data = payload_bytes(notification(bulletin, self.config, ctx.links))
        if len(data) > limits.PUSH_PAYLOAD_MAX:
            raise ChannelStopped(self.name, Outcome(False, Action.STOP_RUN), "notifica troppo grande")
        sender = PushSender(self.vapid, self.settings.vapid_subject or "", self._client)

        allowed = self.settings.webpush_services

        async def send(subscription: dict[str, Any]) -> Outcome:
            # Checked again here, not only when the browser subscribed: a row stored under a wider list (a staging
            # service sharing the store, a restored backup, a service since removed) is never POSTed to.
            if not endpoint_allowed(str(subscription["endpoint"]), allowed):
                return Outcome(False, Action.PERMANENT, detail="servizio di notifica non ammesso")
            return await sender.send(subscription, data, bulletin.urgent)

        report = await ctx.push_fan_out(bulletin, self.name, send, self.settings.webpush_concurrency)
        if report.state == "done":
            return Delivered(
                "done",
                f"{number(report.accepted)} notifiche",
                recipients=report.accepted,
                report=report,
                first_send_at=report.first_accept_at,
            )
        return Delivered(
            report.state,
            report.reason or "",
            report=report,
            first_send_at=report.first_accept_at,
            channel_down=report.state == "failed",
        )


# -- what a browser sends when it subscribes (the service checks it before storing it) --------------------------

#: The longest endpoint accepted: the browsers' push services give 150 to 500 characters.
ENDPOINT_MAX = 1024


class BadSubscription(ValueError):
    """A PushSubscription the service refuses; the message (Italian) says which field and why."""


_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def unb64url(text: str) -> bytes:
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(keys: dict[str, Any], name: str, size: int) -> str:
    value = keys.get(name)
    # ASCII only (str.isalnum would let accented and non-Latin letters through, and the decoder raise on them).
    if not isinstance(value, str) or not 0 < len(value) <= 128 or not _BASE64URL.fullmatch(value):
        raise BadSubscription(f"«keys.{name}» manca o non è in base64url.")
    try:
        raw = unb64url(value)
    except ValueError:  # binascii.Error: a length no base64 text has
        raise BadSubscription(f"«keys.{name}» non è in base64url (lunghezza impossibile).") from None
    if len(raw) != size:
        raise BadSubscription(f"«keys.{name}» deve essere di {size} byte, non {len(raw)}.")
    return value.rstrip("=")


def _allowed(origin: str, allowed: str) -> bool:
    scheme, _, host = origin.partition("://")
    for entry in (e.strip().rstrip("/") for e in allowed.split(",") if e.strip()):
        want_scheme, _, want_host = entry.partition("://")
        if scheme != want_scheme:
            continue
        if want_host.startswith("*.") and host.endswith(want_host[1:]) or host == want_host:
            return True
    return False


def endpoint_allowed(endpoint: str, allowed: str) -> bool:
    """Whether ``endpoint`` is on a push service ``allowed`` (``WEBPUSH_SERVICES``) names, with no user or password."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        return False
    return _allowed(f"{parts.scheme}://{parts.netloc.lower()}", allowed)


def check_subscription(body: Any, allowed: str) -> tuple[str, str, str]:
    """``(endpoint, p256dh, auth)`` of a ``PushSubscription.toJSON()``, or :class:`BadSubscription`.

    The endpoint must be https (or an origin ``WEBPUSH_SERVICES`` names explicitly, such as the local stand-in), on
    one of the push services ``WEBPUSH_SERVICES`` lists; ``p256dh`` a P-256 public key (65 bytes, on the curve);
    ``auth`` 16 bytes (RFC 8291 §2)."""
    if not isinstance(body, dict):
        raise BadSubscription("il corpo deve essere l'oggetto PushSubscription in JSON.")
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise BadSubscription(f"«endpoint» manca o supera {ENDPOINT_MAX} caratteri.")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise BadSubscription("«endpoint» deve essere un indirizzo https di un servizio di notifica.")
    if not endpoint_allowed(endpoint, allowed):
        raise BadSubscription("«endpoint» non è di un servizio di notifica dei browser conosciuto.")
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise BadSubscription("mancano le chiavi «keys» (p256dh e auth).")
    p256dh, auth = _key(keys, "p256dh", 65), _key(keys, "auth", 16)
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(p256dh))
    except ValueError:
        raise BadSubscription("«keys.p256dh» non è una chiave pubblica P-256.") from None
    return endpoint, p256dh, auth
