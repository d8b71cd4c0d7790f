"""Store errors, classified the same way on SQLite and PostgreSQL.

A transient failure (the database is locked or busy, the connection dropped) is retried and the event is
applied once the database is back; a bug in the SQL ("no such column", a syntax error) is not an outage:
the loop stops at once, the log and ``/health`` say why, and the service gives up (it exits non-zero).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from site_tools.store import Store
from site_tools.store.database import StoreUnavailable, store_bug

from .services import phones, simulator, wait_for
from .test_service_faults import running
from .test_subscriptions import inbound


@pytest.fixture
def sim() -> Iterator[Any]:
    with simulator("--latency", "0") as sim:
        yield sim


def _bad_sql(store: Store) -> Any:
    return store.db.all("SELECT no_such_column FROM events")


def test_a_sql_bug_is_raised_as_it_is_not_as_an_outage(store_url: str) -> None:
    with closing(Store.open(store_url)) as store:
        with pytest.raises(Exception) as raised:
            _bad_sql(store)
        assert not isinstance(raised.value, StoreUnavailable)
        assert store_bug(raised.value)
        assert "no_such_column" in str(raised.value)
        assert store.db.scalar("SELECT 1") == 1  # the connection is still good for the next statement


def test_a_busy_sqlite_database_is_transient(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with closing(Store.open(url)) as store:
        store.db.execute("PRAGMA busy_timeout=0")
        other = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="SQLITE_BUSY"):
            with store.db.transaction():
                store.subscribers.subscribe(phones(1)[0], "test")
        other.execute("ROLLBACK")
        other.close()


def test_a_lock_timeout_on_postgresql_is_transient(pg_url: str) -> None:
    import psycopg

    with closing(Store.open(pg_url)) as store, psycopg.connect(pg_url) as other:
        store.db.execute("SET lock_timeout = '50ms'")
        other.execute("LOCK TABLE subscribers IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(StoreUnavailable, match="LockNotAvailable"):
            store.subscribers.subscribe(phones(1)[0], "test")
        other.rollback()
        assert store.subscribers.subscribe(phones(1)[0], "test")


def test_a_sql_bug_stops_the_worker_at_once_and_health_says_why(
    store_url: str, sim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with running(store_url, sim) as (service, app):
        app.worker.wake.set()
        wait_for(lambda: app.loops[0].state == "running", timeout=10)
        work_store = app._store("worker")
        work_store.inbox.new = lambda *_: _bad_sql(work_store)  # type: ignore[method-assign]
        with caplog.at_level(logging.CRITICAL, logger="site_tools.service"):
            app.worker.wake.set()
            wait_for(lambda: app.loops[0].state == "dead", timeout=30)
        assert app.loops[0].failures == 1  # not restarted five times: a bug does not go away on its own
        health = service.get("/health")
        assert health.status_code == 503
        problems = " ".join(health.json()["problems"])
        assert "events" in problems and "database error" in problems and "no_such_column" in problems
        assert app.fatal and "no_such_column" in app.fatal
        assert any("database error" in r.getMessage() for r in caplog.records)


def test_a_sql_bug_when_storing_an_event_is_a_500_and_stops_the_service(store_url: str, sim: Any) -> None:
    with running(store_url, sim) as (service, app):
        inbox_store = app._store("inbox")
        inbox_store.inbox.add = lambda *_: _bad_sql(inbox_store)  # type: ignore[method-assign]
        assert service.post(inbound(phones(1)[0], "VALFIORITA ON", "wamid.bug")).status_code == 500
        assert app.fatal and "webhook" in app.fatal and "no_such_column" in app.fatal
        assert service.get("/health").status_code == 503


@pytest.mark.slow  # holds a lock for seconds
def test_a_locked_database_is_retried_and_the_event_applied_once_it_is_free(store_url: str, sim: Any) -> None:
    phone = phones(1, 70)[0]
    with running(store_url, sim) as (service, app):
        work_store = app._store("worker")
        if work_store.db.dialect == "sqlite":
            work_store.db.execute("PRAGMA busy_timeout=0")
            holder: Any = sqlite3.connect(work_store.db.target.location, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        else:
            import psycopg

            work_store.db.execute("SET lock_timeout = '50ms'")
            holder = psycopg.connect(work_store.db.target.location)
            holder.execute("LOCK TABLE subscribers IN ACCESS EXCLUSIVE MODE")
        try:
            if work_store.db.dialect == "postgresql":
                assert service.post(inbound(phone, "VALFIORITA ON", "wamid.locked")).status_code == 200
            else:
                # SQLite has one writer: the webhook could not store the event either, so it is stored first.
                holder.execute("ROLLBACK")
                with closing(service.store()) as store:
                    store.inbox.add(inbound_body(phone))
                holder.execute("BEGIN IMMEDIATE")
            app.worker.wake.set()
            wait_for(lambda: app.counters.retried >= 1, timeout=30)
            assert app.loops[0].state == "running" and not app.fatal
        finally:
            holder.rollback() if work_store.db.dialect == "postgresql" else holder.execute("ROLLBACK")
            holder.close()
        wait_for(lambda: app.counters.processed >= 1, timeout=60)
        with closing(service.store()) as store:
            assert store.subscribers.get(phone).status == "active"
        assert service.get("/health").status_code == 200


def inbound_body(phone: str) -> str:
    return json.dumps(inbound(phone, "VALFIORITA ON", "wamid.locked"))
