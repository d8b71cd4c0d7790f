"""The allow-list for HTML that reaches the site, and what it removes.

One policy, two uses:

* :meth:`Sanitizer.clean` is what the site publishes: ammonia (through nh3,
  the maintained Rust sanitiser) keeps only the tags and attributes that
  Markdown, its extensions and our generated pages produce, only ``http``,
  ``https``, ``mailto``, ``tel`` and relative URLs, and images only from the
  site itself.
* :meth:`Sanitizer.findings` tells an editor what ``clean`` would remove,
  walking the same HTML with an HTML5 parser (lexbor) against the same
  tables. The image and identifier rules are the very function that ammonia
  calls back, and when the walk names nothing but ammonia still changed the
  HTML, a generic finding says so: nothing is removed in silence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

#: What Markdown (with attr_list, admonition, toc, tables, fenced_code) and the
#: plugin's generated pages produce, plus the harmless text markup editors reach for.
TAGS = frozenset(
    {
        *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "div", "span"),
        *("a", "img", "figure", "figcaption", "nav", "time", "small", "mark", "abbr", "q", "cite", "kbd"),
        *("em", "strong", "b", "i", "u", "s", "del", "ins", "sub", "sup", "samp", "var"),
        *("ul", "ol", "li", "dl", "dt", "dd", "details", "summary"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "colgroup", "col"),
        # The QR codes of the signup page (site_tools.site.qr) are inline SVG paths.
        *("svg", "path"),
        # The legal notes page groups its licence (title and body, marked for AGID: site_tools.site.town_pages).
        "section",
    }
)
#: Tags removed together with their content (the rest keep their text).
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "template"})
#: Attributes allowed on every allowed tag.
GENERIC_ATTRIBUTES = frozenset(
    {
        "class",
        "id",
        "title",
        "lang",
        "dir",
        "role",
        "aria-label",
        "aria-current",
        "aria-hidden",
        # AGID's checker (italia/pa-website-validator) finds the parts of a municipal page by data-element: inert.
        "data-element",
    }
)
TAG_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height", "loading"}),
    "th": frozenset({"align", "colspan", "rowspan", "scope"}),
    "td": frozenset({"align", "colspan", "rowspan"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "li": frozenset({"value"}),
    "time": frozenset({"datetime"}),
    "details": frozenset({"open"}),
    "svg": frozenset({"viewBox", "xmlns", "width", "height", "version"}),
    "path": frozenset({"d", "fill", "fill-opacity", "fill-rule", "stroke"}),
}
#: webcal: subscribes a calendar app to the town's events (the «Dati aperti» page); it opens no page.
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "webcal"})
#: ``id`` values the theme uses for itself (``__config``, ``__search``…): an
#: element of the page with the same id would take their place (DOM clobbering).
RESERVED_ID = re.compile(r"^__")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_LOWER_TAG_ATTRIBUTES = {tag: frozenset(a.lower() for a in names) for tag, names in TAG_ATTRIBUTES.items()}
SHOWN_MAX = 80


def normalize_url(value: str) -> str:
    """A URL as a browser reads it: C0 controls and spaces trimmed, tabs and newlines removed (WHATWG)."""
    return _TAB_OR_NEWLINE.sub("", value.strip(_C0_AND_SPACE))


def url_scheme(value: str) -> str | None:
    """``javascript`` for ``  JavaScript:…``; None for a relative URL."""
    match = _SCHEME.match(normalize_url(value))
    return match.group(1).lower() if match else None


def same_site(url: str, site_url: str) -> bool:
    """Relative (``foto.jpg``, ``/img/x.png``) or under the site's URL: no third party sees the reader."""
    url = normalize_url(url).replace("\\", "/")  # browsers read \\evil.example as //evil.example
    if url_scheme(url) is None:
        return not url.startswith("//")
    return bool(site_url) and url.startswith(site_url)


def shorten(text: str, limit: int = SHOWN_MAX) -> str:
    """A value fit for a message: one line, at most ``limit`` characters."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


@dataclass(frozen=True)
class Finding:
    """Something :meth:`Sanitizer.clean` removes.

    ``what``: ``tag`` (a tag not allowed, with its attributes), ``attribute``
    (an attribute not allowed on that tag), ``url`` (a link or image address
    whose scheme is not allowed), ``image`` (an image from another site),
    ``id`` (an identifier reserved for the theme), ``changed`` (anything else
    ammonia changed, found by comparing before and after).
    """

    what: str
    tag: str = ""
    name: str = ""
    value: str = ""


class Sanitizer:
    """The site's allow-list. ``site_url``: images there count as the site's own."""

    def __init__(self, site_url: str = "") -> None:
        self.site_url = site_url
        self._cleaner = nh3.Cleaner(
            tags=set(TAGS),
            clean_content_tags=set(CLEAN_CONTENT_TAGS),
            attributes={"*": set(GENERIC_ATTRIBUTES), **{t: set(a) for t, a in TAG_ATTRIBUTES.items()}},
            attribute_filter=self._keep,
            strip_comments=True,
            link_rel=None,
            url_schemes=set(URL_SCHEMES),
        )

    def clean(self, html: str) -> str:
        return self._cleaner.clean(html)

    def _keep(self, tag: str, name: str, value: str) -> str | None:
        return value if self.rule_broken(tag, name, value) is None else None

    def rule_broken(self, tag: str, name: str, value: str) -> str | None:
        """The rules beyond tag and attribute names, shared by ammonia (as its callback) and :meth:`findings`."""
        if name == "id" and RESERVED_ID.match(value):
            return "id"
        if tag == "img" and name == "src" and not same_site(value, self.site_url):
            return "image"
        return None

    def check(self, html: str) -> Checked:
        """Clean ``html``, and say what cleaning removed.

        Fast path: when the HTML5 parse of ``html``, comments aside,
        serialises to exactly what ammonia returns, nothing was removed
        (both follow the HTML serialisation algorithm). Otherwise the
        parse is walked against the tables.
        """
        cleaned = self.clean(html)
        tree = LexborHTMLParser(html)
        for node in list(_nodes(tree)):
            if node.tag == "-comment":
                node.decompose()
        if _untouched(tree, cleaned):
            return Checked(cleaned, [], _links(tree))
        found = list(self._walk(tree))
        if not found and _shape(html) != _shape(cleaned):
            found.append(Finding("changed"))
        return Checked(cleaned, found, _links(LexborHTMLParser(cleaned)))

    def _walk(self, tree: LexborHTMLParser) -> Iterator[Finding]:
        for node in _nodes(tree):
            tag = node.tag or ""
            if tag.startswith("-"):
                continue  # comments: removed, never reported
            if tag in ("html", "head", "body"):
                # Always there in a parsed document; attributes only if the HTML wrote the tag.
                for name, value in node.attributes.items():
                    yield Finding("attribute", tag, name, shorten(value or ""))
                continue
            if tag.lower() not in TAGS:
                yield Finding("tag", tag.lower())
                continue
            yield from self._attributes(tag, node)

    def _attributes(self, tag: str, node: LexborNode) -> Iterator[Finding]:
        allowed = _LOWER_TAG_ATTRIBUTES.get(tag.lower(), frozenset())
        for name, raw in node.attributes.items():
            value = raw or ""
            key = name.lower()
            if key not in GENERIC_ATTRIBUTES and key not in allowed:
                yield Finding("attribute", tag, key, shorten(value))
            elif key in ("href", "src") and (scheme := url_scheme(value)) is not None and scheme not in URL_SCHEMES:
                yield Finding("url", tag, key, shorten(normalize_url(value)))
            elif (rule := self.rule_broken(tag, key, value)) is not None:
                yield Finding(rule, tag, key, shorten(value))


@dataclass(frozen=True)
class Checked:
    """HTML after :meth:`Sanitizer.check`: the clean HTML, what was removed, the links and images left."""

    clean: str
    findings: list[Finding]
    links: list[tuple[str, str]]  # ("link", href) or ("image", src), in document order


def _nodes(tree: LexborHTMLParser) -> Iterator[LexborNode]:
    root = tree.root
    return iter(()) if root is None else root.traverse(include_text=False)


def _untouched(tree: LexborHTMLParser, cleaned: str) -> bool:
    html, head, body = tree.root, tree.head, tree.body
    if html is None or head is None or body is None:
        return False
    if html.attributes or head.attributes or body.attributes or head.child is not None:
        return False  # <body onload=…>, or <meta>, <base>, <link>, <style> that went up into <head>
    return (body.inner_html or "").lstrip() == cleaned.lstrip()


def _links(tree: LexborHTMLParser) -> list[tuple[str, str]]:
    return [
        ("image", node.attributes.get("src") or "")
        if node.tag == "img"
        else ("link", node.attributes.get("href") or "")
        for node in tree.css("a[href], img[src]")
    ]


def _shape(html: str) -> list[tuple[str, ...]]:
    """Elements, sorted attributes and text, in order: two HTML strings with the same shape are the same page."""
    root = LexborHTMLParser(html).root
    shape: list[tuple[str, ...]] = []
    for node in root.traverse(include_text=True) if root is not None else ():
        tag = node.tag or ""
        if tag == "-text":
            shape.append(("", node.text_content or ""))
        elif not tag.startswith("-"):
            shape.append((tag, *sorted(f"{k}={v or ''}" for k, v in node.attributes.items())))
    return shape


def text_only(html: str) -> str:
    """HTML reduced to its escaped text (headings in a table of contents, titles)."""
    return nh3.clean(html, tags=set(), clean_content_tags=set(CLEAN_CONTENT_TAGS))
