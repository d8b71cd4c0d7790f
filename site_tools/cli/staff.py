"""``site-tools staff`` (the counter's accounts and audit log) and ``site-tools counter`` (retention, template)."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime

import click

from site_tools.cli.common import Context, db_option, friendly, pass_ctx, store_for
from site_tools.content.config import TownConfig
from site_tools.formatting import count

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")


def _password(username: str, from_stdin: bool) -> str:
    from site_tools.service.counter.auth import password_problem

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Ripeti la password")
    problem = password_problem(username, password)
    if problem:
        raise click.ClickException(problem)
    return password


def _counter(config: TownConfig) -> None:
    if not config.counter:
        raise click.ClickException("lo sportello non è attivo: imposta «counter» in extra.town di mkdocs.yml.")


@click.group()
def staff() -> None:
    """Gli account del personale dello sportello WhatsApp e il registro delle attività."""


@staff.command("add")
@click.argument("username", metavar="UTENTE")
@click.option(
    "--name", "display_name", required=True, metavar="NOME", help="Nome e cognome, come li vedono i colleghi."
)
@click.option("--password-stdin", is_flag=True, help="Leggi la password dalla prima riga dell'input standard.")
@db_option
@pass_ctx
@friendly
def staff_add(ctx: Context, username: str, display_name: str, password_stdin: bool, db_url: str | None) -> None:
    """Crea un account (della password si conserva solo l'impronta argon2)."""
    from site_tools.service.counter.auth import hash_password

    username = username.strip().lower()
    if not USERNAME.match(username):
        raise click.ClickException(
            "nome utente non valido: 3–40 tra lettere minuscole, cifre, punto, trattino (per esempio mario.rossi)."
        )
    with store_for(ctx.config, db_url) as store:
        if store.staff.by_username(username):
            raise click.ClickException(f"l'utente «{username}» esiste già (per cambiare password: staff password).")
        password = _password(username, password_stdin)
        store.staff.add(username, display_name.strip(), hash_password(password))
    click.echo(f"Creato l'utente «{username}» ({display_name.strip()}): può accedere a /sportello/.")


@staff.command("password")
@click.argument("username", metavar="UTENTE")
@click.option("--password-stdin", is_flag=True, help="Leggi la password dalla prima riga dell'input standard.")
@db_option
@pass_ctx
@friendly
def staff_password(ctx: Context, username: str, password_stdin: bool, db_url: str | None) -> None:
    """Imposta una nuova password; le sessioni aperte dell'utente si chiudono."""
    from site_tools.service.counter.auth import hash_password

    with store_for(ctx.config, db_url) as store:
        member = store.staff.by_username(username.strip().lower())
        if member is None:
            raise click.ClickException(f"nessun utente «{username}».")
        store.staff.set_password(member.id, hash_password(_password(member.username, password_stdin)))
    click.echo(f"Password di «{member.username}» cambiata; le sue sessioni aperte sono chiuse.")


@staff.command("disable")
@click.argument("username", metavar="UTENTE")
@click.option("--enable", is_flag=True, help="Riattiva invece l'account.")
@db_option
@pass_ctx
@friendly
def staff_disable(ctx: Context, username: str, enable: bool, db_url: str | None) -> None:
    """Disattiva subito un account (le sue sessioni si chiudono, le sue conversazioni tornano libere)."""
    with store_for(ctx.config, db_url) as store:
        member = store.staff.by_username(username.strip().lower())
        if member is None:
            raise click.ClickException(f"nessun utente «{username}».")
        store.staff.set_active(member.id, enable)
    click.echo(f"Utente «{member.username}» " + ("riattivato." if enable else "disattivato."))


@staff.command("list")
@db_option
@pass_ctx
@friendly
def staff_list(ctx: Context, db_url: str | None) -> None:
    """Tutti gli account, con l'ultimo accesso."""
    with store_for(ctx.config, db_url) as store:
        members = store.staff.members(active_only=False)
    for m in members:
        last = (
            datetime.fromtimestamp(m.last_login_at, ctx.config.timezone).strftime("%d/%m/%Y %H:%M")
            if m.last_login_at
            else "mai"
        )
        click.echo(
            f"{m.username:<20} {m.display_name:<30} {'attivo' if m.active else 'disattivato':<12} ultimo accesso: {last}"
        )
    if not members:
        click.echo("Nessun utente: creane uno con «site-tools staff add NOME --name 'Nome Cognome'».")


@staff.command("audit")
@click.option("--conversation", type=int, default=None, help="Solo questa conversazione.")
@click.option("--limit", type=int, default=100, show_default=True)
@db_option
@pass_ctx
@friendly
def staff_audit(ctx: Context, conversation: int | None, limit: int, db_url: str | None) -> None:
    """Chi ha letto e risposto a cosa (prima i più recenti): accessi, letture, risposte, modifiche."""
    from site_tools.service.counter.actions import audit_text

    with store_for(ctx.config, db_url) as store:
        entries = store.staff.audit_log(conversation, limit)
    for e in entries:
        when = datetime.fromtimestamp(e.at, ctx.config.timezone).strftime("%d/%m/%Y %H:%M:%S")
        where = f" · conversazione {e.conversation_id}" if e.conversation_id else ""
        click.echo(f"{when}  {e.staff or '-':<16} {audit_text(e.action, e.detail)}{where}")


@click.group()
def counter() -> None:
    """Lo sportello WhatsApp: conservazione dei messaggi e modello da sottoporre a Meta."""


@counter.command("purge")
@db_option
@pass_ctx
@friendly
def counter_purge(ctx: Context, db_url: str | None) -> None:
    """Cancella messaggi e file delle conversazioni più vecchi di extra.town.counter.retention_days (il servizio lo fa anche ogni ora)."""
    from site_tools.service.counter.runtime import purge_expired

    config = ctx.config
    _counter(config)
    assert config.counter is not None
    with store_for(config, db_url) as store:
        messages, conversations = purge_expired(store, config, time.time())
    click.echo(
        f"Cancellato ciò che ha più di {count(config.counter.retention_days, 'giorno', 'giorni')}: "
        f"{count(messages, 'messaggio', 'messaggi')} e {count(conversations, 'conversazione', 'conversazioni')}."
    )


@counter.command("template")
@pass_ctx
@friendly
def counter_template(ctx: Context) -> None:
    """Stampa il modello di risposta da sottoporre all'approvazione di Meta (JSON della Graph API)."""
    from site_tools.service.counter.template import submission

    _counter(ctx.config)
    click.echo(json.dumps(submission(ctx.config), indent=1, ensure_ascii=False))
