"""What a bulletin's Markdown body contains: links, images, raw HTML.

Parsing (with markdown-it-py, CommonMark) rather than regular expressions
means a link inside a code block is not a link, and every finding carries
its line in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


@dataclass(frozen=True)
class Found:
    kind: str  # "link", "image" or "html"
    value: str
    line: int  # 0-based within the body


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    # "js-default" follows the CommonMark spec but keeps raw HTML as tokens,
    # which is what we need to find (and forbid) scripts.
    return MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def scan(body: str) -> Iterator[Found]:
    for token in parser().parse(body):
        start = token.map[0] if token.map else 0
        if token.type == "html_block":
            yield Found("html", token.content, start)
        elif token.type == "inline" and token.children:
            line = start
            for child in token.children:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type == "link_open":
                    yield Found("link", str(child.attrGet("href") or ""), line)
                elif child.type == "image":
                    yield Found("image", str(child.attrGet("src") or ""), line)
                elif child.type == "html_inline":
                    yield Found("html", child.content, line)
                    yield from _html_links(child, line)
        if token.type == "html_block":
            yield from _html_links(token, start)


_HTML_URL = re.compile(r"""<(a|img)\b[^>]*?\b(href|src)\s*=\s*["']([^"']*)["']""", re.I)


def _html_links(token: Token, line: int) -> Iterator[Found]:
    for match in _HTML_URL.finditer(token.content):
        kind = "image" if match.group(1).lower() == "img" else "link"
        yield Found(kind, match.group(3), line)


#: Raw HTML that must never reach the site: it could run code in a
#: citizen's browser or embed a third party that tracks them.
DANGEROUS_HTML = (
    (re.compile(r"<\s*script\b", re.I), "<script>"),
    (re.compile(r"<\s*iframe\b", re.I), "<iframe>"),
    (re.compile(r"<\s*(object|embed)\b", re.I), "<object>/<embed>"),
    (re.compile(r"<[^>]*\son[a-z]+\s*=", re.I), "un gestore di eventi «on…=»"),
    (re.compile(r"""(href|src)\s*=\s*["']?\s*javascript:""", re.I), "un link «javascript:»"),
)


def dangerous(html: str) -> list[str]:
    return [name for pattern, name in DANGEROUS_HTML if pattern.search(html)]


def plain_text(body: str) -> str:
    """The body's visible text, for search indexes and CAP descriptions."""
    words: list[str] = []
    for token in parser().parse(body):
        if token.type == "inline" and token.children:
            for child in token.children:
                if child.type in ("text", "code_inline"):
                    words.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    words.append(" ")
            words.append("\n")
    return re.sub(r"[ \t]*\n+[ \t]*", "\n", "".join(words)).strip()
