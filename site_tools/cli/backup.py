"""``site-tools backup`` and ``site-tools restore``: the store to a file and back (:mod:`site_tools.store.backup`)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click

from site_tools.cli.common import Context, db_option, friendly, pass_ctx
from site_tools.formatting import count, file_size, number
from site_tools.settings import current, reveal
from site_tools.store.backup import (
    SUFFIX,
    BackupError,
    backup,
    backup_name,
    describe_age,
    prune,
    restore,
)
from site_tools.store.database import Database, StoreUnavailable, Target, describe_error, parse_url


def _target(ctx: Context, url: str | None) -> Target:
    """The store as every command finds it: ``--db``/``SITE_TOOLS_DB``, or ``data/site-tools.db`` of the town."""
    url = url or reveal(current().db_url) or None
    return parse_url(url, default_dir=None if url else ctx.config.root / "data")


def _counts(counts: dict[str, int], skipped: dict[str, str]) -> str:
    """Rows per table (never their content), and the tables a backup leaves out."""
    lines = [f"  {table}: {number(rows)}" for table, rows in counts.items()]
    if skipped:
        lines.append("  non salvate (non servono): " + ", ".join(sorted(skipped)))
    return "\n".join(lines)


def _fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, BackupError):
        return click.ClickException(str(exc))
    if isinstance(exc, StoreUnavailable):
        return click.ClickException(f"l'archivio non risponde ({exc}): riprova tra poco; nulla è stato cambiato.")
    if isinstance(exc, OSError):
        return click.ClickException(f"errore del disco: {exc.strerror or exc} ({exc.filename or ''}).")
    return click.ClickException(f"errore dell'archivio: {describe_error(exc)}")


@click.command("backup")
@click.argument("dest", metavar="DESTINAZIONE", type=click.Path(path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    metavar="N",
    help="Nella cartella tieni solo gli N backup più recenti (cancella solo i file site-tools-….sqlite).",
)
@db_option
@pass_ctx
@friendly
def backup_command(ctx: Context, dest: Path, keep: int | None, db_url: str | None) -> None:
    """Salva l'archivio (iscritti, consensi, registro degli invii, sportello) in un file.

    DESTINAZIONE è una cartella (il file si chiama site-tools-AAAAMMGGTHHMMSSZ.sqlite) o un file nuovo .sqlite.
    Si può fare mentre il servizio lavora: il backup è una fotografia coerente. Il file contiene dati personali:
    conservalo cifrato.
    """
    target = _target(ctx, db_url)
    folder = dest.is_dir()
    if keep is not None and not folder:
        raise click.ClickException(f"--keep vale solo se la destinazione è una cartella; {dest} non lo è.")
    if not folder and dest.suffix != SUFFIX:
        raise click.ClickException(
            f"la cartella {dest} non esiste: creala, o per un file scegli un nome che finisce in {SUFFIX}."
        )
    if target.dialect == "sqlite" and not Path(target.location).is_file():
        raise click.ClickException(f"l'archivio {target.location} non esiste: controlla --db o SITE_TOOLS_DB.")
    path = dest / backup_name(time.time()) if folder else dest
    try:
        db = Database(target)
    except Exception as exc:
        raise click.ClickException(
            f"impossibile aprire l'archivio {target.describe()}: {describe_error(exc)}. Controlla --db."
        ) from exc
    try:
        info = backup(db, path)
    except Exception as exc:
        raise _fail(exc) from exc
    finally:
        db.close()
    click.echo(f"Backup scritto: {info.path} ({file_size(info.size)}, schema {info.schema_version}).")
    click.echo(_counts(info.counts, info.skipped))
    if keep is not None:
        gone = prune(dest, keep, written=info.path)
        if gone:
            click.echo(
                f"Cancellati {count(len(gone), 'backup più vecchio', 'backup più vecchi')}: "
                + ", ".join(p.name for p in gone)
            )


@click.command("restore")
@click.argument("src", metavar="BACKUP", type=click.Path(path_type=Path))
@click.option(
    "--replace",
    is_flag=True,
    help="Sostituisci il contenuto di un archivio che non è vuoto (altrimenti il ripristino si rifiuta).",
)
@db_option
@pass_ctx
@friendly
def restore_command(ctx: Context, src: Path, replace: bool, db_url: str | None) -> None:
    """Ripristina l'archivio da un backup fatto con «site-tools backup».

    Ferma prima il servizio. Un archivio che contiene già dati si sostituisce solo con --replace. Tutto avviene
    in una sola transazione: se qualcosa va storto l'archivio resta com'era.
    """
    target = _target(ctx, db_url)
    try:
        done = restore(src, target, replace=replace)
    except Exception as exc:
        raise _fail(exc) from exc
    info = done.backup
    click.echo(
        f"Ripristinato {info.path.name} in {target.describe()}: backup del "
        f"{datetime.fromisoformat(info.created_at):%d/%m/%Y alle %H:%M} UTC "
        f"(site-tools {info.site_tools_version}, da {info.source})."
    )
    if done.migrated_from is not None:
        click.echo(f"Lo schema del backup ({done.migrated_from}) è stato aggiornato a quello attuale.")
    if done.replaced:
        click.echo(f"Sostituite {count(done.replaced, 'riga', 'righe')} che l'archivio conteneva.")
    click.echo(_counts(done.counts, info.skipped))
    click.echo(
        f"⚠ Il backup risale a {describe_age(info)} fa: le disiscrizioni e gli invii successivi non sono nell'archivio. "
        "Prima di riattivare gli invii leggi docs/operations/backups.md e controlla «site-tools publish --dry-run»."
    )
