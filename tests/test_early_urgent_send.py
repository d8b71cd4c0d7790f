"""The early urgent send: scenarios where the early path and the whole run could disagree, and send the same."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from site_tools.cli.publish import run_publish
from site_tools.content import merged
from site_tools.content.loading import load_content
from site_tools.store import Store

from .conftest import Town
from .services import pg_schema_url
from .test_parse_cache import ALERT, URGENT, cached_load, committed, git
from .test_urgent_first import adopted, options

pytestmark = pytest.mark.slow  # whole publishing runs, early and late path compared

OLD_ID = Path(ALERT).stem


def publish_after(
    town: Town, url: str, monkeypatch: pytest.MonkeyPatch, change: Callable[[Town], None], **opts: object
) -> tuple[list[str], int]:
    """Adopt and warm the cache, apply ``change`` (committed), publish again: the Telegram posts of that second
    run (their text) and its exit code."""
    with adopted(town, url, monkeypatch, 3, adoption_may_fail=True) as sim:
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


def test_a_missing_secret_holds_back_only_its_channel_in_the_early_send_too(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The WhatsApp list's token is missing. An urgent bulletin still goes early (before the archive is read) to
    Telegram and the WhatsApp Channel, an ordinary one in the whole run; nothing goes to the list, and the run
    ends by naming the missing secret and failing. What went out is reported, with the Channel's text to paste."""
    from site_tools.cli import publish as publish_module

    sends: list[set[tuple[str, str]]] = []  # the (bulletin, channel) pairs of each part of the run
    send = publish_module._send

    def spy(*args: object) -> object:
        plan = args[4]
        sends.append({(item.bulletin.id, c) for item in plan.items for c in item.channels})  # type: ignore[attr-defined]
        return send(*args)  # type: ignore[arg-type]

    def change(town: Town) -> None:
        monkeypatch.delenv("WHATSAPP_TOKEN")
        monkeypatch.setattr(publish_module, "_send", spy)
        town.write("2026-11-23-allerta-rossa.md", URGENT)
        ordinary = URGENT.replace("id: allerta-rossa", "id: sagra").replace("priority: urgent\n", "")
        town.write("2026-11-23-sagra.md", ordinary.replace("[protezione-civile]", "[viabilita]"))

    posts, code = publish_after(demo_town, sqlite_url, monkeypatch, change)
    assert code == 1
    early, rest = sends
    assert ("allerta-rossa", "telegram") in early and {b for b, _ in early} == {"allerta-rossa"}
    assert ("sagra", "telegram") in rest and not {p for p in early | rest if p[1] == "whatsapp_list"}
    assert sum("/allerta-rossa/" in p for p in posts) == 1 and sum("/sagra/" in p for p in posts) == 1
    captured = capsys.readouterr()
    assert "WHATSAPP_TOKEN" in captured.err and "Su Lista WhatsApp non è partito nulla" in captured.err
    assert "✔ allerta-rossa → Telegram" in captured.out
    assert "Testo per il Canale WhatsApp" in captured.out.split("✔ allerta-rossa → Telegram")[1]


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


def _old(town: Town) -> str:
    return (town.root / ALERT).read_text(encoding="utf-8")


def _scenario(name: str) -> Callable[[Town], None]:
    newer = URGENT.replace("date: 2026-11-23 11:59", "date: 2026-11-19 10:00")
    ordinary = URGENT.replace("id: allerta-rossa", "id: sagra").replace("priority: urgent\n", "")
    scenarios: dict[str, Callable[[Town], None]] = {
        "id-clash-archived-after": lambda t: t.write("2026-11-23-zz.md", URGENT.replace("allerta-rossa", OLD_ID)),
        "id-clash-archived-before": lambda t: t.write("2026-11-21-aa.md", URGENT.replace("allerta-rossa", OLD_ID)),
        "id-clash-two-new": lambda t: (
            t.write("2026-11-23-allerta-rossa.md", URGENT),
            t.write("2026-11-23-bis.md", URGENT.replace("slug", "x") + "slug: bis\n"),
        ),
        "updates-archived": lambda t: t.write("2026-11-23-agg.md", URGENT + f"updates: {OLD_ID}\n"),
        "updates-missing": lambda t: t.write("2026-11-23-agg.md", URGENT + "updates: non-esiste\n"),
        "updates-newer": lambda t: t.write("2026-11-19-agg.md", newer + f"updates: {OLD_ID}\n"),
        "cancels-new-broken": lambda t: (
            t.write("2026-11-23-sagra.md", ordinary + "type: nonesiste\n"),
            t.write("2026-11-23-allerta-rossa.md", URGENT + "cancels: sagra\n"),
        ),
        "renamed-archived": lambda t: (
            (t.root / ALERT).rename(t.root / ALERT.replace("2026-11-21-", "2026-11-21-x-")),
            t.write("2026-11-23-allerta-rossa.md", URGENT),
        ),
        "deleted-id-reused": lambda t: (
            (t.root / ALERT).unlink(),
            t.write("2026-11-23-allerta-rossa.md", URGENT.replace("allerta-rossa", OLD_ID)),
        ),
        "edited-archived-urgent": lambda t: (t.root / ALERT).write_text(
            _old(t).replace("title:", "title: Ancora", 1), encoding="utf-8"
        ),
        "undated": lambda t: t.write("2026-11-23-allerta-rossa.md", URGENT.replace("date: 2026-11-23 11:59\n", "")),
        "body-link-missing": lambda t: t.write("2026-11-23-allerta-rossa.md", URGENT, "Vedi [qui](../2026/no.md).\n"),
        "old-urgent": lambda t: t.write(
            "2026-11-10-allerta-rossa.md", URGENT.replace("2026-11-23 11:59", "2026-11-10 10:00")
        ),
        "config-changed": lambda t: (  # the cache was made under another configuration: cold
            (t.root / "mkdocs.yml").write_text(
                (t.root / "mkdocs.yml").read_text(encoding="utf-8").replace("population: 38400", "population: 38401"),
                encoding="utf-8",
            ),
            t.write("2026-11-23-allerta-rossa.md", URGENT),
        ),
        "symlink": lambda t: (t.bulletins / "2026" / "2026-11-23-link.md").symlink_to(
            t.write("_allerta.md", URGENT, folder="2026")
        ),
    }
    return scenarios[name]


SCENARIOS = [
    "id-clash-archived-after",
    "id-clash-archived-before",
    "id-clash-two-new",
    "updates-archived",
    "updates-missing",
    "updates-newer",
    "cancels-new-broken",
    "renamed-archived",
    "deleted-id-reused",
    "edited-archived-urgent",
    "undated",
    "body-link-missing",
    "old-urgent",
    "symlink",
    "config-changed",
]
OPTIONS: dict[str, dict[str, object]] = {
    "plain": {},
    "only": {"only": "allerta-rossa"},
    "channel": {"channel": "telegram"},
    "force": {"force": True},
    "ceiling": {},  # extra.town.cost_ceiling_eur below one message to the list
}
#: Every scenario as it comes; the options on the scenarios where they could change what the early path decides.
CASES = [(s, "plain") for s in SCENARIOS] + [
    (s, o)
    for s in ("id-clash-two-new", "updates-archived", "deleted-id-reused", "old-urgent", "undated")
    for o in ("only", "channel", "force", "ceiling")
]


def _ledger(url: str) -> dict[tuple[str, str], str]:
    store = Store.open(url)
    try:
        return {(p.bulletin_id, p.channel): p.state for p in store.ledger.publications()}
    finally:
        store.close()


def _compare(
    town: Town, root: Path, urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch, scenario: str, opts: str
) -> None:
    import site_tools.cli.publish as publish

    change = _scenario(scenario)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-23T11:58:00+01:00")  # an undated bulletin's date
    late_town = Town(root, with_demo=True)
    for t in (town, late_town):
        if opts == "ceiling":
            mkdocs = t.root / "mkdocs.yml"
            text = mkdocs.read_text(encoding="utf-8")
            mkdocs.write_text(text.replace("  town:\n", "  town:\n    cost_ceiling_eur: 0.01\n", 1), "utf-8")
    early_posts, early_code = publish_after(town, urls[0], monkeypatch, change, **OPTIONS[opts])
    monkeypatch.setattr(publish, "send_urgent_first", lambda *args: None)
    late_posts, late_code = publish_after(late_town, urls[1], monkeypatch, change, **OPTIONS[opts])
    assert _ledger(urls[0]) == _ledger(urls[1])
    assert (len(early_posts), early_code) == (len(late_posts), late_code)


@pytest.mark.slow  # two whole publishing runs per scenario, 20 scenarios
@pytest.mark.parametrize(("scenario", "opts"), CASES)
def test_the_early_path_and_the_whole_run_send_the_same(
    demo_town: Town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str, opts: str
) -> None:
    (tmp_path / "late").mkdir()
    urls = (f"sqlite:///{tmp_path / 'early.db'}", f"sqlite:///{tmp_path / 'late.db'}")
    _compare(demo_town, tmp_path / "late", urls, monkeypatch, scenario, opts)


@pytest.mark.postgres  # its own two schemas, not the pg_url fixture
@pytest.mark.parametrize("scenario", ["id-clash-two-new", "updates-archived", "undated"])
def test_the_same_on_postgresql(
    demo_town: Town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    (tmp_path / "late").mkdir()
    with pg_schema_url() as early, pg_schema_url() as late:
        _compare(demo_town, tmp_path / "late", (early, late), monkeypatch, scenario, "plain")


def test_a_new_bulletin_reusing_a_deleted_bulletins_id_is_sent_or_reported(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The loader allows the id of a removed bulletin to be used again (test_urgent_first); the publish found
    that id «done» in the ledger and sent nothing, without a word: a new urgent bulletin lost in silence (early
    and late path alike). The ledger knows which file the id stood for: the new one is refused, loudly."""
    posts, code = publish_after(demo_town, sqlite_url, monkeypatch, _scenario("deleted-id-reused"))
    err = capsys.readouterr().err
    assert any("Allerta rossa" in p for p in posts) or ("2026-11-23-allerta-rossa.md" in err and code == 1)


@pytest.mark.postgres  # its own schema, not the pg_url fixture
def test_a_bulletin_deep_in_long_folder_names_does_not_empty_the_cache_on_postgresql(demo_town: Town) -> None:
    """PostgreSQL refuses an index entry over 2,704 bytes: one bulletin under a long path made the flush of every
    parse fail (silently: a cache not written never stops a run), so every publish started cold and, past 100
    files, never sent an urgent bulletin early. That file is not cached; the others are."""
    import random
    import string

    committed(demo_town)
    folder = "/".join("".join(random.choices(string.ascii_lowercase, k=200)) for _ in range(14))
    demo_town.write("2026-11-23-allerta-rossa.md", URGENT, folder=f"2026/{folder}")
    with pg_schema_url() as url:
        whole = cached_load(demo_town, url)
        store = Store.open(url)
        try:
            assert store.parsed.count() == len(whole.records) - 1
        finally:
            store.close()
