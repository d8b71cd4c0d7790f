"""``site-tools webhook``: the subscriptions service, on uvicorn."""

from __future__ import annotations

import click

from site_tools.cli.common import Context, friendly, pass_ctx
from site_tools.store import Store


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--db", "db_url", envvar="SITE_TOOLS_DB", help="Store URL (default: data/site-tools.db).")
@pass_ctx
@friendly
def webhook(ctx: Context, host: str, port: int, db_url: str | None) -> None:
    """The subscriptions service: WhatsApp webhooks for keyword opt-in/opt-out, receipts, answers."""
    import logging

    import uvicorn

    from site_tools.service.app import Service
    from site_tools.settings import Settings

    config = ctx.config
    settings = Settings.from_env()
    if not settings.app_secret or not settings.verify_token:
        raise click.ClickException("mancano WHATSAPP_APP_SECRET e/o WHATSAPP_VERIFY_TOKEN nell'ambiente.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Store.open(db_url, default_dir=config.root / "data").close()  # migrate once, before serving
    service = Service(config, settings, lambda: Store.open(db_url, default_dir=config.root / "data"))
    click.echo(f"Servizio iscrizioni in ascolto su http://{host}:{port}/webhook", err=True)
    if config.counter:  # the one-to-one counter's inbox (issue 15)
        where = (
            f"http://{host}:{port}/sportello/" if settings.session_secret else "chiuso: manca SITE_TOOLS_SESSION_SECRET"
        )
        click.echo(f"Sportello del personale: {where}", err=True)
    uvicorn.run(
        service.app(),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        loop="auto",
        http="auto",
        backlog=4096,
    )
