"""Absolute URLs for a bulletin and for the links inside its body."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig


@dataclass
class Links:
    """Turns a link written in a bulletin into an address that works on a phone."""

    config: TownConfig
    #: every bulletin a body may link to (the map below is made from them on the first relative link)
    bulletins: Sequence[Bulletin] = ()
    #: the files the run did not parse (a publish reads only new or changed ones): file as shown → site path
    others: Mapping[str, str] = field(default_factory=dict)
    _pages: dict[Path, str] | None = field(default=None, repr=False)

    @classmethod
    def for_bulletins(cls, config: TownConfig, bulletins: Iterable[Bulletin]) -> Links:
        return cls(config, list(bulletins))

    @property
    def pages(self) -> dict[Path, str]:
        """Resolved path of every bulletin file → its site path. Made when a body first links to another file,
        not before: at 10,000 bulletins it costs a tenth of a second the first urgent message need not wait for."""
        if self._pages is None:
            root = self.config.root
            self._pages = {Path(os.path.normpath(root / shown)): url for shown, url in self.others.items()}
            self._pages.update({Path(os.path.normpath(b.path)): b.url_path for b in self.bulletins})
        return self._pages

    def page(self, bulletin: Bulletin) -> str:
        return self.config.site_url + bulletin.url_path

    def absolute(self, href: str, bulletin: Bulletin) -> str:
        parts = urlsplit(href)
        if parts.scheme or href.startswith("//"):
            return href
        if href.startswith("#"):
            return self.page(bulletin) + href
        if href.startswith("/"):
            return urljoin(self.config.site_url, href.lstrip("/"))
        target = Path(os.path.normpath(bulletin.path.parent / parts.path))  # no syscalls: called per link
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        if target in self.pages:
            return self.config.site_url + self.pages[target] + fragment
        try:
            rel = target.relative_to(self.config.content_dir).as_posix()
        except ValueError:
            return self.page(bulletin)
        if rel.endswith(".md"):
            rel = rel[:-3]
            rel = "" if rel in ("index", "README") else (rel.removesuffix("/index") + "/")
        return self.config.site_url + rel + fragment
