"""All the bulletins of a town, loaded together.

Per-file checks live in :mod:`site_tools.content.frontmatter`; the checks
that need every file at once (duplicates, references, links in bodies) in
:mod:`site_tools.content.validation`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.files import tree_problems
from site_tools.content.frontmatter import Parsed, read_bulletin
from site_tools.content.pages import check_page, page_files
from site_tools.content.problems import Problem
from site_tools.content.validation import check_body, cross_checks, site_pages
from site_tools.markdown.body import SiteMarkdown


@dataclass
class Content:
    config: TownConfig
    bulletins: list[Bulletin] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records: list[Parsed] = field(default_factory=list, repr=False)
    _bodies_checked: set[str] = field(default_factory=set, repr=False)
    _site: SiteMarkdown | None = field(default=None, repr=False)

    @property
    def site_markdown(self) -> SiteMarkdown:
        """Python-Markdown with the site's extensions and allow-list (made once: a few milliseconds)."""
        if self._site is None:
            c = self.config
            self._site = SiteMarkdown(c.markdown_extensions, c.markdown_configs, c.site_url)
        return self._site

    def check_bodies(self, ids: Iterable[str] | None = None) -> list[Problem]:
        """Check links and HTML in the bodies (all, or only the given bulletins).

        The publisher checks only what it is about to send: the rest was
        checked when it was published, and 5,000 bodies cost a second.
        """
        wanted = None if ids is None else set(ids)
        pages = site_pages(self.config, self.records)
        found: list[Problem] = []
        for record in self.records:
            if wanted is not None and record.id not in wanted:
                continue
            if record.shown in self._bodies_checked:
                continue
            self._bodies_checked.add(record.shown)
            found.extend(check_body(record, self.config, pages, self.site_markdown))
        self._add(found)
        return found

    def check_site_files(self) -> list[Problem]:
        """Everything else in content/ that becomes the site: symlinks, file types and sizes, the pages."""
        found = tree_problems(self.config.content_dir, self.config.root)
        for path in page_files(self.config):
            found.extend(check_page(path, self.config, self.site_markdown))
        self._add(found)
        return found

    def _add(self, found: list[Problem]) -> None:
        # A file can be refused twice over (a symlink named on the command line): say it once.
        self.problems = sorted(dict.fromkeys([*self.problems, *found]))

    def clashing_ids(self) -> set[str]:
        """Ids used by more than one file: none of those bulletins is sent or shown (which one is meant is not
        known; validation names both files)."""
        used = Counter(r.id for r in self.records if r.id)
        return {i for i, n in used.items() if n > 1}

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
    found: list[str] = []
    for folder, dirs, names in os.walk(config.bulletins_path):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        # Symlinks are listed too: reading one is refused (O_NOFOLLOW), with a message.
        found.extend(os.path.join(folder, n) for n in names if n.endswith(".md") and not n.startswith((".", "_")))
    return [Path(f) for f in sorted(found)]


def load_content(config: TownConfig, *, check_bodies: bool = True, extra_files: Iterable[Path] = ()) -> Content:
    """Parse every bulletin; never raises for bad content, lists problems.

    ``extra_files`` are checked as bulletins too, with the town's bulletins
    as context (``site-tools validate some/other/folder``).
    """
    content = Content(config)
    files = dict.fromkeys(bulletin_files(config))  # absolute already: config paths are resolved
    files.update(dict.fromkeys(p.resolve() for p in extra_files))
    records = [read_bulletin(path, config) for path in files]
    for record in records:
        content.problems.extend(record.problems)
    rejected = cross_checks(records, content.problems)
    content.records = records
    content.bulletins = [r.bulletin for r in records if r.bulletin is not None and r.shown not in rejected]
    if check_bodies:
        content.check_site_files()
        content.check_bodies()
    content.problems.sort()
    return content
