"""Every internal link, image, script and stylesheet of a built site, checked against the files on disk.

    .venv/bin/python -m site_tools.devtools.linkcheck site/ https://avvisi.example.it/

A reference is internal when it is relative, starts with ``/`` or starts with
the site's own address (canonical and Open Graph URLs); it resolves as a
browser resolves it from the page's published URL, and must name a file of
the site (a folder means its ``index.html``). A ``#fragment`` on an HTML page
must name an element's ``id`` there. External addresses, ``mailto:``,
``tel:`` and ``webcal:`` are not followed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from lxml import html as lxml_html

#: (tag, attribute) pairs that load or open something.
REFERENCES = (
    ("a", "href"),
    ("link", "href"),
    ("script", "src"),
    ("img", "src"),
    ("source", "src"),
    ("iframe", "src"),
    ("form", "action"),
)
#: <meta> whose content is a URL.
META_URLS = ("og:url", "og:image", "twitter:image")
BASE = "http://site.invalid/"


@dataclass(frozen=True)
class Broken:
    page: str  # the page's file, from the site root
    reference: str  # as written in the page
    reason: str

    def __str__(self) -> str:
        return f"{self.page}: {self.reference} ({self.reason})"


@dataclass
class Report:
    pages: int
    checked: int
    broken: list[Broken]


def references(document: lxml_html.HtmlElement) -> Iterator[str]:
    for tag, attribute in REFERENCES:
        for element in document.iter(tag):
            value = element.get(attribute)
            if value is not None and not (tag == "a" and value == "" and element.get("name")):
                yield value
    for element in document.iter("meta"):
        if (element.get("property") or element.get("name")) in META_URLS and element.get("content"):
            yield element.get("content") or ""


class _Site:
    def __init__(self, root: Path, site_url: str):
        self.root = root
        self.site_url = site_url.rstrip("/") + "/"
        self.site_path = urlsplit(self.site_url).path  # "/" or "/town/"
        self.ids: dict[Path, set[str]] = {}

    def target(self, page_url: str, reference: str) -> tuple[Path | None, str, str]:
        """(file or None if external, fragment, reason if it cannot resolve)."""
        if reference.startswith(self.site_url):
            reference = self.site_path + reference[len(self.site_url) :]
        parts = urlsplit(reference)
        if parts.scheme or parts.netloc:
            return None, "", ""
        absolute = urlsplit(urljoin(BASE + page_url, reference))
        path = unquote(absolute.path)
        if not path.startswith(self.site_path[:-1] or "/"):
            return None, "", "fuori dal sito"
        inside = path[len(self.site_path) :] if path.startswith(self.site_path) else ""
        file = self.root / inside
        if inside == "" or inside.endswith("/"):
            file = file / "index.html"
        return file, absolute.fragment, ""

    def has_id(self, file: Path, fragment: str) -> bool:
        if file not in self.ids:
            document = lxml_html.fromstring(file.read_bytes())
            self.ids[file] = {e.get("id") or "" for e in document.iter() if e.get("id")} | {
                e.get("name") or "" for e in document.iter("a") if e.get("name")
            }
        return unquote(fragment) in self.ids[file]


def check_site(root: Path, site_url: str) -> Report:
    """Walk every ``.html`` file of ``root`` (the built site, published at ``site_url``)."""
    site = _Site(root, site_url)
    broken: list[Broken] = []
    pages = checked = 0
    for folder, _dirs, names in os.walk(root):
        for name in sorted(n for n in names if n.endswith(".html")):
            file = Path(folder) / name
            rel = file.relative_to(root).as_posix()
            page_url = rel[: -len("index.html")] if name == "index.html" else rel
            document = lxml_html.fromstring(file.read_bytes())
            pages += 1
            for reference in references(document):
                if reference.startswith(("mailto:", "tel:", "webcal:")):
                    continue
                target, fragment, reason = site.target(page_url, reference)
                if reason:
                    broken.append(Broken(rel, reference, reason))
                    continue
                if target is None:
                    continue  # external
                checked += 1
                if not target.is_file():
                    broken.append(Broken(rel, reference, "il file non esiste"))
                elif fragment and target.suffix == ".html" and not site.has_id(target, fragment):
                    broken.append(Broken(rel, reference, f"nessun elemento con id «{unquote(fragment)}»"))
    return Report(pages, checked, broken)


def main() -> None:
    root, site_url = Path(sys.argv[1]), sys.argv[2]
    report = check_site(root, site_url)
    for item in report.broken:
        print(item)
    print(f"{report.pages} pagine, {report.checked} riferimenti interni, {len(report.broken)} non funzionanti")
    raise SystemExit(1 if report.broken else 0)


if __name__ == "__main__":
    main()
