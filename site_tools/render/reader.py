"""A Telegram message (its HTML) as the reader sees it, in Markdown for a pull request's preview.

The editor checks the post in the PR summary: bold shows as bold, a link as
a link, entities as characters — never the raw ``<b>`` tags Telegram hides.
Each message is a quote whose lines keep their breaks.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Telegram's tags → Markdown (GitHub's), opening and closing.
_MARKS = {
    "b": ("**", "**"),
    "strong": ("**", "**"),
    "i": ("*", "*"),
    "em": ("*", "*"),
    "s": ("~~", "~~"),
    "strike": ("~~", "~~"),
    "del": ("~~", "~~"),
    "u": ("<ins>", "</ins>"),
    "ins": ("<ins>", "</ins>"),
    "code": ("`", "`"),
    "tg-spoiler": ("", ""),
    "span": ("", ""),
}
#: Characters Markdown would read as formatting in the text itself.
_ESCAPE = re.compile(r"([\\`*_~\[\]<>|])")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
            self.out.append("[")
        elif tag == "pre":
            self.out.append("`")
        else:
            self.out.append(_MARKS.get(tag, ("", ""))[0])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            href = self.links.pop() if self.links else ""
            self.out.append(f"]({href.replace(')', '%29').replace(' ', '%20')})")
        elif tag == "pre":
            self.out.append("`")
        else:
            self.out.append(_MARKS.get(tag, ("", ""))[1])

    def handle_data(self, data: str) -> None:
        self.out.append(_ESCAPE.sub(r"\\\1", data))


def as_read(message: str) -> str:
    """One Telegram HTML message → a Markdown quote of what the reader sees."""
    reader = _Reader()
    reader.feed(message)
    reader.close()
    text = "".join(reader.out)
    lines = text.split("\n")
    return "\n".join(f"> {line}  " if line.strip() else ">" for line in lines)
