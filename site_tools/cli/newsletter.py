"""``site-tools newsletter forget ADDRESS``: GDPR erasure of one address of the e-mail newsletter."""

from __future__ import annotations

import click

from site_tools.cli.common import Context, db_option, friendly, pass_ctx, store_for


@click.group("newsletter")
def newsletter() -> None:
    """La newsletter e-mail del Comune."""


@newsletter.command("forget")
@click.argument("address", metavar="INDIRIZZO")
@db_option
@pass_ctx
@friendly
def newsletter_forget(ctx: Context, address: str, db_url: str | None) -> None:
    """Cancellazione (GDPR): l'indirizzo e-mail, il suo consenso e i suoi invii sono cancellati; i link delle
    e-mail già ricevute non funzionano più."""
    from site_tools.channels.email import normalize_address

    normalized = normalize_address(address)
    if normalized is None:
        raise click.ClickException(
            "quello scritto non è un indirizzo e-mail: scrivilo intero, senza spazi, come nome@esempio.it."
        )
    with store_for(ctx.config, db_url) as store:
        found = store.newsletter.forget(normalized)
    # The address is not printed back: the terminal's scrollback and the CI logs are no place for it.
    click.echo("dati cancellati." if found else "questo indirizzo non è nella newsletter; nulla da cancellare.")
