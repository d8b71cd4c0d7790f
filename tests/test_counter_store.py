"""The counter's data on SQLite and PostgreSQL, its media over real HTTP, its configuration and canned answers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from pathlib import Path

import httpx
import pytest

from site_tools.content.answers import load_answers
from site_tools.content.config import load_config
from site_tools.content.problems import InvalidContent
from site_tools.devtools.sim_citizens import sample_png
from site_tools.service.counter.media import MediaFetcher, fetch_pending, sha256_matches
from site_tools.settings import Settings
from site_tools.store import Store
from site_tools.store.conversations import Inbound

from .command import site_tools
from .conftest import FIXTURE_TOWN, Town
from .services import phones, simulator


def test_conversations_reopen_and_wait_on_sqlite_and_postgresql(store_url: str) -> None:
    store = Store.open(store_url)
    c = store.conversations
    a, b = phones(2, 2000)
    now = time.time()
    cid, _ = c.record_inbound(a, Inbound("w1", "text", "Prima domanda", now - 300))
    assert c.record_inbound(a, Inbound("w2", "text", "Seconda", now - 200))[0] == cid  # one conversation per number
    c.record_inbound(b, Inbound("w3", "text", "Altra", now - 100))
    rows, total = c.queue()
    assert total == 2 and [r.phone for r in rows] == [a, b]  # oldest waiting first
    assert rows[0].waiting_since == pytest.approx(now - 300) and rows[0].last_inbound_at == pytest.approx(now - 200)
    staff = store.staff.add("mario", "Mario", "hash")
    c.add_answer(cid, staff, "text", "Risposta", store.outbox.queue(a, "Risposta"))
    assert [r.phone for r in c.queue()[0]] == [b, a]  # answered ones after those still waiting
    assert c.set_state(cid, "handled", staff) and c.queue()[1] == 1
    c.record_inbound(a, Inbound("w4", "text", "Ancora io", now))
    again = c.get(cid)
    assert again.state == "open" and again.waiting_since == pytest.approx(now) and again.opened_at == pytest.approx(now)
    store.close()


def test_retention_export_and_forget_cover_messages_and_media(store_url: str) -> None:
    store = Store.open(store_url)
    c = store.conversations
    old_phone, phone = phones(2, 2100)
    day = 86400
    now = time.time()
    _, old_media = c.record_inbound(old_phone, Inbound("o1", "image", None, now - 100 * day, "m1", "image/png"))
    c.media_stored(old_media, b"old", "image/png")
    cid, kept = c.record_inbound(phone, Inbound("n0", "text", "Vecchia", now - 95 * day))
    _, media = c.record_inbound(
        phone, Inbound("n1", "document", "La ricevuta", now - day, "m2", "application/pdf", None, "r.pdf")
    )
    c.media_stored(media, b"%PDF-1.4", "application/pdf")
    assert c.purge_before(now - 90 * day) == (2, 1)  # two old messages; the conversation left empty
    assert store.db.scalar("SELECT COUNT(*) FROM media_blobs") == 1
    assert [m.body for m in c.messages(cid)] == ["La ricevuta"]
    store.subscribers.subscribe(phone, "whatsapp", "VALFIORITA ON")
    exported = store.export(phone)
    (conversation,) = exported["conversations"]
    assert conversation["messages"][0]["media"] == {"mime": "application/pdf", "filename": "r.pdf", "size": 8}
    json.dumps(exported)  # plain data
    asked_only = phones(1, 2150)[0]
    c.record_inbound(asked_only, Inbound("q", "text", "Solo una domanda", now))
    assert store.export(asked_only)["status"] is None  # asking is not subscribing, but it is personal data
    assert store.forget(phone) and store.forget(asked_only)
    assert store.export(phone) is None and store.export(asked_only) is None
    assert store.db.scalar("SELECT COUNT(*) FROM media_blobs") == 0
    assert store.db.scalar("SELECT COUNT(*) FROM conversation_messages") == 0
    store.close()


def test_sessions_expire_and_login_failures_wait_longer_each_time(store_url: str) -> None:
    store = Store.open(store_url)
    staff = store.staff
    member = staff.add("anna", "Anna", "hash")
    staff.open_session("live", member, 3600)
    staff.open_session("dead", member, -1)
    assert staff.session("live", idle=600).username == "anna"
    assert staff.session("dead", idle=600) is None and staff.session("nope", idle=600) is None
    store.db.execute("UPDATE staff_sessions SET last_seen_at = last_seen_at - 700 WHERE sid = 'live'")
    assert staff.session("live", idle=600) is None  # idle too long
    untils = [staff.failed_login(["user:x"], 5, 30, 900, 900) for _ in range(9)]
    assert untils[:4] == [0.0] * 4  # four mistakes are free
    assert [round(u - time.time()) for u in untils[4:]] == [30, 60, 120, 240, 480]
    assert staff.blocked_until(["user:x", "ip:y"]) > time.time() + 400
    staff.login_succeeded("user:x")
    assert staff.blocked_until(["user:x"]) == 0
    store.close()


def test_reply_statuses_only_move_forward_even_before_the_outbox_knows_the_id(store_url: str) -> None:
    store = Store.open(store_url)
    phone = phones(1, 2200)[0]
    cid, _ = store.conversations.record_inbound(phone, Inbound("q", "text", "Domanda", time.time()))
    outbox = store.outbox.queue(phone, "Risposta")
    store.conversations.add_answer(cid, 1, "text", "Risposta", outbox)
    assert store.conversations.apply_status("wamid.early", "delivered", None)  # before the outbox has the id
    assert not store.conversations.apply_status("wamid.early", "sent", None)
    store.db.execute("UPDATE outbox SET state = 'sent', wamid = 'wamid.early' WHERE id = ?", (outbox,))
    assert store.conversations.messages(cid)[-1].status == "delivered"
    assert store.conversations.apply_status("wamid.early", "failed", 131026)
    last = store.conversations.messages(cid)[-1]
    assert (last.status, last.error) == ("failed", "errore 131026")
    store.close()


# -- media over real HTTP -----------------------------------------------------------------


def _fetch(sim_url: str, store: Store, **limits: int) -> int:
    settings = Settings(whatsapp_token="sim-whatsapp-token", whatsapp_api_url=f"{sim_url}/v24.0")

    async def run() -> int:
        async with httpx.AsyncClient() as client:
            fetcher = MediaFetcher(settings, client, **limits)

            async def on_store(fn):  # type: ignore[no-untyped-def]
                return fn(store)

            return await fetch_pending(fetcher, on_store)

    return asyncio.run(run())


def test_media_are_fetched_through_the_media_endpoint_and_checked(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    phone = phones(1, 2300)[0]
    png = sample_png()
    with simulator("--latency", "0") as sim:
        sent = httpx.post(
            f"{sim.url}/_sim/inbound",
            json={
                "from": phone,
                "media": {"type": "image", "mime_type": "image/png", "data": base64.b64encode(png).decode()},
            },
        ).json()
        media_id = sent["media_id"]
        assert httpx.get(f"{sim.url}/v24.0/{media_id}").json()["error"]["code"] == 190  # the token is required
        info = httpx.get(f"{sim.url}/v24.0/{media_id}", headers={"Authorization": "Bearer sim-whatsapp-token"}).json()
        assert set(info) >= {"url", "mime_type", "sha256", "file_size", "id"} and info["file_size"] == len(png)
        assert httpx.get(info["url"]).status_code == 401  # the download needs the same Authorization header
        c = store.conversations
        _, good = c.record_inbound(
            phone, Inbound("m1", "image", None, time.time(), media_id, "image/png", info["sha256"])
        )
        _, unknown = c.record_inbound(phone, Inbound("m2", "image", None, time.time(), "999", "image/png"))
        _, big = c.record_inbound(phone, Inbound("m3", "image", None, time.time(), media_id, "image/png"))
        store.db.execute("UPDATE conversation_messages SET media_sha256 = 'wrong' WHERE id = ?", (big,))
        assert _fetch(sim.url, store) == 3
        states = dict(store.db.all("SELECT id, media_state FROM conversation_messages"))
        assert states == {good: "stored", unknown: "failed", big: "stored"}  # Meta's own sha256 wins over a stale one
        assert c.media(c.get(1).id, good)[2] == png
        _, huge = c.record_inbound(phone, Inbound("m4", "image", None, time.time(), media_id, "image/png"))
        assert _fetch(sim.url, store, max_bytes=10) == 1
        assert store.db.scalar("SELECT media_state FROM conversation_messages WHERE id = ?", (huge,)) == "too_big"
        sim.configure(media_url_ttl=-1)  # the download URL has already expired: try again later
        _, late = c.record_inbound(phone, Inbound("m5", "image", None, time.time(), media_id, "image/png"))
        assert _fetch(sim.url, store) == 1
        row = store.db.one(
            "SELECT media_state, media_attempts, media_next_at FROM conversation_messages WHERE id = ?", (late,)
        )
        assert row[0] == "pending" and row[1] == 1 and row[2] > time.time()
    store.close()


def test_sha256_is_accepted_as_hex_or_base64() -> None:
    data = b"ricevuta"
    digest = hashlib.sha256(data).digest()
    assert sha256_matches(digest.hex(), data) and sha256_matches(base64.b64encode(digest).decode(), data)
    assert not sha256_matches("00" * 32, data) and sha256_matches(None, data)


# -- configuration, canned answers, the site ------------------------------------------------


def test_counter_configuration_is_validated(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    assert load_config(path).counter.retention_days == 90
    path.write_text(text.replace("retention_days: 90", "retention_days: mai"), encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    assert [p.field for p in info.value.problems] == ["extra.town.counter.retention_days"]
    path.write_text(
        text.replace("    counter:\n      answers_dir: risposte", "    counter:\n      answers: risposte"),
        encoding="utf-8",
    )
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    assert info.value.problems[0].field == "extra.town.counter.answers"
    block = "    counter:\n      answers_dir: risposte\n      retention_days: 90\n      template: sportello_risposta\n"
    assert block in text
    path.write_text(text.replace(block, "    counter: false\n"), encoding="utf-8")
    assert load_config(path).counter is None


def test_canned_answers_are_checked_like_bulletins(town: Town) -> None:
    folder = town.root / "content" / "risposte"
    folder.mkdir()
    (folder / "buona.md").write_text(
        "---\ntitle: Orari\nkeywords: [orari]\n---\nDalle **9** alle 13.\n", encoding="utf-8"
    )
    (folder / "senza-titolo.md").write_text("---\nkeywords: [x]\n---\nTesto.\n", encoding="utf-8")
    (folder / "link.md").write_text("---\ntitle: Link\n---\nVedi [qui](../notizie/x.md).\n", encoding="utf-8")
    (folder / "chiave.md").write_text("---\ntitle: X\ntitolo: Y\n---\nTesto.\n", encoding="utf-8")
    answers, problems = load_answers(town.config)
    assert [(a.slug, a.text) for a in answers] == [("buona", "Dalle *9* alle 13.")]
    found = {(Path(p.file).name, p.field) for p in problems}
    assert found == {("senza-titolo.md", "title"), ("link.md", None), ("chiave.md", "titolo")}
    result = site_tools("validate", cwd=town.root)
    assert (
        result.returncode == 1 and "content/risposte/link.md" in result.stderr and "indirizzi completi" in result.stderr
    )


@pytest.mark.slow  # a site build
def test_canned_answers_are_never_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from site_tools.site.build import build_site

    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-23 12:00")
    site = build_site(FIXTURE_TOWN / "mkdocs.yml", tmp_path / "site", strict=True)
    assert (FIXTURE_TOWN / "content" / "risposte" / "tari.md").is_file()
    assert not (site / "risposte").exists()
    published = "\n".join(p.read_text(encoding="utf-8", errors="ignore") for p in site.rglob("*.html"))
    assert "la TARI si paga con l'avviso pagoPA" not in published and "pagoPA che arriva a casa" not in published
    index = (site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "risposte/" not in index
