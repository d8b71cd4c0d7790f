"""The questions of ``site-tools new``: the categories listed, a wrong answer asked again alone.

Run with no option, ``new`` is an interview: every question, the optional ones
(date, expiry, event) with «invio» to skip. Given any option, it asks only what
is required and missing (and the priority, while it is asking): the options
are the editor's answers, and a command that passes title, summary and
category is never stopped by a question.
"""

from __future__ import annotations

import shlex
from datetime import datetime

import click

from site_tools.content.authoring import Draft, draft_problems
from site_tools.content.bulletin import Priority
from site_tools.content.config import TownConfig
from site_tools.content.dates import EXAMPLE, DateError, parse_datetime
from site_tools.content.problems import InvalidContent, Problem

#: The answers, in the order they are asked (the names are the frontmatter's fields).
QUESTIONS = {
    "title": "Titolo dell'avviso",
    "summary": "Sintesi (il testo breve che arriva sui telefoni)",
    "categories": "Categoria (numero o nome)",
    "priority": "Priorità (normal o urgent)",
    "date": "Data di pubblicazione per programmarlo (invio: la data del merge)",
    "expires": "Valido fino al (invio: nessuna scadenza)",
    "event.start": f"Se è un evento, quando comincia ({EXAMPLE}; invio: non è un evento)",
    "event.end": "Quando finisce l'evento (invio: non si sa o nello stesso momento)",
    "event.location": "Dove si svolge l'evento (invio: non serve)",
}
#: Asked whenever missing; the priority too while these are asked; the others only in the interview
#: (and again when wrong).
REQUIRED = ("title", "summary", "categories")
#: Asked only once the event has a start.
EVENT_DETAILS = ("event.end", "event.location")
#: The option that gives each answer (to start again without retyping, after an interruption).
OPTIONS = {
    "title": "--title",
    "summary": "--summary",
    "categories": "--category",
    "priority": "--priority",
    "date": "--date",
    "expires": "--expires",
    "event.start": "--event-start",
    "event.end": "--event-end",
    "event.location": "--location",
}
_ROUNDS = 10


def ask_draft(config: TownConfig, given: dict[str, str | None], kind: str | None) -> Draft:
    """Ask what is missing, then only what is wrong, until the draft is valid (or the input ends)."""
    answers = dict(given)
    interview = kind is None and all(value is None for value in given.values())
    asking = any(given.get(name) is None for name in REQUIRED)
    asked = {*REQUIRED, *(["priority"] if asking else []), *(QUESTIONS if interview else [])}
    written = datetime.now(config.timezone).replace(second=0, microsecond=0)
    problems: list[Problem] = []
    for _ in range(_ROUNDS):
        try:
            for name in QUESTIONS:
                if answers.get(name) is None:
                    due = name in asked and (name not in EVENT_DETAILS or answers.get("event.start"))
                    answers[name] = _ask(config, name) if due else ""
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
            asked.add(field)
    raise InvalidContent(problems)


def _interrupted(answers: dict[str, str | None]) -> str:
    """Input ended (Ctrl-D, Ctrl-C): nothing written; the answers given, as options to start again from."""
    given = [f"{option} {shlex.quote(str(answers[name]))}" for name, option in OPTIONS.items() if answers.get(name)]
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
                QUESTIONS[name],
                type=click.Choice([p.value for p in Priority], case_sensitive=False),
                default="normal",
                show_choices=False,  # the question names them
            )
        )
    if name in REQUIRED:
        return str(click.prompt(QUESTIONS[name])).strip()
    return str(click.prompt(QUESTIONS[name], default="", show_default=False)).strip()


def category_slug(config: TownConfig, answer: str) -> str:
    """A category named by its number in the list, its slug or its label (any case)."""
    text = answer.strip()
    if text.isdigit() and 1 <= int(text) <= len(config.categories):
        return config.categories[int(text) - 1].slug
    by_label = next((c.slug for c in config.categories if text.lower() in (c.slug, c.label.lower())), None)
    return by_label or text


def _draft(
    config: TownConfig, answers: dict[str, str | None], kind: str | None, written: datetime
) -> tuple[Draft | None, list[Problem]]:
    moment = None
    if answers["date"]:
        try:
            moment = parse_datetime(answers["date"], config.timezone)
        except DateError as exc:
            return None, [Problem("site-tools new", None, "date", f"«date»: {exc.message}", exc.fix)]
    event = {key: str(answers[f"event.{key}"]) for key in ("start", "end", "location") if answers.get(f"event.{key}")}
    if event and "start" not in event:  # an end or a place given as options, without the start
        return None, [
            Problem(
                "site-tools new",
                None,
                "event.start",
                "l'evento non ha l'inizio.",
                f"indica quando comincia, per esempio --event-start '{EXAMPLE.split(' oppure ')[-1]}'.",
            )
        ]
    draft = Draft(
        str(answers["title"]),
        str(answers["summary"]),
        category_slug(config, str(answers["categories"])),
        Priority(answers["priority"]) if answers["priority"] else None,
        moment,
        kind,
        written,
        expires=answers.get("expires") or None,
        event=event or None,
    )
    return draft, draft_problems(config, draft)
