"""The simulator's social networks: a Facebook Page, a Mastodon server and a Bluesky PDS, as their APIs answer.

* Graph API ``POST /{version}/{page-id}/feed`` (``message``, ``link``; the Page token as a bearer or
  ``access_token``): ``{"id": "<page>_<post>"}``; errors as Graph's ``{"error": {"message", "type", "code",
  "fbtrace_id"}}``: 190 (bad token, HTTP 400), 100 (unknown Page, nothing to post), 506 (the same text twice).
* Mastodon ``POST /api/v1/statuses`` (bearer token with ``write:statuses``): 401 ``{"error": "The access token
  is invalid"}``, 403 (scope), 422 ``Validation failed: Text character limit of N exceeded`` (graphemes, every
  URL 23), 429 with ``X-RateLimit-*`` (300 posts in 3 hours); ``Idempotency-Key``: the same key within an hour
  returns the first status, posts nothing. ``GET /api/v2/instance``: the limit (``configuration.statuses``).
* Bluesky XRPC: ``com.atproto.server.createSession`` (30 in 5 minutes and 300 a day per account, 429
  ``RateLimitExceeded`` with ``RateLimit-*`` headers; 401 ``AuthenticationRequired``), ``refreshSession`` (the
  refresh token, rotated), ``getSession``, ``com.atproto.repo.uploadBlob``, ``com.atproto.repo.createRecord``
  (``app.bsky.feed.post``: 300 graphemes and 3,000 bytes; facets' byte offsets inside the text and on character
  boundaries; an external card's thumbnail an uploaded image of at most 1,000,000 bytes); errors
  ``{"error", "message"}``, 400 ``ExpiredToken`` for an expired token.

Lengths are counted here with code of the simulator's own (not the renderer's), so a renderer that miscounts
is refused as the real server would. ``facebook_gateway_timeouts``: the next posts are recorded, then answered
by a proxy's 504 page; ``bluesky_gateway_errors``: the next posts recorded, then answered by a gateway's
``bluesky_gateway_status`` (502 by default). ``social_answer_delay`` (``POST /_sim/config``) records a post and then
answers late: a client's timeout, with the post online (an uncertain outcome).
``POST /_sim/bluesky/revoke`` revokes every session (an app password revoked, or tokens long expired).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from site_tools.devtools.simulator import Simulator

MASTODON_WINDOW = 3 * 3600.0  # 300 statuses per 3 hours per account
IDEMPOTENCY_SECONDS = 3600.0
SESSION_WINDOWS = ((30, 300.0), (300, 86400.0))  # createSession per account: (calls, seconds)
POST_GRAPHEMES, POST_BYTES, THUMB_BYTES = 300, 3000, 1_000_000
BSKY_DID = "did:plc:valfioritasimulata000000"
_JWT_KEY = b"sim-bluesky-signing-key"


def _graphemes(text: str) -> int:
    import regex

    return len(regex.findall(r"\X", text))


#: A link as Mastodon's extractor (twitter-text) finds it: it ends on a letter, a digit or one of ``/=#+-_``,
#: never on the punctuation after it (``).``, ``»``, ``,``), which counts as text.
_MASTODON_URL = r"\bhttps?://\S*[\w/=#+\-]"


def _mastodon_length(text: str) -> int:
    import regex

    urls = regex.findall(_MASTODON_URL, text)
    rest = regex.sub(_MASTODON_URL, "", text)
    return _graphemes(rest) + 23 * len(urls)


class Social:
    def __init__(self, sim: Simulator):
        self.sim = sim
        self.facebook: list[dict[str, Any]] = []
        self.mastodon: list[dict[str, Any]] = []
        self.mastodon_keys: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self.mastodon_recent: deque[float] = deque()
        self.bluesky: list[dict[str, Any]] = []
        self.blobs: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, deque[float]] = {}
        self.access: dict[str, float] = {}  # token → expiry
        self.refresh: dict[str, float] = {}

    # -- Facebook Page ------------------------------------------------------------------------------------
    async def facebook_feed(self, request: web.Request) -> web.StreamResponse:
        cfg = self.sim.config
        form = await request.post()
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or str(
            form.get("access_token") or request.query.get("access_token") or ""
        )
        if token != cfg.facebook_page_token:
            return _graph_error(190, "Invalid OAuth access token - Cannot parse access token", "OAuthException")
        page = request.match_info["page_id"]
        if page != cfg.facebook_page_id:
            return _graph_error(
                100,
                f"Unsupported post request. Object with ID '{page}' does not exist, cannot be loaded due to missing "
                "permissions, or does not support this operation.",
                "GraphMethodException",
            )
        message, link = str(form.get("message") or ""), str(form.get("link") or "")
        if not message and not link:
            return _graph_error(100, "(#100) Missing message or attachment", "OAuthException")
        if len(message) > 63206:
            return _graph_error(100, "(#100) The message is too long", "OAuthException")
        if self.facebook and self.facebook[-1]["message"] == message and message:
            return _graph_error(506, "(#506) Duplicate status message", "OAuthException")
        self.sim.seq += 1
        post_id = f"{page}_{self.sim.seq}"
        self.facebook.append({"id": post_id, "message": message, "link": link, "t": time.time()})
        if cfg.facebook_gateway_timeouts > 0:
            cfg.facebook_gateway_timeouts -= 1
            return web.Response(
                status=504, text="<html><body>504 Gateway Time-out</body></html>", content_type="text/html"
            )
        await self._late()
        return web.json_response({"id": post_id})

    # -- Mastodon -----------------------------------------------------------------------------------------
    async def mastodon_status(self, request: web.Request) -> web.StreamResponse:
        cfg = self.sim.config
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token != cfg.mastodon_token:
            return web.json_response({"error": "The access token is invalid"}, status=401)
        if not {"write", "write:statuses"} & set(cfg.mastodon_scopes.split()):
            return web.json_response({"error": "This action is outside the authorized scopes"}, status=403)
        now = time.time()
        key = request.headers.get("Idempotency-Key")
        if (
            key
            and (token, key) in self.mastodon_keys
            and now - self.mastodon_keys[(token, key)][0] < IDEMPOTENCY_SECONDS
        ):
            self.sim.stats["mastodon_idempotent_replays"] += 1
            return web.json_response(self.mastodon_keys[(token, key)][1])
        try:
            body = await request.json() if request.content_type == "application/json" else dict(await request.post())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "Error while parsing request body"}, status=400)
        text = str(body.get("status") or "")
        if not text.strip():
            return web.json_response({"error": "Validation failed: Text can't be blank"}, status=422)
        if _mastodon_length(text) > cfg.mastodon_max_characters:
            return web.json_response(
                {"error": f"Validation failed: Text character limit of {cfg.mastodon_max_characters} exceeded"},
                status=422,
            )
        while self.mastodon_recent and self.mastodon_recent[0] < now - MASTODON_WINDOW:
            self.mastodon_recent.popleft()
        if len(self.mastodon_recent) >= cfg.mastodon_statuses_per_window:
            reset = datetime.fromtimestamp(self.mastodon_recent[0] + MASTODON_WINDOW, UTC)
            headers = {"X-RateLimit-Limit": str(cfg.mastodon_statuses_per_window), "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z")}  # fmt: skip
            return web.json_response({"error": "Too many requests"}, status=429, headers=headers)
        self.mastodon_recent.append(now)
        self.sim.seq += 1
        status = {
            "id": str(100000000000000000 + self.sim.seq),
            "created_at": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
            "visibility": body.get("visibility", "public"),
            "language": body.get("language"),
            "url": f"https://mastodon.example/@valfiorita/{100000000000000000 + self.sim.seq}",
            "content": "<p>" + text.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br />") + "</p>",
            "text": text,  # the simulator's own record of what was sent (Mastodon returns it only on delete)
        }
        self.mastodon.append({**status, "idempotency_key": key, "t": now})
        if key:
            self.mastodon_keys[(token, key)] = (now, status)
        await self._late()
        return web.json_response(status)

    async def mastodon_instance(self, request: web.Request) -> web.StreamResponse:
        statuses = {"max_characters": self.sim.config.mastodon_max_characters, "characters_reserved_per_url": 23}
        return web.json_response({"domain": request.host, "configuration": {"statuses": statuses}})

    # -- Bluesky (XRPC) -------------------------------------------------------------------------------------
    def _jwt(self, scope: str, seconds: float) -> str:
        now = int(time.time())
        claims = {"scope": scope, "sub": BSKY_DID, "aud": "did:web:sim.invalid", "iat": now,
                  "exp": now + int(seconds), "jti": uuid.uuid4().hex}  # fmt: skip
        segments = [_b64({"typ": "JWT", "alg": "HS256"}), _b64(claims)]
        signature = hmac.new(_JWT_KEY, ".".join(segments).encode(), hashlib.sha256).digest()
        return ".".join([*segments, base64.urlsafe_b64encode(signature).rstrip(b"=").decode()])

    def _session(self) -> dict[str, Any]:
        cfg = self.sim.config
        access = self._jwt("com.atproto.appPass", cfg.bluesky_access_seconds)
        refresh = self._jwt("com.atproto.refresh", cfg.bluesky_refresh_seconds)
        self.access[access] = time.time() + cfg.bluesky_access_seconds
        self.refresh[refresh] = time.time() + cfg.bluesky_refresh_seconds
        return {"did": BSKY_DID, "handle": cfg.bluesky_handle, "accessJwt": access, "refreshJwt": refresh,
                "active": True}  # fmt: skip

    def _check(self, request: web.Request, tokens: dict[str, float]) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token:
            return _xrpc_error(401, "AuthMissing", "Authentication Required")
        if token not in tokens:
            return _xrpc_error(400, "InvalidToken", "Token could not be verified")
        if tokens[token] < time.time():
            return _xrpc_error(400, "ExpiredToken", "Token has expired")
        return None

    async def create_session(self, request: web.Request) -> web.StreamResponse:
        cfg = self.sim.config
        body = await _json(request)
        identifier = str(body.get("identifier", "")).lstrip("@").lower()
        now = time.time()
        calls = self.sessions.setdefault(identifier, deque())
        while calls and calls[0] < now - SESSION_WINDOWS[-1][1]:
            calls.popleft()
        for limit, window in SESSION_WINDOWS:
            recent = [t for t in calls if t >= now - window]
            if len(recent) >= limit:
                self.sim.stats["bluesky_sessions_refused"] += 1
                headers = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": "0",
                           "RateLimit-Reset": str(int(recent[0] + window)), "RateLimit-Policy": f"{limit};w={int(window)}"}  # fmt: skip
                return _xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        calls.append(now)
        if identifier not in (cfg.bluesky_handle, BSKY_DID) or body.get("password") != cfg.bluesky_password:
            return _xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.sim.stats["bluesky_sessions_created"] += 1
        return web.json_response(self._session())

    async def refresh_session(self, request: web.Request) -> web.StreamResponse:
        refused = self._check(request, self.refresh)
        if refused:
            return refused
        self.refresh.pop(request.headers["Authorization"].removeprefix("Bearer "))  # rotated: used once
        self.sim.stats["bluesky_sessions_refreshed"] += 1
        return web.json_response(self._session())

    async def get_session(self, request: web.Request) -> web.StreamResponse:
        refused = self._check(request, self.access)
        if refused:
            return refused
        return web.json_response({"did": BSKY_DID, "handle": self.sim.config.bluesky_handle, "active": True})

    async def upload_blob(self, request: web.Request) -> web.StreamResponse:
        refused = self._check(request, self.access)
        if refused:
            return refused
        data = await request.read()
        mime = _sniff(data) or request.headers.get("Content-Type", "application/octet-stream")
        cid = _cid(data)
        self.blobs[cid] = {"size": len(data), "mimeType": mime, "sha256": hashlib.sha256(data).hexdigest()}
        return web.json_response(
            {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}}
        )

    async def create_record(self, request: web.Request) -> web.StreamResponse:
        refused = self._check(request, self.access)
        if refused:
            return refused
        body = await _json(request)
        if body.get("repo") not in (BSKY_DID, self.sim.config.bluesky_handle):
            return _xrpc_error(400, "InvalidRequest", "Could not find repo")
        if body.get("collection") != "app.bsky.feed.post":
            return _xrpc_error(400, "InvalidRequest", "Only app.bsky.feed.post is simulated")
        record: dict[str, Any] = body["record"] if isinstance(body.get("record"), dict) else {}
        problem = self._invalid_post(record)
        if problem:
            return _xrpc_error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {problem}")
        self.sim.seq += 1
        rkey = f"3sim{self.sim.seq:09d}"
        uri = f"at://{BSKY_DID}/app.bsky.feed.post/{rkey}"
        self.bluesky.append({"uri": uri, "record": record, "t": time.time()})
        cfg = self.sim.config
        if cfg.bluesky_gateway_errors > 0:
            cfg.bluesky_gateway_errors -= 1
            status = cfg.bluesky_gateway_status or 502
            return web.Response(status=status, text=f"<html><body>{status}</body></html>", content_type="text/html")
        await self._late()
        return web.json_response({"uri": uri, "cid": _cid(json.dumps(record).encode()), "validationStatus": "valid"})

    def _invalid_post(self, record: dict[str, Any]) -> str | None:
        text = record.get("text")
        if not isinstance(text, str) or not isinstance(record.get("createdAt"), str):
            return "Record must have the properties text and createdAt"
        if _graphemes(text) > POST_GRAPHEMES:
            return f"Record/text must not be longer than {POST_GRAPHEMES} graphemes"
        encoded = text.encode()
        if len(encoded) > POST_BYTES:
            return f"Record/text must not be longer than {POST_BYTES} characters"
        for n, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(encoded)):
                return f"Record/facets/{n}/index must lie within the text's {len(encoded)} bytes"
            try:
                encoded[start:end].decode()
            except UnicodeDecodeError:
                return f"Record/facets/{n}/index does not fall on character boundaries (UTF-8 bytes)"
            for feature in facet.get("features") or []:
                if feature.get("$type") == "app.bsky.richtext.facet#link" and "://" not in str(feature.get("uri")):
                    return f"Record/facets/{n}/features/0/uri must be a valid uri"
        embed = record.get("embed") or {}
        if embed.get("$type") == "app.bsky.embed.external":
            external = embed.get("external") or {}
            if not all(isinstance(external.get(k), str) for k in ("uri", "title", "description")):
                return "Record/embed/external must have the properties uri, title and description"
            thumb = external.get("thumb")
            if thumb is not None:
                blob = self.blobs.get(str((thumb.get("ref") or {}).get("$link")))
                if blob is None:
                    return "Record/embed/external/thumb: blob not found (upload it first)"
                if not blob["mimeType"].startswith("image/"):
                    return "Record/embed/external/thumb mimeType must be an image"
                if blob["size"] > THUMB_BYTES:
                    return f"Record/embed/external/thumb must not be larger than {THUMB_BYTES} bytes"
        return None

    async def revoke(self, request: web.Request) -> web.StreamResponse:
        self.access.clear()
        self.refresh.clear()
        return web.json_response({"ok": True})

    async def _late(self) -> None:
        """Answer after ``social_answer_delay`` seconds: the post is already recorded (a client's timeout)."""
        if self.sim.config.social_answer_delay:
            await asyncio.sleep(self.sim.config.social_answer_delay)

    def messages(self) -> dict[str, list[dict[str, Any]]]:
        return {"facebook": self.facebook, "mastodon": self.mastodon, "bluesky": self.bluesky}

    def routes(self) -> list[web.RouteDef]:
        sim = self.sim

        def current(name: str) -> Any:
            async def handler(request: web.Request) -> web.StreamResponse:
                return await getattr(sim.social, name)(request)

            return handler

        xrpc = "/xrpc/com.atproto."
        return [
            web.post(r"/{version:v\d+\.\d+}/{page_id}/feed", current("facebook_feed")),
            web.post("/api/v1/statuses", current("mastodon_status")),
            web.get("/api/v2/instance", current("mastodon_instance")),
            web.post(xrpc + "server.createSession", current("create_session")),
            web.post(xrpc + "server.refreshSession", current("refresh_session")),
            web.get(xrpc + "server.getSession", current("get_session")),
            web.post(xrpc + "repo.uploadBlob", current("upload_blob")),
            web.post(xrpc + "repo.createRecord", current("create_record")),
            web.post("/_sim/bluesky/revoke", current("revoke")),
        ]


def _graph_error(code: int, message: str, kind: str) -> web.Response:
    error = {"message": message, "type": kind, "code": code, "fbtrace_id": f"Sim{uuid.uuid4().hex[:12]}"}
    return web.json_response({"error": error}, status=400)


def _xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status, headers=headers)


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _cid(data: bytes) -> str:
    """A CIDv1 (raw, sha2-256) in base32, as a PDS names a blob."""
    raw = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}
