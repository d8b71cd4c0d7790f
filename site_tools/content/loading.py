"""All the bulletins of a town, loaded together.

Per-file checks live in :mod:`site_tools.content.frontmatter`; the checks
that need every file at once (duplicates, references, links in bodies) in
:mod:`site_tools.content.validation`.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from site_tools.content import cache as parse_cache
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.files import tree_problems
from site_tools.content.frontmatter import Parsed, content_file_problem, read_bulletin
from site_tools.content.limits import BULLETIN_MAX_BYTES
from site_tools.content.merged import dated_by_git
from site_tools.content.problems import Problem, display_path
from site_tools.content.validation import check_body, cross_checks, may_hold_markup, site_pages

if TYPE_CHECKING:  # imported when first needed: a publish may never render a body
    from site_tools.markdown.body import SiteMarkdown


@dataclass
class Content:
    config: TownConfig
    bulletins: list[Bulletin] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records: list[Parsed] = field(default_factory=list, repr=False)
    #: a partial load (:func:`load_changed`): what the cache knows of the files not parsed
    known: parse_cache.Known | None = field(default=None, repr=False)
    _bodies_checked: set[str] = field(default_factory=set, repr=False)
    _site: SiteMarkdown | None = field(default=None, repr=False)

    @property
    def site_markdown(self) -> SiteMarkdown:
        """Python-Markdown with the site's extensions and allow-list (made once: a few milliseconds)."""
        if self._site is None:
            from site_tools.markdown.body import SiteMarkdown

            c = self.config
            self._site = SiteMarkdown(c.markdown_extensions, c.markdown_configs, c.site_url)
        return self._site

    def check_bodies(self, ids: Iterable[str] | None = None) -> list[Problem]:
        """Check links and HTML in the bodies (all, or only the given bulletins).

        The publisher checks only what it is about to send: the rest was
        checked when it was published, and 5,000 bodies cost a second.
        """
        wanted = None if ids is None else set(ids)
        pages = site_pages(self.config, self.records, self.known)
        found: list[Problem] = []
        for record in self.records:
            if wanted is not None and record.id not in wanted:
                continue
            if record.shown in self._bodies_checked:
                continue
            self._bodies_checked.add(record.shown)
            if may_hold_markup(record.body):  # plain text: nothing to render, Python-Markdown not even loaded
                found.extend(check_body(record, self.config, pages, self.site_markdown))
        self._add(found)
        return found

    def check_site_files(self) -> list[Problem]:
        """Everything else in content/ that becomes the site: symlinks, file types and sizes, the pages."""
        from site_tools.content.pages import check_page, page_files

        found = tree_problems(self.config.content_dir, self.config.root)
        for path in page_files(self.config):
            found.extend(check_page(path, self.config, self.site_markdown))
        self._add(found)
        return found

    def _add(self, found: list[Problem]) -> None:
        # A file can be refused twice over (a symlink named on the command line): say it once.
        self.problems = sorted(dict.fromkeys([*self.problems, *found]))

    def clashing_ids(self) -> set[str]:
        """Ids of the bulletins whose id or address is used by more than one file: none of those is sent (which
        one is meant is not known; validation names both files). Not only the file read second: which file is
        read first depends on names, and a partial load (:func:`load_changed`) always refuses the new one."""
        used = Counter(r.id for r in self.records if r.id)
        addresses = Counter(r.url_path for r in self.records if r.url_path)
        clashing = {i for i, n in used.items() if n > 1}
        clashing.update(r.id for r in self.records if r.id and r.url_path and addresses[r.url_path] > 1)
        return clashing

    def by_id(self) -> dict[str, Bulletin]:
        return {b.id: b for b in self.bulletins}

    def problems_for(self, paths: Iterable[Path]) -> list[Problem]:
        """Only the problems in the given files or folders (for ``validate PATH…``)."""
        roots = [p.resolve() for p in paths]
        if not roots:
            return sorted(self.problems)
        wanted = []
        for problem in self.problems:
            where = (self.config.root / problem.file).resolve()
            if any(where == r or r in where.parents for r in roots):
                wanted.append(problem)
        return sorted(wanted)


def bulletin_files(config: TownConfig) -> list[Path]:
    """Every bulletin file, in a stable order (os.walk: one stat-free pass, thousands of files)."""
    return [Path(f) for f in bulletin_names(config)]


def bulletin_names(config: TownConfig) -> list[str]:
    """:func:`bulletin_files` as strings (10,000 ``Path`` objects cost 50 ms a publish need not spend)."""
    found: list[str] = []
    for folder, dirs, names in os.walk(config.bulletins_path):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        # Symlinks are listed too: reading one is refused (O_NOFOLLOW), with a message.
        prefix = os.path.join(folder, "")  # joined once per folder, not per file
        found.extend(prefix + n for n in names if n.endswith(".md") and not n.startswith((".", "_")))
    return sorted(found)


def load_content(
    config: TownConfig,
    *,
    check_bodies: bool = True,
    extra_files: Iterable[Path] = (),
    cache: parse_cache.ParseCache | None = None,
) -> Content:
    """Parse every bulletin; never raises for bad content, lists problems.

    ``extra_files`` are checked as bulletins too, with the town's bulletins
    as context (``site-tools validate some/other/folder``). With a ``cache``,
    a file whose content hash was parsed before (and was valid) is not parsed
    again (:mod:`site_tools.content.cache`); every cross-file check still runs.
    """
    content = Content(config)
    files = dict.fromkeys(bulletin_files(config))  # absolute already: config paths are resolved
    files.update(dict.fromkeys(p.resolve() for p in extra_files))
    records = read_cached(list(files), config, cache) if cache else [read_bulletin(path, config) for path in files]
    _assemble(content, records)
    if check_bodies:
        content.check_site_files()
        content.check_bodies()
    content.problems.sort()
    return content


def _assemble(content: Content, records: list[Parsed]) -> None:
    for record in records:
        content.problems.extend(record.problems)
    rejected = cross_checks(records, content.problems, content.known)
    content.records = records
    content.bulletins = [r.bulletin for r in records if r.bulletin is not None and r.shown not in rejected]


#: Above this many new or changed files a partial load gives up: the whole load is needed anyway (a cold cache).
CHANGED_AT_MOST = 100


def load_changed(config: TownConfig, cache: parse_cache.ParseCache) -> Content | None:
    """Only the bulletins new or changed since their last valid parse, checked against what the cache knows of
    the others (ids, addresses, dates): what a publish needs to send an urgent bulletin before reading the
    archive. Every check of a new file runs as in :func:`load_content`; the unchanged files were
    valid when parsed. None when more than :data:`CHANGED_AT_MOST` files are new or changed.
    """
    git_digests = parse_cache.start_known_digests(config.bulletins_path)  # Git works while the store is read
    index = cache.index(parse_cache.fingerprint(config))
    names = bulletin_names(config)
    in_git = git_digests()
    root = str(config.root).rstrip(os.sep) + os.sep
    known = parse_cache.Known()
    changed: list[Path] = []
    for name in names:
        shown = name[len(root) :] if name.startswith(root) and os.sep == "/" else display_path(Path(name), config.root)
        entry = index.get(shown)
        if entry is not None and entry[0] == (in_git.get(name) or _digest(Path(name))):
            known.add(shown, entry[1], entry[2], entry[3])
            continue
        changed.append(Path(name))
        if len(changed) > CHANGED_AT_MOST:
            return None
    content = Content(config, known=known)
    _assemble(content, [read_bulletin(path, config) for path in changed])
    content.problems.sort()
    return content


def read_cached(paths: list[Path], config: TownConfig, cache: parse_cache.ParseCache) -> list[Parsed]:
    """Like ``read_bulletin`` on every path, but from ``cache`` where the content hash is known and valid."""
    key = parse_cache.fingerprint(config)
    known = parse_cache.known_digests(config.bulletins_path)
    entries = cache.entries(key)
    records: list[Parsed | None] = []
    hits: list[tuple[int, str, tuple[str, str, str, str]]] = []
    digests: list[str | None] = []
    for path in paths:
        name = display_path(path, config.root)  # relative: a fresh clone elsewhere finds the same entries
        digest = known.get(str(path)) or _digest(path)
        entry = entries.get(name)
        if entry and digest and entry[0] == digest:
            hits.append((len(records), name, entry))
        records.append(None)
        digests.append(digest)
    fields = parse_cache.fields_of([entry[1] for _, _, entry in hits])
    for (index, name, entry), f in zip(hits, fields, strict=True):
        records[index] = _from_cache(paths[index], name, f, entry, config)
    fresh: list[tuple[str, str, str, str, str, str, str, str]] = []
    for index, path in enumerate(paths):
        if records[index] is None:
            record = records[index] = read_bulletin(path, config)
            b, digest = record.bulletin, digests[index]
            # A bulletin without date: is dated by the commit that merged it (content/merged.py): kept only when
            # Git vouches for the file (committed, unchanged), never a draft's «now».
            # (In Git's index is not enough: a staged file is not committed yet, and is dated «now».)
            committed = str(path) in known and (
                not b or not b.dated_at_merge or dated_by_git(path, config.bulletins_path)
            )
            if digest and b is not None and not record.problems and (committed or not b.dated_at_merge):
                fresh.append(parse_cache.row(record.shown, digest, b, record.fm_text))
    if fresh:
        cache.save(key, fresh)
    return [r for r in records if r is not None]


def _digest(path: Path) -> str | None:
    """The Git blob id of a regular file of a bulletin's size (anything else: parsed, and refused, as always)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > BULLETIN_MAX_BYTES:
            return None
        return parse_cache.blob_id(handle.read())


def _from_cache(
    path: Path, shown: str, fields: Any, entry: tuple[str, str, str, str], config: TownConfig
) -> Parsed | None:
    """The record a valid parse gave, if the files it names can still be published (else: parse again)."""
    _, _, body, fm_text = entry
    try:
        b = parse_cache.decode(fields, body, path, config)
    except (ValueError, KeyError, TypeError, IndexError):
        return None  # an entry of another shape: parse again
    for value in parse_cache.named_files(b):
        # Its kind (suffix) was checked when it was parsed: only what may have changed on disk since.
        if content_file_problem(path, value, config, "", (value.lower(),), image=value == b.image):
            return None
    return Parsed(
        path=path,
        shown=shown,
        bulletin=b,
        id=b.id,
        url_path=b.url_path,
        date=b.date,
        updates=b.updates,
        cancels=b.cancels,
        body=b.body,
        body_line=b.body_line,
        fm_text=fm_text,
    )
