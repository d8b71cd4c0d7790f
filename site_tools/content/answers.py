"""Canned answers for the one-to-one counter: Markdown files under ``content/<answers_dir>/``.

Editors write and review them by pull request like bulletins; they are
never published on the site (the site plugin leaves the folder out). Each
file has a short frontmatter and a body in Markdown, which becomes WhatsApp
formatting when staff use it::

    ---
    title: Orari dell'ufficio anagrafe
    keywords: [anagrafe, carta d'identità, residenza]
    ---
    L'ufficio anagrafe è aperto dal lunedì al venerdì, 9–13 …
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

from site_tools.content import limits, yamlio
from site_tools.content.config import TownConfig
from site_tools.content.problems import Problem, ProblemList, display_path
from site_tools.markdown.text import WHATSAPP, render_markdown

KEYS = ("title", "keywords")
_SCHEMES = ("http", "https", "mailto", "tel")


@dataclass(frozen=True)
class Answer:
    slug: str
    title: str
    keywords: tuple[str, ...]
    text: str  # WhatsApp formatting, ready to send


def answers_path(config: TownConfig) -> Path | None:
    return config.content_dir / config.counter.answers_dir if config.counter else None


def load_answers(config: TownConfig) -> tuple[list[Answer], list[Problem]]:
    """Every canned answer, sorted by title, and the problems of the files that are not valid."""
    folder = answers_path(config)
    if folder is None or not folder.is_dir():
        return [], []
    answers, problems = [], ProblemList()
    for path in sorted(folder.rglob("*.md")):
        if path.name.startswith((".", "_")):
            continue
        answer = _read(path, config, problems)
        if answer is not None:
            answers.append(answer)
    return sorted(answers, key=lambda a: a.title.lower()), sorted(problems)


def _read(path: Path, config: TownConfig, problems: ProblemList) -> Answer | None:
    shown = display_path(path, config.root)
    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        problems.add(shown, None, "il file non è in codifica UTF-8.", "salvalo di nuovo scegliendo la codifica UTF-8.")
        return None
    if not text.startswith("---\n") or "\n---" not in text[4:]:
        problems.add(
            shown, None, "manca l'intestazione con il titolo.", "inizia il file con ---, poi «title: …», poi ---.", 1
        )
        return None
    head, body = text[4:].split("\n---", 1)
    try:
        meta = yamlio.load(head, yamlio.ConfigLoader) or {}
    except yaml.YAMLError as exc:
        reason, fix, line = yamlio.explain_error(exc, head)
        problems.add(shown, None, f"l'intestazione non è YAML valido: {reason}.", fix, line)
        return None
    if not isinstance(meta, dict):
        problems.add(
            shown,
            None,
            "l'intestazione deve contenere «title:».",
            "scrivi per esempio «title: Orari dell'anagrafe».",
            1,
        )
        return None
    count = len(problems)
    for key in meta:
        if key not in KEYS:
            problems.add(shown, str(key), f"campo sconosciuto «{key}».", f"i campi ammessi sono: {', '.join(KEYS)}.")
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > limits.ANSWER_TITLE_MAX:
        problems.add(
            shown,
            "title",
            f"manca il titolo, o è più lungo di {limits.ANSWER_TITLE_MAX} caratteri.",
            "scrivi un titolo breve che il personale riconosca, per esempio «Orari dell'anagrafe».",
        )
    keywords = meta.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        problems.add(
            shown,
            "keywords",
            "le parole chiave devono essere un elenco.",
            "scrivi per esempio «keywords: [anagrafe, residenza]».",
        )
        keywords = []
    message = "\n\n".join(render_markdown(body.strip("\n"), WHATSAPP, lambda href: _absolute(href, shown, problems)))
    if not message.strip():
        problems.add(shown, None, "il testo della risposta è vuoto.", "scrivi la risposta sotto l'intestazione.")
    elif len(message) > limits.WHATSAPP_TEXT_MAX:
        problems.add(
            shown,
            None,
            f"la risposta supera i {limits.WHATSAPP_TEXT_MAX} caratteri di un messaggio WhatsApp.",
            "accorciala.",
        )
    if len(problems) > count:
        return None
    return Answer(path.stem, str(title).strip(), tuple(k.strip() for k in keywords if k.strip()), message)


def _absolute(href: str, shown: str, problems: ProblemList) -> str:
    if urlparse(href).scheme not in _SCHEMES:
        problems.add(
            shown,
            None,
            f"il collegamento «{href}» non è un indirizzo completo.",
            "nelle risposte usa indirizzi completi (https://…): il cittadino le legge sul telefono.",
        )
    return href
