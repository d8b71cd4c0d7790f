"""/health tells the truth and /metrics says what the store holds: what a town's IT person checks before trusting
them with an alert. The real service app in-process (Starlette's TestClient), its loops running, its replies and
the publisher's sends over real HTTP to the simulator; /metrics read back with prometheus_client's own parser."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from unittest.mock import patch

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from site_tools.content.config import load_config
from site_tools.service.app import Service as App
from site_tools.service.health import FAILING_REPLIES, LATE_REPLIES, STALE_REPLIES
from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import FIXTURE_TOWN, REPO, Town
from .services import phones, simulator, wait_for
from .test_checkout import Remote, git
from .test_publisher import NORMAL, URGENT, add, adopt, publish, subscribe
from .test_subscriptions import SECRET, VERIFY, Service, inbound

ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
NUMBER_ID = "106540352242922"  # the simulator's
DEAD_SERVER = "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2"


@contextmanager
def running(url: str, env: dict[str, str], town: Path = FIXTURE_TOWN) -> Iterator[tuple[Service, App]]:
    settings = Settings.from_env({"WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY, **env})
    Store.open(url).close()
    app = App(load_config(town / "mkdocs.yml"), settings, lambda: Store.open(url))
    with TestClient(app.app()) as client:
        yield Service(client, url, None), app


def scrape(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics as Prometheus reads it: (sample name, labels) → value."""
    answer = service.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return metrics.get((name, tuple(sorted(labels.items()))))


def queued_at(store: Store, phone: str, at: float) -> int:
    """A reply the outbox took at ``at`` (its own method, on a clock set back)."""
    with patch("site_tools.store.outbox.time") as clock:
        clock.time.return_value = at
        return store.outbox.queue(phone, "Iscrizione confermata.")


# -- /health ---------------------------------------------------------------------------------------------------------
def test_replies_waiting_with_no_token_make_health_fail_and_say_why(sqlite_url: str) -> None:
    with running(sqlite_url, {"WHATSAPP_PHONE_NUMBER_ID": NUMBER_ID}) as (service, _):
        assert service.get("/health").status_code == 200  # nothing waits: nothing is wrong yet
        assert service.post(inbound(phones(1)[0], "VALFIORITA ON", "wamid.notoken")).status_code == 200
        wait_for(lambda: service.health()["outbox_pending"] == 1)  # the confirmation, with no way out
        answer = service.get("/health")
        assert answer.status_code == 503 and answer.json()["status"] == "failing"
        (problem,) = [p for p in answer.json()["problems"] if "outbox" in p]
        assert "1 replies waiting" in problem and "WHATSAPP_TOKEN not set" in problem
        metrics = scrape(service)
        assert value(metrics, "site_tools_health_ok") == 0 and value(metrics, "site_tools_health_problems") == 1
        assert value(metrics, "site_tools_outbox_pending_replies") == 1


def test_an_expired_token_makes_health_fail_once_replies_keep_failing(sqlite_url: str) -> None:
    with simulator("--latency", "0") as sim:
        env = {**sim.env(), "WHATSAPP_TOKEN": "expired-token"}  # the simulator answers 190, as Meta does
        with running(sqlite_url, env) as (service, app):
            for i, phone in enumerate(phones(FAILING_REPLIES)):
                assert service.post(inbound(phone, "VALFIORITA ON", f"wamid.expired{i}")).status_code == 200
            wait_for(lambda: app.replies.outcomes["failed", "190"] == FAILING_REPLIES)
            answer = service.get("/health")
            assert answer.status_code == 503
            (problem,) = [p for p in answer.json()["problems"] if "replies" in p]
            assert f"last {FAILING_REPLIES} replies to citizens failed" in problem and "190" in problem
            metrics = scrape(service)
            assert value(metrics, "site_tools_replies_total", outcome="failed", code="190") == FAILING_REPLIES
            assert value(metrics, "site_tools_health_ok") == 0


def test_a_reply_waiting_warns_then_fails_at_the_declared_thresholds(sqlite_url: str) -> None:
    with simulator("--latency", "0") as sim:
        sim.configure(fail_with=131000)  # Meta's "something went wrong": retried, the reply keeps waiting
        with running(sqlite_url, sim.env()) as (service, app), closing(Store.open(sqlite_url)) as store:
            queued_at(store, phones(1)[0], time.time() - LATE_REPLIES - 30)
            wait_for(lambda: app.replies.outcomes["retry", "131000"] >= 1)
            answer = service.get("/health")
            assert answer.status_code == 200, answer.json()
            assert answer.json()["oldest_outbox_seconds"] > LATE_REPLIES
            assert any("reply has waited more than" in w for w in answer.json()["warnings"])

            queued_at(store, phones(1, 1)[0], time.time() - STALE_REPLIES - 30)
            answer = service.get("/health")
            assert answer.status_code == 503 and answer.json()["oldest_outbox_seconds"] > STALE_REPLIES
            assert any(f"more than {STALE_REPLIES:.0f} s in the outbox" in p for p in answer.json()["problems"])
            metrics = scrape(service)
            assert (value(metrics, "site_tools_outbox_oldest_pending_seconds") or 0) > STALE_REPLIES


def test_content_not_fetched_for_too_long_fails_with_the_git_error(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    served = remote.clone(tmp_path / "served")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {"SITE_TOOLS_REPOSITORY_URL": str(remote.bare), "SITE_TOOLS_FETCH_EVERY": "0.1"}
    with running(url, env, served) as (service, app):
        wait_for(lambda: service.health()["fetched_at"] is not None, timeout=20)
        health = service.health()
        committed = int(git(served, "show", "-s", "--format=%ct", "HEAD"))
        assert health["commit"] == git(served, "rev-parse", "HEAD") and health["commit_at"] is not None
        metrics = scrape(service)
        assert value(metrics, "site_tools_content_commit_timestamp_seconds") == committed
        assert value(metrics, "site_tools_content_fetch_stale_after_seconds") == health["fetch_stale_after_seconds"]

        shutil.move(remote.bare, tmp_path / "gone.git")  # the repository is no longer reachable
        wait_for(lambda: service.get("/health").status_code == 503, timeout=20)
        health = service.health()
        (problem,) = [p for p in health["problems"] if "checkout not following main" in p]
        assert "last successful fetch" in problem and health["fetch_error"] and health["fetch_error"] in problem
        assert value(scrape(service), "site_tools_health_ok") == 0


# -- /metrics --------------------------------------------------------------------------------------------------------
def _publish_and_scrape(demo_town: Town, url: str) -> None:
    """Two real publishes through the ledger (one delivered, one refused by Meta with 131026), then a scrape."""
    with simulator("--latency", "0.01") as sim:
        subscribe(url, phones(12))
        adopt(demo_town, url, sim)
        add(demo_town, URGENT, "allerta-rossa")
        publish(demo_town, url, sim)
        sim.configure(fail_with=131026)
        add(demo_town, NORMAL, "biblioteca-sabato")
        publish(demo_town, url, sim)
        with closing(Store.open(url)) as store:
            store.subscribers.unsubscribe(phones(1)[0])
            counts = {b: store.ledger.delivery_counts(b) for b in ("allerta-rossa", "biblioteca-sabato")}
            reserved = store.budget.reserved(NUMBER_ID)
            by_status = store.subscribers.count_by_status()
        with running(url, sim.env(), demo_town.root) as (service, _):
            metrics = scrape(service)

    failed = counts["biblioteca-sabato"]
    assert counts["allerta-rossa"]["whatsapp_list"] == {"accepted": 12}
    assert failed["whatsapp_list"] == {"failed:131026": 12}  # what the CLI's own report says, from the ledger
    channels = {channel for c in counts.values() for channel in c}
    for channel in channels:
        rows = sum(n for c in counts.values() for n in c.get(channel, {}).values())
        assert value(metrics, "site_tools_deliveries_total", channel=channel) == rows
        for state in {k for c in counts.values() for k in c.get(channel, {}) if not k.startswith("failed")}:
            expected = sum(c.get(channel, {}).get(state, 0) for c in counts.values())
            assert value(metrics, "site_tools_deliveries_by_state", channel=channel, state=state) == expected
    assert value(metrics, "site_tools_delivery_failures_total", channel="whatsapp_list", code="131026") == 12
    assert value(metrics, "site_tools_deliveries_by_state", channel="whatsapp_list", state="failed") == 12
    assert reserved >= 24 and value(metrics, "site_tools_whatsapp_slots_reserved_total") == reserved
    assert value(metrics, "site_tools_subscribers", status="active") == by_status["active"] == 11
    assert value(metrics, "site_tools_subscribers", status="left") == 1
    assert value(metrics, "site_tools_store_up") == 1 and value(metrics, "site_tools_whatsapp_rate_cap_per_second")
    assert not [name for name, labels in metrics for _, v in labels if v.startswith("39333")]  # no number, ever


def test_metrics_are_what_the_ledger_holds_after_real_sends(demo_town: Town, sqlite_url: str) -> None:
    _publish_and_scrape(demo_town, sqlite_url)


@pytest.mark.postgres
def test_metrics_are_what_the_ledger_holds_after_real_sends_on_postgresql(demo_town: Town, pg_url: str) -> None:
    _publish_and_scrape(demo_town, pg_url)


def test_metrics_count_the_webhooks_answers_by_outcome(sqlite_url: str) -> None:
    with running(sqlite_url, {}) as (service, _):
        service.post(inbound(phones(1)[0], "VALFIORITA ON", "wamid.counted"))
        service.post(inbound(phones(1)[0], "VALFIORITA ON", "wamid.forged"), secret="not-the-secret")
        service.post(None, raw=b"x" * (1024 * 1024 + 1))
        metrics = scrape(service)
    assert value(metrics, "site_tools_webhook_requests_total", outcome="accepted") == 1
    assert value(metrics, "site_tools_webhook_requests_total", outcome="bad_signature") == 1
    assert value(metrics, "site_tools_webhook_requests_total", outcome="too_big") == 1


def test_metrics_answer_with_what_the_process_knows_when_the_store_is_down(sqlite_url: str) -> None:
    with running(sqlite_url, {}) as (service, app):
        service.post(inbound(phones(1)[0], "VALFIORITA ON", "wamid.before"))
        assert value(scrape(service), "site_tools_store_up") == 1
        app.exporter._last = None  # past the cache

        # The exporter's connection is gone and the database server does not answer (nothing listens on port 1).
        app.exporter._store.close()  # type: ignore[union-attr]
        app.exporter.store_factory, app.exporter._store = lambda: Store.open(DEAD_SERVER), None
        answer = service.get("/metrics")
        assert answer.status_code == 200
        metrics = scrape(service)
        assert value(metrics, "site_tools_store_up") == 0 and value(metrics, "site_tools_health_ok") == 0
        assert value(metrics, "site_tools_webhook_requests_total", outcome="accepted") == 1  # the process's own
        assert value(metrics, "site_tools_outbox_pending_replies") is None  # not made up
        assert value(metrics, "site_tools_loop_up", loop="events") == 1


# -- the alert rules -------------------------------------------------------------------------------------------------
def test_the_alert_rules_are_well_formed_and_use_only_metrics_the_service_exposes(sqlite_url: str) -> None:
    import re

    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    with running(sqlite_url, {"WHATSAPP_PHONE_NUMBER_ID": NUMBER_ID}) as (service, _):
        families = list(text_string_to_metric_families(service.get("/metrics").text))
    exposed = {s.name for f in families for s in f.samples} | {
        f.name + ("_total" if f.type == "counter" else "") for f in families
    }
    assert set(rules) == {"groups"} and rules["groups"]
    names: set[str] = set()
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"] and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"]) and rule["alert"] not in names
            names.add(rule["alert"])
            assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule
            assert rule["labels"]["severity"] in {"page", "ticket"}, rule
            notes = rule["annotations"]
            assert {"summary", "description"} <= set(notes), rule
            assert any(word in f" {notes['description'].lower()} " for word in (" il ", " la ", " che ", " non ")), (
                rule
            )  # Italian
            used = set(re.findall(r"\bsite_tools_[a-z0-9_]+", rule["expr"]))
            assert used and used <= exposed, (rule["alert"], used - exposed)
    # Every kind of trouble the issue names has a rule.
    wanted = ("ServiceDown", "HealthFailing", "WebhookEventsWaiting", "RepliesWaiting", "PublishJobWaiting",
              "SendAuthFailures", "SendFailuresSpiking", "RateNearCap", "ContentNotFetched")  # fmt: skip
    assert set(wanted) <= names, set(wanted) - names


def test_the_sending_rate_is_the_slots_the_budget_granted_over_the_last_minute(sqlite_url: str) -> None:
    import asyncio

    from site_tools.service.metrics import Exporter, ProcessFigures

    class Clock:
        now = time.time()

        def time(self) -> float:
            return self.now

        def perf_counter(self) -> float:
            return time.perf_counter()

    clock = Clock()
    exporter = Exporter(lambda: Store.open(sqlite_url), NUMBER_ID)
    process = ProcessFigures(health={}, replies={}, events={}, rate_cap=80.0)

    def rate() -> float | None:
        figures, _ = asyncio.run(exporter.read())
        parsed = text_string_to_metric_families(exporter.render(figures, process).decode())
        samples = {s.name: s.value for f in parsed for s in f.samples}
        with closing(Store.open(sqlite_url)) as store:
            assert samples["site_tools_whatsapp_slots_reserved_total"] == store.budget.reserved(NUMBER_ID)
        return samples.get("site_tools_whatsapp_send_rate_per_second")

    with patch("site_tools.service.metrics.time", clock), closing(Store.open(sqlite_url)) as store:
        assert rate() is None  # one read: no rate yet
        store.budget.reserve(NUMBER_ID, 80.0, 40)  # a publisher's slots, through the store
        store.budget.reserve("another-number", 80.0, 500)  # another number's are not this one's
        clock.now += 10
        assert rate() == 4.0  # 40 slots in 10 s
        clock.now += 70  # a minute later, nothing more granted: the window forgets the burst
        assert rate() == 0.0
    exporter.close()


def test_a_flood_of_health_requests_reads_the_store_one_report_at_a_time(tmp_path: Path) -> None:
    """/health is public: 50 requests at once share the report being made instead of each reading the store."""
    import asyncio

    import httpx

    from site_tools.service import app as app_module

    url = f"sqlite:///{tmp_path / 's.db'}"
    settings = Settings.from_env({"WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY})
    Store.open(url).close()
    service = App(load_config(FIXTURE_TOWN / "mkdocs.yml"), settings, lambda: Store.open(url))
    readings = 0
    real = app_module.store_figures

    def counted(store: Store) -> dict:
        nonlocal readings
        readings += 1
        time.sleep(0.05)  # a store that takes a moment to answer, as under load
        return real(store)

    async def flood() -> list[httpx.Response]:
        asgi = service.app()
        async with asgi.router.lifespan_context(asgi):
            transport = httpx.ASGITransport(app=asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                answers = await asyncio.gather(*(client.get("/health") for _ in range(50)))
                answers.append(await client.get("/health"))  # a later request gets a fresh report
                return answers

    with patch.object(app_module, "store_figures", counted):
        answers = asyncio.run(flood())
    assert all(answer.status_code in (200, 503) and "problems" in answer.json() for answer in answers)
    assert 2 <= readings <= 3, readings  # the flood's one (maybe two, as it arrives) and the later request's


def test_metas_side_is_on_metrics_as_health_knows_it(sqlite_url: str) -> None:
    """A paused template, a RED number and a limit below the subscribers: on /metrics as gauges an alert can use."""
    from site_tools.service.meta_health import QUALITY_KEY, TEMPLATE_KEY

    store = Store.open(sqlite_url)
    now = time.time()
    for name, status in (("avviso_comunale", "PAUSED"), ("sportello_risposta", "APPROVED")):
        key = TEMPLATE_KEY.format(waba="WABA", name=name, language="it")
        store.state.put(key, json.dumps({"status": status, "reason": "NONE", "at": now, "source": "webhook"}))
    # As Meta's phone_number_quality_update webhook leaves it (the start check, without a token, knows no more).
    quality = {"event": "FLAGGED", "limit": "TIER_2K", "at": now + 600, "source": "webhook"}  # later than the check
    store.state.put(QUALITY_KEY.format(waba="WABA"), json.dumps(quality))
    store.close()
    env = {"WHATSAPP_PHONE_NUMBER_ID": NUMBER_ID, "WHATSAPP_BUSINESS_ACCOUNT_ID": "WABA"}
    with running(sqlite_url, env) as (service, _):
        metrics = scrape(service)
    assert value(metrics, "site_tools_whatsapp_template_approved", template="avviso_comunale") == 0
    assert value(metrics, "site_tools_whatsapp_quality", rating="FLAGGED") == 1
    assert value(metrics, "site_tools_whatsapp_messaging_limit") == 2000
    assert value(metrics, "site_tools_health_ok") == 0
