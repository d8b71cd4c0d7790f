"""The subscriptions service: an ASGI app (Starlette) for Meta's WhatsApp webhooks.

* ``GET /webhook`` — the verification handshake (``hub.*``).
* ``POST /webhook`` — the body is read up to 1 MB (32 MB for a number in coexistence: its chats' history) within 10 s, its
  ``X-Hub-Signature-256`` checked on the raw bytes with the app secret
  (constant time, never raising), its JSON depth bounded; an OFF keyword is
  applied right there, then the event is stored and only then acknowledged
  with 200. If the store cannot take it, the answer is 503 and Meta sends it
  again: nothing acknowledged is ever lost.
* A supervised worker applies stored events (:mod:`.worker`); replies leave
  through the outbox at the number's shared rate (:mod:`.outbox_sender`).
* ``POST /publish`` — a push to ``main``, proven by GitHub's OIDC token, becomes a publish job; the run
  is streamed back to the workflow (:mod:`.publishing`, docs/architecture/trusted-publishing.md).
* ``GET /health`` — 200 when events are being processed and the database
  answers, 503 otherwise, with the reasons and the counts (:mod:`.health`).
* ``GET /metrics`` — Prometheus's text exposition, for the private network only (:mod:`.metrics`,
  docs/operations/monitoring.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from site_tools import __version__
from site_tools.content.config import TownConfig
from site_tools.service.counter.runtime import Counter
from site_tools.service.counter.web import inbox_app
from site_tools.service.current import Current
from site_tools.service.events import Outcome, apply_opt_outs, kind_of, values
from site_tools.service.group_commit import GroupCommit
from site_tools.service.guard import HISTORY_MAX_BODY, MAX_BODY, Rejected, header_bytes, load_json, read_body
from site_tools.service.health import (
    LATE_EVENTS,
    LATE_MESSAGES,
    STALE_EVENTS,
    STALE_JOBS,
    replies_health,
    store_figures,
)
from site_tools.service.meta_health import MetaWatch
from site_tools.service.metrics import Exporter, ProcessFigures, counted
from site_tools.service.metrics import response as metrics_response
from site_tools.service.newsletter import NewsletterService
from site_tools.service.oauth import editor_login_routes
from site_tools.service.oidc import Refused, TrustPolicy, Untrusted, Verifier
from site_tools.service.outbox_sender import ReplySender
from site_tools.service.publishing import Command, Runner, stream
from site_tools.service.signature import same_secret, valid_signature
from site_tools.service.supervisor import Supervised, supervise
from site_tools.service.worker import Counters, EventWorker
from site_tools.settings import Settings, reveal
from site_tools.store import Store
from site_tools.store.database import StoreUnavailable, describe_error, store_bug
from site_tools.store.inbox import MESSAGE
from site_tools.store.jobs import Job

log = logging.getLogger("site_tools.service")
T = TypeVar("T")

#: Attempts to store an event inside one request before answering 503 (Meta retries).
STORE_ATTEMPTS = 3


class Service:
    def __init__(
        self,
        config: TownConfig,
        settings: Settings,
        store_factory: Callable[[], Store],
        exit_on_failure: bool = False,
        db_url: str | None = None,
        trust: Verifier | None = None,
        command: Command | None = None,
    ):
        if not settings.app_secret or not settings.verify_token:
            raise ValueError("WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN must be set")
        if not settings.whatsapp_phone_number_id:
            log.warning("WHATSAPP_PHONE_NUMBER_ID not set: events for any number are accepted")
        self.config = config
        self.settings = settings
        self.store_factory = store_factory
        self.exit_on_failure = exit_on_failure
        self.fatal: str | None = None
        # One connection per thread: the request thread writes the inbox, the worker thread the rest.
        self._pools = {name: ThreadPoolExecutor(1, thread_name_prefix=name) for name in ("inbox", "worker")}
        self._stores: dict[str, Store] = {}
        self._stores_locks = {name: threading.Lock() for name in self._pools}
        self.counters = Counters()
        self.stored = GroupCommit(self.inbox)
        self.worker = EventWorker(
            config, settings.whatsapp_phone_number_id, self.work, self.counters, retention_days=config.retention_days
        )
        # Meta's side (token, number, templates, quality): checked at start and after auth or number errors.
        self.meta = MetaWatch(lambda: self.config, settings, self.inbox)
        self.replies = ReplySender(
            settings, self.work, on_error=self.meta.suspect, rate=config.whatsapp_rate(settings.whatsapp_mps)
        )
        self.exporter = Exporter(store_factory, settings.whatsapp_phone_number_id)
        self.counter: Counter | None = None
        self._answers_stale = False
        self._background: set[asyncio.Task[None]] = set()
        self._health_report: asyncio.Future[dict[str, Any]] | None = None
        # The checkout follows main, the clock asks for scheduled publishes, the site refresh (None: no
        # repository to follow).
        self.current = Current.create(config, settings, store_factory, self.reload, enqueue=self._enqueue_tick)
        # Who may ask for a publish: the town's repository, its main branch, its publish workflow (extra.town.service).
        self.untrusted: str | None = None  # why /publish is off although extra.town.service is set
        self.trust = trust
        if trust is None and config.service is not None:
            try:
                self.trust = Verifier(TrustPolicy.from_config(config.service, settings))
            except Untrusted as exc:
                self.untrusted = str(exc)
                log.error("publishing on request is off: %s", exc)
        # Publishing: jobs from POST /publish and the clock, run here (warm) under a lease in the store.
        self.runner = Runner(
            lambda: self.config,
            store_factory,
            command or _no_command,
            db_url=db_url,
            pin=self._pin if self.current else None,
            after=self._after_job,
            lease=settings.job_lease,
        )
        self.loops = [
            Supervised("events", self.worker.run),
            Supervised("replies", self.replies.run),
            Supervised("publish", self.runner.run),
        ]
        if self.current:
            self.loops += [Supervised(name, run) for name, run in self.current.loops()]

    def reload(self, config: TownConfig) -> None:
        """The checkout moved and its mkdocs.yml loads: every part reads the new settings from now on."""
        self.config = self.worker.config = config
        self.replies.set_rate(config.whatsapp_rate(self.settings.whatsapp_mps))  # 20/s once in coexistence
        if self.counter:
            self.counter.config = self.counter.library.config = config
            self._answers_stale = True
            if self.runner.current is None:  # else once the publish is done: reading every bulletin again for the
                self._refresh_answers()  # counter's suggestions would slow its first message down
        else:
            self._answers_stale = False

    def _refresh_answers(self) -> None:
        """The counter's canned answers and bulletin suggestions, read again from the new commit (in the
        background: seconds at 10,000 bulletins)."""
        if self._answers_stale and self.counter:
            self._answers_stale = False
            self._background.add(task := asyncio.create_task(self._refresh_counter(self.counter)))
            task.add_done_callback(self._background.discard)

    @staticmethod
    async def _refresh_counter(counter: Counter) -> None:
        try:
            await counter.refresh()
        except Exception:  # noqa: BLE001 - the counter's housekeeping reads them again in ten minutes
            log.exception("the counter's answers were not read again after the checkout moved")

    def _after_job(self) -> None:
        self.meta.suspect()  # a publish may have met a refused token or number: Meta's side checked again
        if self.current:
            self.current.published()  # the clock plans again from the ledger
        self._refresh_answers()

    @asynccontextmanager
    async def _pin(self, job: Job) -> AsyncIterator[str | None]:
        """A job's commit checked out (a push's own, or main's head for the clock) and held while it runs."""
        assert self.current is not None
        async with self.current.pinned(job.args.get("sha")) as synced:
            yield synced.commit

    async def _enqueue_tick(self, key: str, args: dict[str, Any]) -> bool:
        """The clock's ask: one job per minute key, whichever replica's clock asks first."""
        _, new = await self.runner.db(lambda store: store.jobs.enqueue("tick", key, args))
        self.runner.wake.set()
        return new

    def _store(self, name: str) -> Store:
        # One lock per store: opening one (a migration check that may wait out a writer's lock for seconds) never
        # holds up a thread that wants the other, already open.
        store = self._stores.get(name)
        if store is None:
            with self._stores_locks[name]:
                store = self._stores.get(name)
                if store is None:
                    store = self._stores[name] = self.store_factory()
        return store

    async def _in(self, name: str, fn: Callable[[Store], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pools[name], lambda: fn(self._store(name)))

    async def inbox(self, fn: Callable[[Store], T]) -> T:
        return await self._in("inbox", fn)

    async def work(self, fn: Callable[[Store], T]) -> T:
        return await self._in("worker", fn)

    # -- HTTP ----------------------------------------------------------------
    async def verify(self, request: Request) -> Response:
        q = request.query_params
        if q.get("hub.mode") == "subscribe" and same_secret(
            reveal(self.settings.verify_token), q.get("hub.verify_token")
        ):
            return PlainTextResponse(q.get("hub.challenge", ""))
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        try:
            body = await read_body(request, limit=self._webhook_limit())
            if not valid_signature(
                reveal(self.settings.app_secret), body, header_bytes(request, "x-hub-signature-256")
            ):
                raise Rejected(403, "invalid signature")
            payload = load_json(body)
            if not isinstance(payload, dict):
                raise Rejected(400, "not an event")
        except Rejected as exc:
            return PlainTextResponse(exc.reason, status_code=exc.status)
        number = self.settings.whatsapp_phone_number_id
        if number and payload.get("object") == "whatsapp_business_account":
            probe = Outcome()
            if not list(values(payload, number, probe)) and probe.foreign:
                self.counters.foreign += probe.foreign  # another number's event: acknowledged, not stored
                return PlainTextResponse("ok")
        return await self._store_event(payload, body.decode("utf-8"))

    def _webhook_limit(self) -> int:
        """A number in coexistence receives its chats' history: bodies of several megabytes (guard.py)."""
        wa = self.config.whatsapp
        return HISTORY_MAX_BODY if wa is not None and wa.coexistence is not None else MAX_BODY

    async def _store_event(self, payload: dict[str, Any], text: str) -> Response:
        number = self.settings.whatsapp_phone_number_id
        kind = kind_of(payload, number)  # receipts only wait behind citizens' messages, never the other way
        for attempt in range(STORE_ATTEMPTS):
            try:
                if kind == MESSAGE and payload.get("object") == "whatsapp_business_account":
                    done = await self.inbox(lambda store: apply_opt_outs(store, self.config, payload, number))
                    self.counters.unsubscribed_in_request += done.unsubscribed
                await self.stored.add(text, kind)  # committed with whatever else arrived meanwhile
                self.worker.wake.set()
                return PlainTextResponse("ok")
            except StoreUnavailable as exc:
                log.warning("cannot store an event (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(0.2 * 2**attempt)
            except Exception as exc:
                if not store_bug(exc):
                    raise
                # Not an outage: every event would fail the same way. Stop, say why (Meta keeps the events).
                log.exception("storing an event hit a database error")
                self.give_up(f"webhook: database error: {describe_error(exc)}")
                return PlainTextResponse("store error", status_code=500)
        return PlainTextResponse("store unavailable, retry later", status_code=503)

    async def publish(self, request: Request) -> Response:
        """A push to main, proven by the workflow's OIDC token: a publish job, streamed back as it runs."""
        if self.untrusted:
            return PlainTextResponse(f"{self.untrusted}\n", status_code=503)
        if self.trust is None:
            return PlainTextResponse(
                "Questo servizio non pubblica su richiesta: manca extra.town.service nel mkdocs.yml.\n", status_code=404
            )
        try:
            # The body first: a request refused for its body must not spend its token (the jti is spent last).
            before = _before(await read_body(request, limit=MAX_PUBLISH_BODY))
            claims = await self.trust.authorize(request, self._first_use)
        except Refused as exc:
            return PlainTextResponse(f"{exc.reason}\n", status_code=exc.status, headers=exc.headers())
        except Rejected as exc:
            return PlainTextResponse(f"Richiesta rifiutata: {exc.reason}\n", status_code=exc.status)
        except StoreUnavailable:
            return PlainTextResponse("Archivio non raggiungibile: riprova tra poco.\n", status_code=503)
        key = f"push:{claims.repository_id}:{claims.run_id}:{claims.run_attempt}"
        args = {"sha": claims.sha, "before": before, "adopt": True, "run": claims.run_id, "actor": claims.actor}
        try:
            job_id, new = await self.runner.db(lambda store: store.jobs.enqueue("push", key, args))
        except StoreUnavailable:
            return PlainTextResponse("Archivio non raggiungibile: riprova tra poco.\n", status_code=503)
        self.runner.wake.set()
        log.info("publish of %s asked by run %s of %s: job %s%s", claims.sha[:12], claims.run_id,
                 claims.repository, job_id, "" if new else " (already asked)")  # fmt: skip

        async def lines() -> AsyncIterator[str]:
            yield f"Pubblicazione di {claims.sha[:12]} presa in carico dal servizio (lavoro {job_id}).\n"
            async for line in stream(self.runner, job_id):
                yield line

        return StreamingResponse(
            lines(),
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def issues(self, request: Request) -> Response:
        """The workflow says what it did with the manual posts: issue numbers, issues closed by the editors."""
        from site_tools.delivery.channel_issues import BadIssueReport, record_issue_reports

        if self.trust is None:
            return PlainTextResponse("manca extra.town.service nel mkdocs.yml.\n", status_code=404)
        try:
            payload = load_json(await read_body(request, limit=MAX_ISSUES_BODY))
            reports = payload.get("issues") if isinstance(payload, dict) else None
            claims = await self.trust.authorize(request, self._first_use)
            # Only a run that asked for a publish reports on its issues (a step later in the same job).
            prefix = f"push:{claims.repository_id}:{claims.run_id}:"
            if not await self.runner.db(lambda store: store.jobs.has_key_prefix(prefix)):
                return PlainTextResponse(
                    "Questo avvio del workflow non ha chiesto nessuna pubblicazione: non può riferire sulle issue.\n",
                    status_code=403,
                )
            lines = await self.runner.db(lambda store: record_issue_reports(store, reports))
        except Refused as exc:
            return PlainTextResponse(f"{exc.reason}\n", status_code=exc.status, headers=exc.headers())
        except Rejected as exc:
            return PlainTextResponse(f"Richiesta rifiutata: {exc.reason}\n", status_code=exc.status)
        except BadIssueReport as exc:
            return PlainTextResponse(f"{exc}\n", status_code=400)
        except StoreUnavailable:
            return PlainTextResponse("Archivio non raggiungibile: riprova tra poco.\n", status_code=503)
        return JSONResponse({"recorded": len(reports or []), "lines": lines})

    async def _first_use(self, jti: str, expires_at: float) -> bool:
        return await self.runner.db(lambda store: store.tokens.first_use(jti, expires_at))

    async def health(self, request: Request) -> Response:
        # /health is public (the proxy routes it for Meta's and the town's monitoring): requests that arrive while a
        # report is being made share it, so a flood of them costs the store one reading at a time, not one each.
        if self._health_report is None or self._health_report.done():
            self._health_report = asyncio.ensure_future(self.health_report())
        body = await asyncio.shield(self._health_report)  # a client hanging up does not cancel the others' answer
        return JSONResponse(body, status_code=503 if body["problems"] else 200)

    async def health_report(
        self, figures: dict[str, Any] | None = None, unreachable: str | None = None
    ) -> dict[str, Any]:
        """/health's body; the store's ``figures`` read here unless given (or ``unreachable``, and why)."""
        problems: list[str] = []
        details: dict[str, Any] = dict(figures or {})
        if figures is None and unreachable is None:
            try:
                details = await asyncio.wait_for(self.inbox(store_figures), timeout=5)
            except (StoreUnavailable, TimeoutError) as exc:
                unreachable = str(exc) or type(exc).__name__
        if unreachable is not None:
            problems.append(f"database unreachable: {unreachable}")
        if details.get("oldest_pending_seconds", 0) > STALE_EVENTS:
            problems.append(f"events waiting for more than {STALE_EVENTS:.0f} s: they are not being processed")
        if details.get("oldest_waiting_job_seconds", 0) > STALE_JOBS:
            problems.append(f"a publish job has waited more than {STALE_JOBS:.0f} s: no replica is running it")
        warnings: list[str] = []
        if details.get("oldest_pending_message_seconds", 0) > LATE_MESSAGES:
            warnings.append(f"a citizen's message has waited more than {LATE_MESSAGES:.0f} s")
        if details.get("oldest_pending_seconds", 0) > LATE_EVENTS:
            warnings.append(f"events have waited more than {LATE_EVENTS:.0f} s: the worker is behind")
        for loop in self.loops:
            if not loop.alive and not (loop.name == "replies" and loop.state == "idle"):
                problems.append(f"{loop.name} loop {loop.state}" + (f": {loop.last_error}" if loop.last_error else ""))
        if self.fatal:
            problems.append(self.fatal)
        if self.untrusted:
            problems.append(f"publishing on request is off: {self.untrusted}")
        elif self.trust is not None and self.config.service is not None and _names_another(self.config, self.trust):
            problems.append(
                "extra.town.service at the commit served names another repository than the one trusted: reverted "
                "on purpose? (the service keeps trusting the one it started with)"
            )
        current = self.current.health() if self.current else None
        if current:
            problems += current.problems
            details.update(current.details)
        replies = replies_health(details, self.replies)
        problems += replies.problems
        warnings += replies.warnings
        meta_problems, meta_warnings, details["meta"] = await self.meta.safe_report()
        problems += meta_problems
        warnings += meta_warnings
        body = {
            "status": "failing" if problems else "ok",
            "problems": problems,
            **details,
            "warnings": warnings + (current.warnings if current else []),
            "processed": self.counters.processed,
            "applied_per_second": round(self.counters.rate(), 1),
            "retried": self.counters.retried,
            "failed": self.counters.parked,
            "foreign_events": self.counters.foreign,
            "opt_outs_in_request": self.counters.unsubscribed_in_request,
            "replies_sent": self.replies.sent,
            "loops": {loop.name: loop.state for loop in self.loops},
            "publishing": self.runner.health(),
        }
        return body

    async def metrics(self, request: Request) -> Response:
        """Prometheus's scrape: the store's figures (or ``site_tools_store_up 0``) and the process's, always 200."""
        figures, unreachable = await self.exporter.read()
        body = await self.health_report(figures.health if figures else None, unreachable)
        return metrics_response(self.exporter.render(figures, self._process_figures(body)))

    def _process_figures(self, body: dict[str, Any]) -> ProcessFigures:
        c = self.counters
        follower = self.current.follower if self.current else None
        return ProcessFigures(
            health=body,
            replies=self.replies.outcomes,
            events={"applied": c.processed, "retried": c.retried, "parked": c.parked, "foreign": c.foreign},
            rate_cap=self.config.whatsapp_rate(self.settings.whatsapp_mps),
            commit_at=follower.serving_since if follower else None,
            fetched_at=follower.checkout.fetched_at if follower else None,
            fetch_stale_after=body.get("fetch_stale_after_seconds"),
            version=__version__,
        )

    # -- background work ------------------------------------------------------
    def give_up(self, reason: str) -> None:
        """A loop failed too often, or hit a bug: say so, and end the process non-zero so its supervisor
        restarts it. The first reason is kept."""
        if self.fatal:
            return
        self.fatal = reason
        log.critical("giving up: %s", reason)
        if self.exit_on_failure:
            os.kill(os.getpid(), signal.SIGTERM)  # uvicorn stops gracefully; the command then exits 3

    def _push_routes(self) -> list[Route]:
        if self.config.webpush is None:
            return []
        from site_tools.service.push import PushSignup

        return PushSignup(self.config, self.settings, self.runner.db).routes()

    def app(self) -> Starlette:
        # The one-to-one counter: its inbox is a second Starlette app mounted here, its loops
        # supervised beside ours.
        counter = Counter(self.config, self.settings, self.store_factory) if self.config.counter else None
        self.counter = counter
        newsletter = (
            NewsletterService(self.config, self.settings, self.store_factory) if self.config.newsletter else None
        )
        if counter:
            self.loops += [Supervised(name, run) for name, run in counter.loop_factories()]

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            tasks = [asyncio.create_task(supervise(loop, self.give_up)) for loop in self.loops]
            self.meta.start()  # in the background: the service starts even if the Graph API is down
            yield
            await self.meta.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for pool in self._pools.values():
                pool.shutdown(wait=True)
            if counter:
                counter.close()
            if newsletter:
                newsletter.close()
            self.runner.close()
            self.exporter.close()
            if self.current:
                self.current.close()

        return Starlette(
            routes=[
                Route("/webhook", self.verify, methods=["GET"]),
                Route("/webhook", counted(self.receive, self.exporter.webhook_requests), methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),  # not routed by the public proxy (monitoring.md)
                Route("/publish", self.publish, methods=["POST"]),
                Route("/publish/issues", self.issues, methods=["POST"]),
                *editor_login_routes(self.config, self.settings),  # GitHub login for the web editor, when configured
                *self._push_routes(),  # the site's notifications' subscriptions, when configured
                *([Mount("/sportello", app=inbox_app(counter, cookie_path="/sportello"))] if counter else []),
                *(newsletter.routes() if newsletter else []),  # the e-mail newsletter's double opt-in
            ],
            lifespan=lifespan,
        )


def _no_command(args: list[str], emit: Callable[[str], None]) -> int:
    emit(
        "::error::Questo servizio è stato avviato senza il comando di pubblicazione: avvialo con «site-tools webhook»."
    )
    return 3


def _names_another(config: TownConfig, trust: Verifier) -> bool:
    service = config.service
    policy = trust.policy
    return service is not None and (
        service.repository.lower() != policy.repository.lower() or service.repository_id != policy.repository_id
    )


#: The publish request's body: the push's "before" commit, nothing more.
MAX_PUBLISH_BODY = 4096
#: What the workflow reports of the manual posts' issues (at most 1,000 items of a few fields).
MAX_ISSUES_BODY = 256 * 1024


def _before(body: bytes) -> str | None:
    """The push's ``before`` commit from the body (optional; all zeros on a first push means none)."""
    if not body.strip():
        return None
    payload = load_json(body)
    before = payload.get("before") if isinstance(payload, dict) else None
    if before in (None, ""):
        return None
    if not isinstance(before, str) or len(before) != 40 or any(c not in "0123456789abcdef" for c in before):
        raise Rejected(400, "«before» deve essere un commit (40 cifre esadecimali)")
    return None if not before.strip("0") else before
