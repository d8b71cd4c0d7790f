"""``site-tools init``: a new town's repository, holding only the town, at this release of site-tools.

The questions and their checks are in :mod:`site_tools.devtools.scaffold.questions`, the files in
:mod:`~site_tools.devtools.scaffold.files`; this is the conversation: what is missing is asked (or, with
``--yes``, reported with the option that gives it), what the model refuses is asked again alone, and nothing is
written until every answer is valid. No file is ever written over an existing one.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import click

from site_tools import __version__
from site_tools.cli.common import friendly, now_option
from site_tools.content.problems import InvalidContent, Problem
from site_tools.devtools.scaffold import files as scaffold
from site_tools.devtools.scaffold.questions import QUESTIONS, Question, check

_ROUNDS = 10


def _question_options(command: Any) -> Any:
    for question in reversed(QUESTIONS):
        command = click.option(
            question.option, question.name, default=None, metavar="TESTO", help=question.prompt + "."
        )(command)
    return command


@click.command()
@click.argument("directory", metavar="CARTELLA", type=click.Path(file_okay=False, path_type=Path))
@_question_options
@click.option(
    "--yes", "-y", is_flag=True, help="Nessuna domanda: usa le opzioni e i valori predefiniti (per gli script)."
)
@click.option(
    "--force",
    is_flag=True,
    help="Scrive anche in una cartella che non è vuota (per esempio un repository appena clonato da GitHub), "
    "ma mai sopra un file che c'è già.",
)
@now_option
@friendly(outcome="Nessun file è stato scritto.")
def init(directory: Path, yes: bool, force: bool, now_text: str | None, **given: str | None) -> None:
    """Crea il repository di un nuovo Comune in CARTELLA: mkdocs.yml con i dati del Comune, le pagine, un avviso
    di esempio, i flussi di GitHub e requirements.txt con questa versione di site-tools.

    Fa le domande che mancano (ogni domanda è anche un'opzione); con --yes non chiede nulla e dice quali
    opzioni mancano. Ogni risposta è controllata come fa «site-tools validate»: una risposta sbagliata è
    richiesta da sola, con il motivo.
    """
    from site_tools.content.dates import now as current_time

    _refuse_a_full_folder(directory, force)
    now = current_time(override=now_text)
    answers = _ask(dict(_given(given)), interactive=not yes, now=now)
    files = scaffold.render(answers, __version__, now)
    existing = sorted(name for name in files if (directory / name).exists())
    if existing:
        raise click.UsageError(
            f"in {directory} ci sono già file che init scriverebbe ({', '.join(existing[:5])}): non li sovrascrivo. "
            "Usa una cartella nuova, oppure spostali."
        )
    with tempfile.TemporaryDirectory(prefix="site-tools-init-") as staging:  # checked before the folder is touched
        scaffold.write(Path(staging), files)
        _final_check(Path(staging))
    try:
        scaffold.write(directory, files)
    except OSError as exc:  # a name taken by a file where a folder goes, a full disk, no permission
        raise click.ClickException(
            f"non riesco a scrivere {exc.filename or directory} (un file con quel nome c'è già, o manca il permesso:"
            f" {exc.strerror or exc}). Nessun file è stato scritto: libera quel nome o usa una cartella nuova."
        ) from exc
    git = _git_init(directory)
    _tell(directory, answers, git)


def _given(given: dict[str, str | None]) -> dict[str, str]:
    return {name: _one_line(value) for name, value in given.items() if value is not None}


def _one_line(value: str) -> str:
    """An answer as the model reads it (spaces and line breaks collapsed): a line break in an option would
    otherwise end a comment or a quoted line of mkdocs.yml and write keys of its own there."""
    return " ".join(value.split())


def _refuse_a_full_folder(directory: Path, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise click.UsageError(f"{directory} non è una cartella: scegli il nome di una cartella nuova.")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise click.UsageError(
            f"la cartella {directory} non è vuota: init scrive solo in una cartella nuova o vuota. Scegli un'altra "
            "cartella, oppure aggiungi --force per scrivere accanto ai file che ci sono (mai sopra)."
        )


def _ask(answers: dict[str, str], interactive: bool, now: Any) -> dict[str, str]:
    """Every answer, asked when missing and again when refused, until the model accepts them all."""
    pending = [q for q in QUESTIONS if q.name not in answers]
    for _ in range(_ROUNDS):
        missing = []
        for question in pending:
            value = _answer(question, answers, interactive)
            if value is None:
                missing.append(question)
            else:
                answers[question.name] = value
        if missing:
            raise InvalidContent([_missing(q) for q in missing])
        refused = _check(answers, now)
        if not refused:
            return answers
        if not interactive:
            raise InvalidContent([_with_option(p, name) for name, p in refused.items()])
        for name, problem in refused.items():
            click.echo(f"✗ {problem.message}\n  ➜ Come correggere: {problem.fix}", err=True)
            answers.pop(name)
        pending = [q for q in QUESTIONS if q.name in refused]
    raise click.Abort()


def _answer(question: Question, answers: dict[str, str], interactive: bool) -> str | None:
    default = question.default(answers)
    if not interactive:
        return default if default is not None else ("" if question.optional else None)
    shown = default if default is not None else ("" if question.optional else None)
    value = click.prompt(question.prompt, default=shown, show_default=bool(shown))
    return _one_line(str(value))


def _check(answers: dict[str, str], now: Any) -> dict[str, Problem]:
    """The answers checked against the files they describe (the coat of arms, the privacy page), staged aside."""
    with tempfile.TemporaryDirectory(prefix="site-tools-init-") as staging:
        scaffold.write(Path(staging), scaffold.render(answers, __version__, now))
        return check(answers, Path(staging) / "content")


def _missing(question: Question) -> Problem:
    return Problem(
        "site-tools init",
        None,
        question.field,
        f"manca la risposta a «{question.prompt}».",
        f"aggiungi {question.option} …",
    )


def _with_option(problem: Problem, name: str) -> Problem:
    option = next(q.option for q in QUESTIONS if q.name == name)
    return Problem("site-tools init", None, problem.field, problem.message, f"{problem.fix} (opzione {option})")


def _final_check(directory: Path) -> None:
    """What «site-tools validate» checks first: the configuration as written, loaded as every command loads it."""
    from site_tools.content.config import load_config

    config = load_config(directory / "mkdocs.yml")
    if config.site_problems:
        raise InvalidContent(config.site_problems)


def _git_init(directory: Path) -> bool:
    git = shutil.which("git")
    if git is None or (directory / ".git").exists():
        return False
    done = subprocess.run([git, "init", "-q", "-b", "main", str(directory)], capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["nessun motivo"])[-1]
        click.echo(
            f"Attenzione: «git init» non è riuscito ({reason}): i file sono scritti; esegui «git init -b main» "
            "nella cartella (serve git 2.28 o più recente).",
            err=True,
        )
    return done.returncode == 0


def _tell(directory: Path, answers: dict[str, str], git: bool) -> None:
    click.echo(f"Creato il repository del {answers['name']} in {directory} (site-tools {__version__}).")
    if git:
        click.echo("Inizializzato con git (ramo main).")
    if "dev" in __version__ or "+" in __version__:
        click.echo(
            f"Attenzione: site-tools {__version__} è una versione di sviluppo, non pubblicata su PyPI: "
            "requirements.txt la nomina ma i flussi di GitHub non la troveranno. Usa una versione rilasciata.",
            err=True,
        )
    click.echo(
        "Poi:\n"
        "  1. sostituisci lo stemma provvisorio content/img/stemma.png e completa content/privacy.md;\n"
        "  2. cd nella cartella, «site-tools validate» e «site-tools build»;\n"
        f"  3. crea su GitHub il repository {answers['repository']} (vuoto) e fai push del ramo main;\n"
        "  4. segui la guida «Il repository su GitHub» (variabile SITE_TOOLS_SERVICE_URL, blocco service, Pages)."
    )
