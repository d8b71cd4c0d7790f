"""The theme's interface texts (mkdocs-material's ``lang.t``), looked up once per key instead of at every call.

mkdocs-material's ``partials/language.html`` imports the language's template
on every page and its macro builds the language's whole dictionary at every
call; the theme's ``partials/language.html`` (ours) names this function
instead. The texts still come from mkdocs-material's own
``partials/languages/<lang>.html``, with the same fallback: English, then the
key itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any


def translator(env: Any, language: str) -> Callable[[str], str]:
    """``t(key)``: the text of ``key`` in ``language``, as mkdocs-material's macro renders it."""
    own = env.get_template(f"partials/languages/{language}.html").module
    fallback = env.get_template("partials/languages/en.html").module

    @cache
    def t(key: str) -> str:
        return str(own.t(key) or fallback.t(key) or key)

    return t
