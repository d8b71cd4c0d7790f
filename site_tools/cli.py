"""The ``site-tools`` command.

Each subcommand is a thin layer over a module that does the work; the
wrapper turns :class:`InvalidContent` into a readable Italian report and an
exit status, so no traceback ever reaches an editor.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .bulletin import Priority
from .config import TownConfig, load_config
from .content import load_content
from .dates import parse_datetime
from .problems import InvalidContent, Problem, format_report

EXIT_PROBLEMS = 1
EXIT_CRASH = 2


def report(problems: list[Problem]) -> None:
    click.echo(format_report(problems), err=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for problem in problems:
            click.echo(problem.github_annotation())


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Problems become a report and exit 1; a bug becomes one clear line and exit 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidContent as exc:
            report(exc.problems)
            sys.exit(EXIT_PROBLEMS)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence for editors
            if os.environ.get("SITE_TOOLS_DEBUG"):
                raise
            click.echo(f"Errore imprevisto ({type(exc).__name__}): {exc}\n"
                       "Non è colpa del contenuto: avvisa chi gestisce il sito "
                       "(SITE_TOOLS_DEBUG=1 mostra i dettagli tecnici).", err=True)
            sys.exit(EXIT_CRASH)

    return wrapper


class Context:
    def __init__(self, config_path: Path | None):
        self.config_path = config_path
        self._config: TownConfig | None = None

    @property
    def config(self) -> TownConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


@click.group()
@click.version_option(__version__)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="SITE_TOOLS_CONFIG", help="mkdocs.yml of the town (default: found from the current folder).")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Bulletins of an Italian town hall: validate, build the site, publish."""
    ctx.obj = Context(config_path)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@pass_ctx
@friendly
def validate(ctx: Context, paths: tuple[Path, ...]) -> None:
    """Check the configuration and the bulletins; list every problem.

    With PATHS, report only on those files or folders (the rest of the
    content is still read, to check references and duplicates).
    """
    config = ctx.config
    extra = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.md")))]
    content = load_content(config, extra_files=extra)
    problems = content.problems_for(paths)
    if problems:
        raise InvalidContent(problems)
    checked = len(extra) if paths else len(content.bulletins)
    click.echo(f"Tutto in ordine: {checked} avvisi controllati, nessun problema.")


@main.command()
@click.option("--title", prompt="Titolo dell'avviso", help="Title of the bulletin.")
@click.option("--summary", prompt="Sintesi (il testo breve che arriva sui telefoni)", help="Short text for phones.")
@click.option("--category", prompt="Categoria", help="Category slug.")
@click.option("--priority", type=click.Choice([p.value for p in Priority]), default=Priority.NORMAL.value,
              prompt="Priorità (normal o urgent)", show_choices=True)
@click.option("--date", "when", default=None, help="Publication date and time (default: now).")
@click.option("--type", "kind", type=click.Choice(["avviso", "notizia", "comunicato", "bando"]), default="avviso")
@pass_ctx
@friendly
def new(ctx: Context, title: str, summary: str, category: str, priority: str, when: str | None, kind: str) -> None:
    """Write a new bulletin with valid frontmatter under content/."""
    from datetime import datetime

    from .dates import DateError
    from .new_bulletin import Draft, write_new

    config = ctx.config
    try:
        moment = parse_datetime(when, config.timezone) if when else datetime.now(config.timezone).replace(second=0, microsecond=0)
    except DateError as exc:
        raise click.BadParameter(f"{exc.message} {exc.fix}", param_hint="--date") from exc
    path = write_new(config, Draft(title.strip(), summary.strip(), category.strip(), Priority(priority), moment, kind))
    click.echo(f"Creato {path.relative_to(config.root).as_posix()}: aprilo e scrivi il testo completo.")


if __name__ == "__main__":  # pragma: no cover
    main()
