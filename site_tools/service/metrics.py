"""``GET /metrics``: Prometheus's text exposition of what the service knows, for the town's private network only.

Two sources, one page (docs/operations/monitoring.md lists every metric):

* **the store**, read at scrape time (:func:`read_store`): the delivery ledger counted by channel, state and Meta's
  error code, the queues and their ages, subscribers by status, the send slots the rate budget granted. True across
  replicas and across the command line's publishes. Read on a thread and a connection of its own (never the
  webhook's nor the worker's), at most every :data:`CACHE_SECONDS`, given up after :data:`STORE_TIMEOUT`: then the
  page says ``site_tools_store_up 0`` and still carries what the process knows, with status 200.
* **the process**: webhook requests by outcome (:func:`counted`), replies sent or failed by code, events applied,
  ``/health``'s verdict and the loops' states, the content's commit and last fetch.

Labels stay few: a channel, a state, an error code, a kind, a loop — never a phone number or a bulletin.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from site_tools.channels.meta_account import TIERS
from site_tools.service.health import store_figures
from site_tools.store import Store
from site_tools.store.inbox import MESSAGE, STATUS

log = logging.getLogger("site_tools.service")

#: Store figures this recent are served again rather than read again (several Prometheus servers, a person's curl).
CACHE_SECONDS = 5.0
#: A store read that takes longer is abandoned for this scrape (the page then says ``site_tools_store_up 0``).
STORE_TIMEOUT = 5.0
#: The sending rate is measured over this window (the slots granted in the last minute, per second).
RATE_WINDOW = 60.0
#: Webhook answers by status, as ``site_tools_webhook_requests_total``'s ``outcome`` label says them.
WEBHOOK_OUTCOMES = {
    200: "accepted",
    400: "malformed",
    403: "bad_signature",
    408: "too_slow",
    413: "too_big",
    500: "store_error",
    503: "store_unavailable",
}

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class StoreFigures:
    """One read of the store, for one or more scrapes."""

    health: dict[str, Any]  # /health's share (store_figures)
    deliveries: list[tuple[str, str, int | None, int]]  # (channel, state, error code, rows)
    subscribers: dict[str, int]
    waiting_jobs: int
    oldest_pending_status_seconds: float
    reserved: int  # send slots granted so far (the number's, or every number's)
    read_at: float
    seconds: float  # how long the read took


def read_store(store: Store, number_id: str | None) -> StoreFigures:
    """Everything ``/metrics`` takes from the store: a dozen queries, each through an index."""
    started = time.perf_counter()
    health = store_figures(store)
    now = time.time()
    return StoreFigures(
        health=health,
        deliveries=store.ledger.totals(),
        subscribers=store.subscribers.count_by_status(),
        waiting_jobs=store.jobs.waiting(now),
        oldest_pending_status_seconds=round(store.inbox.oldest_pending_age(now, STATUS), 1),
        reserved=store.budget.reserved(number_id),
        read_at=now,
        seconds=time.perf_counter() - started,
    )


@dataclass
class ProcessFigures:
    """What the process knows at scrape time, with or without the store."""

    health: dict[str, Any]  # the /health body, judged with this scrape's store figures
    replies: Mapping[tuple[str, str], int]  # (outcome, code) → sends
    events: Mapping[str, int]  # applied, retried, parked, foreign
    rate_cap: float
    commit_at: float | None = None
    fetched_at: float | None = None
    fetch_stale_after: float | None = None
    version: str = ""


def counted(handler: Handler, requests: Counter[str]) -> Handler:
    """The webhook's handler, each answer counted by outcome (``WEBHOOK_OUTCOMES``; a crash counts as store_error)."""

    async def wrapped(request: Request) -> Response:
        try:
            response = await handler(request)
        except Exception:
            requests[WEBHOOK_OUTCOMES[500]] += 1
            raise
        requests[WEBHOOK_OUTCOMES.get(response.status_code, f"http_{response.status_code}")] += 1
        return response

    return wrapped


@dataclass
class _Scrape:
    store: StoreFigures | None = None
    process: ProcessFigures | None = None
    rate: float | None = None


class Exporter:
    """The service's registry: one collector over the last store read and what the process counts."""

    def __init__(self, store_factory: Callable[[], Store], number_id: str | None):
        self.store_factory = store_factory
        self.number_id = number_id
        self.webhook_requests: Counter[str] = Counter()  # outcome → POST /webhook answers (counted())
        self.registry = CollectorRegistry()
        self.registry.register(_Collector(self))
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="metrics")
        self._store: Store | None = None
        self._last: StoreFigures | None = None
        self._reading: asyncio.Future[StoreFigures] | None = None
        self._reserved: deque[tuple[float, int]] = deque()  # (read at, slots granted so far)
        self._scrape = _Scrape()

    # -- the store, on a thread of its own -------------------------------------------------------------------
    def _read(self) -> StoreFigures:
        if self._store is None:
            self._store = self.store_factory()
        try:
            return read_store(self._store, self.number_id)
        except Exception:
            store, self._store = self._store, None  # a broken connection is opened again next time
            try:
                store.close()
            except Exception:  # noqa: BLE001, S110 - already broken: closing it is a courtesy
                pass
            raise

    async def read(self) -> tuple[StoreFigures | None, str | None]:
        """The store's figures (cached for :data:`CACHE_SECONDS`), or None and why not. A read still running from
        an earlier scrape is awaited, never started twice: a slow store gets one query at a time from here."""
        if self._last is not None and time.time() - self._last.read_at < CACHE_SECONDS:
            return self._last, None
        if self._reading is None or self._reading.done():
            self._reading = asyncio.get_running_loop().run_in_executor(self._pool, self._read)
        try:
            figures = await asyncio.wait_for(asyncio.shield(self._reading), timeout=STORE_TIMEOUT)
        except TimeoutError:
            return None, f"the store did not answer within {STORE_TIMEOUT:.0f} s"
        except Exception as exc:  # noqa: BLE001 - any failure of the store is said, never a 500
            log.warning("metrics: the store could not be read: %s", type(exc).__name__)
            return None, f"{type(exc).__name__}: {str(exc)[:200]}"
        self._last = figures
        self._note_reserved(figures)
        return figures, None

    def _note_reserved(self, figures: StoreFigures) -> None:
        samples = self._reserved
        if not samples or samples[-1][0] < figures.read_at:
            samples.append((figures.read_at, figures.reserved))
        while len(samples) > 1 and samples[1][0] <= figures.read_at - RATE_WINDOW:
            samples.popleft()

    def send_rate(self) -> float | None:
        """Slots granted per second over the last minute (or as much of it as this process has seen); None before
        two reads at least :data:`CACHE_SECONDS` apart."""
        if len(self._reserved) < 2:
            return None
        (t0, r0), (t1, r1) = self._reserved[0], self._reserved[-1]
        if t1 - t0 < CACHE_SECONDS:
            return None
        return max(0, r1 - r0) / (t1 - t0)

    def render(self, store: StoreFigures | None, process: ProcessFigures) -> bytes:
        self._scrape = _Scrape(store, process, self.send_rate() if store is not None else None)
        return generate_latest(self.registry)

    def close(self) -> None:
        def close_store() -> None:
            if self._store is not None:
                self._store.close()

        self._pool.submit(close_store).result()
        self._pool.shutdown(wait=True)


def response(body: bytes) -> Response:
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@dataclass
class _Families:
    out: list[Metric] = field(default_factory=list)

    def gauge(self, name: str, doc: str, value: float | None = None, labels: list[str] | None = None) -> Any:
        family = GaugeMetricFamily(name, doc, value=value, labels=labels)
        self.out.append(family)
        return family

    def counter(self, name: str, doc: str, value: float | None = None, labels: list[str] | None = None) -> Any:
        family = CounterMetricFamily(name, doc, value=value, labels=labels)
        self.out.append(family)
        return family


class _Collector(Collector):
    def __init__(self, exporter: Exporter):
        self.exporter = exporter

    def collect(self) -> Iterator[Metric]:
        scrape = self.exporter._scrape
        f = _Families()
        requests = f.counter(
            "site_tools_webhook_requests",
            "POST /webhook answers by outcome: " + ", ".join(WEBHOOK_OUTCOMES.values()) + ".",
            labels=["outcome"],
        )
        for outcome, n in sorted(self.exporter.webhook_requests.items()):
            requests.add_metric([outcome], n)
        if scrape.process is not None:
            _process(f, scrape.process)
        f.gauge(
            "site_tools_store_up", "1 when this scrape read the store, 0 when it could not.", int(bool(scrape.store))
        )
        if scrape.store is not None:
            _store(f, scrape.store, scrape.rate)
        return iter(f.out)

    def describe(self) -> Iterator[Metric]:
        return iter([])


def _meta(f: _Families, meta: dict[str, Any]) -> None:
    """Meta's side as /health last knew it (the start check, then Meta's webhooks): declared always, samples when known."""
    approved = f.gauge(
        "site_tools_whatsapp_template_approved",
        "1 when Meta holds the project's template APPROVED; 0 when paused, disabled, rejected, pending or missing "
        "(every send with it fails).",
        labels=["template"],
    )
    for name, status in sorted((meta.get("templates") or {}).items()):
        if status:
            approved.add_metric([name], int(status == "APPROVED"))
    quality = f.gauge(
        "site_tools_whatsapp_quality",
        "The number's quality rating at Meta: 1 on the current one (GREEN, YELLOW, RED, FLAGGED).",
        labels=["rating"],
    )
    if meta.get("quality"):
        quality.add_metric([str(meta["quality"])], 1)
    limit = f.gauge(
        "site_tools_whatsapp_messaging_limit",
        "People the business portfolio may reach in 24 h outside service windows (Meta's tier; +Inf: unlimited).",
    )
    if meta.get("limit") in TIERS:
        reach = TIERS[meta["limit"]]
        limit.add_metric([], math.inf if reach is None else reach)


def _process(f: _Families, p: ProcessFigures) -> None:
    f.gauge("site_tools_build_info", "The running version (always 1).", labels=["version"]).add_metric([p.version], 1)
    health = p.health
    f.gauge("site_tools_health_ok", "1 when /health answers 200, 0 when 503.", int(health.get("status") == "ok"))
    f.gauge(
        "site_tools_health_problems",
        "Problems /health reports (each makes it answer 503).",
        len(health.get("problems", [])),
    )
    f.gauge(
        "site_tools_health_warnings",
        "Warnings /health reports (the answer stays 200).",
        len(health.get("warnings", [])),
    )
    loops = f.gauge("site_tools_loop_up", "1 when the background loop is running (or idle by design).", labels=["loop"])
    for name, state in sorted(health.get("loops", {}).items()):
        loops.add_metric([name], int(state in ("running", "idle")))
    replies = f.counter(
        "site_tools_replies",
        "Replies to citizens sent by this process, by outcome and Meta's error code.",
        labels=["outcome", "code"],
    )
    for (outcome, code), n in sorted(p.replies.items()):
        replies.add_metric([outcome, code or "none"], n)
    for name, doc in (
        ("applied", "Webhook events applied by this process."),
        ("retried", "Event applications this process retried (the store was unavailable)."),
        ("parked", "Events this process parked with a permanent problem (site-tools webhook-events)."),
        ("foreign", "Events for another phone number, acknowledged and ignored."),
    ):
        f.counter(f"site_tools_events_{name}", doc, p.events.get(name, 0))
    _meta(f, health.get("meta") or {})
    f.gauge(
        "site_tools_whatsapp_rate_cap_per_second",
        "WHATSAPP_MPS: the messages per second the number may send.",
        p.rate_cap,
    )
    # Declared on every page, a sample only when known (no repository followed: none).
    for name, doc, known in (
        (
            "site_tools_content_commit_timestamp_seconds",
            "The committer date of the commit the service serves.",
            p.commit_at,
        ),
        ("site_tools_content_fetched_timestamp_seconds", "The last successful fetch of main.", p.fetched_at),
        (
            "site_tools_content_fetch_stale_after_seconds",
            "Without a successful fetch for this long /health fails.",
            p.fetch_stale_after,
        ),
    ):
        family = f.gauge(name, doc)
        if known is not None:
            family.add_metric([], known)


def _store(f: _Families, s: StoreFigures, rate: float | None) -> None:
    h = s.health
    f.gauge("site_tools_store_read_seconds", "How long the last read of the store for /metrics took.", s.seconds)
    totals = f.counter(
        "site_tools_deliveries",
        "Recipients claimed for a bulletin, by channel (the ledger's rows).",
        labels=["channel"],
    )
    by_state = f.gauge(
        "site_tools_deliveries_by_state", "The ledger's rows by channel and current state.", labels=["channel", "state"]
    )
    failures = f.counter(
        "site_tools_delivery_failures",
        "Deliveries failed for good, by channel and Meta's error code.",
        labels=["channel", "code"],
    )
    channels: dict[str, int] = {}
    states: dict[tuple[str, str], int] = {}
    failed: dict[tuple[str, str], int] = {}
    for channel, state, code, n in s.deliveries:
        channels[channel] = channels.get(channel, 0) + n
        states[channel, state] = states.get((channel, state), 0) + n
        if state == "failed":
            key = (channel, str(code) if code is not None else "none")
            failed[key] = failed.get(key, 0) + n
    for channel, n in sorted(channels.items()):
        totals.add_metric([channel], n)
    for (channel, state), n in sorted(states.items()):
        by_state.add_metric([channel, state], n)
    for (channel, label), n in sorted(failed.items()):
        failures.add_metric([channel, label], n)
    pending = f.gauge(
        "site_tools_inbox_pending_events", "Webhook events stored and not yet applied, by kind.", labels=["kind"]
    )
    for kind, n in sorted(h["pending_by_kind"].items()):
        pending.add_metric([kind], n)
    oldest = f.gauge(
        "site_tools_inbox_oldest_pending_seconds",
        "How long the oldest waiting event has waited, by kind.",
        labels=["kind"],
    )
    oldest.add_metric([MESSAGE], h["oldest_pending_message_seconds"])
    oldest.add_metric([STATUS], s.oldest_pending_status_seconds)
    f.gauge("site_tools_inbox_parked_events", "Events parked with a permanent problem.", h["parked_events"])
    f.gauge("site_tools_held_receipts", "Receipts held until their send is recorded.", h["held_receipts"])
    f.gauge("site_tools_outbox_pending_replies", "Replies to citizens waiting to be sent.", h["outbox_pending"])
    f.gauge(
        "site_tools_outbox_oldest_pending_seconds",
        "How long the oldest waiting reply has waited.",
        h["oldest_outbox_seconds"],
    )
    f.gauge(
        "site_tools_jobs_waiting",
        "Publish jobs no replica is running (queued, or their lease ran out).",
        s.waiting_jobs,
    )
    f.gauge(
        "site_tools_jobs_oldest_waiting_seconds",
        "How long the oldest such job has waited.",
        h["oldest_waiting_job_seconds"],
    )
    subscribers = f.gauge("site_tools_subscribers", "Subscribers by status (counts only).", labels=["status"])
    for status, n in sorted(s.subscribers.items()):
        subscribers.add_metric([status], n)
    f.counter(
        "site_tools_whatsapp_slots_reserved",
        "Send slots the shared rate budget granted the number (every "
        "sender: replicas, the command line); its rate is the sending rate.",
        s.reserved,
    )
    sending = f.gauge(
        "site_tools_whatsapp_send_rate_per_second",
        "Send slots granted per second over the last minute "
        "(from this process's reads of the store: none before two, five seconds apart).",
    )
    if rate is not None:
        sending.add_metric([], rate)
