"""A Markdown body as the site renders it, and what the site would remove from it.

ProperDocs renders every page with Python-Markdown and the extensions listed
in ``mkdocs.yml`` (after its built-ins); the validator renders with the same
Python-Markdown and the same extensions, so that both agree on what a link,
an image or raw HTML is. (The channel renderers in :mod:`.text` read
Markdown with markdown-it, for phones: what they drop never reaches a browser.)

Python-Markdown keeps no source positions. A finding's line is the first line
at which it appears when the body is cut after that line and rendered again,
found by bisection: that costs a few renders per problem, and nothing for a
clean body. A reference link ``[x][r]`` is pointed at the line of its
definition ``[r]: …``, which is where the address is written.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import markdown
from markdown.extensions import Extension

from site_tools.markdown.html import Checked, Sanitizer


class SiteMarkdown:
    """Python-Markdown as the site runs it, with the site's allow-list."""

    def __init__(self, extensions: Sequence[str], configs: Mapping[str, Mapping[str, Any]], site_url: str = ""):
        built = [_builtin(name, configs.get(name, {})) or name for name in extensions]
        named = {name for name in built if isinstance(name, str)}  # third-party: built by Python-Markdown, by name
        self._md = markdown.Markdown(
            extensions=built, extension_configs={k: dict(v) for k, v in configs.items() if k in named}
        )
        self.sanitizer = Sanitizer(site_url)

    def html(self, text: str) -> str:
        self._md.reset()
        return str(self._md.convert(text))

    def review(self, body: str) -> Checked:
        """The body rendered and cleaned: what the site removes, and the links and images it keeps."""
        return self.sanitizer.check(self.html(body))

    def _keys(self, body: str) -> Counter[Hashable]:
        review = self.review(body)
        return Counter([*review.findings, *review.links])

    def locate(self, body: str, keys: Sequence[Hashable]) -> list[int]:
        """The 0-based line of each key (a Finding or a link); a repeated key means its next occurrence."""
        lines = body.split("\n")
        probed: dict[int, Counter[Hashable]] = {}

        def counts(n: int) -> Counter[Hashable]:
            if n not in probed:
                probed[n] = self._keys("\n".join(lines[:n]))
            return probed[n]

        seen: Counter[Hashable] = Counter()
        found = []
        for key in keys:
            seen[key] += 1
            low, high = 1, len(lines)
            while low < high:
                middle = (low + high) // 2
                if counts(middle)[key] >= seen[key]:
                    high = middle
                else:
                    low = middle + 1
            found.append(low - 1)
        return found


def _builtin(name: str, config: Mapping[str, Any]) -> Extension | None:
    """One of Python-Markdown's own extensions, built directly: the same extension as by name, without
    Python-Markdown scanning every installed package's entry points for the name (a sixth of ``validate``'s start-up).
    """
    if "." in name or ":" in name or importlib.util.find_spec(f"markdown.extensions.{name}") is None:
        return None
    extension: Extension = importlib.import_module(f"markdown.extensions.{name}").makeExtension(**dict(config))
    return extension
