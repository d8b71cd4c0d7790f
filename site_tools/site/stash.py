"""Generated HTML kept out of Python-Markdown's way, put back right after the conversion.

Python-Markdown reads every raw HTML block through ``html.parser`` (pure
Python) before it passes it through unchanged: at 10,000 bulletins, the
breadcrumb, details, share links of each bulletin page and the 50-item lists of
each listing page were the largest cost of the build (profiled).
What this plugin writes as HTML is replaced by a one-word paragraph and put
back in ``on_page_content``, *before* the page is sanitised: every page still
goes through the same allow-list and final check (:mod:`site_tools.site.sanitize`).

Only HTML this plugin generates is stashed, never what an editor wrote.
"""

from __future__ import annotations

import itertools
import re
import secrets

#: Blocks Python-Markdown would keep as raw HTML (a block-level tag at the start of a chunk).
_BLOCK = re.compile(r"<(?:ul|ol|nav|p|h[1-6]|div|section|table|figure|details)[\s>]")
#: Targets of links with a #fragment (``id``, ``<a name>``): ProperDocs finds them in raw HTML, so must we.
_ANCHOR = re.compile(r'<[a-z][^>]*?\s(?:id|name)="([^"]+)"')


class HtmlStash:
    def __init__(self) -> None:
        # Unguessable: an editor who types a placeholder in a bulletin gets a word, not someone else's HTML.
        self.nonce = secrets.token_hex(8)
        self._kept: dict[str, str] = {}
        self._count = itertools.count()
        # As a paragraph of its own, or as text inside an editor's unclosed HTML block (which swallows what follows,
        # as it swallowed the generated HTML itself before the stash): put back either way, then sanitised.
        # «<p>»/«</p>» around it are looked at beside each match: a pattern that starts with the literal token is
        # scanned for in C, one that starts with an optional «<p>» is tried at every character (profiled).
        self._token = re.compile(rf"stash{self.nonce}n\d+")

    def put(self, html: str) -> str:
        """A Markdown paragraph that becomes ``html`` again in :meth:`restore`."""
        token = f"stash{self.nonce}n{next(self._count)}"
        self._kept[token] = html
        return f"\n{token}\n"

    def hide(self, markdown: str) -> str:
        """Every chunk (between blank lines) of generated Markdown that is a raw HTML block, stashed."""
        chunks = markdown.split("\n\n")
        for i, chunk in enumerate(chunks):
            if _BLOCK.match(chunk.strip("\n")):
                chunks[i] = self.put(chunk.strip("\n"))
        return "\n\n".join(chunks)

    def restore(self, html: str) -> tuple[str, set[str]]:
        """The page's HTML with each placeholder replaced by what was stashed (then forgotten), and the ids it holds.

        The ids go to ``page.present_anchor_ids``: ProperDocs checks links to
        ``page/#dettagli`` against them after every page is rendered.
        """
        if "stash" + self.nonce not in html:
            return html, set()
        ids: set[str] = set()
        parts: list[str] = []
        done = 0  # html[:done] is in parts
        for match in self._token.finditer(html):
            start, end = match.span()
            if html.startswith("<p>", start - 3) and start - 3 >= done:
                start -= 3
            if html.startswith("</p>", end):
                end += 4
            kept = self._kept.pop(match.group(0), html[start:end])
            ids.update(_ANCHOR.findall(kept))
            parts += [html[done:start], kept]
            done = end
        parts.append(html[done:])
        return "".join(parts), ids
