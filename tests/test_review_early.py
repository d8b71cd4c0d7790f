"""Review of the early urgent send (issue 17): scenarios where the early path and the whole run could disagree."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from site_tools.cli.publish import run_publish
from site_tools.content import merged
from site_tools.content.loading import load_content
from site_tools.content.problems import InvalidContent
from site_tools.store import Store

from .conftest import Town
from .services import phones, simulator
from .test_parse_cache import ALERT, URGENT, cached_load, committed, git
from .test_urgent_first import options

OLD_ID = Path(ALERT).stem


def publish_after(
    town: Town, url: str, monkeypatch: pytest.MonkeyPatch, change: Callable[[Town], None], **opts: object
) -> tuple[list[str], int]:
    """Adopt and warm the cache, apply ``change`` (committed), publish again: the Telegram posts of that second
    run (their text) and its exit code."""
    committed(town)
    with simulator("--latency", "0.01") as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        store = Store.open(url)
        store.subscribers.bulk_subscribe(phones(3), "test")
        store.close()
        try:
            run_publish(town.config, options(db_url=url))
        except SystemExit:
            pass
        before = len(sim.messages()["telegram"])
        change(town)
        git(town.root, "add", "-A")
        git(town.root, "commit", "-qm", "push")
        code = 0
        try:
            run_publish(town.config, options(db_url=url, **opts))
        except SystemExit as exit:
            code = int(exit.code or 0)
        return [str(m) for m in sim.messages()["telegram"][before:]], code


def test_a_new_bulletin_taking_an_archived_address_is_not_sent_whatever_its_file_name(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The early path refuses a new urgent bulletin whose address is an archived one's; the whole run took the
    files in name order, so a new file named before the archived one kept the address (and was sent, the archived
    file being the one blamed). A clash of addresses keeps every bulletin involved out, like a clash of ids."""
    old = load_content(demo_town.config, check_bodies=False).by_id()[OLD_ID]
    slug = old.url_path.rstrip("/").rsplit("/", 1)[-1]
    text = URGENT.replace("date: 2026-11-23 11:59", "date: 2026-11-21 10:00") + f"slug: {slug}\n"
    posts, code = publish_after(demo_town, sqlite_url, monkeypatch, lambda t: t.write("2026-11-21-aaa.md", text))
    assert not any("Allerta rossa" in p for p in posts) and code == 1


def test_two_new_bulletins_with_one_address_are_neither_sent(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def two(town: Town) -> None:
        town.write("2026-11-23-allerta-rossa.md", URGENT + "slug: stesso\n")
        town.write("2026-11-23-bis.md", URGENT.replace("id: allerta-rossa", "id: bis") + "slug: stesso\n")

    posts, code = publish_after(demo_town, sqlite_url, monkeypatch, two)
    assert not any("Allerta rossa" in p for p in posts) and code == 1


@pytest.mark.parametrize(
    "odd",
    [
        "---\nid: caffe\n---\n\nTesto.\n",
        "---\n" + URGENT.replace("allerta-rossa", "caffe").replace("Allerta", "Caffè") + "---\n\nT.\n",
    ],
    ids=["broken", "valid"],
)
def test_a_file_name_not_in_utf8_does_not_stop_the_urgent_bulletin(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, odd: str
) -> None:
    """A file named in Latin-1 (a zip made on an old Windows PC: «caffè» as one byte 0xE8) beside a new urgent
    bulletin: Git lists its name as raw bytes, and decoding them as UTF-8 raised before anything was sent (early
    or late). The urgent bulletin goes; the odd file is the one refused."""

    def change(town: Town) -> None:
        town.write("2026-11-23-allerta-rossa.md", URGENT)
        folder = os.fsencode(town.bulletins / "2026")
        with open(folder + b"/2026-11-23-caff\xe8.md", "w", encoding="utf-8") as out:
            out.write(odd)

    posts, _ = publish_after(demo_town, sqlite_url, monkeypatch, change)
    assert sum("Allerta rossa" in p for p in posts) == 1  # and the run ended: its cache and ledger written


def test_what_the_early_part_sent_is_reported_when_a_secret_stops_the_rest(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An urgent bulletin for Telegram and the WhatsApp Channel goes early; an ordinary one needs the WhatsApp
    list, whose token is missing: the run stops on the missing secret. It said nothing of the urgent bulletin
    already sent, nor printed the text to paste in the WhatsApp Channel by hand."""

    def change(town: Town) -> None:
        monkeypatch.delenv("WHATSAPP_TOKEN")
        town.write("2026-11-23-allerta-rossa.md", URGENT + "channels: [telegram, whatsapp_channel]\n")
        ordinary = URGENT.replace("id: allerta-rossa", "id: sagra").replace("priority: urgent\n", "")
        town.write("2026-11-23-sagra.md", ordinary.replace("[protezione-civile]", "[viabilita]"))

    with pytest.raises(InvalidContent, match="WHATSAPP_TOKEN"):
        publish_after(demo_town, sqlite_url, monkeypatch, change)
    out = capsys.readouterr().out
    assert "✔ allerta-rossa → Telegram" in out
    assert "Testo per il Canale WhatsApp" in out.split("✔ allerta-rossa → Telegram")[1]


def test_an_undated_bulletin_staged_but_not_committed_is_not_cached_with_the_date_of_that_run(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulletin without «date:» is dated by the commit that adds it, «now» before. Staged (git add) but not
    committed, Git's index vouched for it and its «now» was cached: once committed (same content, same path) a
    publish on that store dated it when it was staged, days before the merge: «too old», never sent."""
    committed(demo_town)
    demo_town.write("2026-11-23-allerta-rossa.md", URGENT.replace("date: 2026-11-23 11:59\n", ""))
    git(demo_town.root, "add", "-A")
    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-16 08:00")
    assert cached_load(demo_town, sqlite_url).by_id()["allerta-rossa"].date.day == 16
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-23T11:59:00+01:00")
    git(demo_town.root, "commit", "-qm", "merge")
    merged._cache.clear()  # as a later process would see it
    whole = load_content(demo_town.config, check_bodies=False).by_id()["allerta-rossa"]
    assert cached_load(demo_town, sqlite_url).by_id()["allerta-rossa"].date == whole.date
    assert whole.date.day == 23
