"""``site-tools subscribers``: stats, import of existing lists, GDPR access and erasure."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click

from site_tools.cli.common import EXIT_PROBLEMS, Context, db_option, friendly, pass_ctx, report, store_for
from site_tools.content.config import TownConfig
from site_tools.content.dates import DateError, parse_datetime
from site_tools.content.problems import Problem
from site_tools.formatting import count, number, plural
from site_tools.phones import mask, normalize
from site_tools.store import Store

PHONE_COLUMNS = ("phone", "numero", "telefono", "cellulare", "number")
DATE_COLUMNS = ("consent_at", "data_consenso", "consenso", "data", "date")
SOURCE_COLUMNS = ("source", "fonte", "origine")


@dataclass
class ImportResult:
    added: int
    already: int
    rejected: list[Problem]


def import_csv(store: Store, config: TownConfig, path: Path) -> ImportResult:
    shown = path.name
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # Excel on Windows
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    phone_col = next((fields[c] for c in PHONE_COLUMNS if c in fields), None)
    date_col = next((fields[c] for c in DATE_COLUMNS if c in fields), None)
    source_col = next((fields[c] for c in SOURCE_COLUMNS if c in fields), None)
    if phone_col is None or date_col is None:
        return ImportResult(
            0,
            0,
            [
                Problem(
                    shown,
                    1,
                    None,
                    "mancano le colonne del numero o della data del consenso.",
                    "la prima riga deve avere le intestazioni, per esempio: numero;data_consenso",
                )
            ],
        )
    rows, rejected, seen = [], [], set()
    for line, row in enumerate(reader, start=2):
        phone_raw = (row.get(phone_col) or "").strip()
        phone = normalize(phone_raw)
        if phone is None:
            rejected.append(
                Problem(
                    shown,
                    line,
                    phone_col,
                    f"«{mask(phone_raw) if phone_raw else ''}» non è un numero valido.",
                    "correggi il numero (con o senza +39) o togli la riga.",
                )
            )
            continue
        try:
            consent = parse_datetime((row.get(date_col) or "").strip(), config.timezone)
        except DateError as exc:
            rejected.append(Problem(shown, line, date_col, f"data del consenso non valida: {exc.message}", exc.fix))
            continue
        if phone in seen:
            continue
        seen.add(phone)
        source = (row.get(source_col) or "").strip() if source_col else ""
        rows.append((phone, consent.timestamp(), f"import:{source or path.name}"))
    added, already = store.subscribers.import_rows(rows)
    return ImportResult(added, already, rejected)


def stats_text(store: Store, config: TownConfig, weeks: int = 8) -> str:
    active = store.subscribers.count_active()
    ratio = config.population / active if active else float("inf")
    lines = [
        f"Iscritti attivi alla lista WhatsApp: {number(active)} su {number(config.population)} residenti "
        f"({100 * active / config.population:.1f} %" + (f", uno ogni {ratio:.1f} residenti)" if active else ")")
    ]
    lines.append(
        f"{plural(weeks, 'Ultima', 'Ultime')} {count(weeks, 'settimana', 'settimane')} (settimana: iscritti / cancellati):"
    )
    for week, joined, left in store.subscribers.weekly(time.time() - weeks * 7 * 86400):
        lines.append(f"  {week}: +{joined} / -{left}")
    return "\n".join(lines)


def export_json(store: Store, phone: str) -> str | None:
    data = store.export(phone)
    if data is None:
        return None
    for key in ("consent_at", "opted_out_at"):
        if data.get(key):
            data[key] = datetime.fromtimestamp(data[key]).astimezone().isoformat()
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


@click.group()
def subscribers() -> None:
    """Gli iscritti alla lista: statistiche, importazione, accesso e cancellazione (GDPR)."""


def _number_arg(value: str) -> str:
    from site_tools.phones import normalize

    phone = normalize(value)
    if phone is None:
        raise click.BadParameter(f"«{value}» non è un numero di telefono valido.")
    return phone


@subscribers.command("stats")
@db_option
@pass_ctx
@friendly
def subscribers_stats(ctx: Context, db_url: str | None) -> None:
    """Iscritti attivi, iscrizioni e cancellazioni per settimana, e la quota sui residenti."""
    from site_tools.cli.subscribers import stats_text

    with store_for(ctx.config, db_url) as store:
        click.echo(stats_text(store, ctx.config))


@subscribers.command("import")
@click.argument("csv_file", metavar="FILE_CSV", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@pass_ctx
@friendly
def subscribers_import(ctx: Context, csv_file: Path, db_url: str | None) -> None:
    """Importa una lista esistente (numeri con la data del consenso). Importarla di nuovo non fa danni."""
    from site_tools.cli.subscribers import import_csv

    with store_for(ctx.config, db_url) as store:
        result = import_csv(store, ctx.config, csv_file)
    click.echo(
        f"{plural(result.added, 'Importato', 'Importati')} {count(result.added, 'nuovo iscritto', 'nuovi iscritti')}; "
        f"{number(result.already)} {plural(result.already, 'era già presente', 'erano già presenti')}."
    )
    if result.rejected:
        report(result.rejected)
        click.echo(
            f"{count(len(result.rejected), 'riga NON importata: correggila', 'righe NON importate: correggile')} e importa di nuovo il file.",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)


@subscribers.command("export")
@click.argument("phone", metavar="NUMERO")
@db_option
@pass_ctx
@friendly
def subscribers_export(ctx: Context, phone: str, db_url: str | None) -> None:
    """Accesso (GDPR): tutto ciò che è conservato su un numero, in JSON."""
    from site_tools.cli.subscribers import export_json

    with store_for(ctx.config, db_url) as store:
        data = export_json(store, _number_arg(phone))
    if data is None:
        raise click.ClickException("nessun dato conservato per questo numero.")
    click.echo(data)


@subscribers.command("forget")
@click.argument("phone", metavar="NUMERO")
@db_option
@pass_ctx
@friendly
def subscribers_forget(ctx: Context, phone: str, db_url: str | None) -> None:
    """Cancellazione (GDPR): il numero è cancellato; i conteggi degli invii restano, anonimi."""
    from site_tools.phones import mask

    number = _number_arg(phone)
    with store_for(ctx.config, db_url) as store:
        found = store.forget(number)
    click.echo(f"{mask(number)}: " + ("dati cancellati." if found else "non era iscritto; nulla da cancellare."))
