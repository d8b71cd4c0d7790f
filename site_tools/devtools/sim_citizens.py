"""The simulator's citizens' side, for the one-to-one counter (the customer-service window, media by id).

* ``POST /_sim/inbound`` — a citizen writes (text, or a medium with its bytes):
  the simulator keeps the medium under a new media id, opens the citizen's
  24-hour window and posts the signed webhook, as Meta would;
* ``GET /{version}/{media-id}`` — the Cloud API's media endpoint (bearer
  token): ``{url, mime_type, sha256, file_size, id}``, the URL valid for
  ``media_url_ttl`` seconds;
* ``GET /_sim/lookaside/{media-id}`` — that URL: the bytes, only with the
  same ``Authorization`` header, 404 once expired;
* ``GET /_sim/telefono`` — a page showing each simulated citizen's chat, the
  town's answers arriving, with a form to write as a citizen.

With ``enforce_window`` the simulator refuses free text to a number that has
not written within 24 hours (error 131047), as WhatsApp does.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import struct
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import ClientSession, ClientTimeout, web

from site_tools.content import limits
from site_tools.devtools.meta_events import event_body

if TYPE_CHECKING:
    from site_tools.devtools.simulator import Simulator

MEDIA_KINDS = ("image", "document", "audio", "video", "sticker")


def sample_png(width: int = 48, height: int = 48, rgb: tuple[int, int, int] = (0, 90, 156)) -> bytes:
    """A small valid PNG (one colour), for demos and tests: no imaging library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class Citizens:
    def __init__(self, sim: Simulator):
        self.sim = sim
        self.media: dict[str, dict[str, Any]] = {}
        self.written: list[dict[str, Any]] = []  # what citizens sent, in order
        self.last_inbound: dict[str, float] = {}
        self.links: dict[str, float] = {}  # download token → expiry

    def window_open(self, phone: str, now: float | None = None) -> bool:
        last = self.last_inbound.get(phone)
        return last is not None and (now or time.time()) - last < limits.SERVICE_WINDOW_SECONDS

    # -- a citizen writes ----------------------------------------------------------------
    async def inbound(self, request: web.Request) -> web.Response:
        try:
            p = await request.json()
        except ValueError:
            return web.json_response({"error": "JSON expected"}, status=400)
        try:
            result = await self.write(p)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(result)

    async def write(self, p: dict[str, Any]) -> dict[str, Any]:
        phone = str(p.get("from") or "")
        if not phone.isdigit():
            raise ValueError("'from' must be the citizen's number, digits only")
        at = float(p.get("timestamp") or time.time())
        self.sim.seq += 1
        wamid = f"wamid.SIMIN{self.sim.seq:010d}{secrets.token_hex(3)}"
        message: dict[str, Any] = {"from": phone, "id": wamid, "timestamp": str(int(at))}
        media_id = None
        if p.get("media"):
            media_id, message["type"], message[p["media"].get("type", "image")] = self._keep(p["media"])
        else:
            message["type"], message["text"] = "text", {"body": str(p.get("text") or "")}
        self.last_inbound[phone] = max(at, self.last_inbound.get(phone, 0.0))
        self.written.append({"from": phone, "wamid": wamid, "t": at, "text": p.get("text"), "media_id": media_id})
        contact = {"profile": {"name": str(p.get("name") or "Cittadino")}, "wa_id": phone}
        body = event_body({"contacts": [contact], "messages": [message]}, self.sim.config.waba_id)
        delivered = await self._post(body)
        return {"wamid": wamid, "media_id": media_id, "delivered": delivered}

    def _keep(self, media: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        kind = str(media.get("type") or "image")
        if kind not in MEDIA_KINDS:
            raise ValueError(f"media type must be one of {', '.join(MEDIA_KINDS)}")
        data = base64.b64decode(str(media.get("data") or ""))
        media_id = str(10**15 + secrets.randbelow(10**15))
        mime = str(media.get("mime_type") or "application/octet-stream")
        digest = hashlib.sha256(data).hexdigest()
        self.media[media_id] = {"data": data, "mime_type": mime, "sha256": digest}
        item: dict[str, Any] = {"id": media_id, "mime_type": mime, "sha256": digest}
        if media.get("caption"):
            item["caption"] = str(media["caption"])
        if kind == "document":
            item["filename"] = str(media.get("filename") or "documento")
        return media_id, kind, item

    async def _post(self, body: bytes) -> bool:
        url = self.sim.config.webhook_url
        if not url:
            return False
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": self.sim.sign(body)}
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            for _ in range(5):
                try:
                    async with session.post(url, data=body, headers=headers) as r:
                        if r.status == 200:
                            return True
                except OSError:
                    pass
        return False

    # -- the Cloud API's media endpoints ------------------------------------------------------
    async def media_info(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.sim.config.whatsapp_token}":
            return self.sim.meta_error(190)
        media_id = request.match_info["media_id"]
        item = self.media.get(media_id)
        if item is None:
            return self.sim.meta_error(100, 400, f"Unsupported get request. Object with ID '{media_id}' does not exist")
        token = secrets.token_urlsafe(16)
        self.links[token] = time.time() + self.sim.config.media_url_ttl
        url = f"{request.url.origin()}/_sim/lookaside/{media_id}?hash={token}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": item["mime_type"],
                "sha256": item["sha256"],
                "file_size": len(item["data"]),
                "id": media_id,
            }
        )

    async def download(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.sim.config.whatsapp_token}":
            return web.Response(status=401, text="Unauthorized")
        expiry = self.links.get(request.query.get("hash", ""))
        item = self.media.get(request.match_info["media_id"])
        if item is None or expiry is None or expiry < time.time():
            return web.Response(status=404, text="URL expired or unknown")
        self.sim.stats["media_downloads"] += 1
        return web.Response(body=item["data"], content_type=item["mime_type"])

    # -- a phone screen for the demo -----------------------------------------------------------
    async def phone_page(self, request: web.Request) -> web.Response:
        chats: dict[str, list[tuple[float, str, str]]] = {}
        for w in self.written:
            text = w["text"] or ("[allegato]" if w["media_id"] else "")
            chats.setdefault(w["from"], []).append((w["t"], "cittadino", text))
        for m in self.sim.messages:
            if m["to"] in chats:
                chats[m["to"]].append((m["t"], "Comune" + (" (modello)" if m["type"] == "template" else ""), m["text"]))
        sections = []
        for phone, lines in chats.items():
            items = "".join(
                f"<li class='{'in' if who == 'cittadino' else 'out'}'><b>{html.escape(who)}</b> "
                f"{time.strftime('%H:%M:%S', time.localtime(t))}<br>{html.escape(text)}</li>"
                for t, who, text in sorted(lines)
            )
            sections.append(f"<section><h2>+{html.escape(phone)}</h2><ol>{items}</ol></section>")
        page = PHONE_PAGE.replace("{chats}", "".join(sections) or "<p>Nessun cittadino ha ancora scritto.</p>")
        return web.Response(text=page, content_type="text/html")

    async def phone_form(self, request: web.Request) -> web.Response:
        form = await request.post()
        payload: dict[str, Any] = {"from": str(form.get("from") or ""), "text": str(form.get("text") or "")}
        if form.get("photo"):
            photo = base64.b64encode(sample_png()).decode()
            payload["media"] = {"type": "image", "mime_type": "image/png", "data": photo, "caption": payload["text"]}
        try:
            await self.write(payload)
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))
        raise web.HTTPSeeOther("/_sim/telefono")

    def routes(self) -> list[web.RouteDef]:
        """Routes that reach the simulator's current citizens (``/_sim/reset`` replaces them)."""
        sim = self.sim

        def current(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
            async def handler(request: web.Request) -> web.StreamResponse:
                return await getattr(sim.citizens, name)(request)

            return handler

        return [
            web.post("/_sim/inbound", current("inbound")),
            web.get("/_sim/lookaside/{media_id}", current("download")),
            web.get("/_sim/telefono", current("phone_page")),
            web.post("/_sim/telefono", current("phone_form")),
            web.get(r"/{version:v\d+\.\d+}/{media_id:\d+}", current("media_info")),
        ]


PHONE_PAGE = """<!doctype html><html lang="it"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="5">
<title>Telefoni simulati</title><style>
body{font:16px system-ui,sans-serif;max-width:760px;margin:auto;padding:10px}
li{list-style:none;margin:6px 0;padding:6px 10px;border-radius:8px;max-width:80%;white-space:pre-wrap}
.in{background:#eee}.out{background:#dcf8c6;margin-left:auto}section{border-top:1px solid #ccc}
</style></head><body><h1>Telefoni simulati dei cittadini</h1>
<p>Simulatore: qui arrivano le risposte dello sportello (la pagina si aggiorna da sola).</p>
<form method="post"><label>Numero <input name="from" value="393330009999"></label>
<label>Messaggio <input name="text" value="Buongiorno, a che ora apre l'anagrafe?"></label>
<label><input type="checkbox" name="photo" value="1"> con una foto</label> <button>Scrivi al Comune</button></form>
{chats}</body></html>"""
