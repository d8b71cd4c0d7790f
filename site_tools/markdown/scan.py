"""Markdown bodies read with markdown-it-py (CommonMark), for the channels: text for phones and CAP.

What reaches the *site* is decided by :mod:`site_tools.markdown.body`
(Python-Markdown, as the site renders) and :mod:`site_tools.markdown.html`
(the allow-list); the validator uses those, so that it and the site agree on
what a link is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    # CommonMark with raw HTML kept as tokens, so that the channel renderers can drop it.
    return MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


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
