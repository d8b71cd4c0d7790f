"""The questions of ``site-tools new``: the categories listed, a wrong answer asked again alone."""

from __future__ import annotations

import shlex
from datetime import datetime

import click

from site_tools.content.authoring import Draft, draft_problems
from site_tools.content.bulletin import Priority
from site_tools.content.config import TownConfig
from site_tools.content.dates import DateError, parse_datetime
from site_tools.content.problems import InvalidContent, Problem

#: The answers, in the order they are asked (the names are the frontmatter's fields).
QUESTIONS = {
    "title": "Titolo dell'avviso",
    "summary": "Sintesi (il testo breve che arriva sui telefoni)",
    "categories": "Categoria (numero o nome)",
    "priority": "Priorità (normal o urgent)",
    "date": "Data di pubblicazione per programmarlo (invio: la data del merge)",
}
_ROUNDS = 10


def ask_draft(config: TownConfig, given: dict[str, str | None], kind: str) -> Draft:
    """Ask what is missing, then only what is wrong, until the draft is valid (or the input ends)."""
    answers = dict(given)
    written = datetime.now(config.timezone).replace(second=0, microsecond=0)
    problems: list[Problem] = []
    for _ in range(_ROUNDS):
        try:
            for name in QUESTIONS:
                if answers.get(name) is None:
                    answers[name] = _ask(config, name)
        except click.Abort:
            if problems:
                raise InvalidContent(problems) from None  # input ended: the editor sees what was wrong, in Italian
            raise click.ClickException(_interrupted(answers)) from None
        draft, problems = _draft(config, answers, kind, written)
        if draft is not None and not problems:
            return draft
        wrong = {str(p.field) for p in problems} & set(QUESTIONS)
        if not wrong:
            raise InvalidContent(problems)
        for problem in problems:
            click.echo(f"✗ {problem.message} {problem.fix}", err=True)
        for field in wrong:
            answers[field] = None  # asked again; the other answers are kept
    raise InvalidContent(problems)


_OPTIONS = {"title": "--title", "summary": "--summary", "categories": "--category", "priority": "--priority"}


def _interrupted(answers: dict[str, str | None]) -> str:
    """Input ended (Ctrl-D, Ctrl-C): nothing written; the answers given, as options to start again from."""
    given = [f"{option} {shlex.quote(str(answers[name]))}" for name, option in _OPTIONS.items() if answers.get(name)]
    again = f" Per riprendere senza riscrivere le risposte: site-tools new {' '.join(given)}" if given else ""
    return f"Interrotto prima della fine: nessun avviso è stato scritto.{again}"


def _ask(config: TownConfig, name: str) -> str:
    if name == "categories":
        click.echo("Categorie:", err=True)
        for number, category in enumerate(config.categories, 1):
            click.echo(f"  {number}. {category.slug} – {category.label}", err=True)
    if name == "priority":
        return str(
            click.prompt(
                QUESTIONS[name], type=click.Choice([p.value for p in Priority], case_sensitive=False), default="normal"
            )
        )
    if name == "date":
        return str(click.prompt(QUESTIONS[name], default="", show_default=False)).strip()
    return str(click.prompt(QUESTIONS[name])).strip()


def category_slug(config: TownConfig, answer: str) -> str:
    """A category named by its number in the list, its slug or its label (any case)."""
    text = answer.strip()
    if text.isdigit() and 1 <= int(text) <= len(config.categories):
        return config.categories[int(text) - 1].slug
    by_label = next((c.slug for c in config.categories if text.lower() in (c.slug, c.label.lower())), None)
    return by_label or text


def _draft(
    config: TownConfig, answers: dict[str, str | None], kind: str, written: datetime
) -> tuple[Draft | None, list[Problem]]:
    moment = None
    if answers["date"]:
        try:
            moment = parse_datetime(answers["date"], config.timezone)
        except DateError as exc:
            return None, [Problem("site-tools new", None, "date", f"«date»: {exc.message}", exc.fix)]
    draft = Draft(
        str(answers["title"]),
        str(answers["summary"]),
        category_slug(config, str(answers["categories"])),
        Priority(answers["priority"]),
        moment,
        kind,
        written,
    )
    return draft, draft_problems(config, draft)
