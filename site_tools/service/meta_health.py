"""Meta's side of the number in ``/health``: the token, the number, the templates' approval, quality and limit.

* At start (in the background: the service starts even if the Graph API is down, and ``/health`` says so) the
  token and the number are checked (``GET /<PHONE_NUMBER_ID>``) and, with ``WHATSAPP_BUSINESS_ACCOUNT_ID``, the
  templates' statuses read; checked again when a send meets an auth or number error (:data:`RECHECK_CODES`:
  the reply sender calls :meth:`MetaWatch.suspect`) and after each publish job (at most once a minute).
* ``message_template_status_update`` and ``phone_number_quality_update`` webhooks keep the latest state
  (:func:`apply_account_changes`, called by the event worker).

Everything is kept in ``service_state`` (shared by the replicas, kept across restarts), each value with the
moment it describes, so that a webhook replayed late does not undo a newer state. ``/health`` is ``failing`` when
the token or the number is refused or a project template is not APPROVED; a warning for RED quality, a flagged
number, a messaging limit below the subscribers, or a Graph API that could not be reached.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from site_tools.channels.meta_account import TIERS, GraphError, MetaAccount
from site_tools.content.config import TownConfig
from site_tools.service.meta_templates import project_templates
from site_tools.settings import Settings, reveal
from site_tools.store import Store
from site_tools.store.database import StoreUnavailable
from site_tools.store.service_state import ServiceState

log = logging.getLogger("site_tools.service.meta")
T = TypeVar("T")
Db = Callable[[Callable[[Store], T]], Awaitable[T]]

ACCOUNT_FIELDS = ("message_template_status_update", "phone_number_quality_update")
#: service_state keys: the number check, one per template (by account, name, language), the quality webhooks.
NUMBER_KEY = "meta.number"
TEMPLATE_KEY = "meta.template.{waba}.{name}.{language}"
QUALITY_KEY = "meta.quality.{waba}"
#: A check again after a publish job or a send error: not more often than this (seconds).
RECHECK_EVERY = 60.0
#: While the Graph API cannot be reached, the start check tries again after this long (doubling, at most 10 min).
RETRY_FIRST, RETRY_MAX = 10.0, 600.0
#: Template webhook events that are not the template's status, and the status they leave it in (Meta's reference:
#: REINSTATED «can be sent again», FLAGGED «at risk of being disabled» while still APPROVED, UNARCHIVED back in use).
EVENT_STATUS = {"REINSTATED": "APPROVED", "FLAGGED": "APPROVED", "UNARCHIVED": "APPROVED"}
#: Template webhook events that say nothing about whether it can be sent (an edit lock, the account's template count).
NOT_A_STATUS = frozenset({"LOCKED", "UNLOCKED", "LIMIT_EXCEEDED"})


def _load(state: ServiceState, key: str) -> dict[str, Any]:
    try:
        value = json.loads(state.get(key) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _keep_newer(state: ServiceState, key: str, value: dict[str, Any]) -> bool:
    """Store ``value`` unless what is stored describes a later moment (a webhook replayed late).

    Meta dates a webhook in whole seconds and a check by this server's clock: a webhook of the same second as a
    check is taken as the later of the two (a template paused while the check's answer was on its way)."""
    stored = float(_load(state, key).get("at") or 0)
    if value.get("source") == "webhook":
        stored = math.floor(stored)
    if stored > float(value["at"]):
        return False
    state.put(key, json.dumps(value))
    return True


# -- webhooks (the event worker) -----------------------------------------------------------------
def apply_account_changes(store: Store, payload: dict[str, Any]) -> int:
    """Template status and number quality changes in one webhook body, stored; how many were applied."""
    applied = 0
    for entry in _items(payload.get("entry")):
        if not isinstance(entry, dict):
            continue
        waba, at = str(entry.get("id") or ""), entry.get("time")
        moment = float(at) if isinstance(at, (int, float)) and 0 < at < 1e11 else time.time()
        for change in _items(entry.get("changes")):
            if not isinstance(change, dict) or change.get("field") not in ACCOUNT_FIELDS:
                continue
            value = change.get("value")
            if isinstance(value, dict) and _apply(store.state, change["field"], waba, value, moment):
                applied += 1
    return applied


def _items(value: Any) -> list[Any]:
    """A JSON list, or nothing: a signed body of another shape is ignored, never a crash."""
    return value if isinstance(value, list) else []


def _apply(state: ServiceState, field: str, waba: str, value: dict[str, Any], at: float) -> bool:
    if field == "message_template_status_update":
        name, language = value.get("message_template_name"), value.get("message_template_language") or "it"
        event = value.get("event")
        if not isinstance(name, str) or not isinstance(event, str) or event in NOT_A_STATUS:
            return False
        reason = str(value.get("reason") or "NONE")
        record = {"status": EVENT_STATUS.get(event, event), "reason": reason,
                  "id": str(value.get("message_template_id") or ""), "at": at, "source": "webhook",
                  "flagged": event == "FLAGGED"}  # fmt: skip
        return _keep_newer(state, TEMPLATE_KEY.format(waba=waba, name=name, language=language), record)
    record = {"event": str(value.get("event") or ""), "limit": str(value.get("current_limit") or ""), "at": at,
              "source": "webhook"}  # fmt: skip
    return _keep_newer(state, QUALITY_KEY.format(waba=waba), record)


# -- the checks (start, after errors) ----------------------------------------------------------------
def probe(settings: Settings, config: TownConfig, transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Asks Meta about the number (and the templates): what ``/health`` keeps under :data:`NUMBER_KEY`."""
    now = time.time()
    if not settings.whatsapp_token or not settings.whatsapp_phone_number_id:
        return {"state": "not_configured", "at": now}
    account = MetaAccount(
        settings.whatsapp_api_url,
        reveal(settings.whatsapp_token),
        settings.whatsapp_phone_number_id,
        settings.whatsapp_business_account_id or "",
        timeout=min(settings.http_timeout, 10.0),
        transport=transport,
    )
    with account:
        try:
            number = account.number()
            result: dict[str, Any] = {
                "state": "ok", "at": now, "verified_name": number.verified_name, "status": number.status,
                "quality": number.quality_rating, "limit": number.messaging_limit, "throughput": number.throughput,
            }  # fmt: skip
            if settings.whatsapp_business_account_id:
                result |= _templates(account, config)
            return result
        except GraphError as exc:
            return {"state": _state_of(exc), "code": exc.code, "detail": exc.message[:200], "at": now}


def _templates(account: MetaAccount, config: TownConfig) -> dict[str, Any]:
    """The project templates' statuses (``MISSING`` when Meta has none of that name), or why they are unknown."""
    wanted = {(body["name"], body["language"]) for body in project_templates(config)}
    try:
        held = {(t.name, t.language): t for t in account.templates()}
    except GraphError as exc:
        return {"account_error": _state_of(exc).replace("number", "account"), "account_code": exc.code}
    templates = []
    for name, language in sorted(wanted):
        found = held.get((name, language))
        templates.append({"name": name, "language": language, "status": found.status if found else "MISSING",
                          "reason": found.rejected_reason if found else "", "id": found.id if found else ""})  # fmt: skip
    return {"templates": templates}


def _state_of(exc: GraphError) -> str:
    if exc.unreachable:
        return "unreachable"
    if exc.auth:
        return "bad_token"
    if exc.permission:
        return "no_permission"
    if exc.unknown_object:
        return "unknown_number"
    return "error"


def record_probe(state: ServiceState, result: dict[str, Any], waba: str | None) -> None:
    """The check's answer stored; the templates' statuses too (newer webhooks win)."""
    templates = result.pop("templates", [])
    state.put(NUMBER_KEY, json.dumps(result))
    for t in templates if waba else []:
        key = TEMPLATE_KEY.format(waba=waba, name=t["name"], language=t["language"])
        record = {"status": t["status"], "reason": t["reason"] or "NONE", "id": t["id"], "at": result["at"],
                  "source": "check"}  # fmt: skip
        _keep_newer(state, key, record)


class MetaWatch:
    """This replica's checks of Meta's side; the results live in the store, for every replica's ``/health``."""

    def __init__(
        self, config: Callable[[], TownConfig], settings: Settings, db: Db[Any],
        transport: httpx.BaseTransport | None = None,
    ):  # fmt: skip
        self.config = config
        self.settings = settings
        self.db = db
        self.transport = transport
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="meta")  # a slow Graph API never holds the loop
        self._task: asyncio.Task[None] | None = None
        self._last = 0.0
        self.recheck_every = RECHECK_EVERY

    async def run(self) -> None:
        """The start check, tried again while the Graph API cannot be reached or the store cannot keep its answer
        (a task that ended on an exception would leave ``/health`` at «not checked yet» until a publish job)."""
        delay = RETRY_FIRST
        while True:
            try:
                state = await self.check()
            except Exception:  # noqa: BLE001 - the store down, a Graph answer of an unknown shape: tried again
                log.exception("checking Meta's side failed; trying again in %.0f s", delay)
                state = "unreachable"
            if state != "unreachable":
                return
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX, delay * 2)

    async def check(self) -> str:
        self._last = time.monotonic()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._pool, probe, self.settings, self.config(), self.transport)
        if result["state"] != "ok":
            log.warning("Meta's side: %s %s", result["state"], result.get("detail", ""))
        waba = self.settings.whatsapp_business_account_id
        await self.db(lambda store: record_probe(store.state, dict(result), waba))
        return str(result["state"])

    def start(self) -> None:
        self._spawn(self.run())

    def suspect(self, code: int | None = None) -> None:
        """A send met an auth or number error (or a publish job ended): check again, at most once a minute."""
        if time.monotonic() - self._last < self.recheck_every:
            return
        self._last = time.monotonic()
        log.info("checking Meta's side again%s", f" (a send failed with code {code})" if code is not None else "")
        self._spawn(self._quietly())

    async def _quietly(self) -> None:
        try:
            await self.check()
        except Exception:  # noqa: BLE001 - the next error or publish checks again; /health keeps the last answer
            log.exception("checking Meta's side failed")

    def _spawn(self, work: Any) -> None:
        if self._task is not None and not self._task.done():
            work.close()
            return
        self._task = asyncio.create_task(work)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- /health ---------------------------------------------------------------------------------
    async def safe_report(self) -> tuple[list[str], list[str], dict[str, Any]]:
        """:meth:`report`, or nothing when the store does not answer (``/health`` says that already)."""
        try:
            return await asyncio.wait_for(self.report(), timeout=5)
        except (StoreUnavailable, TimeoutError):
            return [], [], {}

    async def report(self) -> tuple[list[str], list[str], dict[str, Any]]:
        """``(problems, warnings, details)`` for ``/health`` (English, for operators)."""
        config, waba = self.config(), self.settings.whatsapp_business_account_id
        names = [(body["name"], body["language"]) for body in project_templates(config)]

        def read(store: Store) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any], int]:
            templates = {
                name: _load(store.state, TEMPLATE_KEY.format(waba=waba, name=name, language=language))
                for name, language in names
            }
            quality = _load(store.state, QUALITY_KEY.format(waba=waba)) if waba else {}
            return _load(store.state, NUMBER_KEY), templates, quality, store.subscribers.count_active()

        number, templates, quality, subscribers = await self.db(read)
        return assess(number, templates if waba else {}, quality, subscribers, bool(waba))


def assess(
    number: dict[str, Any], templates: dict[str, dict[str, Any]], quality: dict[str, Any], subscribers: int,
    waba_set: bool,
) -> tuple[list[str], list[str], dict[str, Any]]:  # fmt: skip
    problems: list[str] = []
    warnings: list[str] = []
    state = number.get("state")
    code = f" (code {number.get('code')})" if number.get("code") is not None else ""
    if state == "bad_token":
        problems.append(f"Meta refuses WHATSAPP_TOKEN{code}: replace it with a valid system user token")
    elif state == "no_permission":
        problems.append(f"WHATSAPP_TOKEN lacks WhatsApp permissions on the account{code}")
    elif state == "unknown_number":
        problems.append(f"WHATSAPP_PHONE_NUMBER_ID is not a number this token can see{code}")
    elif state == "error":
        problems.append(f"Meta answered the number check with an error{code}: {number.get('detail', '')}")
    elif state == "unreachable":
        warnings.append("the Graph API could not be reached to check the token and the number (retrying)")
    elif state == "ok" and number.get("status") not in (None, "", "CONNECTED"):
        problems.append(f"the WhatsApp number's status at Meta is {number['status']}, not CONNECTED")
    elif state == "not_configured":
        warnings.append("WHATSAPP_TOKEN or WHATSAPP_PHONE_NUMBER_ID not set: no reply to a citizen can be sent")
    elif state is None:
        warnings.append("Meta's side not checked yet")
    if number.get("account_error"):
        problems.append(f"WHATSAPP_BUSINESS_ACCOUNT_ID: the templates cannot be read ({number['account_error']}, "
                        f"code {number.get('account_code')})")  # fmt: skip
    for name, held in templates.items():
        if held and held.get("status") != "APPROVED":
            reason = f" (reason: {held['reason']})" if held.get("reason") not in (None, "", "NONE") else ""
            problems.append(f"WhatsApp template {name} is {held['status']}{reason}: sends with it fail")
        elif held.get("flagged"):
            warnings.append(f"WhatsApp template {name} was FLAGGED by Meta (negative feedback): it may be disabled")
    limit, rating = number.get("limit", ""), number.get("quality", "")
    if quality and float(quality.get("at") or 0) >= float(number.get("at") or 0):
        limit = quality.get("limit") or limit
        rating = {"FLAGGED": "FLAGGED", "UNFLAGGED": "GREEN"}.get(quality.get("event", ""), rating)
    if rating in ("RED", "FLAGGED"):
        warnings.append(f"the WhatsApp number's quality is {rating}: Meta may lower its limit or pause templates")
    reach = TIERS.get(limit) if limit in TIERS else None
    if reach is not None and reach < subscribers:
        warnings.append(f"the messaging limit {limit} ({reach} people a day) is below the {subscribers} subscribers")
    if state == "ok" and not waba_set:
        warnings.append("WHATSAPP_BUSINESS_ACCOUNT_ID not set: the templates' approval is not followed")
    details = {"state": state, "quality": rating, "limit": limit, "checked_at": number.get("at"),
               "templates": {name: held.get("status") for name, held in templates.items()}}  # fmt: skip
    return problems, warnings, details
