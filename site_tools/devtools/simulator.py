"""A local stand-in for the WhatsApp Cloud API, a Channel gateway and the Telegram Bot API.

Faithful to the real APIs as documented (and observed) in 2026: the same paths, request and
response bodies, error codes and limits, so the publisher cannot tell it
from the real servers except by its base URL. It also keeps what real
servers keep to themselves, so tests can check exactly-once delivery:

* ``GET /_sim/messages`` — every message accepted, in order;
* ``GET /_sim/stats`` — counters (accepted, throttled, faults, duplicates…);
* ``POST /_sim/config`` — change limits and faults while running;
* ``POST /_sim/reset`` — forget everything;
* ``POST /_sim/coexistence`` — post the webhooks of a number in coexistence (history, contacts, staff's echoes);
* ``GET /_sim/dispatches`` — every workflow run asked of GitHub's dispatch endpoint
  (``POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches``, answered 204 like GitHub).

It is also the town's WhatsApp Business account at the Graph API (the number's health, the templates and their
review, the webhook subscription; :mod:`site_tools.devtools.sim_account`).

It is also GitHub Actions' OIDC token service (``/github-oidc``: discovery, keys, the runner's token request;
:mod:`site_tools.devtools.oidc_issuer`), so the service's trusted publishing is tested without GitHub.

What the spec leaves open, decided here: the messaging-limit answer (Meta
does not document it) is error 131048 with HTTP 400; the throughput cap is a
token bucket of ``mps`` tokens per second holding at most ``burst`` tokens.
"""

from __future__ import annotations

import asyncio
import html.parser
import json
import random
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from site_tools.aio import run_loop
from site_tools.channels.meta_account import TIERS
from site_tools.content import limits
from site_tools.content.town import Digest
from site_tools.devtools.meta_events import (
    METADATA,
    WABA_ID,
    change_body,
    event_body,
    history_chunks,
    history_declined,
    message_echoes,
    state_sync,
)
from site_tools.devtools.oidc_issuer import SimulatedActions
from site_tools.devtools.push_service import PushServiceStandIn
from site_tools.devtools.sim_account import Account
from site_tools.devtools.sim_citizens import Citizens
from site_tools.devtools.sim_social import Social
from site_tools.render import reconfirm_template
from site_tools.render.digest import SLOTS as DIGEST_SLOTS
from site_tools.render.digest import body as digest_body
from site_tools.render.digest import slot_names, template_name
from site_tools.render.whatsapp_template import (
    BODY,
    INVITE_BODY,
    INVITE_NAME,
    TRANSITION_BODY,
    TRANSITION_PARAMS,
    TRANSITION_SUFFIX,
    hydrate,
)
from site_tools.service.counter.template import BODY as COUNTER_BODY
from site_tools.service.counter.template import PARAMS as COUNTER_PARAMS
from site_tools.service.signature import signature
from site_tools.settings import WHATSAPP_DEFAULT_MPS

GRAPH_VERSION = "v24.0"
#: The weekly digest's templates under their default name: one per number of lines (render/digest.py).
DIGEST_TEMPLATES = {
    template_name(n, Digest()): (digest_body(n), list(slot_names(n))) for n in range(1, DIGEST_SLOTS + 1)
}
TEMPLATE_BODIES = {
    **{name: body for name, (body, _) in DIGEST_TEMPLATES.items()},
    "avviso_comunale": BODY,
    "avviso_comunale" + TRANSITION_SUFFIX: TRANSITION_BODY,
    INVITE_NAME: INVITE_BODY,
    "sportello_risposta": COUNTER_BODY,
    reconfirm_template.NAME: reconfirm_template.BODY,
}
#: The titles Meta gives the failures the simulator reports by webhook.
FAILURE_TITLES = {
    131026: "Message undeliverable",
    131049: "This message was not delivered to maintain healthy ecosystem engagement",
    131050: "User has stopped marketing messages",
}
TELEGRAM_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}


@dataclass
class SimConfig:
    whatsapp_token: str = "sim-whatsapp-token"
    app_secret: str = "sim-app-secret"
    phone_number_id: str = METADATA["phone_number_id"]
    display_phone_number: str = METADATA["display_phone_number"]
    waba_id: str = WABA_ID
    mps: float = WHATSAPP_DEFAULT_MPS
    burst: float | None = None  # tokens the bucket holds; default mps/10, at least 1
    throttle_http_status: int = 429
    daily_limit: int | None = None  # unique recipients in 24 h (None: unlimited tier)
    latency: float = 0.150
    jitter: float = 0.010
    error_rate: float = 0.0  # 500/503 with 131000 or 131016
    timeout_rate: float = 0.0  # never answers within a client's timeout
    drop_rate: float = 0.0  # closes the connection without answering
    undeliverable_suffix: str | None = None  # numbers ending so: accepted, then failed 131026 by webhook
    webhook_url: str | None = None
    statuses: list[str] = field(default_factory=lambda: ["sent", "delivered"])
    templates: dict[str, list[str]] = field(
        default_factory=lambda: {
            "avviso_comunale": ["titolo", "sintesi"],
            "avviso_comunale" + TRANSITION_SUFFIX: list(TRANSITION_PARAMS),
            INVITE_NAME: [],
            "sportello_risposta": list(COUNTER_PARAMS),
            reconfirm_template.NAME: ["comune"],
            **{name: params for name, (_, params) in DIGEST_TEMPLATES.items()},
        }
    )
    # Marketing templates (the weekly digest), as Meta answers them later by webhook after a 200: numbers ending
    # so fail 131049 (the citizen's marketing cap) or 131050 (the citizen stopped marketing messages).
    marketing_cap_suffix: str | None = None
    marketing_stopped_suffix: str | None = None
    telegram_token: str = "123456:sim-telegram-token"
    telegram_per_chat_per_minute: int = 20
    telegram_window: float = 60.0  # seconds over which the per-chat limit counts
    gateway_token: str = "sim-gateway-token"
    github_dispatch_token: str = "sim-github-dispatch-token"  # «Actions: write» on the repository
    github_dispatch_status: int | None = None  # force this answer from the dispatch endpoint (a fault)
    fail_with: int | None = None  # force every WhatsApp send to fail with this error code
    # The one-to-one counter (sim_citizens.py): refuse free text outside the 24 h window (131047);
    # how long a media download URL lives.
    enforce_window: bool = False
    media_url_ttl: float = 300.0
    # The account (sim_account.py): the number's health, the templates' review, the webhook subscription.
    verified_name: str = "Comune di Valfiorita"
    number_status: str = "CONNECTED"
    quality_rating: str = "GREEN"  # GREEN, YELLOW, RED
    messaging_limit: str = "TIER_UNLIMITED"  # enforced as daily_limit when that is None
    template_review_seconds: float | None = 1.0  # None: a new or edited template waits for POST /_sim/templates
    app_subscribed: bool = True
    town_config: str | None = None  # a mkdocs.yml: the account's templates exactly as the town declares them
    # The social networks (sim_social.py): a Facebook Page, a Mastodon server, a Bluesky PDS.
    facebook_page_token: str = "sim-facebook-page-token"
    facebook_page_id: str = "1234567890"
    mastodon_token: str = "sim-mastodon-token"
    mastodon_scopes: str = "write:statuses"
    mastodon_max_characters: int = 500
    mastodon_statuses_per_window: int = 300  # per 3 hours
    bluesky_handle: str = "valfiorita.bsky.social"
    bluesky_password: str = "sim-bluesky-app-password"
    bluesky_access_seconds: float = 7200.0
    bluesky_refresh_seconds: float = 90 * 86400.0
    social_answer_delay: float = 0.0  # a post is recorded, then answered this late (a client's timeout)
    #: The next N Facebook posts are recorded, then answered by a proxy's 504 page (the answer lost on the way).
    facebook_gateway_timeouts: int = 0
    #: The next Bluesky posts are recorded, then answered by a gateway's error page with this status (502, 504).
    bluesky_gateway_status: int = 0
    bluesky_gateway_errors: int = 0

    def bucket_size(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.mps / 10)

    def unique_limit(self) -> int | None:
        """Unique recipients in 24 h: ``daily_limit`` if set, else the messaging limit's tier."""
        return self.daily_limit if self.daily_limit is not None else TIERS.get(self.messaging_limit)


ERROR_HTTP = {
    190: 401,
    0: 401,
    10: 403,
    131005: 403,
    368: 403,
    131031: 403,
    132001: 404,
    131000: 500,
    131016: 503,
    1: 500,
    2: 503,
    133004: 503,
    131057: 500,
}
ERROR_TEXT = {
    190: "Error validating access token: Session has expired",
    0: "AuthException",
    130429: "Rate limit hit",
    131048: "Spam rate limit hit (messaging limit reached)",
    131000: "Something went wrong",
    131016: "Service unavailable",
    132000: "Number of parameters does not match",
    132001: "Template name does not exist in the translation",
    132005: "Translated text too long",
    132018: "There was an issue with the parameters in your template",
    100: "Invalid parameter",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    132015: "Template is paused",
    132016: "Template has been disabled",
}


class Simulator:
    def __init__(self, config: SimConfig | None = None):
        self.config = config or SimConfig()
        self.github_oidc = SimulatedActions(self)  # GitHub Actions' OIDC token service, under /github-oidc
        self.push = PushServiceStandIn()  # a browser push service (Web Push), under /push and /_push
        self.reset()

    def reset(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.telegram: list[dict[str, Any]] = []
        self.gateway: list[dict[str, Any]] = []
        self.dispatches: list[dict[str, Any]] = []
        self.stats: Counter[str] = Counter()
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.tokens = self.config.bucket_size()
        self.refilled = time.monotonic()
        self.recipients_24h: dict[str, float] = {}
        self.tg_recent: dict[str, deque[float]] = {}
        self.webhook_queue: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.seq = 0
        self.citizens = Citizens(self)
        self.account = Account(self)
        self.social = Social(self)
        self.github_oidc.reset()
        self.push.reset()
        # Faults are spread evenly, not drawn independently: each kind gains its rate
        # per request and strikes when it reaches one (from a random start), so N
        # requests at rate r see floor or ceil of N*r faults, never a lucky run of none.
        self.fault_credit = {kind: random.random() for kind in ("dropped", "timeouts", "server_errors")}

    # -- helpers --------------------------------------------------------------
    def _fault(self) -> str | None:
        """The fault this request gets, if any (at most one per request)."""
        rates = {"dropped": self.config.drop_rate, "timeouts": self.config.timeout_rate}
        rates["server_errors"] = self.config.error_rate
        struck = None
        for kind, rate in rates.items():
            self.fault_credit[kind] += rate
            if struck is None and self.fault_credit[kind] >= 1:
                self.fault_credit[kind] -= 1
                struck = kind
        return struck

    def _take_token(self) -> bool:
        now = time.monotonic()
        size = self.config.bucket_size()
        self.tokens = min(size, self.tokens + (now - self.refilled) * self.config.mps)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    @staticmethod
    def meta_error(code: int, status: int | None = None, details: str | None = None) -> web.Response:
        body = {
            "error": {
                "message": f"(#{code}) {ERROR_TEXT.get(code, 'Error')}",
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details or ERROR_TEXT.get(code, "Error")},
                "fbtrace_id": f"Sim{random.randrange(16**12):012x}",
            }
        }
        return web.json_response(body, status=status or ERROR_HTTP.get(code, 400))

    async def _latency(self) -> None:
        delay = self.config.latency + random.uniform(-self.config.jitter, self.config.jitter)
        if delay > 0:
            await asyncio.sleep(delay)

    # -- WhatsApp Cloud API ------------------------------------------------------
    async def whatsapp_messages(self, request: web.Request) -> web.StreamResponse:
        self.stats["requests"] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._whatsapp(request)
        finally:
            self.in_flight -= 1

    async def _whatsapp(self, request: web.Request) -> web.StreamResponse:
        cfg = self.config
        if request.headers.get("Authorization") != f"Bearer {cfg.whatsapp_token}":
            self.stats["auth_errors"] += 1
            return self.meta_error(190)
        if request.match_info["phone_id"] != cfg.phone_number_id:
            return self.meta_error(100, 400, "Unsupported post request: unknown phone number id")
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self.meta_error(100, 400, "Invalid JSON")
        if not self._take_token():
            self.stats["throttled"] += 1
            return self.meta_error(130429, cfg.throttle_http_status)
        fault = self._fault()
        if fault == "dropped":
            self.stats["dropped"] += 1
            await self._latency()
            if request.transport:
                request.transport.close()
            raise ConnectionResetError("simulated drop")
        if fault == "timeouts":
            self.stats["timeouts"] += 1
            await asyncio.sleep(3600)
        await self._latency()
        if fault == "server_errors":
            self.stats["server_errors"] += 1
            return self.meta_error(random.choice((131000, 131016)))
        if cfg.fail_with is not None:
            return self.meta_error(cfg.fail_with)
        problem = self._check_payload(payload)
        if not problem and cfg.enforce_window and payload["type"] != "template":
            problem = None if self.citizens.window_open(payload["to"]) else (131047, 400)
        if problem:
            self.stats["rejected"] += 1
            return self.meta_error(*problem)
        to = payload["to"]
        now = time.time()
        limit = cfg.unique_limit()
        if limit is not None and to not in self.recipients_24h:
            cutoff = now - 86400
            live = sum(1 for t in self.recipients_24h.values() if t > cutoff)
            if live >= limit:
                self.stats["limit_reached"] += 1
                return self.meta_error(131048, 400)
        self.recipients_24h.setdefault(to, now)
        self.seq += 1
        wamid = f"wamid.SIM{self.seq:012d}{random.randrange(16**6):06x}"
        callback = payload.get("biz_opaque_callback_data")
        self.messages.append(
            {
                "to": to,
                "type": payload["type"],
                "callback": callback,
                "wamid": wamid,
                "t": now,
                "text": self._text_of(payload),
                "endpoint": request.path.rsplit("/", 1)[-1],
            }
        )
        self.pairs[(to, callback or "")] += 1
        if self.pairs[(to, callback or "")] > 1:
            self.stats["duplicates"] += 1
        self.stats["accepted"] += 1
        if cfg.webhook_url:
            self._queue_statuses(to, wamid, callback, str((payload.get("template") or {}).get("name", "")))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            }
        )

    def _text_of(self, payload: dict[str, Any]) -> str:
        if payload.get("type") == "text":
            return str(payload.get("text", {}).get("body", ""))
        params = {}
        for comp in payload.get("template", {}).get("components", []):
            if comp.get("type") == "body":
                params = {
                    p.get("parameter_name", str(i)): p.get("text", "") for i, p in enumerate(comp.get("parameters", []))
                }
        return hydrate(TEMPLATE_BODIES.get(payload.get("template", {}).get("name"), BODY), params)

    def _check_payload(self, p: Any) -> tuple[int, int] | None:
        if not isinstance(p, dict) or p.get("messaging_product") != "whatsapp":
            return (100, 400)
        to = p.get("to")
        if not isinstance(to, str) or not to.isdigit() or not 8 <= len(to) <= 15:
            return (131009, 400)
        if to == self.config.display_phone_number:
            return (131021, 400)
        kind = p.get("type")
        if kind == "text":
            body = p.get("text", {}).get("body") if isinstance(p.get("text"), dict) else None
            if not isinstance(body, str) or not body:
                return (131008, 400)
            if len(body) > limits.WHATSAPP_TEXT_MAX:
                return (100, 400)
            return None
        if kind != "template":
            return (131051, 400)
        tpl = p.get("template")
        if not isinstance(tpl, dict) or tpl.get("name") not in self.config.templates:
            return (132001, 404)
        if (tpl.get("language") or {}).get("code") != "it":
            return (132001, 404)
        held = self.account.send_error(tpl["name"], "it")
        if held is not None:
            return (held, 404 if held == 132001 else 400)
        expected = self.config.templates[tpl["name"]]
        params: dict[str, str] = {}
        for comp in tpl.get("components", []):
            if comp.get("type") == "body":
                for param in comp.get("parameters", []):
                    text = param.get("text")
                    if not isinstance(text, str):
                        return (132012, 400)
                    if any(c in text for c in "\n\t") or "     " in text:
                        return (132018, 400)
                    params[param.get("parameter_name", "")] = text
            elif comp.get("type") == "button":
                for param in comp.get("parameters", []):
                    if len(str(param.get("text", ""))) > limits.TEMPLATE_URL_MAX:
                        return (132012, 400)
        if sorted(params) != sorted(expected):
            return (132000, 400)
        if len(hydrate(TEMPLATE_BODIES.get(tpl["name"], BODY), params)) > limits.TEMPLATE_BODY_MAX:
            return (132005, 400)
        return None

    def _failure_code(self, to: str, template: str) -> int | None:
        """The code a later status webhook fails this message with (None: it is delivered)."""
        cfg = self.config
        if cfg.undeliverable_suffix and to.endswith(cfg.undeliverable_suffix):
            return 131026
        marketing = template in DIGEST_TEMPLATES or template.startswith(Digest().template)
        if marketing and cfg.marketing_stopped_suffix and to.endswith(cfg.marketing_stopped_suffix):
            return 131050
        if marketing and cfg.marketing_cap_suffix and to.endswith(cfg.marketing_cap_suffix):
            return 131049
        return None

    def _queue_statuses(self, to: str, wamid: str, callback: str | None, template: str = "") -> None:
        code = self._failure_code(to, template)
        statuses = ["failed"] if code else list(self.config.statuses)
        ts = str(int(time.time()))
        for status in statuses:
            item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": ts, "recipient_id": to}
            if callback:
                item["biz_opaque_callback_data"] = callback
            if status in ("sent", "delivered"):
                item["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
            if status == "failed":
                title = FAILURE_TITLES.get(code or 131026, "Message undeliverable")
                item["errors"] = [
                    {"code": code, "title": title, "message": title, "error_data": {"details": title + "."}}
                ]
            self.webhook_queue.append(item)

    def webhook_body(self, statuses: list[dict[str, Any]]) -> bytes:
        return event_body({"statuses": statuses}, self.config.waba_id)

    def sign(self, body: bytes) -> str:
        return signature(self.config.app_secret, body)

    async def webhook_pump(self, app: web.Application) -> None:
        """Posts queued status updates in batches, and the account's changes one by one, signed as Meta signs them;
        approves the templates whose review is over."""
        session = ClientSession(timeout=ClientTimeout(total=10))
        try:
            while True:
                await asyncio.sleep(0.2)
                self.account.review_due(time.time())
                if not self.config.webhook_url:
                    continue
                while self.account.events:
                    await self._post(session, self.account.webhook_body(self.account.events.pop(0)), 1)
                if not self.webhook_queue:
                    continue
                batch, self.webhook_queue = self.webhook_queue[:500], self.webhook_queue[500:]
                await self._post(session, self.webhook_body(batch), len(batch))
        finally:
            await session.close()

    async def _post(self, session: ClientSession, body: bytes, count: int) -> None:
        """One signed webhook POST, retried a few times (Meta retries for days)."""
        assert self.config.webhook_url
        for attempt in range(5):
            try:
                async with session.post(
                    self.config.webhook_url,
                    data=body,
                    headers={"Content-Type": "application/json", "X-Hub-Signature-256": self.sign(body)},
                ) as r:
                    if r.status == 200:
                        self.stats["webhooks_delivered"] += count
                        return
            except Exception:  # noqa: BLE001 - the receiver may be down; Meta retries too
                pass
            await asyncio.sleep(0.5 * (attempt + 1))
        self.stats["webhooks_failed"] += count

    # -- Telegram Bot API -------------------------------------------------------
    async def telegram_send(self, request: web.Request) -> web.Response:
        await self._latency()
        if request.match_info["token"] != self.config.telegram_token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        try:
            p = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _tg_error(400, "Bad Request: invalid JSON")
        chat, text = p.get("chat_id"), p.get("text")
        if not chat:
            return _tg_error(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return _tg_error(400, "Bad Request: message text is empty")
        now = time.time()
        recent = self.tg_recent.setdefault(str(chat), deque())
        window = self.config.telegram_window
        while recent and recent[0] < now - window:
            recent.popleft()
        if len(recent) >= self.config.telegram_per_chat_per_minute:
            retry = int(recent[0] + window - now) + 1
            self.stats["telegram_throttled"] += 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry}",
                    "parameters": {"retry_after": retry},
                },
                status=429,
            )
        visible = text
        if p.get("parse_mode") == "HTML":
            checker = _TelegramHTML()
            try:
                checker.feed(text)
                checker.close()
                checker.verify()
            except ValueError as exc:
                return _tg_error(400, f"Bad Request: can't parse entities: {exc}")
            visible = checker.visible
        if len(visible.encode("utf-16-le")) // 2 > limits.TELEGRAM_TEXT_MAX:
            return _tg_error(400, "Bad Request: message is too long")
        recent.append(now)
        self.seq += 1
        self.telegram.append({"chat_id": chat, "text": text, "message_id": self.seq, "t": now})
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "message_id": self.seq,
                    "date": int(now),
                    "chat": {"id": -1001234567890, "type": "channel"},
                    "text": visible,
                },
            }
        )

    # -- a Channel gateway (Whapi.Cloud's shape) -----------------------------------
    async def gateway_send(self, request: web.Request) -> web.Response:
        await self._latency()
        if request.headers.get("Authorization") != f"Bearer {self.config.gateway_token}":
            return web.json_response({"error": {"code": 401, "message": "Unauthorized"}}, status=401)
        p = await request.json()
        if not str(p.get("to", "")).endswith("@newsletter") or not p.get("body"):
            return web.json_response({"error": {"code": 400, "message": "Bad request"}}, status=400)
        self.seq += 1
        self.gateway.append({"to": p["to"], "body": p["body"], "id": f"sim-{self.seq}", "t": time.time()})
        return web.json_response({"sent": True, "message": {"id": f"sim-{self.seq}"}})

    # -- GitHub's workflow dispatch (the service asks for a site rebuild) --------------
    async def github_dispatch(self, request: web.Request) -> web.Response:
        """``POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches``: 204 and no body, as GitHub."""
        docs = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
        if request.headers.get("Authorization") != f"Bearer {self.config.github_dispatch_token}":
            return web.json_response({"message": "Bad credentials", "documentation_url": docs}, status=401)
        forced = self.config.github_dispatch_status
        if forced is not None:
            self.stats["github_dispatch_faults"] += 1
            return web.json_response({"message": "Server Error"}, status=forced)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"message": "Problems parsing JSON", "documentation_url": docs}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("ref"), str):
            return web.json_response(
                {"message": "Invalid request: ref wasn't supplied.", "documentation_url": docs}, status=422
            )
        info = request.match_info
        self.dispatches.append(
            {
                "repository": f"{info['owner']}/{info['repo']}",
                "workflow": info["workflow"],
                "ref": body["ref"],
                "inputs": body.get("inputs", {}),
                "t": time.time(),
            }
        )
        return web.Response(status=204)

    async def get_dispatches(self, request: web.Request) -> web.Response:
        return web.json_response(self.dispatches)

    # -- control -----------------------------------------------------------------
    async def get_messages(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"whatsapp": self.messages, "telegram": self.telegram, "gateway": self.gateway, **self.social.messages()}
        )

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response({**self.stats, "max_in_flight": self.max_in_flight, "config": asdict(self.config)})

    async def set_config(self, request: web.Request) -> web.Response:
        changes = await request.json()
        before = asdict(self.config)
        for key, value in changes.items():
            if key in SimulatedActions.SETTINGS:
                self.github_oidc.configure(key, value)
                continue
            if not hasattr(self.config, key):
                return web.json_response({"error": f"unknown setting {key}"}, status=400)
            setattr(self.config, key, value)
        self.account.number_changed(before)
        return web.json_response(asdict(self.config))

    async def coexistence(self, request: web.Request) -> web.Response:
        """``POST /_sim/coexistence``: the webhooks of a number connected in coexistence, signed and posted before
        the answer (in Meta's shapes: :mod:`site_tools.devtools.meta_events`). The body (every key optional):
        ``threads`` ``[{"citizen", "messages": [{"text", "at", "by": "citizen"|"business"}]}]`` → ``history``
        chunks, phase by phase (``declined: true`` → one ``history`` webhook with Meta's error instead);
        ``chunk_threads`` threads per chunk (100); ``contacts`` ``[{"phone", "name", "action"}]`` →
        ``smb_app_state_sync``; ``echoes`` ``[{"to", "text", "at"}]`` → ``smb_message_echoes``."""
        spec = await request.json()
        if not self.config.webhook_url:
            return web.json_response({"error": "webhook_url is not set (POST /_sim/config)"}, status=409)
        now, business = time.time(), self.config.display_phone_number
        values: list[tuple[str, dict[str, Any]]] = []
        if spec.get("declined"):
            values.append(("history", history_declined()))
        elif spec.get("threads"):
            chunks = history_chunks(spec["threads"], business, now, int(spec.get("chunk_threads") or 100))
            values += [("history", chunk) for chunk in chunks]
        if spec.get("contacts"):
            values.append(("smb_app_state_sync", state_sync(spec["contacts"], now)))
        if spec.get("echoes"):
            values.append(("smb_message_echoes", message_echoes(spec["echoes"], business, now)))
        before = self.stats.get("webhooks_delivered", 0)
        async with ClientSession(timeout=ClientTimeout(total=30)) as session:
            for field_name, value in values:
                await self._post(session, change_body(field_name, value, self.config.waba_id), 1)
        delivered = self.stats.get("webhooks_delivered", 0) - before
        return web.json_response({"webhooks": len(values), "delivered": delivered})

    async def do_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)  # /_sim/coexistence: thousands of chats
        app.add_routes(
            [
                web.post("/{version}/{phone_id}/messages", self.whatsapp_messages),
                # The Marketing Messages API: the same body and answers as /messages (spec, «Marketing messages»).
                web.post("/{version}/{phone_id}/marketing_messages", self.whatsapp_messages),
                web.post("/bot{token}/sendMessage", self.telegram_send),
                web.post("/messages/text", self.gateway_send),
                web.post("/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", self.github_dispatch),
                web.get("/_sim/messages", self.get_messages),
                web.get("/_sim/dispatches", self.get_dispatches),
                web.get("/_sim/stats", self.get_stats),
                web.post("/_sim/config", self.set_config),
                web.post("/_sim/reset", self.do_reset),
                web.post("/_sim/coexistence", self.coexistence),
                *self.account.routes(),  # the account: the number's health, templates, webhook subscription
                *self.citizens.routes(),  # media endpoints and the citizens' side (the one-to-one counter)
                *self.github_oidc.routes(),  # a GitHub Actions OIDC issuer and the runner's token request
                *self.social.routes(),  # a Facebook Page, a Mastodon server, a Bluesky PDS
                *self.push.routes(),  # a browser push service (devtools/push_service.py)
            ]
        )

        async def pump(app: web.Application):  # type: ignore[no-untyped-def]
            task = asyncio.create_task(self.webhook_pump(app))
            yield
            task.cancel()

        app.cleanup_ctx.append(pump)
        return app


def _tg_error(code: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": code, "description": description}, status=code)


class _TelegramHTML(html.parser.HTMLParser):
    """Accepts only Telegram's tags, balanced; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.visible = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_ALLOWED_TAGS:
            raise ValueError(f'unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise ValueError(f'unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.visible += data

    def verify(self) -> None:
        if self.stack:
            raise ValueError(f'can\'t find end tag corresponding to start tag "{self.stack[-1]}"')


async def serve(sim: Simulator, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(sim.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    server: Any = site._server
    sockets = server.sockets if server else []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, bound


def run(config: SimConfig, host: str = "127.0.0.1", port: int = 8900) -> None:
    """Blocking: serve until interrupted. Prints the URL it listens on."""

    async def main() -> None:
        sim = Simulator(config)
        runner, bound = await serve(sim, host, port)
        print(f"Simulator listening on http://{host}:{bound}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        run_loop(main())
    except KeyboardInterrupt:
        pass
