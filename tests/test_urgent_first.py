"""An urgent bulletin new in a push is sent before the archive is read.

``load_changed`` parses only the files new or changed since their last valid parse and checks them against what
the store's cache knows of the others; ``site-tools publish`` sends what is urgent among them first, then reads
everything, reports every problem and sends the rest. Tests here: the partial load agrees with the whole one on
what a new file may do, and the early send neither skips a check nor sends anything twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from site_tools.cli.publish import PublishOptions, run_publish
from site_tools.content import loading
from site_tools.content.loading import load_changed, load_content
from site_tools.render.links import Links
from site_tools.store import Store

from .conftest import Town
from .services import SimProcess, phones, simulator
from .test_parse_cache import ALERT, URGENT, cached_load, committed, git

OLD_ID = Path(ALERT).stem  # cached, never parsed again while unchanged


@pytest.fixture
def warm(demo_town: Town, sqlite_url: str) -> Town:
    """The demo town committed, every bulletin in the store's cache."""
    committed(demo_town)
    cached_load(demo_town, sqlite_url)
    return demo_town


def changed(town: Town, url: str):  # type: ignore[no-untyped-def]
    store = Store.open(url)
    try:
        return load_changed(town.config, store.parsed)
    finally:
        store.close()


def problems(content) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(Path(p.file).name, p.field, p.message) for p in content.problems]


def test_nothing_new_parses_nothing_and_knows_every_bulletin(warm: Town, sqlite_url: str) -> None:
    partial = changed(warm, sqlite_url)
    whole = load_content(warm.config, check_bodies=False)
    assert partial.records == [] and partial.problems == []
    assert set(partial.known.ids) == {b.id for b in whole.bulletins}
    assert set(partial.known.urls) == {b.url_path for b in whole.bulletins}


def test_only_the_new_file_is_parsed(warm: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    real = loading.read_bulletin
    monkeypatch.setattr(loading, "read_bulletin", lambda path, config: read.append(path.name) or real(path, config))
    warm.write("2026-11-23-allerta-rossa.md", URGENT)
    partial = changed(warm, sqlite_url)
    assert read == ["2026-11-23-allerta-rossa.md"]
    assert [b.id for b in partial.bulletins] == ["allerta-rossa"] and partial.problems == []


def test_a_new_file_reusing_a_cached_id_is_refused(warm: Town, sqlite_url: str) -> None:
    warm.write("2026-11-23-doppione.md", URGENT.replace("id: allerta-rossa", f"id: {OLD_ID}"))
    partial = changed(warm, sqlite_url)
    assert partial.bulletins == []
    found = {field: (name, message) for name, field, message in problems(partial)}
    assert set(found) == {"id", "slug"}  # the address comes from the id: both are taken
    assert found["id"][0] == "2026-11-23-doppione.md" and Path(ALERT).name in found["id"][1]


def test_a_new_file_taking_a_cached_address_is_refused(warm: Town, sqlite_url: str) -> None:
    old = load_content(warm.config, check_bodies=False).by_id()[OLD_ID]
    slug = old.url_path.rstrip("/").rsplit("/", 1)[-1]
    warm.write(
        "2026-11-21-altro.md", URGENT.replace("date: 2026-11-23 11:59", "date: 2026-11-21 10:00") + f"slug: {slug}\n"
    )
    partial = changed(warm, sqlite_url)
    assert partial.bulletins == [] and [p[1] for p in problems(partial)] == ["slug"]


@pytest.mark.parametrize(
    ("target", "date", "wrong"),
    [
        (OLD_ID, "2026-11-23 11:59", None),  # a later update of a cached bulletin: fine
        ("non-esiste", "2026-11-23 11:59", "non esiste un avviso"),
        (OLD_ID, "2026-11-20 09:00", "è più recente di questo"),  # an update older than what it updates
    ],
)
def test_updates_are_checked_against_cached_bulletins(
    warm: Town, sqlite_url: str, target: str, date: str, wrong: str | None
) -> None:
    text = URGENT.replace("date: 2026-11-23 11:59", f"date: {date}") + f"updates: {target}\n"
    warm.write("2026-11-23-aggiornamento.md", text)
    partial = changed(warm, sqlite_url)
    found = problems(partial)
    if wrong is None:
        assert found == [] and [b.updates for b in partial.bulletins] == [OLD_ID]
    else:
        assert [(f, wrong in m) for _, f, m in found] == [("updates", True)] and partial.bulletins == []


def test_links_to_cached_bulletins_are_checked_and_resolved(warm: Town, sqlite_url: str) -> None:
    old = load_content(warm.config, check_bodies=False).by_id()[OLD_ID]
    body = f"Vedi [l'allerta](../2026/{Path(ALERT).name}), [la pagina](/{old.url_path}) e [niente](/notizie/non-esiste/).\n"
    warm.write("2026-11-23-allerta-rossa.md", URGENT, body)
    partial = changed(warm, sqlite_url)
    found = partial.check_bodies()
    assert [(p.field, "non-esiste" in p.message) for p in found] == [("testo", True)]  # only the missing page
    links = Links(warm.config, partial.bulletins, {shown: url for url, shown in partial.known.urls.items()})
    [new] = partial.bulletins
    assert links.absolute(f"../2026/{Path(ALERT).name}", new) == warm.config.site_url + old.url_path


def test_a_removed_bulletins_id_may_be_used_again(warm: Town, sqlite_url: str) -> None:
    (warm.root / ALERT).unlink()
    warm.write("2026-11-23-nuovo.md", URGENT.replace("id: allerta-rossa", f"id: {OLD_ID}"))
    partial = changed(warm, sqlite_url)
    assert partial.problems == [] and [b.id for b in partial.bulletins] == [OLD_ID]


def test_an_edited_file_is_parsed_again_even_before_it_is_committed(warm: Town, sqlite_url: str) -> None:
    alert = warm.root / ALERT
    alert.write_text(alert.read_text(encoding="utf-8").replace("type: avviso", "type: avvisso", 1), "utf-8")
    partial = changed(warm, sqlite_url)
    assert [(p[0], p[1]) for p in problems(partial)] == [(alert.name, "type")]
    assert OLD_ID not in partial.known.ids


def test_too_many_new_files_mean_the_whole_load(warm: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "CHANGED_AT_MOST", 2)
    for n in range(3):
        warm.write(f"2026-11-23-nuovo-{n}.md", URGENT.replace("allerta-rossa", f"nuovo-{n}"))
    assert changed(warm, sqlite_url) is None


def options(**changes: object) -> PublishOptions:
    base = PublishOptions(
        dry_run=False, only=None, channel=None, since=None, force=False, max_age_days=3, rate=200.0,
        now_text="2026-11-23 12:00", db_url=None, progress=False, stale_after=15.0, receipt_grace=30.0,
        resend_uncertain=False,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


@contextmanager
def adopted(
    town: Town, url: str, monkeypatch: pytest.MonkeyPatch, subscribers: int, *, adoption_may_fail: bool = False
) -> Iterator[SimProcess]:
    """The town committed, ``subscribers`` citizens, a simulator in the environment, and a first publish that
    adopts the repository and fills the parse cache (its exit 1 tolerated only when asked)."""
    committed(town)
    with simulator("--latency", "0.01") as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        store = Store.open(url)
        store.subscribers.bulk_subscribe(phones(subscribers), "test")
        store.close()
        try:
            run_publish(town.config, options(db_url=url))
        except SystemExit:
            if not adoption_may_fail:
                raise
        yield sim


def test_the_urgent_bulletin_is_out_before_the_archive_is_read(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the whole archive fails after the early send (here: on purpose): the urgent bulletin has already
    reached every subscriber and Telegram, and the ledger says so, so the next run does not send it again."""
    import site_tools.cli.publish as publish

    with adopted(demo_town, sqlite_url, monkeypatch, 7) as sim:
        demo_town.write("2026-11-23-allerta-rossa.md", URGENT)
        real = publish.load_content

        def archive_unreadable(*args: object, **kwargs: object) -> object:
            raise RuntimeError("archive unreadable")

        monkeypatch.setattr(publish, "load_content", archive_unreadable)
        with pytest.raises(RuntimeError, match="archive unreadable"):
            run_publish(demo_town.config, options(db_url=sqlite_url))
        assert sim.stats()["accepted"] == 7 and len(sim.messages()["telegram"]) == 1
        monkeypatch.setattr(publish, "load_content", real)
        run_publish(demo_town.config, options(db_url=sqlite_url))  # nothing left: exits normally
        assert sim.stats()["accepted"] == 7 and len(sim.messages()["telegram"]) == 1
        store = Store.open(sqlite_url)
        states = {p.channel: p.state for p in store.ledger.publications("allerta-rossa")}
        store.close()
        assert states == {"whatsapp_list": "done", "telegram": "done", "whatsapp_channel": "manual"}


def test_early_and_late_sends_are_one_run_in_the_report(
    demo_town: Town, store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An urgent and an ordinary new bulletin: the urgent goes first (early), the other after the whole load;
    the run's report names each once, and every subscriber got each once."""
    with adopted(demo_town, store_url, monkeypatch, 4) as sim:
        capsys.readouterr()
        ordinary = URGENT.replace("id: allerta-rossa", "id: sagra").replace("priority: urgent\n", "")
        demo_town.write("2026-11-23-sagra.md", ordinary.replace("[protezione-civile]", "[viabilita]"))
        demo_town.write("2026-11-23-allerta-rossa.md", URGENT)
        git(demo_town.root, "add", "-A")
        run_publish(demo_town.config, options(db_url=store_url))
        out = capsys.readouterr().out
        assert out.count("✔ allerta-rossa → Lista WhatsApp") == 1 and out.count("✔ allerta-rossa → Telegram") == 1
        assert out.index("allerta-rossa → Lista WhatsApp") < out.index("sagra →")
        sent = sim.messages()
        assert sorted(m["to"] for m in sent["whatsapp"]) == sorted(phones(4) * 2)  # each bulletin once to each
        assert [("allerta-rossa" in str(m), "sagra" in str(m)) for m in sent["telegram"]] == [
            (True, False),
            (False, True),
        ]


def test_what_the_first_post_does_not_need_is_not_imported_before_it(demo_town: Town) -> None:
    """Imports are most of the time before the first message: the publish command, the channels and
    the check of a plain-text bulletin load neither the other HTTP clients nor Python-Markdown nor tqdm."""
    import subprocess
    import sys

    script = f"""
import sys
import site_tools.cli.publish, site_tools.channels, site_tools.delivery.publisher
from site_tools.content.config import load_config
from site_tools.content.loading import load_content
from pathlib import Path
content = load_content(load_config(Path({str(demo_town.root / "mkdocs.yml")!r})), check_bodies=False)
plain = [r.id for r in content.records if r.body.strip() and "<" not in r.body and "[" not in r.body]
assert plain and not content.check_bodies(plain[:1])
print(sorted(m for m in ("aiohttp", "httpx", "markdown", "markdown_it", "tqdm", "pygments") if m in sys.modules))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
