"""A backup is copied off the server: it must not carry the Bluesky account's live session (its access and refresh
tokens post as the town for weeks). A store restored from it logs in again, once, and posts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from site_tools.store import Store
from site_tools.store import backup as backups
from site_tools.store.database import parse_url

from .conftest import Town
from .services import simulator
from .test_publisher import URGENT, add, publish
from .test_social_channels import ONLY_BLUESKY, first_run, social_town, states


def test_a_backup_leaves_out_the_bluesky_session(town: Town, store_url: str, tmp_path: Path) -> None:
    social_town(town, ONLY_BLUESKY)
    with simulator("--latency", "0") as sim:
        first_run(town, store_url, sim)
        add(town, URGENT, "allerta-uno")
        plan, report = publish(town, store_url, sim)
        assert states(report)["bluesky"] == "done"
        store = Store.open(store_url)
        try:
            session = store.db.one("SELECT key, value FROM service_state WHERE key LIKE ?", ("%bluesky.session%",))
            assert session, "the session is kept in the store"
            store.state.put("site.fingerprint.test", "kept")  # the rest of service_state is kept
            backups.backup(store.db, tmp_path / "b.sqlite")
        finally:
            store.close()
        conn = sqlite3.connect(tmp_path / "b.sqlite")
        try:
            kept = dict(conn.execute("SELECT key, value FROM service_state").fetchall())
        finally:
            conn.close()
        assert not [k for k in kept if "bluesky" in k]
        assert kept["site.fingerprint.test"] == "kept"
        tokens = [t for t in str(session[1]).split(":::") if len(t) > 40]  # the SDK's session string
        data = (tmp_path / "b.sqlite").read_bytes()
        assert tokens and not [t for t in tokens if t.encode() in data]
        # Restored (the old server lost): the channel logs in again, once, and posts.
        restored = f"sqlite:///{tmp_path / 'restored.db'}"
        backups.restore(tmp_path / "b.sqlite", parse_url(restored))
        add(town, URGENT, "allerta-due")
        plan, report = publish(town, restored, sim)
        assert states(report)["bluesky"] == "done"
        assert sim.stats()["bluesky_sessions_created"] == 2
        assert len(sim.messages()["bluesky"]) == 2
