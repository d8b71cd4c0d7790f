"""The Content-Security-Policy of the site's pages: a ``<meta>`` (a static host may set no header).

Defence in depth behind the sanitiser: even if a script reached a page, the
browser would run only the site's own files and the theme's own inline
scripts, named by their hashes; no ``on…=`` handler, no ``javascript:`` URL,
no ``<base>``, no form submission, no plugin.

The policy is built per page path, so that a part of the site with other
needs gets its own exceptions without loosening the rest: a part such as
the web editor at ``admin/`` can add its sources with one :class:`PathRule`. For a
static HTML file that ProperDocs does not render (such as Decap's
``admin/index.html``), :func:`with_meta` adds the same ``<meta>``.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

#: Every page: the site's own files, the theme's inline scripts (hashes added per page), nothing else.
SITE_POLICY: Mapping[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),  # the theme's icons are data: URIs in its CSS
    "font-src": ("'self'",),
    "connect-src": ("'self'",),  # the search worker fetches the index
    "worker-src": ("'self'",),
    "manifest-src": ("'self'",),
    "frame-src": ("'none'",),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'none'",),
}


@dataclass(frozen=True)
class PathRule:
    """Exceptions for the pages whose path (``admin/``, ``admin/index.html``) matches ``pattern`` (fnmatch)."""

    pattern: str
    add: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    replace: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def matches(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path.lstrip("/"), self.pattern)


#: Per-path exceptions (none today), such as ``PathRule("admin/*", add={"script-src": (…,)})``.
PATH_RULES: tuple[PathRule, ...] = ()


#: The signup page, where the newsletter's form is (``iscriviti.md`` built with directory URLs or without).
SIGNUP_PAGES = ("iscriviti/*", "iscriviti.html")


def rules_for(feedback_url: str = "", *, push_service: str = "", newsletter_url: str = "") -> tuple[PathRule, ...]:
    """The site's rules, plus the deliberate form targets: the town's own page-rating form (AGID), if any, and on
    the signup page the newsletter's form, if any.

    ``form-action`` then names those exact addresses instead of ``'none'``; nothing else may receive a form. The
    newsletter's is allowed as its folder (``…/newsletter/``): the service answers the form with a redirect there.
    With Web Push, the signup page may also send the browser's subscription to the town's own service
    (``push_service``, its origin): ``connect-src`` names it there and nowhere else.
    """
    rules = [PathRule("*", replace={"form-action": (feedback_url,)})] if feedback_url else []
    if newsletter_url:
        folder = newsletter_url.rsplit("/", 1)[0] + "/"
        rules += [PathRule(pattern, add={"form-action": (folder,)}) for pattern in SIGNUP_PAGES]
    if push_service:
        rules += [PathRule(pattern, add={"connect-src": (push_service,)}) for pattern in SIGNUP_PAGES]
    return (*rules, *PATH_RULES)


def policy_for(path: str, rules: Iterable[PathRule] = PATH_RULES) -> dict[str, tuple[str, ...]]:
    """The site's policy with the exceptions of every rule matching ``path``, in order."""
    policy = dict(SITE_POLICY)
    for rule in rules:
        if rule.matches(path):
            policy.update(rule.replace)
            for directive, sources in rule.add.items():
                kept = tuple(s for s in policy.get(directive, ()) if s != "'none'")
                policy[directive] = kept + tuple(s for s in sources if s not in kept)
    return policy


def script_hash(text: str) -> str:
    """The CSP source that allows one inline ``<script>`` with exactly this text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render(policy: Mapping[str, tuple[str, ...]], script_hashes: Iterable[str] = ()) -> str:
    directives = dict(policy)
    hashes = tuple(sorted(set(script_hashes)))
    if hashes:
        directives["script-src"] = tuple(s for s in directives.get("script-src", ()) if s != "'none'") + hashes
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def meta_tag(value: str) -> str:
    content = escape(value, quote=False).replace('"', "&quot;")
    return f'<meta http-equiv="Content-Security-Policy" content="{content}">'


_HEAD = re.compile(r"<head\b[^>]*>", re.I)
_CHARSET = re.compile(r"<meta\s+charset=[^>]*>", re.I)


def with_meta(html: str, value: str) -> str:
    """``html`` with the policy as the first thing in ``<head>`` after the charset: it covers only what follows it."""
    tag = meta_tag(value)
    head = _HEAD.search(html)
    if head is None:
        raise ValueError("no <head> to put the Content-Security-Policy in")
    charset = _CHARSET.search(html, head.end())
    at = charset.end() if charset and html[head.end() : charset.start()].strip() == "" else head.end()
    return html[:at] + tag + html[at:]


_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

#: The theme's inline scripts live in these templates (mkdocs-material 9: base, palette, consent, announce…).
THEME_SCRIPTS = "partials/javascripts/"


def theme_scripts(env: Any) -> list[str]:
    """The theme's templates of inline scripts (listed once: the theme has thousands of icon templates)."""
    return sorted(env.list_templates(filter_func=lambda n: n.startswith(THEME_SCRIPTS) and n.endswith(".html")))


def theme_script_hashes(env: Any, names: Iterable[str], context: Mapping[str, Any]) -> set[str]:
    """Hashes of the theme's own inline scripts, rendered from the theme's templates with this page's context.

    They come from the templates, never from the page: a script that reached
    the page any other way has no hash and does not run.
    """
    hashes: set[str] = set()
    for name in names:
        output = env.get_template(name).render(context)
        hashes.update(script_hash(text) for text in _SCRIPT.findall(output))
    return hashes
