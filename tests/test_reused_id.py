"""A bulletin id the ledger already knows: an edit of that bulletin is not sent again, a new bulletin that took
the id of a deleted one is refused loudly (never lost in silence), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from site_tools.cli.publish import run_publish
from site_tools.store import Store
from site_tools.store.database import Database

from .conftest import Town
from .test_parse_cache import URGENT, git
from .test_urgent_first import adopted, options

SENT = "2026-11-23-allerta-rossa.md"
#: The same id, written days later in a new file, about something else.
NEW = URGENT.replace("date: 2026-11-23 11:59", "date: 2026-11-26 07:00").replace("Allerta rossa", "Neve")


def publish(town: Town, url: str) -> int:
    """Commit what changed and publish (as on 26 November): the exit code."""
    git(town.root, "add", "-A")
    git(town.root, "commit", "-qm", "push")
    try:
        run_publish(town.config, options(db_url=url, now_text="2026-11-26 07:30"))
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


def sent_then(
    town: Town,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[Town], object],
) -> tuple[list[str], int, str]:
    """An urgent bulletin sent (Telegram and the list), then ``change`` made to the files and published: the
    Telegram posts of that last run, its exit code and what it printed on stderr."""
    with adopted(town, url, monkeypatch, 3, adoption_may_fail=True) as sim:
        town.write(SENT, URGENT)
        run_publish(town.config, options(db_url=url))
        assert sum("Allerta rossa" in str(m) for m in sim.messages()["telegram"]) == 1
        before = len(sim.messages()["telegram"])
        capsys.readouterr()
        change(town)
        code = publish(town, url)
        return [str(m) for m in sim.messages()["telegram"][before:]], code, capsys.readouterr().err


def path_of(town: Town) -> Path:
    return town.bulletins / "2026" / SENT


def test_a_new_bulletin_under_the_id_of_a_deleted_sent_one_is_refused_with_the_fix(
    demo_town: Town, store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def reuse(town: Town) -> None:
        path_of(town).unlink()
        town.write("2026-11-26-neve.md", NEW)

    posts, code, err = sent_then(demo_town, store_url, monkeypatch, capsys, reuse)
    assert posts == [] and code == 1
    assert "content/notizie/2026/2026-11-26-neve.md:2: [id] l'id «allerta-rossa» è quello di un avviso già" in err
    assert f"(il file content/notizie/2026/{SENT}, data 23/11/2026 11:59)" in err
    assert "dagli un «id» mai usato prima" in err and "rimetti «date: 2026-11-23 11:59»" in err


def test_the_fix_suggested_for_an_id_taken_by_mistake_sends_the_new_bulletin(
    demo_town: Town, store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def reuse(town: Town) -> None:
        path_of(town).unlink()
        town.write("2026-11-26-neve.md", NEW)

    with adopted(demo_town, store_url, monkeypatch, 3, adoption_may_fail=True) as sim:
        demo_town.write(SENT, URGENT)
        run_publish(demo_town.config, options(db_url=store_url))
        reuse(demo_town)
        assert publish(demo_town, store_url) == 1
        demo_town.write("2026-11-26-neve.md", NEW.replace("id: allerta-rossa", "id: neve"))
        assert publish(demo_town, store_url) == 0
        assert sum("Neve" in str(m) for m in sim.messages()["telegram"]) == 1


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda t: path_of(t).write_text(path_of(t).read_text().replace("Allerta", "ALLERTA")), id="text"),
        pytest.param(lambda t: path_of(t).rename(path_of(t).with_name("2026-11-23-allerta.md")), id="renamed"),
        pytest.param(
            lambda t: path_of(t).write_text(path_of(t).read_text().replace("11-23 11:59", "11-23 11:50")), id="date"
        ),
    ],
)
def test_an_edit_of_a_sent_bulletin_is_neither_sent_again_nor_reported(
    demo_town: Town,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[Town], object],
) -> None:
    """Its text, its file's name, or its date (in the same file) changed: the same bulletin, already sent."""
    posts, code, err = sent_then(demo_town, store_url, monkeypatch, capsys, edit)
    assert posts == [] and code == 0 and "allerta-rossa" not in err


def test_a_store_with_history_learns_the_files_of_its_ids_from_its_parse_cache(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migrating a store that already sent bulletins: the file each sent id stood for is taken from the parse
    cache (an id cached in two files is left for the next publish to record)."""
    from site_tools.store import database
    from site_tools.store.migrations import MIGRATIONS

    monkeypatch.setattr(database, "MIGRATIONS", [m for m in MIGRATIONS if m[0] <= 7])
    db = Database.open(store_url)
    db.migrate()
    db.execute("INSERT INTO publications (bulletin_id, channel, state) VALUES ('a', 'telegram', 'done')")
    db.execute("INSERT INTO publications (bulletin_id, channel, state) VALUES ('twice', 'telegram', 'done')")
    for path, bid, date in [
        ("content/a.md", "a", "2026-11-20T08:30:00+01:00"),
        ("content/b.md", "b", "2026-11-21T08:30:00+01:00"),  # never sent: nothing to remember
        ("content/t1.md", "twice", "2026-11-22T08:30:00+01:00"),
        ("content/t2.md", "twice", "2026-11-23T08:30:00+01:00"),
    ]:
        db.execute(
            "INSERT INTO parsed_bulletins (path, sha, fingerprint, parsed, body, frontmatter, parsed_at, bulletin_id,"
            " url_path, published) VALUES (?, 'x', 'f', '{}', '', '', 0, ?, ?, ?)",
            (path, bid, f"{bid}/", date),
        )
    db.close()
    monkeypatch.undo()
    store = Store.open(store_url)
    try:
        origins = store.ledger.origins()
    finally:
        store.close()
    assert {bid: tuple(o) for bid, o in origins.items()} == {"a": ("content/a.md", "2026-11-20T08:30:00+01:00")}
