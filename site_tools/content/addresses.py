"""Stable addresses: a published bulletin keeps its URL, because links to it were sent to phones.

A bulletin's address is ``<bulletins_dir>/<year>/<month>/<slug>/`` and the
slug comes from ``slug:`` or, by default, from the ``id`` (without its date
prefix), never from the file's name: renaming the file changes nothing. What
still moves an address (a changed ``id``, ``slug`` or month of ``date``, a
deleted file) is compared here with the version of the files in Git (the
pull request's base branch, or ``HEAD``) and reported as a warning.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from site_tools.content.config import TownConfig
from site_tools.content.frontmatter import Parsed, read_bulletin
from site_tools.content.merged import git_output as _git
from site_tools.content.merged import merge_time
from site_tools.content.problems import Problem
from site_tools.settings import current


def default_base() -> str:
    """The pull request's base branch on GitHub (``GITHUB_BASE_REF``), else the last commit."""
    base = current().github_base_ref
    return f"origin/{base}" if base else "HEAD"


def _published_before(config: TownConfig, base: str, now: datetime) -> dict[str, tuple[str, str]]:
    """id → (address, file) of the bulletins changed or deleted since ``base`` that were on the site there."""
    folder = os.path.relpath(config.bulletins_path, config.root)
    changed = _git(config.root, "diff", "--name-status", "--no-renames", base, "--", folder)
    top = _git(config.root, "rev-parse", "--show-prefix")
    root = _git(config.root, "rev-parse", "--show-toplevel")
    if not changed or top is None or root is None:
        return {}
    found: dict[str, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for row in changed.splitlines():
            status, _, name = row.partition("\t")
            if status not in ("M", "D") or not name.endswith(".md"):
                continue
            old = _git(config.root, "show", f"{base}:{name}")  # name is relative to the repository's top
            if old is None:
                continue
            copy = Path(scratch) / Path(name).name
            copy.write_text(old, encoding="utf-8")
            b = read_bulletin(copy, config).bulletin
            if b is not None and b.dated_at_merge:  # dated by the merge of the file where it was, not the copy
                merged = merge_time(Path(root.strip(), name), config.bulletins_path, config.timezone)
                b = replace(b, date=merged) if merged else None
            if b is not None and not b.draft and b.date <= now:
                found[b.id] = (b.url_path, name.removeprefix(top.strip()))
    return found


def moved_addresses(config: TownConfig, records: list[Parsed], now: datetime, base: str) -> list[Problem]:
    """Warnings for each bulletin published at ``base`` whose address would change or disappear."""
    before = _published_before(config, base, now)
    if not before:
        return []
    current = {r.id: r for r in records if r.id}
    same_file = {r.shown: r for r in records}
    warnings = []
    for bid, (url, name) in sorted(before.items()):
        record = current.get(bid) or same_file.get(name)  # by id; a changed id: by the file it is still in
        if record is not None and record.url_path in (url, None):
            continue
        warnings.append(_warning(config, bid, url, name, record))
    return warnings


def _warning(config: TownConfig, bid: str, url: str, name: str, record: Parsed | None) -> Problem:
    old = config.site_url + url
    if record is None:
        return Problem(
            name,
            None,
            "id",
            f"l'avviso pubblicato «{bid}» sparirebbe: il suo indirizzo {old} è già arrivato sui telefoni.",
            "per ritirare un avviso scrivine uno nuovo con «cancels: "
            + bid
            + "»; se hai cambiato l'id, rimetti quello di prima.",
        )
    return Problem(
        record.shown,
        record.line("date"),
        "date",
        f"l'indirizzo dell'avviso pubblicato cambierebbe da {old} a {config.site_url}{record.url_path}: "
        "i link già inviati ai telefoni non funzionerebbero più.",
        "lascia com'erano «slug», «id» e il mese di «date»; per correggere la data di un avviso già pubblicato "
        f"aggiungi «updated:», oppure scrivi un nuovo avviso con «updates: {bid}».",
    )
