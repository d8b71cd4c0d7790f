"""``site-tools channel-issues``: in the ``Pubblica`` job, the manual posts of the service's run become issues.

The service published and streamed back its result (the ``@@site-tools-result`` line the trigger step saved);
this command turns its ``posts`` into GitHub issues with the job's ``GITHUB_TOKEN``, then reports the issue
numbers and the ones editors closed to ``<service>/publish/issues`` with a fresh OIDC token. It needs neither
the store nor any secret.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from site_tools.cli.common import EXIT_PROBLEMS, friendly
from site_tools.settings import current

RESULT_PREFIX = "@@site-tools-result "
EXIT_USAGE = 2


def read_result(path: Path) -> dict[str, Any]:
    """The result object, from the file the trigger step saved (the JSON, or the whole result line)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise click.UsageError(f"non riesco a leggere l'esito {path}: {exc.strerror}.") from None
    try:
        result = json.loads(text.removeprefix(RESULT_PREFIX))
    except ValueError:
        raise click.UsageError(f"{path} non contiene l'esito del servizio (JSON).") from None
    if not isinstance(result, dict):
        raise click.UsageError(f"{path}: l'esito del servizio non è un oggetto JSON.")
    return result


def annotate(level: str, title: str, message: str) -> None:
    """A workflow command (``::error``/``::warning``) when running in GitHub Actions, the line otherwise."""
    if current().github_actions:
        data = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        click.echo(f"::{level} title={title}::{data}")
    else:
        click.echo(message, err=True)


@click.command("channel-issues")
@click.option(
    "--result",
    "result_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Il file con l'esito della pubblicazione mandato dal servizio (la riga @@site-tools-result).",
)
@click.option(
    "--service",
    "service_url",
    envvar="SITE_TOOLS_SERVICE_URL",
    metavar="URL",
    help="L'indirizzo del servizio del Comune (se manca: la variabile SITE_TOOLS_SERVICE_URL).",
)
@friendly
def channel_issues(result_path: Path, service_url: str | None) -> None:
    """Apre o aggiorna un'issue per ogni post da pubblicare a mano e lo dice al servizio."""
    from site_tools.delivery.channel_issues import GitHubIssues, parse_posts, sync_issues
    from site_tools.delivery.service_client import ServiceClient, ServiceError

    result = read_result(result_path)
    try:
        posts, waiting = parse_posts(result.get("posts", []))
    except ValueError as exc:
        annotate("error", "Esito non valido", f"L'elenco dei post da pubblicare a mano non è valido: {exc}")
        sys.exit(EXIT_USAGE)
    if not posts and not waiting:
        click.echo("Nessun post da pubblicare a mano.")
        return
    settings = current()
    if not (settings.github_token and settings.github_repository):
        annotate(
            "error",
            "Issue non aperte",
            "Senza GITHUB_TOKEN e GITHUB_REPOSITORY non apro le issue per la redazione: il testo dei post è nel "
            "registro del passo precedente. Dai al job il permesso «issues: write».",
        )
        sys.exit(EXIT_PROBLEMS)
    github = GitHubIssues(settings)
    try:
        done = sync_issues(github, posts, waiting)
    finally:
        github.close()
    for line in done.lines:
        click.echo(line, err=line.startswith("⚠"))
    failed = done.failed
    if failed:
        annotate(
            "warning",
            "Issue non aperte",
            "GitHub non ha accettato qualche issue per i post da pubblicare a mano: il testo è nel registro "
            "e il prossimo avvio riprova.",
        )
    if done.reports:
        try:
            recorded = ServiceClient.from_settings(settings, service_url).report_issues(done.reports)
        except ServiceError as exc:
            failed = True
            annotate(
                "error",
                "Resoconto non consegnato",
                f"Le issue ci sono, ma non ho potuto dirlo al servizio: {exc} Il prossimo avvio le ritrova "
                "(nessuna issue doppia).",
            )
        else:
            click.echo(f"Il servizio ha registrato {recorded} issue.")
    if failed:
        sys.exit(EXIT_PROBLEMS)
