"""A bulletin without ``date:`` is dated when it reaches the main branch (the merge).

``site-tools new`` writes no date unless the editor schedules the bulletin,
so a pull request merged days after it was written is not «too old» to send.
The date is the commit time of the first-parent commit that added the file
(the merge commit, or the squashed or rebased commit: all made at merge
time), following renames. A file not committed yet (a local draft, the
pull request's preview) is dated «now»: that is when a merge would date it.

One ``git log`` for the whole bulletins' folder, cached per folder for a
minute (a long-running service sees new merges).
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, tzinfo
from pathlib import Path

from site_tools.content.dates import now
from site_tools.settings import current

_REFRESH_SECONDS = 60.0
_cache: dict[Path, tuple[float, dict[Path, datetime | None]]] = {}


def merge_time(path: Path, folder: Path, tz: tzinfo) -> datetime | None:
    """When ``path`` (inside ``folder``) reached the branch; «now» when it is not committed (to the minute).

    None when Git cannot tell: a shallow clone (``fetch-depth: 1``) shows every file as added by its
    oldest commit, so a date read there would move with every push (and the page's address with it).
    """
    key = path.resolve()
    known = _known(folder)
    if key not in known and _age(folder) > 1.0:
        known = _known(folder, refresh=True)
    if key not in known:
        return now(tz, current().now).replace(second=0, microsecond=0)
    when = known[key]
    return None if when is None else when.astimezone(tz)


def dated_by_git(path: Path, folder: Path) -> bool:
    """Whether :func:`merge_time` reads ``path``'s date from a commit (not «now»: a file not committed yet, even
    if staged)."""
    return path.resolve() in _known(folder)


def _age(folder: Path) -> float:
    cached = _cache.get(folder)
    return time.monotonic() - cached[0] if cached else float("inf")


def _known(folder: Path, refresh: bool = False) -> dict[Path, datetime | None]:
    cached = _cache.get(folder)
    if cached and not refresh and time.monotonic() - cached[0] < _REFRESH_SECONDS:
        return cached[1]
    found = added_times(folder)
    _cache[folder] = (time.monotonic(), found)
    return found


def git_output(folder: Path, *args: str) -> str | None:
    """What ``git args…`` prints in ``folder``; None when Git is missing, fails or takes over two minutes."""
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def added_times(folder: Path) -> dict[Path, datetime | None]:
    """Absolute path → commit time of the first-parent commit that added it (renames carry the time).

    None for a file added by a shallow clone's boundary commit: when it was really added is unknown.
    """
    log = git_output(
        folder, "log", "--first-parent", "-m", "--reverse", "--name-status", "--format=%x00%H %cI", "--", "."
    )
    top = git_output(folder, "rev-parse", "--show-toplevel")
    shallow_file = git_output(folder, "rev-parse", "--git-path", "shallow")
    if log is None or top is None:
        return {}
    root = Path(top.strip()).resolve()
    boundary = Path(folder, shallow_file.strip()) if shallow_file else None
    shallow = set(boundary.read_text().split()) if boundary and boundary.is_file() else set()
    times: dict[Path, datetime | None] = {}
    when: datetime | None = None
    for line in log.splitlines():
        if line.startswith("\x00"):
            commit, _, stamp = line[1:].partition(" ")
            when = None if commit in shallow else datetime.fromisoformat(stamp)
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            continue
        status, names = fields[0], [Path(os.path.normpath(root / n)) for n in fields[1:]]
        if status.startswith("A"):
            times[names[0]] = when
        elif status.startswith("D"):
            times.pop(names[0], None)
        elif status.startswith("R") and len(names) == 2:
            times[names[1]] = times.get(names[0], when)
    return times
