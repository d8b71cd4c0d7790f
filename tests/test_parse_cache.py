"""The cache of parsed bulletins: a publish parses only what is new or changed, and refuses what is broken."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from site_tools.content import loading
from site_tools.content.loading import load_content
from site_tools.store import Store

from .command import Ran, site_tools
from .conftest import Town
from .services import phones, simulator

URGENT = """
id: allerta-rossa
title: Allerta rossa, evacuare le zone vicine al torrente
date: 2026-11-23 11:59
categories: [protezione-civile]
priority: urgent
summary: Allerta rossa per piena del torrente Fiora. Chi abita in via del Molino salga ai piani alti o raggiunga la palestra.
"""
ALERT = "content/notizie/2026/2026-11-21-allerta-arancione-idrogeologica.md"
WITH_ATTACHMENT = "content/notizie/2026/2026-11-22-sottopasso-via-marconi-chiuso.md"


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.it", "-c", "user.name=t", *args], cwd=root, check=True, capture_output=True
    )


def committed(town: Town) -> Town:
    git(town.root, "init", "-q", ".")
    git(town.root, "add", "-A")
    git(town.root, "commit", "-qm", "town")
    return town


class Parses:
    """Counts the files actually parsed (not taken from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.files: list[str] = []
        real = loading.read_bulletin

        def counting(path: Path, *args: object, **kwargs: object) -> object:
            self.files.append(path.name)
            return real(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(loading, "read_bulletin", counting)


def cached_load(town: Town, url: str):  # type: ignore[no-untyped-def]
    store = Store.open(url)
    try:
        return load_content(town.config, check_bodies=False, cache=store.parsed)
    finally:
        store.close()  # writes what was parsed


@pytest.mark.parametrize("in_git", [True, False], ids=["git", "no-git"])
def test_only_new_or_changed_files_are_parsed_and_the_result_is_the_same(
    demo_town: Town, store_url: str, monkeypatch: pytest.MonkeyPatch, in_git: bool
) -> None:
    if in_git:
        committed(demo_town)
    uncached = load_content(demo_town.config, check_bodies=False)
    parses = Parses(monkeypatch)
    first = cached_load(demo_town, store_url)
    assert len(parses.files) == len(uncached.records) == 29
    assert first.bulletins == uncached.bulletins and first.problems == uncached.problems

    parses.files.clear()
    warm = cached_load(demo_town, store_url)
    assert parses.files == []
    assert warm.bulletins == uncached.bulletins
    assert [vars(r) for r in warm.records] == [vars(r) for r in uncached.records]

    # An edit (not committed: Git's own hash is not trusted for a changed work tree) is parsed again.
    alert = demo_town.root / ALERT
    alert.write_text(alert.read_text(encoding="utf-8").replace("Allerta arancione", "Allerta ROSSA", 1), "utf-8")
    parses.files.clear()
    edited = cached_load(demo_town, store_url)
    assert parses.files == [alert.name]
    assert "Allerta ROSSA" in edited.by_id()["2026-11-21-allerta-arancione-idrogeologica"].title


def test_a_config_change_invalidates_every_entry(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed(demo_town)
    cached_load(demo_town, sqlite_url)
    config = demo_town.root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("label: Ambiente", "label: Ambiente e verde"), "utf-8")
    parses = Parses(monkeypatch)
    cached_load(demo_town, sqlite_url)
    assert len(parses.files) == 29


@pytest.mark.parametrize("library", ["PyYAML", "python-frontmatter", "pydantic"])
def test_an_upgrade_of_a_parsing_library_invalidates_every_entry(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    """A new PyYAML (or python-frontmatter, or pydantic) may read the same file otherwise: nothing parsed by the
    old one is used."""
    from site_tools.content import cache

    committed(demo_town)
    cached_load(demo_town, sqlite_url)
    installed = cache.library_versions()
    upgraded = re.sub(rf"\b{re.escape(library)}==\S+", f"{library}==999.0", installed)
    assert upgraded != installed
    monkeypatch.setattr(cache, "library_versions", lambda: upgraded)
    parses = Parses(monkeypatch)
    cached_load(demo_town, sqlite_url)
    assert len(parses.files) == 29


def test_the_fingerprint_names_the_installed_versions_of_the_parsing_libraries() -> None:
    from importlib import metadata

    from site_tools.content import cache

    assert cache.library_versions().split() == [f"{d}=={metadata.version(d)}" for _, d in cache.LIBRARIES]


def test_a_removed_attachment_is_refused_even_with_a_warm_cache(demo_town: Town, sqlite_url: str) -> None:
    committed(demo_town)
    assert not cached_load(demo_town, sqlite_url).problems
    (demo_town.root / "content/notizie/2026/allegati/ordinanza-45-2026-sottopasso-via-marconi.pdf").unlink()
    problems = cached_load(demo_town, sqlite_url).problems
    assert [(p.file, p.field) for p in problems] == [(WITH_ATTACHMENT, "attachments")]


def run_publish(town: Town, sim, db: str) -> Ran:  # type: ignore[no-untyped-def]
    env = {**sim.env(), "SITE_TOOLS_DB": db, "SITE_TOOLS_NOW": "2026-11-23 12:00", "SITE_TOOLS_DEBUG": None}
    return site_tools("publish", "--no-progress", cwd=town.root, env=env)


@pytest.mark.slow  # three publishing runs
def test_a_cached_bulletin_broken_since_is_found_and_reported_with_a_warm_cache(
    demo_town: Town, sqlite_url: str
) -> None:
    committed(demo_town)
    with simulator("--latency", "0.01") as sim:
        store = Store.open(sqlite_url)
        store.subscribers.bulk_subscribe(phones(5), "test")
        store.close()
        adopted = run_publish(demo_town, sim, sqlite_url)  # the first run: everything is historical, all cached
        assert adopted.returncode == 0, adopted.stderr
        store = Store.open(sqlite_url)
        assert store.parsed.count() == 29  # every valid bulletin (not the one with a problem: there is none)
        store.close()
        # A new urgent bulletin, and a bulletin that was valid (and cached) broken since: the broken one is found
        # (not served from the cache) and reported, loudly; the urgent one is not held up by it.
        demo_town.write("2026-11-23-allerta-rossa.md", URGENT)
        alert = demo_town.root / ALERT
        alert.write_text(
            alert.read_text(encoding="utf-8").replace("type: avviso", "type: avviso\ncategorie: [nessuna]", 1), "utf-8"
        )
        refused = run_publish(demo_town, sim, sqlite_url)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "2026-11-21-allerta-arancione-idrogeologica.md" in refused.stderr and "categorie" in refused.stderr
        assert sim.stats()["accepted"] == 5 and len(sim.messages()["telegram"]) == 1
        # Fixed: a green run, nothing sent twice.
        git(demo_town.root, "checkout", "--", ALERT)
        fixed = run_publish(demo_town, sim, sqlite_url)
        assert fixed.returncode == 0, fixed.stderr
        assert sim.stats()["accepted"] == 5 and len(sim.messages()["telegram"]) == 1


def test_an_undated_bulletin_is_cached_only_once_git_dates_it_by_its_merge(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulletin without date: is dated by the commit that merged it; before that it reads as «now». A draft's
    «now» kept under the file's hash would become its date after the merge (and move its address)."""
    from site_tools.content import merged

    committed(demo_town)
    body = URGENT.replace("id: allerta-rossa", "id: senza-data").replace("date: 2026-11-23 11:59\n", "")
    demo_town.write("2026-11-23-senza-data.md", body)
    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-23 12:00")
    parses = Parses(monkeypatch)
    draft = cached_load(demo_town, sqlite_url)
    assert next(b for b in draft.bulletins if b.id == "senza-data").date.strftime("%H:%M") == "12:00"
    parses.files.clear()
    cached_load(demo_town, sqlite_url)
    assert parses.files == ["2026-11-23-senza-data.md"]  # not taken from the cache: Git cannot vouch for it

    git(demo_town.root, "add", "-A")
    env = {"GIT_COMMITTER_DATE": "2026-11-24T09:15:00+01:00"}
    subprocess.run(["git", "-c", "user.email=t@example.it", "-c", "user.name=t", "commit", "-qm", "merge"],
                   cwd=demo_town.root, check=True, capture_output=True, env={**os.environ, **env})  # fmt: skip
    merged._cache.clear()
    parses.files.clear()
    first = cached_load(demo_town, sqlite_url)
    parses.files.clear()
    warm = cached_load(demo_town, sqlite_url)
    assert parses.files == []
    for content in (first, warm):
        b = next(b for b in content.bulletins if b.id == "senza-data")
        assert b.dated_at_merge and b.date.strftime("%d/%m %H:%M") == "24/11 09:15"


def test_a_new_file_reusing_a_cached_bulletins_id_is_refused_before_the_send(demo_town: Town, sqlite_url: str) -> None:
    """The old bulletin comes from the cache (never parsed in this run), the new one reuses its id: the clash is
    still found before anything leaves, reported loudly, and neither is sent; a valid urgent bulletin still goes."""
    committed(demo_town)
    with simulator("--latency", "0.01") as sim:
        store = Store.open(sqlite_url)
        store.subscribers.bulk_subscribe(phones(5), "test")
        store.close()
        assert run_publish(demo_town, sim, sqlite_url).returncode == 0  # adoption: all historical, all cached
        old_id = Path(ALERT).stem
        demo_town.write("2026-11-23-allerta-rossa.md", URGENT)
        demo_town.write("2026-11-23-doppione.md", URGENT.replace("id: allerta-rossa", f"id: {old_id}"))
        git(demo_town.root, "add", "-A")
        git(demo_town.root, "commit", "-qm", "two urgent bulletins, one with an old id")
        refused = run_publish(demo_town, sim, sqlite_url)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "2026-11-23-doppione.md" in refused.stderr and f"l'id «{old_id}» è già usato" in refused.stderr
        # Only the valid urgent bulletin went: one template per subscriber, one Telegram post.
        assert sim.stats()["accepted"] == 5 and len(sim.messages()["telegram"]) == 1
        assert "allerta-rossa" in str(sim.messages()["telegram"][0])


@pytest.mark.slow  # thousands of files in git
def test_git_vouches_for_thousands_of_files_started_ahead_of_time(tmp_path: Path) -> None:
    """The Git calls start before the store is read and are read after: their output (a megabyte at
    10,000 bulletins) goes to a file, so git never waits on a full pipe; edited files are not vouched for."""
    from site_tools.content.cache import blob_id, start_known_digests

    folder = tmp_path / "notizie"
    folder.mkdir()
    for n in range(3000):
        (folder / f"avviso-{n}.md").write_text(f"avviso {n}\n", encoding="utf-8")
    git(tmp_path, "init", "-q", ".")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "archive")
    (folder / "avviso-7.md").write_text("cambiato\n", encoding="utf-8")
    pending = start_known_digests(folder)
    known = pending()
    assert len(known) == 2999 and str(folder / "avviso-7.md") not in known
    assert known[str(folder / "avviso-2999.md")] == blob_id(b"avviso 2999\n")
    assert start_known_digests(tmp_path / "altrove")() == {}  # no such folder: nothing known, every file read


def test_a_cache_that_cannot_be_written_is_said_not_hidden(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(sqlite_url)
    store.parsed.save("f", [("a.md", "sha", "{}", "", "", "a", "notizie/a/", "2026-11-23T12:00:00+01:00")])

    def refused() -> int:
        raise RuntimeError("index row too large")

    monkeypatch.setattr(store.parsed, "flush", refused)
    store.close()  # the run is not failed by it…
    assert "cache degli avvisi letti non è stata salvata" in capsys.readouterr().err  # …but it is said
