"""``site-tools whatsapp``: Meta's side of the town — check it, submit the templates, subscribe the app.

Exit codes of ``check``: 0 when every line is ``ok`` or ``attenzione`` (a warning: said, not failed), 1 when any
line is ``errore``. The token is never printed, nor the phone number.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from site_tools.cli.common import Context, db_option, friendly, pass_ctx
from site_tools.content.config import TownConfig
from site_tools.settings import Settings, current, reveal

if TYPE_CHECKING:
    from site_tools.channels.meta_account import MetaAccount


@click.group()
def whatsapp() -> None:
    """Il lato di Meta: controllare numero, token, modelli e webhook; presentare i modelli."""


def _subscribers(config: TownConfig, db_url: str | None) -> int | None:
    """Active subscribers, when the store is there and answers (None otherwise: the check says so)."""
    from site_tools.cli.common import open_store
    from site_tools.store.database import StoreUnavailable

    url = db_url or reveal(current().db_url)
    if not url and not (config.root / "data" / "site-tools.db").exists():
        return None  # no store here: do not create one just to count nobody
    try:
        store = open_store(config, url)
    except (StoreUnavailable, OSError):
        return None
    try:
        return store.subscribers.count_active()
    except StoreUnavailable:
        return None
    finally:
        store.close()


@whatsapp.command("check")
@db_option
@pass_ctx
@friendly
def check(ctx: Context, db_url: str | None) -> None:
    """Controlla token, numero, iscrizione ai webhook, modelli, limite di invio, qualità e velocità (una riga per controllo)."""
    from site_tools.service.meta_check import check as run_checks
    from site_tools.service.meta_check import exit_code

    config = ctx.config
    findings = run_checks(config, current(), lambda: _subscribers(config, db_url))
    for finding in findings:
        click.echo(finding.line())
    code = exit_code(findings)
    warnings = sum(1 for f in findings if f.level == "attenzione")
    if code:
        click.echo("Da sistemare: le righe «errore» dicono come.")
    elif warnings:
        click.echo("Tutto funziona, ma leggi le righe «attenzione».")
    else:
        click.echo("Tutto a posto.")
    sys.exit(code)


def _account(settings: Settings) -> MetaAccount:
    from site_tools.channels.meta_account import MetaAccount

    missing = [name for name, value in (("WHATSAPP_TOKEN", settings.whatsapp_token),
               ("WHATSAPP_BUSINESS_ACCOUNT_ID", settings.whatsapp_business_account_id)) if not value]  # fmt: skip
    if missing:
        raise click.ClickException(f"manca {' e '.join(missing)}: vedi docs/comune/meta.md.")
    return MetaAccount(
        settings.whatsapp_api_url,
        reveal(settings.whatsapp_token),
        settings.whatsapp_phone_number_id or "",
        settings.whatsapp_business_account_id or "",
        timeout=settings.http_timeout,
    )


@whatsapp.command("templates")
@click.option(
    "--submit", is_flag=True, help="Crea i modelli che mancano e aggiorna quelli cambiati, poi mostra lo stato."
)
@click.option(
    "--print",
    "print_only",
    is_flag=True,
    help="Stampa soltanto le richieste per la Graph API (JSON), senza chiedere nulla a Meta.",
)
@pass_ctx
@friendly
def templates(ctx: Context, submit: bool, print_only: bool) -> None:
    """Lo stato su Meta di ogni modello del progetto (avviso_comunale e, con lo sportello, sportello_risposta)."""
    from site_tools.channels.meta_account import GraphError
    from site_tools.service.meta_check import graph_fix
    from site_tools.service.meta_templates import project_templates, status_lines
    from site_tools.service.meta_templates import submit as submit_templates

    config = ctx.config
    if print_only:
        click.echo(json.dumps(project_templates(config), indent=1, ensure_ascii=False))
        return
    with _account(current()) as account:
        try:
            if submit:
                for line in submit_templates(account, config):
                    click.echo(line)
                click.echo("Stato adesso:")
            for line in status_lines(account, config):
                click.echo(line)
        except GraphError as exc:
            raise click.ClickException(graph_fix(exc, "l'account WhatsApp Business")) from exc


@whatsapp.command("subscribe")
@pass_ctx
@friendly
def subscribe(ctx: Context) -> None:
    """Iscrive l'app ai webhook dell'account WhatsApp Business (POST subscribed_apps)."""
    from site_tools.channels.meta_account import GraphError
    from site_tools.service.meta_check import graph_fix

    with _account(current()) as account:
        try:
            done = account.subscribe_app()
        except GraphError as exc:
            raise click.ClickException(graph_fix(exc, "l'account WhatsApp Business")) from exc
    click.echo("App iscritta ai webhook dell'account." if done else "Meta non ha confermato l'iscrizione: riprova.")
