"""``site-tools webpush chiavi``: the town's VAPID key pair for the site's notifications (Web Push)."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.group("webpush")
def webpush() -> None:
    """Le notifiche del sito (Web Push)."""


@webpush.command("chiavi")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("vapid-privata.pem"),
    show_default=True,
    help="Dove scrivere la chiave privata (solo il proprietario potrà leggerla).",
)
@click.option("--sovrascrivi", is_flag=True, help="Sostituisci un file che esiste già (le iscrizioni esistenti smettono "
              "di ricevere: i browser le hanno legate alla chiave vecchia).")  # fmt: skip
def chiavi(path: Path, sovrascrivi: bool) -> None:
    """Crea la coppia di chiavi VAPID: stampa la chiave pubblica (da scrivere in mkdocs.yml, extra.town.webpush)
    e scrive la chiave privata in un file leggibile solo da te (da indicare al servizio in VAPID_PRIVATE_KEY).

    La chiave privata non va mai nel repository."""
    from site_tools.channels.webpush import new_key_pair

    if path.exists() and not sovrascrivi:
        raise click.ClickException(
            f"{path} esiste già: non lo sovrascrivo. Se vuoi davvero una chiave nuova aggiungi --sovrascrivi "
            "(chi si è già iscritto alle notifiche dovrà iscriversi di nuovo)."
        )
    public, pem = new_key_pair()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(pem)
    os.chmod(path, 0o600)  # also when the file was there with wider permissions
    click.echo(f"Chiave privata scritta in {path} (permessi 600). Sul server del servizio imposta:")
    click.echo(f"  VAPID_PRIVATE_KEY={path.resolve()}")
    click.echo("  VAPID_SUBJECT=mailto:<l'indirizzo dell'ufficio che risponde dei messaggi>")
    click.echo("")
    click.echo("In mkdocs.yml, sotto extra.town, scrivi:")
    click.echo("  webpush:")
    click.echo(f"    public_key: {public}")
