"""Parsed bulletins remembered by content hash, so a publish parses only what is new or changed.

``site-tools publish`` must send the first urgent message within half a
second whatever the size of the archive; parsing and checking 10,000
frontmatters takes seconds. A valid parse is kept (in the store, injected by
the CLI as a :class:`ParseCache`: ``content`` sits below ``store``) under:

* the file's path and its **Git blob id** (``sha1("blob <size>\\0" + bytes)``):
  a content hash that Git already knows for every committed, unmodified file,
  so a warm run reads no bulletin at all (:func:`known_digests`); any other
  file is read and hashed here, the same way;
* a **fingerprint** of the town's configuration, of this package's code and of
  the versions of the libraries that read a bulletin (PyYAML, python-frontmatter,
  pydantic): a change to any of them (a new category, a new rule, an upgrade)
  invalidates every entry.

Only bulletins with no problem are cached: a broken file is parsed, and
refused, on every run. The images and attachments a cached bulletin names
are checked again on every hit (they may have been removed).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from site_tools.content.bulletin import Attachment, Bulletin, Event, Priority
from site_tools.content.config import TownConfig

#: Bump to drop every cached parse (the code's own hash covers most changes already).
FORMAT = 2
_CODE = Path(__file__).parent
#: The libraries a parse depends on: (module, distribution). An upgrade of any may parse the same file otherwise.
LIBRARIES = (("yaml", "PyYAML"), ("frontmatter", "python-frontmatter"), ("pydantic", "pydantic"))


class ParseCache(Protocol):
    """Where parses are kept (the store's ``parsed_bulletins``); ``content`` only knows this shape."""

    def entries(self, fingerprint: str) -> dict[str, tuple[str, str, str, str]]:
        """Every entry made under ``fingerprint``: path → (digest, fields, body, frontmatter)."""
        ...

    def index(self, fingerprint: str) -> dict[str, tuple[str, str, str, str]]:
        """The short columns of every entry made under ``fingerprint``: path → (digest, id, url path, date)."""
        ...

    def save(self, fingerprint: str, rows: list[tuple[str, str, str, str, str, str, str, str]]) -> None:
        """Remember (path, digest, fields, body, frontmatter, id, url path, date) rows, replacing what was there
        for those paths."""
        ...


@dataclass(frozen=True)
class Known:
    """What the cache remembers of the bulletins a run did not parse (unchanged since a valid parse): enough for
    the checks across files (ids, addresses, references) and for links to them. Paths as the editor sees them."""

    ids: dict[str, str] = field(default_factory=dict)  # id → file
    dates: dict[str, str] = field(default_factory=dict)  # id → date in ISO 8601
    urls: dict[str, str] = field(default_factory=dict)  # site path → file

    def add(self, shown: str, bulletin_id: str, url_path: str, date: str) -> None:
        self.ids[bulletin_id] = shown
        self.dates[bulletin_id] = date
        self.urls[url_path] = shown


def row(shown: str, digest: str, b: Bulletin, fm_text: str) -> tuple[str, str, str, str, str, str, str, str]:
    """The cache row of a valid parse."""
    return (shown, digest, encode(b), b.body, fm_text, b.id, b.url_path, b.date.isoformat())


def fingerprint(config: TownConfig) -> str:
    """The configuration as parsed, and the source of the code that parses: what a cached parse depends on."""
    # Without the checkout's own folder: a fresh clone elsewhere (each CI run) finds the same entries.
    described = repr(config).replace(str(config.root), ".")
    h = hashlib.sha256(f"{FORMAT}\n{described}\n{library_versions()}\n".encode())
    for module in sorted(_CODE.glob("*.py")):
        h.update(module.read_bytes())
    return h.hexdigest()


@functools.cache
def library_versions() -> str:
    """``name==version`` of each of :data:`LIBRARIES`, as installed.

    Read from the ``.dist-info`` folder beside the module, found without importing it: ``importlib.metadata``
    costs 60 ms to import and ``pydantic.version`` 300 ms, on the path of the first urgent message.
    """
    return " ".join(f"{dist}=={_installed_version(module, dist)}" for module, dist in LIBRARIES)


def _installed_version(module: str, dist: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return "assente"
    folder = Path(spec.origin).parent.parent
    wanted = _normalized(dist)
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for name in names:
        stem, dot, suffix = name.rpartition(".")
        project, _, version = stem.partition("-")
        if dot and suffix == "dist-info" and _normalized(project) == wanted:
            return version
    from importlib import metadata  # installed some other way (an egg, a zip): the slow, general answer

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "sconosciuta"


def _normalized(name: str) -> str:
    """A distribution's name as the packaging standards compare them (``PyYAML`` = ``pyyaml``)."""
    return name.lower().replace("-", "_").replace(".", "_")


def blob_id(data: bytes) -> str:
    """Git's id of a file's content (what ``git ls-files -s`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def known_digests(folder: Path) -> dict[str, str]:
    """Blob ids Git vouches for: tracked regular files under ``folder`` unchanged in the work tree.

    Two ``git`` calls instead of reading thousands of files. Outside a
    repository (or without git) nothing is known: every file is read.
    """
    return start_known_digests(folder)()


def start_known_digests(folder: Path) -> Callable[[], dict[str, str]]:
    """:func:`known_digests` started now (the ``git`` calls run while the caller does something else), read
    when the returned function is called."""
    try:
        # Both at once (two cores: one waits less for the other), read after.
        calls = [
            _start_git(folder, "ls-files", "-s", "-z", "--", "."),
            _start_git(folder, "diff-files", "--name-only", "--relative", "-z", "--", "."),
        ]
    except OSError:
        return dict
    return lambda: _digests_of(folder, calls)


def _digests_of(folder: Path, calls: list[tuple[subprocess.Popen[bytes], IO[bytes]]]) -> dict[str, str]:
    try:
        staged, changed_text = _finish_git(calls)
    except subprocess.CalledProcessError:
        return {}
    changed = set(changed_text.split("\0"))
    known: dict[str, str] = {}
    prefix = os.path.join(os.path.normpath(folder), "")
    for entry in staged.split("\0"):
        if not entry:
            continue
        meta, _, name = entry.partition("\t")
        mode, blob, stage = meta.split(" ")
        # Regular files only (a symlink, 120000, is read and refused), merged (stage 0), unchanged.
        # (An untracked file is not in the index: it is read.)
        if mode in ("100644", "100755") and stage == "0" and name not in changed:
            known[prefix + name if os.sep == "/" else os.path.normpath(prefix + name)] = blob
    return known


def _start_git(folder: Path, *args: str) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    # Into a file, not a pipe: 10,000 entries are a megabyte, and a pipe nobody reads yet would stop git at 64 KB.
    out = tempfile.TemporaryFile()
    try:
        return subprocess.Popen(["git", *args], cwd=folder, stdout=out, stderr=subprocess.DEVNULL), out
    except OSError:
        out.close()
        raise


def _finish_git(calls: list[tuple[subprocess.Popen[bytes], IO[bytes]]]) -> list[str]:
    """Every call's output, each waited for (none left behind when one failed)."""
    outputs = []
    for call, out in calls:
        with out:
            call.wait()
            out.seek(0)
            # As os.walk names files: a name that is not UTF-8 (Latin-1 from an old zip) must not raise here.
            outputs.append(os.fsdecode(out.read()))
    for call, _ in calls:
        if call.returncode:
            raise subprocess.CalledProcessError(call.returncode, call.args)
    return outputs


def encode(b: Bulletin) -> str:
    """The bulletin's fields as JSON, but its body (kept beside, as text)."""
    fields: dict[str, Any] = {
        "id": b.id,
        "title": b.title,
        "date": b.date.isoformat(),
        "summary": b.summary,
        "categories": list(b.categories),
        "topics": list(b.topics),
        "type": b.type,
        "priority": b.priority.value,
        "channels": sorted(b.channels),
        "draft": b.draft,
        "slug": b.slug,
        "pin": b.pin,
        "expires": _when(b.expires),
        "event": [_when(b.event.start), _when(b.event.end), b.event.location] if b.event else None,
        "area": b.area,
        "office": b.office,
        "image": b.image,
        "updates": b.updates,
        "cancels": b.cancels,
        "updated": _when(b.updated),
        "attachments": [[a.file, a.title] for a in b.attachments],
        "urgency": b.urgency,
        "severity": b.severity,
        "certainty": b.certainty,
        "body_line": b.body_line,
        "section": b.section,
        "dated_at_merge": b.dated_at_merge,
    }
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def fields_of(payloads: list[str]) -> list[dict[str, Any]]:
    """Every payload decoded by one ``json.loads`` (a third of the time of one call each)."""
    return list(json.loads("[" + ",".join(payloads) + "]")) if payloads else []


def decode(f: dict[str, Any], body: str, path: Path, config: TownConfig) -> Bulletin:
    tz = config.timezone

    def when(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(tz)

    event = f["event"]
    start = when(event[0]) if event else None
    bulletin = Bulletin(
        id=f["id"],
        path=path,
        title=f["title"],
        date=datetime.fromisoformat(f["date"]).astimezone(tz),
        summary=f["summary"],
        categories=tuple(f["categories"]),
        topics=tuple(f["topics"]),
        body=body,
        type=f["type"],
        priority=Priority(f["priority"]),
        channels=frozenset(f["channels"]),
        draft=f["draft"],
        slug=f["slug"],
        pin=f["pin"],
        expires=when(f["expires"]),
        event=Event(start, when(event[1]), event[2]) if event and start else None,
        area=f["area"],
        office=f["office"],
        image=f["image"],
        updates=f["updates"],
        cancels=f["cancels"],
        updated=when(f["updated"]),
        attachments=tuple(Attachment(file, title) for file, title in f["attachments"]),
        urgency=f["urgency"],
        severity=f["severity"],
        certainty=f["certainty"],
        body_line=f["body_line"],
        section=f["section"],
        dated_at_merge=f["dated_at_merge"],
    )
    return bulletin


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def named_files(b: Bulletin) -> Iterable[str]:
    """The files of content/ a bulletin names (checked again on every cache hit)."""
    if b.image:
        yield b.image
    for attachment in b.attachments:
        yield attachment.file
