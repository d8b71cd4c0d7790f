"""The store on SQLite and PostgreSQL: migrations, subscriptions, receipts in any order."""

from __future__ import annotations

from pathlib import Path

import pytest

from site_tools.store import Store
from site_tools.store.database import Database, parse_url
from site_tools.store.ledger import Result
from site_tools.store.migrations import MIGRATIONS

from .services import phones


def test_migrations_are_recorded_and_idempotent(store_url: str) -> None:
    db = Database.open(store_url)
    assert db.migrate() == MIGRATIONS[-1][0]
    assert db.migrate() == MIGRATIONS[-1][0]
    assert [r[0] for r in db.all("SELECT version FROM schema_migrations")] == [v for v, _ in MIGRATIONS]
    db.close()


def test_subscribe_twice_changes_nothing_and_opt_out_is_recorded(store_url: str) -> None:
    store = Store.open(store_url)
    phone = phones(1)[0]
    assert store.subscribers.subscribe(phone, "whatsapp", "VALFIORITA ON", at=1000.0) is True
    assert store.subscribers.subscribe(phone, "whatsapp", "VALFIORITA ON", at=2000.0) is False
    sub = store.subscribers.get(phone)
    assert sub.status == "active" and sub.consent_at == 1000.0 and sub.consent_text == "VALFIORITA ON"
    assert store.subscribers.unsubscribe(phone, at=3000.0) is True
    assert store.subscribers.unsubscribe(phone, at=4000.0) is False
    assert store.subscribers.get(phone).opted_out_at == 3000.0
    assert store.subscribers.subscribe(phone, "whatsapp", "VALFIORITA ON", at=5000.0) is True
    assert store.subscribers.get(phone).opted_out_at is None
    store.close()


def test_claims_are_disjoint_and_never_repeat(store_url: str) -> None:
    a, b = Store.open(store_url), Store.open(store_url)
    a.subscribers.bulk_subscribe(phones(10), "test")
    first = a.ledger.claim_new("bul", "whatsapp_list", "run-a", 1, 10)
    second = b.ledger.claim_new("bul", "whatsapp_list", "run-b", 1, 10)
    assert len(first) == 10 and second == {}
    a.close()
    b.close()


def test_receipts_out_of_order_and_duplicated(store_url: str) -> None:
    store = Store.open(store_url)
    store.subscribers.bulk_subscribe(phones(1), "test")
    claimed = store.ledger.claim_new("bul", "whatsapp_list", "run", 1, 1)
    ((sub_id, delivery_id),) = claimed.items()
    store.ledger.record_results([Result(delivery_id, sub_id, "accepted", wamid="wamid.X")])
    assert store.ledger.apply_status("wamid.X", phones(1)[0], "read", "bul", None) == "applied"
    assert store.ledger.apply_status("wamid.X", phones(1)[0], "delivered", "bul", None) == "stale"  # late, older
    assert store.ledger.apply_status("wamid.X", phones(1)[0], "read", "bul", None) == "stale"  # repeated
    assert store.ledger.delivery_counts("bul") == {"whatsapp_list": {"read": 1}}
    store.close()


def test_a_receipt_for_a_send_the_dead_run_never_recorded(store_url: str) -> None:
    """The ledger says 'sending' (the run died); the receipt proves it arrived: no resend."""
    store = Store.open(store_url)
    store.subscribers.bulk_subscribe(phones(1), "test")
    store.ledger.start_run("dead", 1)
    store.ledger.claim_new("bul", "whatsapp_list", "dead", 1, 1)
    assert store.ledger.apply_status("wamid.Y", phones(1)[0], "delivered", "bul", None) == "applied"
    store.db.execute("UPDATE runs SET heartbeat_at = 0")
    assert store.ledger.reconcile_unknown("bul", "whatsapp_list", stale_after=1) == 0
    assert store.ledger.pending_count("bul", "whatsapp_list") == 0
    store.close()


def test_database_urls() -> None:
    assert parse_url("postgresql://u:secret@h/db").describe() == "postgresql://u:•••@h/db"
    assert parse_url("sqlite:///tmp/x.db").location == "tmp/x.db"
    assert parse_url("sqlite:////tmp/x.db").location == "/tmp/x.db"
    assert parse_url("data/x.db").dialect == "sqlite"


def _terminate(store: Store) -> None:
    """What a PostgreSQL restart or failover does to our connection."""
    import psycopg

    from .services import PG_BASE

    pid = store.db.scalar("SELECT pg_backend_pid()")
    with psycopg.connect(PG_BASE, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_dropped_postgresql_connection_is_made_again(pg_url: str) -> None:
    store = Store.open(pg_url)
    store.subscribers.bulk_subscribe(phones(3), "test")
    _terminate(store)
    assert store.subscribers.count_active() == 3  # the lone statement was retried on a new connection
    assert store.db.reconnects == 1
    store.close()


def test_a_drop_inside_a_transaction_writes_nothing_and_the_next_one_works(pg_url: str) -> None:
    from site_tools.store.database import StoreUnavailable

    store = Store.open(pg_url)
    a, b = phones(2)
    with pytest.raises(StoreUnavailable):
        with store.db.transaction():
            store.subscribers.subscribe(a, "test")
            _terminate(store)
            store.subscribers.subscribe(b, "test")
    assert store.subscribers.get(a) is None and store.subscribers.get(b) is None  # all or nothing
    assert store.subscribers.subscribe(b, "test") and store.subscribers.count_active() == 1
    store.close()


def test_a_locked_sqlite_database_is_transient_not_a_crash(tmp_path: Path) -> None:
    import sqlite3

    from site_tools.store.database import StoreUnavailable

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url)
    store.db.conn.execute("PRAGMA busy_timeout=50")
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock for long
    with pytest.raises(StoreUnavailable):
        store.subscribers.subscribe(phones(1)[0], "test")
    other.execute("ROLLBACK")
    assert store.subscribers.subscribe(phones(1)[0], "test")  # and then it works
    store.close()
