"""A push service stand-in (RFC 8030), mounted by the simulator: what FCM or Mozilla's autopush do with a request.

No browser push service is reachable from these machines, so tests (and the demo) subscribe here instead:

* ``POST /_push/subscribe`` ``{"applicationServerKey": "<the town's public VAPID key>"}`` creates a subscription as
  a browser would (a P-256 key pair and a 16-byte auth secret kept here) and answers the ``PushSubscription`` JSON;
* ``POST /push/{token}`` is the endpoint: it checks what a real push service checks — a ``TTL`` header (400
  without), ``Content-Encoding: aes128gcm`` (415 otherwise), a body of at most 4,096 bytes (413), the VAPID
  ``Authorization: vapid t=…, k=…`` (401 without; 403 when ``k`` is not the key the subscription was made with,
  the ES256 signature does not verify, ``aud`` is not the endpoint's origin, ``exp`` is past or more than 24 hours
  ahead, or ``sub`` is not ``mailto:``/``https:``) — decrypts the body (RFC 8291 with ``http_ece`` and the
  subscription's private key), keeps the message and answers 201 with a ``Location``;
* expired subscriptions answer 410 (``POST /_push/{token}/expire``), unknown ones 404; ``POST /_push/throttle``
  ``{"count": n, "retry_after": s}`` makes the next n requests answer 429 with ``Retry-After``;
* ``GET /_push/messages`` lists what was delivered (decrypted), ``GET /_push/rejections`` what was refused and why.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

RECORD_MAX = 4096  # RFC 8030 §7.2: what a push service must accept; all the browsers' services stop there
MAX_EXP = 24 * 3600  # RFC 8292 §2: a VAPID token expires within 24 hours


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    token: str
    server_key: str  # the applicationServerKey it was made with (base64url)
    private_key: Any  # EllipticCurvePrivateKey
    auth: bytes
    expired: bool = False


@dataclass
class PushServiceStandIn:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    throttle: int = 0
    retry_after: str = "1"

    def reset(self) -> None:
        self.subscriptions.clear()
        self.messages.clear()
        self.rejections.clear()
        self.throttle = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/_push/subscribe", self.subscribe),
            web.post("/_push/throttle", self.set_throttle),
            web.post("/_push/{token}/expire", self.expire),
            web.get("/_push/messages", self.get_messages),
            web.get("/_push/rejections", self.get_rejections),
            web.post("/push/{token}", self.push),
        ]

    # -- the browser's side: subscribing ---------------------------------------------------------------------
    def new_subscription(self, base_url: str, server_key: str) -> dict[str, Any]:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        token = secrets.token_urlsafe(24)
        sub = Subscription(token, server_key, key, secrets.token_bytes(16))
        self.subscriptions[token] = sub
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{base_url}/push/{token}",
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(sub.auth)},
        }

    async def subscribe(self, request: web.Request) -> web.Response:
        body = await request.json()
        server_key = str(body.get("applicationServerKey") or "")
        if len(unb64url(server_key)) != 65:
            return web.json_response({"error": "applicationServerKey must be a P-256 public key"}, status=400)
        return web.json_response(self.new_subscription(f"{request.scheme}://{request.host}", server_key))

    async def expire(self, request: web.Request) -> web.Response:
        self.subscriptions[request.match_info["token"]].expired = True
        return web.json_response({"ok": True})

    async def set_throttle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.throttle = int(body.get("count", 1))
        self.retry_after = str(body.get("retry_after", "1"))
        return web.json_response({"ok": True})

    async def get_messages(self, request: web.Request) -> web.Response:
        return web.json_response(self.messages)

    async def get_rejections(self, request: web.Request) -> web.Response:
        return web.json_response(self.rejections)

    # -- the application server's side: a push message -------------------------------------------------------
    def _refuse(self, status: int, reason: str, token: str) -> web.Response:
        self.rejections.append({"token": token, "status": status, "reason": reason})
        return web.json_response({"code": status, "errno": 0, "error": reason}, status=status)

    async def push(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        sub = self.subscriptions.get(token)
        if sub is None:
            return self._refuse(404, "no such subscription", token)
        if sub.expired:
            return self._refuse(410, "subscription expired", token)
        if self.throttle > 0:
            self.throttle -= 1
            self.rejections.append({"token": token, "status": 429, "reason": "throttled"})
            return web.json_response(
                {"error": "too many requests"}, status=429, headers={"Retry-After": self.retry_after}
            )
        if request.headers.get("TTL") is None or not request.headers["TTL"].isdigit():
            return self._refuse(400, "TTL header missing", token)
        body = await request.read()
        if len(body) > RECORD_MAX:
            return self._refuse(413, "payload too large", token)
        problem = self.vapid_problem(
            request.headers.get("Authorization", ""), sub, f"{request.scheme}://{request.host}"
        )
        if problem:
            return self._refuse(401 if problem == "missing" else 403, f"VAPID: {problem}", token)
        if request.headers.get("Content-Encoding", "").lower() != "aes128gcm":
            return self._refuse(415, "Content-Encoding must be aes128gcm", token)
        import http_ece

        try:
            plain = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
        except Exception as exc:  # noqa: BLE001 — any failure to decrypt is the sender's
            return self._refuse(400, f"cannot decrypt: {type(exc).__name__}", token)
        message_id = secrets.token_hex(8)
        self.messages.append(
            {
                "id": message_id,
                "token": token,
                "payload": json.loads(plain),
                "ttl": int(request.headers["TTL"]),
                "urgency": request.headers.get("Urgency", "normal"),
                "size": len(body),
            }
        )
        return web.Response(status=201, headers={"Location": f"/_push/message/{message_id}"})

    @staticmethod
    def vapid_problem(header: str, sub: Subscription, origin: str) -> str | None:
        """What is wrong with a VAPID ``Authorization`` header (RFC 8292), or None."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "vapid":
            return "missing"
        params = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        t, k = params.get("t", ""), params.get("k", "")
        if k != sub.server_key:
            return "k is not the key the subscription was made with"
        try:
            signing_input, _, signature = t.rpartition(".")
            header_b64, _, claims_b64 = signing_input.partition(".")
            jwt_header = json.loads(unb64url(header_b64))
            claims = json.loads(unb64url(claims_b64))
            raw = unb64url(signature)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(k))
        except ValueError:
            return "malformed token"
        if jwt_header.get("alg") != "ES256" or len(raw) != 64:
            return "not ES256"
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return "bad signature"
        if claims.get("aud") != origin:
            return f"aud {claims.get('aud')!r} is not {origin!r}"
        now = time.time()
        if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + MAX_EXP:
            return "exp past or more than 24 hours ahead"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "sub is not mailto: or https:"
        return None
