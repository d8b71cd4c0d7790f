"""``site-tools webhook``: the subscriptions service, on uvicorn."""

from __future__ import annotations

import sys

import click

from site_tools.cli.common import EXIT_FATAL, EXIT_PROBLEMS, Context, db_option, friendly, pass_ctx
from site_tools.formatting import number
from site_tools.store import Store


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Indirizzo su cui ascoltare.")
@click.option("--port", default=8080, show_default=True, type=int, help="Porta su cui ascoltare.")
@click.option(
    "--init-checkout",
    is_flag=True,
    help="Se la cartella di lavoro è vuota, scarica prima il repository del Comune (SITE_TOOLS_REPOSITORY o "
    "SITE_TOOLS_REPOSITORY_URL): il primo avvio di un container o di un server nuovo.",
)
@db_option
@pass_ctx
@friendly
def webhook(ctx: Context, host: str, port: int, init_checkout: bool, db_url: str | None) -> None:
    """Il servizio iscrizioni: i webhook di WhatsApp per iscrizioni e cancellazioni, ricevute, risposte e sportello."""
    import logging
    from pathlib import Path

    from site_tools.service.app import Service
    from site_tools.service.server import serve
    from site_tools.settings import Settings

    settings = Settings.from_env()
    if init_checkout:
        from site_tools.service.first_clone import FirstCloneError, clone_if_empty

        root = ctx.config_path.resolve().parent if ctx.config_path else Path.cwd()
        try:
            commit = clone_if_empty(root, settings)
        except FirstCloneError as exc:
            raise click.ClickException(str(exc)) from None
        if commit:
            click.echo(f"Repository del Comune scaricato in {root} (commit {commit[:12]}).", err=True)
    config = ctx.config
    if not settings.app_secret or not settings.verify_token:
        raise click.ClickException("mancano WHATSAPP_APP_SECRET e/o WHATSAPP_VERIFY_TOKEN nell'ambiente.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Store.open(db_url, default_dir=config.root / "data").close()  # migrate once, before serving
    from site_tools.cli.inprocess import run_command

    service = Service(
        config,
        settings,
        lambda: Store.open(db_url, default_dir=config.root / "data"),
        exit_on_failure=True,
        db_url=db_url,
        command=run_command,
    )
    click.echo(f"Servizio iscrizioni in ascolto su http://{host}:{port}/webhook", err=True)
    if config.counter:  # the one-to-one counter's inbox
        where = (
            f"http://{host}:{port}/sportello/" if settings.session_secret else "chiuso: manca SITE_TOOLS_SESSION_SECRET"
        )
        click.echo(f"Sportello del personale: {where}", err=True)
    serve(service.app(), host, port, settings.header_timeout)
    if service.fatal:
        click.echo(f"Servizio fermato: {service.fatal}", err=True)
        sys.exit(EXIT_FATAL)


@click.command("webhook-events")
@click.option("--requeue", "requeue", type=int, metavar="ID", help="Elabora di nuovo questo evento parcheggiato.")
@db_option
@pass_ctx
@friendly
def webhook_events(ctx: Context, requeue: int | None, db_url: str | None) -> None:
    """Gli eventi dei webhook parcheggiati per un problema permanente (esce con 1 se ce ne sono); --requeue dopo la correzione."""
    from datetime import datetime

    from site_tools.cli.common import store_for

    with store_for(ctx.config, db_url) as store:
        if requeue is not None:
            if not store.inbox.requeue(requeue):
                raise click.ClickException(f"nessun evento parcheggiato con id {requeue}.")
            click.echo(f"Evento {requeue} di nuovo in coda: il servizio lo elabora entro pochi secondi.")
            return
        parked = store.inbox.parked()
        pending = store.inbox.pending()
    click.echo(f"Eventi in attesa di elaborazione: {number(pending)}. Eventi parcheggiati: {number(len(parked))}.")
    for event in parked:
        when = datetime.fromtimestamp(event.received_at).astimezone(ctx.config.timezone)
        click.echo(f"{event.id}  {when:%d/%m/%Y %H:%M:%S}  tentativi {event.attempts}  {event.error or ''}")
    if parked:
        sys.exit(EXIT_PROBLEMS)
