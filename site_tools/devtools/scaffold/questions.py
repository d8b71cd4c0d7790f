"""The questions of ``site-tools init``: each answer is a field of ``extra.town`` (or the site's address), checked
by the same model ``site-tools validate`` uses (:func:`~site_tools.content.town.town_model`).

Each question is also an option (``--name``…): a script gives them all with ``--yes`` and is never asked
anything; a person is asked what is missing, then again only what the model refused, with its reason and fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from site_tools.content.problems import Problem
from site_tools.content.town import normalize_keyword, town_model
from site_tools.content.town_problems import problems_from

#: Where the files the model checks (the coat of arms, the privacy page) are, inside content/.
COAT_OF_ARMS = "img/stemma.png"
PRIVACY = "privacy.md"
#: The colour when none is given: the blue of Italy's public administration sites (contrast 5.6:1 on white).
DEFAULT_COLOR = "#0066cc"


@dataclass(frozen=True)
class Question:
    """One answer: where it goes (``field``, as a problem names it), its option and its question in Italian."""

    field: str
    option: str
    prompt: str
    default: Callable[[dict[str, str]], str | None] = lambda answers: None
    optional: bool = False

    @property
    def name(self) -> str:
        """The answer's name (the option without its dashes, as click passes it)."""
        return self.option.removeprefix("--").replace("-", "_")


def _short_name(answers: dict[str, str]) -> str | None:
    name = answers.get("name")
    return name.removeprefix("Comune di ").strip() if name else None


def _keyword(answers: dict[str, str]) -> str | None:
    short = _short_name(answers) if "short_name" not in answers else answers["short_name"]
    return normalize_keyword(short) or None if short else None


QUESTIONS: tuple[Question, ...] = (
    Question("extra.town.name", "--name", "Il nome del Comune, come compare sul sito (per esempio «Comune di Roccabella»)"),
    Question("extra.town.short_name", "--short-name", "Il nome breve, nei messaggi e nei manifesti", _short_name),
    Question("extra.town.population", "--population", "Il numero di residenti (senza punti)"),
    Question("site_url", "--site-url", "L'indirizzo del sito degli avvisi (per esempio https://avvisi.comune.example.it/)"),
    Question("extra.town.editor.repo", "--repository", "Il repository GitHub del Comune, proprietario/nome (per esempio comune-roccabella/avvisi)"),
    Question("extra.town.whatsapp.number", "--whatsapp-number", "Il numero WhatsApp del Comune, con il prefisso (per esempio +39 333 000 0000)"),
    Question("extra.town.whatsapp.keyword", "--keyword", "La parola chiave per iscriversi (i cittadini scriveranno «PAROLA ON»)", _keyword),
    Question("extra.town.telegram", "--telegram", "Il canale Telegram con la chiocciola (invio: nessuno)", optional=True),
    Question("extra.town.reports.email", "--email", "L'e-mail dell'ufficio a cui i cittadini scrivono (segnalazioni, privacy)"),
    Question("extra.town.website", "--website", "Il sito istituzionale del Comune, con https://"),
    Question("extra.town.address", "--address", "L'indirizzo della sede (per esempio Piazza del Municipio 1, 00000 Roccabella (RB))"),
    Question("extra.town.pec", "--pec", "La PEC del Comune"),
    Question("extra.town.tax_code", "--tax-code", "Il codice fiscale del Comune (11 cifre)"),
    Question("extra.town.accessibility_statement", "--accessibility-statement", "Il link della dichiarazione di accessibilità sul sito di AGID (https://form.agid.gov.it/view/…)"),
    Question("extra.town.page_feedback", "--page-feedback", "L'indirizzo del modulo del Comune per le valutazioni delle pagine"),
    Question("extra.town.color", "--color", "Il colore del Comune, in esadecimale", lambda answers: DEFAULT_COLOR),
)  # fmt: skip
BY_NAME = {q.name: q for q in QUESTIONS}


def town_block(answers: dict[str, str]) -> dict[str, Any]:
    """``extra.town`` as init writes it, from the answers (a number left as text is the model's to refuse)."""
    population: Any = answers.get("population", "")
    if population.strip().isdecimal():  # isdigit() takes «²», which int() refuses
        population = int(population.strip())
    block: dict[str, Any] = {
        "name": answers.get("name", ""),
        "short_name": answers.get("short_name", ""),
        "population": population,
        "whatsapp": {"number": answers.get("whatsapp_number", ""), "keyword": answers.get("keyword", "")},
        "counter": {"answers_dir": "risposte"},
        "color": answers.get("color", ""),
        "coat_of_arms": COAT_OF_ARMS,
        "website": answers.get("website", ""),
        "address": answers.get("address", ""),
        "pec": answers.get("pec", ""),
        "tax_code": answers.get("tax_code", ""),
        "accessibility_statement": answers.get("accessibility_statement", ""),
        "privacy": PRIVACY,
        "page_feedback": answers.get("page_feedback", ""),
        "reports": {"email": answers.get("email", "")},
        "editor": {"repo": answers.get("repository", "")},
    }
    if answers.get("telegram"):
        block["telegram"] = answers["telegram"]
    return block


def check(answers: dict[str, str], content_dir: Path) -> dict[str, Problem]:
    """Each refused answer's problem, by the answer's name: the town's model, and the site's address as the
    configuration loader checks it (an https address)."""
    refused: dict[str, Problem] = {}
    block = town_block(answers)
    try:
        town_model().model_validate(block, context={"content_dir": content_dir})
    except ValidationError as exc:
        for problem in problems_from(exc, town_model(), block, ("extra", "town"), "mkdocs.yml", dict):
            question = _question_for(problem.field or "")
            if question is not None:
                refused.setdefault(question.name, problem)
    url = urlparse(answers.get("site_url", ""))
    if url.scheme != "https" or not url.netloc:
        refused["site_url"] = Problem(
            "mkdocs.yml",
            None,
            "site_url",
            f"«{answers.get('site_url', '')}» non è l'indirizzo del sito.",
            "scrivi l'indirizzo completo con https://, per esempio https://avvisi.comune.example.it/.",
        )
    return refused


def _question_for(field: str) -> Question | None:
    """The question whose answer a problem names (the longest field it is inside of)."""
    matches = [q for q in QUESTIONS if field == q.field or field.startswith(q.field + ".")]
    if not matches and field.startswith("extra.town.whatsapp"):
        return BY_NAME["whatsapp_number"]
    return max(matches, key=lambda q: len(q.field), default=None)
