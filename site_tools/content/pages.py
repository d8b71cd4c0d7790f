"""The site's own pages in ``content/`` (home, privacy, accessibility statement, any page an editor adds).

They reach the site like bulletins, so they are checked like bulletins for
what they could carry onto it: the file itself (no symlink, a bounded size),
the frontmatter (only the keys a page needs, no YAML anchors or aliases) and
what the site's sanitiser would remove from the body. Their links are
checked by the strict site build, which knows the generated pages
(``iscriviti/``, ``novita/``…).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from site_tools.content import limits, yamlio
from site_tools.content.config import TownConfig
from site_tools.content.frontmatter import _HANDLER, REFUSED, Parsed, load_header, read_text
from site_tools.content.problems import Problem, ProblemList, display_path, shown
from site_tools.content.validation import check_body
from site_tools.markdown.body import SiteMarkdown

#: The frontmatter keys a page may carry (the theme reads them; any other could change how it renders).
PAGE_KEYS = {
    "title": "titolo della pagina",
    "description": "descrizione per i motori di ricerca",
    "hide": f"parti della pagina da nascondere ({', '.join(('navigation', 'toc', 'footer', 'path'))})",
    "search": "ricerca («exclude: true» la toglie dalla ricerca)",
}
HIDE = ("navigation", "toc", "footer", "path", "tags", "feedback")


def page_files(config: TownConfig) -> list[Path]:
    """Markdown files of ``content/`` outside the bulletins' folder (symlinks: refused elsewhere, never read)."""
    found = []
    # Bulletins have their own reader; the counter's canned answers are checked by theirs and never published.
    skip = {os.path.normpath(config.bulletins_path)}
    if config.counter:
        skip.add(os.path.normpath(config.content_dir / config.counter.answers_dir))
    for folder, dirs, names in os.walk(config.content_dir):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and os.path.normpath(os.path.join(folder, d)) not in skip
        )
        for name in sorted(names):
            path = os.path.join(folder, name)
            if name.endswith(".md") and not name.startswith(".") and not os.path.islink(path):
                found.append(Path(path))
    return found


def check_page(path: Path, config: TownConfig, site: SiteMarkdown) -> list[Problem]:
    shown_path = display_path(path, config.root)
    problems = ProblemList()
    text = read_text(path, problems, shown_path, limits.PAGE_MAX_BYTES, "una pagina")
    if text is None:
        return problems
    body, body_line = text, 1
    if text.startswith("---") and _HANDLER.detect(text):
        try:
            fm_text, body = _HANDLER.split(text)
        except ValueError:
            problems.add(
                shown_path, None, "l'intestazione (frontmatter) non è chiusa.", "aggiungi una riga con soli «---».", 1
            )
            return problems
        body_line = text.count("\n", 0, text.find(body)) + 1 if body else text.count("\n") + 1
        meta = load_header(fm_text, problems, shown_path)
        if meta is REFUSED:
            return problems
        _check_meta(meta, fm_text, shown_path, problems)
    problems.extend(check_body(Parsed(path, shown_path, body=body, body_line=body_line), config, None, site))
    return problems


def _check_meta(meta: Any, fm_text: str, shown_path: str, problems: ProblemList) -> None:
    if meta is None:
        return
    if not isinstance(meta, dict):
        problems.add(
            shown_path,
            None,
            "l'intestazione deve essere un elenco di campi «nome: valore».",
            "scrivi un campo per riga.",
            2,
        )
        return
    lines = yamlio.key_lines(fm_text, first_line=1)
    for key, value in meta.items():
        name = shown(key)
        wrong = (
            _wrong(name, value)
            if key in PAGE_KEYS
            else (
                f"campo sconosciuto «{name}» nell'intestazione della pagina.",
                f"togli il campo: una pagina può avere solo {', '.join(PAGE_KEYS)}.",
            )
        )
        if wrong:
            problems.add(shown_path, name, *wrong, lines.get(name))


def _wrong(key: str, value: Any) -> tuple[str, str] | None:
    if key in ("title", "description"):
        maximum = limits.PAGE_TITLE_MAX if key == "title" else limits.PAGE_DESCRIPTION_MAX
        if not isinstance(value, str) or len(value) > maximum:
            return (
                f"«{key}» deve essere un testo di al massimo {maximum} caratteri.",
                f"scrivi il {PAGE_KEYS[key]} su una riga.",
            )
    elif key == "hide":
        if not isinstance(value, list) or not all(isinstance(v, str) and v in HIDE for v in value):
            return f"«hide» deve essere un elenco tra {', '.join(HIDE)}.", "scrivi per esempio «hide: [toc]»."
    elif key == "search":
        if not isinstance(value, dict) or set(value) != {"exclude"} or not isinstance(value["exclude"], bool):
            return (
                "«search» può contenere solo «exclude: true».",
                "scrivi «search: {exclude: true}» oppure togli il campo.",
            )
    return None
