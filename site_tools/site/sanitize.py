"""Every page the plugin builds, made inert: nothing an editor writes runs in a reader's browser.

Three steps, hooked from :mod:`site_tools.site.plugin`:

1. :func:`clean_content`: the page's HTML (the Markdown of ``content/``, or a
   generated listing) goes through the site's allow-list
   (:class:`~site_tools.markdown.html.Sanitizer`, the same one ``validate``
   reports against); the table of contents keeps text only.
2. :func:`escape_meta`: the theme prints ``page.meta.title``,
   ``description`` and ``author`` without escaping (its Jinja environment
   does not autoescape), and ``page.title`` through ``striptags``, which
   decodes entities. Each becomes escaped :class:`markupsafe.Markup`, which
   prints as it is and is never escaped twice.
3. :func:`inspect_page`: the final page, theme included, is parsed and
   refused (the build fails, nothing is published) if it holds an ``on…``
   attribute, a ``javascript:``/``data:`` address, a script the policy does
   not name, or a ``<base>``, ``<iframe>``, ``<object>``, ``<form action>`` or
   ``<meta http-equiv>``. A tripwire: with steps 1–2 it never fires.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from datetime import date
from typing import Any

from markupsafe import Markup
from selectolax.lexbor import LexborHTMLParser, LexborNode

from site_tools.markdown.html import Checked, Sanitizer, normalize_url, same_site, text_only, url_scheme
from site_tools.site.csp import script_hash

#: Frontmatter keys the theme prints: escaped. Keys that change how the theme renders (``template``): dropped.
PRINTED_KEYS = ("title", "description", "author")
DROPPED_KEYS = ("template", "redirect", "location")


def clean_content(sanitizer: Sanitizer, content: str, toc: Any) -> Checked:
    """The page's HTML through the allow-list. When ammonia returns the HTML unchanged, nothing was removed:
    there is nothing to report, and the second parse that finds what was removed is skipped (profiled)."""
    cleaned = sanitizer.clean(content)
    checked = Checked(cleaned, [], []) if cleaned == content else sanitizer.check(content)
    _text_toc(toc)
    return checked


def _text_toc(items: Any) -> None:
    for item in items or ():
        item.title = text_only(item.title)
        _text_toc(item.children)


def escape_meta(page: Any) -> None:
    meta = page.meta
    for key in DROPPED_KEYS:
        meta.pop(key, None)
    for key in PRINTED_KEYS:
        if key in meta and not isinstance(meta[key], Markup):
            meta[key] = Markup(html.escape(_printable(meta[key]), quote=True))
    if "title" not in meta and not page.is_homepage and page.title:
        # The title from the page's first heading is HTML with entities: back to text, then escaped.
        meta["title"] = Markup(html.escape(html.unescape(str(page.title)), quote=True))


def _printable(value: Any) -> str:
    """A frontmatter value as text for a page's head: «title: 2026» is the text 2026; a list or a map, nothing."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | date):
        return ""
    return str(value)


#: Elements no page may hold, whatever wrote them.
FORBIDDEN = frozenset({"base", "iframe", "frame", "frameset", "object", "embed", "applet", "portal", "style"})
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "ping", "cite", "srcset"}
)
RUNNING_SCHEMES = frozenset({"javascript", "vbscript", "data"})
DATA_BLOCKS = frozenset({"application/json", "application/ld+json"})
#: An element's attributes as selectolax gives them.
Attributes = dict[str, str | None]


#: An attribute named «on…» with a value, as the HTML tokenizer reads one: its name starts after whitespace, «/» or
#: a quote and runs to whitespace, «/», «>» or «=». Searched in the page's UTF-8 bytes, ASCII-lowercased as the
#: tokenizer lowercases names: a case-sensitive pattern that starts with a literal is scanned for in C, about six
#: times faster than the case-insensitive one that starts with a class (0.39 → 0.06 ms a page, profiled).
_HANDLER = re.compile(rb"""on(?<=[\t\n\f\r /"']on)[^\t\n\f\r />=]*\s*=""")
#: The elements whose tag or attributes the checks below are about (the rest of the page is skipped in C).
#: Addresses only matter with a scheme («javascript:», «data:»), hence a «:» (lexbor compares decoded values).
_SELECTED = ", ".join(
    [*sorted(FORBIDDEN), "script", "meta[http-equiv]", "form", "link", "img"]
    + ["[" + name.replace(":", "\\:") + '*=":"]' for name in sorted(URL_ATTRIBUTES)]
)


def inspect_page(
    page_html: str, script_hashes: AbstractSet[str], site_url: str, feedback_url: str = "", newsletter_url: str = ""
) -> list[str]:
    """What in a final page could run or leak (empty: nothing).

    Every element with an address, every script, form, frame, style and
    meta is looked at; every element's attributes too when the source
    holds anything shaped like ``on…=`` (only text, as a rule).
    """
    tree = LexborHTMLParser(page_html)
    nodes = _elements(tree) if has_handler(page_html) else tree.css(_SELECTED)
    problems: list[str] = []
    seen: set[int] = set()  # an element two selectors match (<link href="https://…">) is listed twice: looked at once
    for node in nodes:
        if node.mem_id in seen:
            continue
        seen.add(node.mem_id)
        tag, attributes = node.tag or "", node.attributes  # selectolax builds the dict at each access: once
        problems.extend(_attribute_problems(tag, attributes, site_url))
        if tag in FORBIDDEN:
            problems.append(f"<{tag}>")
        elif tag == "script":
            problems.extend(_script_problem(node, attributes, script_hashes, site_url))
        elif tag == "meta" and "http-equiv" in attributes:
            if (attributes.get("http-equiv") or "").lower() != "content-security-policy":
                problems.append(f"<meta http-equiv={attributes.get('http-equiv')!r}>")
        elif tag == "form" and not _allowed_form(attributes, feedback_url, newsletter_url):
            problems.append("<form> that is not the theme's search box, the page rating nor the newsletter's")
        elif tag == "link" and not same_site(attributes.get("href") or "", site_url):
            problems.append(f"<link href={attributes.get('href')!r}> from another site")
    return problems


def has_handler(page_html: str) -> bool:
    """Whether the source holds anything shaped like an ``on…=`` attribute (then every element is looked at)."""
    return _HANDLER.search(_lowered(page_html)) is not None


def _lowered(page_html: str) -> bytes:
    """The page's UTF-8 bytes, ASCII letters lowercased (as the HTML tokenizer lowercases tag and attribute names)."""
    return page_html.encode("utf-8", "surrogatepass").lower()


def _allowed_form(attributes: Attributes, feedback_url: str, newsletter_url: str = "") -> bool:
    """The theme's search box (no action), the page rating (AGID) going to exactly the town's configured URL, or
    the newsletter's signup form posting to exactly the town's service."""
    if "action" not in attributes:
        return attributes.get("name") == "search"
    action, method = attributes.get("action"), attributes.get("method")
    if newsletter_url and action == newsletter_url and method == "post":
        return True
    return bool(feedback_url) and action == feedback_url and method == "get"


def _elements(tree: LexborHTMLParser) -> Iterator[LexborNode]:
    root = tree.root
    return (
        iter(())
        if root is None
        else (n for n in root.traverse(include_text=False) if not (n.tag or "-").startswith("-"))
    )


def _attribute_problems(tag: str, attributes: Attributes, site_url: str) -> Iterator[str]:
    for name, value in attributes.items():
        lowered = name.lower()
        if lowered.startswith("on"):
            yield f"<{tag} {name}=…>"
        # No «:» in the (decoded) value, no scheme: most addresses are relative, skipped without a regex.
        elif lowered in URL_ATTRIBUTES and value and ":" in value and url_scheme(value) in RUNNING_SCHEMES:
            yield f"<{tag} {name}={normalize_url(value)[:40]!r}>"
        elif tag == "img" and lowered == "src" and not same_site(value or "", site_url):
            yield f"<img src={value!r}> from another site"


def _script_problem(
    node: LexborNode, attributes: Attributes, script_hashes: AbstractSet[str], site_url: str
) -> Iterator[str]:
    src = attributes.get("src")
    if src is not None:
        if not same_site(src or "", site_url):
            yield f"<script src={src!r}> from another site"
        return
    if (attributes.get("type") or "").lower() in DATA_BLOCKS:
        return  # data, never run
    if script_hash(node.text(deep=True)) not in script_hashes:
        yield f"an inline <script> that is not the theme's: {node.text(deep=True)[:60]!r}"
