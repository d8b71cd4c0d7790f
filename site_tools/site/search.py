"""The search index: full text of recent bulletins, titles and summaries of older ones, within a size budget.

A visitor who searches downloads the whole index (``search/search_index.json``)
once, on a phone too: it must stay under :data:`BUDGET` however long the
archive. Every visible bulletin is in it, newest first in three tiers:

* **full**: title, summary, categories and the body's text — the newest
  bulletins, while half of the budget lasts (every bulletin of a small town);
* **summary**: title, summary and categories — the next ones, while the budget lasts;
* **title**: title and categories — the oldest, always.

So the body of a recent bulletin is found, and an old bulletin by its title
(measured at 10,000 bulletins: docs/benchmarks/index.md). Bulletin pages are kept
out of the search plugin (``search: exclude``) and added here.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from site_tools.content.bulletin import Bulletin
from site_tools.site.model import SiteModel

#: Bytes of JSON for bulletins (the other pages add a few kB).
BUDGET = 1_800_000
FULL, SUMMARY, TITLE = "full", "summary", "title"
#: Bytes of a body's text at most: a long ordinance is found by its first pages.
BODY_MAX = 4_000
_ENTRY = len('{"location":"","title":"","text":""},')


def _labels(model: SiteModel, b: Bulletin) -> str:
    return " ".join(c.label for slug in b.categories if (c := model.config.category(slug)))


def _size(*texts: str) -> int:
    # UTF-8 length, escaped: close enough for a budget (accents are 2 bytes, «&» becomes 5).
    return _ENTRY + sum(len(t.encode("utf-8")) + t.count("&") * 4 + t.count("<") * 3 for t in texts)


def tiers(model: SiteModel) -> dict[str, str]:
    """url_path → FULL, SUMMARY or TITLE for every visible bulletin, newest first, within :data:`BUDGET`."""
    bulletins = model.bulletins  # newest first
    chosen = dict.fromkeys((b.url_path for b in bulletins), TITLE)
    spare = BUDGET - sum(_size(b.url_path, b.title, _labels(model, b)) for b in bulletins)
    full_left = spare // 2
    done = 0
    for b in bulletins:
        cost = _size(b.summary, b.body[:BODY_MAX]) - _ENTRY
        if cost > full_left:
            break
        chosen[b.url_path], full_left, done = FULL, full_left - cost, done + 1
    summary_left = spare - spare // 2 + full_left
    for b in bulletins[done:]:
        cost = _size(b.summary) - _ENTRY
        if cost > summary_left:
            break
        chosen[b.url_path], summary_left = SUMMARY, summary_left - cost
    return chosen


def body_text(page_html: str, placeholder: str) -> str:
    """The text of a bulletin page as Markdown rendered it, before the generated parts are put back (stash.py):
    title, notices and body."""
    tree = LexborHTMLParser(page_html)
    for node in tree.css("h1, p"):
        if node.tag == "h1" or placeholder in (node.text(deep=False) or ""):
            node.decompose()
    return " ".join((tree.body.text(separator=" ") if tree.body else "").split())[:BODY_MAX]


def add_bulletins(site_dir: Path, model: SiteModel, chosen: dict[str, str], bodies: dict[str, str]) -> None:
    """One entry per bulletin, as :func:`tiers` chose, appended to the index the search plugin wrote.

    ``bodies``: url_path → the text of the body (for FULL entries), taken from the rendered page.
    """
    path = site_dir / "search" / "search_index.json"
    if not path.is_file():
        return
    index = json.loads(path.read_text(encoding="utf-8"))
    for b in model.bulletins:
        tier = chosen.get(b.url_path, TITLE)
        parts = [b.summary] if tier in (FULL, SUMMARY) else []
        parts.append(_labels(model, b))
        if tier == FULL:
            parts.append(bodies.get(b.url_path, ""))
        # The theme shows these as HTML: escaped, an editor's text stays text.
        text = html.escape(" ".join(p for p in parts if p))
        index["docs"].append({"location": b.url_path, "title": html.escape(b.title), "text": text})
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
