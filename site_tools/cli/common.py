"""What every ``site-tools`` command shares: the town's context, friendly errors, the store.

The :func:`friendly` wrapper turns :class:`InvalidContent` into a readable
Italian report and exit status 1, and a bug into one clear line and exit
status 2, so no traceback ever reaches an editor.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import click

from site_tools.content.config import TownConfig, load_config
from site_tools.content.problems import InvalidContent, Problem, format_report
from site_tools.phones import mask_all
from site_tools.settings import SettingsError, current, reveal
from site_tools.store import Store

EXIT_PROBLEMS = 1
EXIT_CRASH = 2
#: The service gave up (a background loop kept failing): its supervisor should restart it.
EXIT_FATAL = 3


def report(problems: list[Problem], outcome: str = "") -> None:
    """The Italian report; ``outcome`` says what was not done (only a publishing command says «Nulla è stato pubblicato»)."""
    click.echo(format_report(problems, outcome), err=True)
    if annotating():
        for problem in problems:
            click.echo(problem.github_annotation())


#: Set by a command run for a GitHub workflow from elsewhere (the service streams a publish to the job's log):
#: problems become annotations there too, although this process is not inside GitHub Actions.
ANNOTATE: ContextVar[bool] = ContextVar("annotate", default=False)


def annotating() -> bool:
    """Problems go to the log as GitHub workflow commands (``::error file=…``) too."""
    return ANNOTATE.get() or current().github_actions


def friendly(command: Callable[..., Any] | None = None, *, outcome: str = "") -> Any:
    """Problems become a report and exit 1; a bug becomes one clear line and exit 2.

    ``@friendly`` alone, or ``@friendly(outcome=NOTHING_PUBLISHED)`` for a command whose report
    should also say what it did not do.
    """
    if command is None:
        return functools.partial(friendly, outcome=outcome)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidContent as exc:
            report(exc.problems, outcome)
            sys.exit(EXIT_PROBLEMS)
        except SettingsError as exc:
            click.echo(str(exc), err=True)
            sys.exit(EXIT_PROBLEMS)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence for editors
            if debugging():
                raise
            click.echo(
                f"Errore imprevisto ({type(exc).__name__}): {mask_all(str(exc))}\n"
                "Non è colpa del contenuto: avvisa chi gestisce il sito "
                "(SITE_TOOLS_DEBUG=1 mostra i dettagli tecnici).",
                err=True,
            )
            sys.exit(EXIT_CRASH)

    return wrapper


class Context:
    """What every command shares. Made before any command runs: a bad environment variable stops it here."""

    def __init__(self, config_path: Path | None):
        check_environment()
        self.config_path = config_path
        self._config: TownConfig | None = None

    @property
    def config(self) -> TownConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_ctx = click.make_pass_decorator(Context)

#: The options many commands share, declared once.
db_option = click.option(
    "--db",
    "db_url",
    envvar="SITE_TOOLS_DB",
    metavar="URL",
    help="Indirizzo dell'archivio (se manca: data/site-tools.db).",
)
now_option = click.option(
    "--now", "now_text", envvar="SITE_TOOLS_NOW", metavar="DATA", help="Fai come se fosse questa data e ora."
)


def open_store(config: TownConfig, url: str | None = None) -> Store:
    from site_tools.store import Store

    return Store.open(url or reveal(current().db_url) or None, default_dir=config.root / "data")


def debugging() -> bool:
    """``SITE_TOOLS_DEBUG`` is set: show tracebacks (a bad environment shows none: it is reported first)."""
    try:
        return current().debug
    except SettingsError:
        return False


def check_environment() -> None:
    """Every command starts by reading the settings: a bad variable stops it with the Italian message."""
    try:
        current()
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_PROBLEMS)


@contextlib.contextmanager
def store_for(config: TownConfig, url: str | None) -> Iterator[Store]:
    store = open_store(config, url)
    try:
        yield store
    finally:
        store.close()
