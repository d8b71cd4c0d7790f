"""One Python-Markdown per build, reset between pages, instead of ProperDocs' new one for every page.

ProperDocs' ``Page.render`` builds a ``markdown.Markdown`` with every
extension for each page (its entry points looked up, its ~40 processors and
patterns made): some 0.3 ms a page, 3 s of a 10,000-bulletin build (profiled).
:meth:`OneMarkdown.render` is that method with one instance made
once and ``reset()`` between pages, as Python-Markdown documents for reuse;
ProperDocs' per-page processors (raw HTML anchors, anchors, relative links,
title) are made for each page as before and replace the previous page's by
name.
"""

from __future__ import annotations

from typing import Any

import markdown
from mkdocs.structure.pages import (  # ProperDocs' own page processors
    _ExtractAnchorsTreeprocessor,
    _ExtractTitleTreeprocessor,
    _RawHTMLPreprocessor,
    _RelativePathTreeprocessor,
)
from mkdocs.structure.toc import get_toc


class OneMarkdown:
    def __init__(self) -> None:
        self._md: markdown.Markdown | None = None

    def _markdown(self, config: Any) -> markdown.Markdown:
        if self._md is None:
            self._md = markdown.Markdown(
                extensions=config["markdown_extensions"], extension_configs=config["mdx_configs"] or {}
            )
        return self._md

    def render(self, page: Any, config: Any, files: Any) -> None:
        """ProperDocs' ``Page.render``, on the build's one Markdown instance."""
        if page.markdown is None:
            raise RuntimeError("`markdown` field hasn't been set (via `read_source`)")
        md = self._markdown(config).reset()
        raw_html = _RawHTMLPreprocessor()
        raw_html._register(md)
        anchors = _ExtractAnchorsTreeprocessor(page.file, files, config)
        anchors._register(md)
        relative = _RelativePathTreeprocessor(page.file, files, config)
        relative._register(md)
        title = _ExtractTitleTreeprocessor()
        title._register(md)
        page.content = md.convert(page.markdown)
        page.toc = get_toc(getattr(md, "toc_tokens", []))
        page._title_from_render = title.title
        page.present_anchor_ids = anchors.present_anchor_ids | raw_html.present_anchor_ids
        page.links_to_anchors = relative.links_to_anchors
