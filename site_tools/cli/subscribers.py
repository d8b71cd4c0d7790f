"""``site-tools subscribers``: stats, import of existing lists, GDPR access and erasure, and the app's contacts
(coexistence): the re-confirmation message and the town's declared import."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from site_tools.cli.common import EXIT_PROBLEMS, Context, db_option, friendly, pass_ctx, report, store_for
from site_tools.content.config import TownConfig
from site_tools.content.dates import DateError, parse_datetime
from site_tools.content.problems import Problem
from site_tools.formatting import count, number, plural
from site_tools.phones import NOT_VALID, mask, normalize, whatsapp_refusal
from site_tools.store import Store, candidates
from site_tools.store import consent as consent_bases
from site_tools.store.choices import NAMES

#: The headers each column is recognised by, compared as :func:`header_key` leaves them (case, accents, ``_``).
PHONE_COLUMNS = ("numero", "telefono", "cellulare", "numero di telefono", "numero telefono", "cell", "phone", "number")
DATE_COLUMNS = ("data consenso", "data del consenso", "consenso", "data", "consent at", "date")
SOURCE_COLUMNS = ("fonte", "origine", "lista", "source")


#: A number Excel turned into a figure (``3,93333E+11``): its last digits are gone, nobody can guess them.
_EXCEL_SCIENTIFIC = re.compile(r"^\d[.,]\d+E\+?\d+$", re.IGNORECASE)
EXCEL_MANGLED = "Excel ha trasformato il numero in notazione scientifica: le ultime cifre sono perse"


def header_key(header: str) -> str:
    """``Data_Consènso `` → ``data consenso``: what a header is compared as (Excel and people write them freely)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", header) if not unicodedata.combining(c))
    return " ".join(re.split(r"[\s_\-.]+", plain.lower())).strip()


def _delimiter(header_line: str) -> str:
    """Excel in Italy writes ``;`` (the comma is the decimal separator); elsewhere ``,``; a tab from some exports."""
    return max(";,\t", key=header_line.count)


def _number(raw: str) -> tuple[str | None, tuple[str, str]]:
    """(E.164 digits, ("", "")) for a number that can be on WhatsApp, else (None, (reason, fix)) in Italian."""
    if _EXCEL_SCIENTIFIC.match(raw):
        return None, (
            EXCEL_MANGLED,
            "in Excel formatta la colonna come Testo, incolla di nuovo i numeri e salva ancora il CSV.",
        )
    refusal = whatsapp_refusal(raw) if raw else NOT_VALID
    phone = normalize(raw) if refusal is None else None
    if phone is None:
        return None, (
            refusal or NOT_VALID,
            "togli la riga, o correggi il numero (con o senza +39) se è un cellulare scritto male.",
        )
    return phone, ("", "")


@dataclass
class ImportResult:
    added: int
    already: int
    rejected: list[Problem]
    #: How many rows were refused, by the reason in Italian.
    reasons: Counter[str] = field(default_factory=Counter)


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")  # Excel's «Testo Unicode» (tab-separated)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")  # Excel on Windows


def import_csv(store: Store, config: TownConfig, path: Path, *, dry_run: bool = False) -> ImportResult:
    """Import a list of numbers with their consent dates (basis :data:`consent.CSV_IMPORT`).

    Landlines and numbers that cannot be on WhatsApp are refused row by row with the reason; ``dry_run`` counts
    what would happen (new, already there, refused) and writes nothing.
    """
    shown = path.name
    text = _decode(path.read_bytes())
    header_line = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(header_line))
    fields: dict[str, str] = {}
    for name in reader.fieldnames or []:
        fields.setdefault(header_key(name or ""), name)
    phone_col = next((fields[c] for c in PHONE_COLUMNS if c in fields), None)
    date_col = next((fields[c] for c in DATE_COLUMNS if c in fields), None)
    source_col = next((fields[c] for c in SOURCE_COLUMNS if c in fields), None)
    if phone_col is None or date_col is None:
        missing = " e ".join(
            what for what, col in (("del numero", phone_col), ("della data del consenso", date_col)) if col is None
        )
        return ImportResult(
            0,
            0,
            [
                Problem(
                    shown,
                    1,
                    None,
                    f"manca la colonna {missing} (intestazioni trovate: {', '.join(reader.fieldnames or []) or 'nessuna'}).",
                    "la prima riga deve avere le intestazioni, per esempio: numero;data consenso "
                    "(valgono anche telefono o cellulare, e data o consenso).",
                )
            ],
            Counter({"intestazioni mancanti": 1}),
        )
    rows: list[tuple[str, float, str]] = []
    rejected: list[Problem] = []
    reasons: Counter[str] = Counter()
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        phone_raw = (row.get(phone_col) or "").strip()
        date_raw = (row.get(date_col) or "").strip()
        if not phone_raw and not date_raw:
            continue  # Excel's empty trailing rows
        phone, refusal = _number(phone_raw)
        if phone is None:
            reason, fix = refusal
            reasons[reason] += 1
            shown_number = phone_raw if reason == EXCEL_MANGLED else mask(normalize(phone_raw) or phone_raw)
            rejected.append(Problem(shown, line, phone_col, f"«{shown_number if phone_raw else ''}»: {reason}.", fix))
            continue
        try:
            consent = parse_datetime(date_raw, config.timezone)
        except DateError as exc:
            reasons["data del consenso mancante o non valida"] += 1
            rejected.append(Problem(shown, line, date_col, f"data del consenso non valida: {exc.message}", exc.fix))
            continue
        if consent.timestamp() > time.time():
            # A typo (2052 for 2025): a consent «newer» than any OFF they wrote would outlive it.
            reasons["data del consenso nel futuro"] += 1
            rejected.append(
                Problem(shown, line, date_col, f"la data del consenso «{date_raw}» è nel futuro.",
                        "correggi la data (giorno/mese/anno) con quella in cui la persona ha dato il consenso.")
            )  # fmt: skip
            continue
        if phone in seen:
            continue
        seen.add(phone)
        source = (row.get(source_col) or "").strip() if source_col else ""
        rows.append((phone, consent.timestamp(), f"{consent_bases.CSV_IMPORT}:{source or path.name}"))
    if dry_run:
        already = sum(1 for phone, _, _ in rows if store.subscribers.get(phone) is not None)
        return ImportResult(len(rows) - already, already, rejected, reasons)
    added, already = store.subscribers.import_rows(rows)
    return ImportResult(added, already, rejected, reasons)


def _coexistence_basis(config: TownConfig, wanted: str) -> None:
    """Refuses (in Italian, with the fix) a command for a basis the town did not choose."""
    coex = config.whatsapp.coexistence if config.whatsapp else None
    if coex is None:
        raise click.ClickException(
            "il numero della lista non è in coesistenza con l'app WhatsApp Business: non ci sono contatti da "
            "trasformare in iscritti. Se lo è, aggiungi whatsapp.coexistence (since, candidates) nella "
            "configurazione del Comune."
        )
    if coex.candidates != wanted:
        raise click.ClickException(
            f"la configurazione dice whatsapp.coexistence.candidates: «{coex.candidates}», non «{wanted}». "
            f"Cambiala in «{wanted}» se il Comune ha scelto questa strada."
        )


#: A declared number the list already knows (subscribed, or left with the OFF keyword): left as it is.
LISTED = "già nella lista o cancellato con la parola chiave"


@dataclass
class Declared:
    imported: int
    not_candidates: int  # numbers in the file that are not contacts of the app (use «subscribers import»)
    skipped: dict[str, int]  # candidates already answered or removed, by state
    rejected: list[Problem]


def read_numbers(path: Path) -> tuple[list[str], list[Problem]]:
    """The numbers in the town's file: the first field of each line (a header line is skipped)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    phones: list[str] = []
    rejected: list[Problem] = []
    for line, row in enumerate(csv.reader(io.StringIO(text), delimiter=";" if ";" in text[:4096] else ","), start=1):
        field = (row[0] if row else "").strip()
        if not field:
            continue
        phone = normalize(field)
        if phone is None:
            if line == 1 and not any(ch.isdigit() for ch in field):
                continue  # the header
            rejected.append(
                Problem(path.name, line, None, f"«{mask(field)}» non è un numero valido.",
                        "correggi il numero (con o senza +39) o togli la riga.")
            )  # fmt: skip
            continue
        if phone not in phones:
            phones.append(phone)
    return phones, rejected


def declare(store: Store, config: TownConfig, path: Path, now: float | None = None) -> Declared:
    """The town declares that the contacts listed in ``path`` consented (its own records): those still waiting
    (``new`` or ``asked``) become subscribers on the DECLARED basis, the declaration's date and file recorded."""
    now = now or time.time()
    day = datetime.fromtimestamp(now, config.timezone).strftime("%d/%m/%Y")
    note = f"dichiarato dal Comune il {day} (file {path.name}): consenso dagli archivi del Comune"
    phones, rejected = read_numbers(path)
    imported, outsiders = 0, 0
    skipped: dict[str, int] = {}
    for phone in phones:
        candidate = store.candidates.get(phone)
        if candidate is None:
            outsiders += 1
            continue
        if candidate.state not in (candidates.NEW, candidates.ASKED):
            skipped[candidate.state] = skipped.get(candidate.state, 0) + 1
            continue
        if store.subscribers.get(phone) is not None:  # subscribed already, or left: an OFF is the last word
            skipped[LISTED] = skipped.get(LISTED, 0) + 1
            continue
        with store.db.transaction():
            store.subscribers.subscribe(phone, consent_bases.DECLARED, note, at=now)
            store.candidates.set_state([phone], candidates.IMPORTED, at=now)
        imported += 1
    return Declared(imported, outsiders, skipped, rejected)


def stats_text(store: Store, config: TownConfig, weeks: int = 8) -> str:
    active = store.subscribers.count_active()
    ratio = config.population / active if active else float("inf")
    lines = [
        f"Iscritti attivi alla lista WhatsApp: {number(active)} su {number(config.population)} residenti "
        f"({100 * active / config.population:.1f} %" + (f", uno ogni {ratio:.1f} residenti)" if active else ")")
    ]
    by_choice = store.subscribers.count_by_choice()
    lines.append("Per scelta: " + ", ".join(f"«{NAMES[c]}» {number(n)}" for c, n in by_choice.items()))
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


def _existing_store(config: TownConfig, db_url: str | None) -> None:
    """A dry run writes nothing, not even a new, empty database (a wrong --db would count everyone as new)."""
    from site_tools.settings import current, reveal
    from site_tools.store.database import parse_url

    target = parse_url(db_url or reveal(current().db_url) or None, config.root / "data")
    if target.dialect == "sqlite" and target.location != ":memory:" and not Path(target.location).exists():
        raise click.ClickException(
            f"il database «{target.location}» non esiste: nulla è stato scritto. Controlla --db (o SITE_TOOLS_DB) "
            "e indica il database del servizio iscrizioni."
        )


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
@click.option("--dry-run", is_flag=True, help="Mostra soltanto quanti sarebbero nuovi, già presenti e rifiutati.")
@db_option
@pass_ctx
@friendly
def subscribers_import(ctx: Context, csv_file: Path, dry_run: bool, db_url: str | None) -> None:
    """Importa un elenco di numeri con la data del consenso (CSV di Excel, con «;» o «,»). Importarlo di nuovo non fa danni.

    Intestazioni riconosciute: numero, telefono o cellulare; data consenso, consenso o data (maiuscole e accenti
    non contano). I numeri fissi e quelli che non possono avere WhatsApp sono rifiutati, riga per riga.
    """
    from site_tools.cli.subscribers import import_csv

    if dry_run:
        _existing_store(ctx.config, db_url)
    with store_for(ctx.config, db_url) as store:
        result = import_csv(store, ctx.config, csv_file, dry_run=dry_run)
    if dry_run:
        click.echo("Prova (--dry-run): nulla è stato scritto.")
        click.echo(
            f"{plural(result.added, 'Sarebbe importato', 'Sarebbero importati')} "
            f"{count(result.added, 'nuovo iscritto', 'nuovi iscritti')}; "
            f"{number(result.already)} {plural(result.already, 'è già presente', 'sono già presenti')}; "
            f"{count(len(result.rejected), 'riga rifiutata', 'righe rifiutate')}."
        )
    else:
        click.echo(
            f"{plural(result.added, 'Importato', 'Importati')} {count(result.added, 'nuovo iscritto', 'nuovi iscritti')}; "
            f"{number(result.already)} {plural(result.already, 'era già presente', 'erano già presenti')}."
        )
    for reason, n in sorted(result.reasons.items()):
        click.echo(f"  rifiutate: {number(n)} ({reason})")
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


@subscribers.command("invite-channel")
@click.option("--approve-cost", is_flag=True, help="Invia davvero, dopo aver visto quanti sono e quanto costa.")
@db_option
@pass_ctx
@friendly
def subscribers_invite_channel(ctx: Context, approve_cost: bool, db_url: str | None) -> None:
    """Manda una volta a ogni iscritto della lista il link del Canale WhatsApp del Comune (modello «invito_canale»).

    Mostra prima quanti lo riceverebbero e il costo stimato; invia solo con --approve-cost. Nessuno lo riceve due
    volte: rilanciato dopo un'interruzione, invia solo a chi manca.
    """
    import asyncio

    from site_tools.delivery.invitation import estimate, send_invitation
    from site_tools.formatting import euro
    from site_tools.settings import current

    config = ctx.config
    if config.whatsapp is None or not config.channel_url:
        raise click.ClickException(
            "servono la lista («whatsapp») e il Canale («whatsapp_channel») in extra.town di mkdocs.yml."
        )
    if config.transition is None:
        raise click.ClickException(
            "il modello «invito_canale» si dichiara con il piano di passaggio: aggiungi in extra.town "
            "«transition: {from: AAAA-MM-GG, until: AAAA-MM-GG}», poi «site-tools whatsapp templates --submit» "
            "e attendi che Meta lo approvi."
        )
    with store_for(config, db_url) as store:
        est = estimate(store, config)
        click.echo(
            f"Invito al Canale WhatsApp: {count(est.recipients, 'iscritto', 'iscritti')} da invitare "
            f"({number(est.already)} {plural(est.already, 'già invitato', 'già invitati')}); "
            f"costo stimato {euro(est.cost_eur)} ({euro(config.price_per_template)} a messaggio)."
        )
        if est.recipients == 0:
            click.echo("Nessuno da invitare: nulla è stato inviato.")
            return
        if not approve_cost:
            click.echo("Nulla è stato inviato. Per inviare: site-tools subscribers invite-channel --approve-cost")
            return
        settings = current()
        if not (settings.whatsapp_token and settings.whatsapp_phone_number_id):
            raise click.ClickException(
                "mancano WHATSAPP_TOKEN o WHATSAPP_PHONE_NUMBER_ID: impostali come per la pubblicazione."
            )
        result = asyncio.run(send_invitation(store, config, settings))
    failed = sum(result.failed.values())
    click.echo(
        f"{plural(result.accepted, 'Invito inviato', 'Inviti inviati')}: {number(result.accepted)}"
        + (f"; non consegnabili: {number(failed)}" if failed else "")
        + "."
    )
    if result.state != "done":
        click.echo(
            f"Invio non concluso ({result.reason or result.state}): rilancia il comando, invierà solo a chi manca.",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)


@subscribers.command("reconfirm")
@click.option("--approve-cost", is_flag=True, help="Approva il costo stimato e manda senza chiedere.")
@click.option("--dry-run", is_flag=True, help="Mostra quanti contatti, il costo stimato e il messaggio; non manda.")
@click.option("--rate", type=float, default=None, help="Messaggi al secondo (se manca: WHATSAPP_MPS).")
@db_option
@pass_ctx
@friendly
def subscribers_reconfirm(
    ctx: Context, approve_cost: bool, dry_run: bool, rate: float | None, db_url: str | None
) -> None:
    """Manda il messaggio di conferma (modello conferma_iscrizione) ai contatti dell'app non ancora interpellati:
    una volta sola per persona. Solo chi risponde «Sì, continuo» diventa iscritto."""
    import asyncio

    from site_tools.channels.cloud_api import WhatsAppCloud
    from site_tools.delivery.reconfirm import preview, send_all
    from site_tools.formatting import euro
    from site_tools.settings import current, reveal

    config = ctx.config
    _coexistence_basis(config, "riconferma")
    with store_for(config, db_url) as store:
        waiting = store.candidates.to_ask()
        cost = waiting * config.price_per_template
        click.echo(
            f"{count(waiting, 'contatto', 'contatti')} dell'app da interpellare; costo stimato {euro(cost)} "
            f"({number(waiting)} × {euro(config.price_per_template)})."
        )
        click.echo("Il messaggio:\n" + preview(config))
        if dry_run or not waiting:
            if not waiting:
                click.echo("Nessuno da interpellare: nulla da mandare.")
            return
        if not approve_cost:
            if not sys.stdin.isatty():
                raise click.ClickException(
                    f"il costo stimato ({euro(cost)}) va approvato: ripeti il comando con --approve-cost."
                )
            click.confirm(f"Mandare il messaggio a {count(waiting, 'contatto', 'contatti')}?", abort=True)
        settings = current()
        if not settings.whatsapp_token or not settings.whatsapp_phone_number_id:
            raise click.ClickException(
                "mancano WHATSAPP_TOKEN o WHATSAPP_PHONE_NUMBER_ID: aggiungili all'ambiente del comando."
            )
        number_id = settings.whatsapp_phone_number_id

        async def run() -> Any:
            async with WhatsAppCloud(
                settings.whatsapp_api_url, number_id, reveal(settings.whatsapp_token), timeout=settings.http_timeout
            ) as cloud:
                return await send_all(store, config, cloud, number_id, rate or settings.whatsapp_mps)

        result = asyncio.run(run())
    click.echo(
        f"{plural(result.sent, 'Mandato', 'Mandati')} {number(result.sent)}; "
        f"{number(result.refused)} {plural(result.refused, 'rifiutato', 'rifiutati')} da Meta (si riprova al "
        "prossimo comando)."
    )
    if result.stopped:
        click.echo(f"Invio interrotto: {result.stopped}. Chi non ha ricevuto il messaggio resta da interpellare.",
                   err=True)  # fmt: skip
        sys.exit(EXIT_PROBLEMS)


@subscribers.command("declare")
@click.argument("file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dichiaro",
    "declared",
    is_flag=True,
    help="Il Comune dichiara di avere, nei suoi archivi, il consenso di queste persone a ricevere gli avvisi.",
)
@db_option
@pass_ctx
@friendly
def subscribers_declare(ctx: Context, file: Path, declared: bool, db_url: str | None) -> None:
    """Iscrive i contatti dell'app elencati nel FILE (un numero per riga) su dichiarazione del Comune."""
    config = ctx.config
    _coexistence_basis(config, "dichiarazione")
    if not declared:
        raise click.ClickException(
            "serve la dichiarazione esplicita del Comune: ripeti il comando con --dichiaro solo se gli archivi del "
            "Comune registrano il consenso di ognuna di queste persone."
        )
    with store_for(config, db_url) as store:
        result = declare(store, config, file)
    click.echo(f"{plural(result.imported, 'Iscritto', 'Iscritti')} {count(result.imported, 'contatto', 'contatti')} "
               "su dichiarazione del Comune.")  # fmt: skip
    if result.not_candidates:
        click.echo(f"{count(result.not_candidates, 'numero non è', 'numeri non sono')} tra i contatti dell'app: "
                   "per loro usa «site-tools subscribers import» con la data del consenso.")  # fmt: skip
    for state, n in sorted(result.skipped.items()):
        what = state if state == LISTED else f"già nello stato «{state}»"
        left = plural(n, "lasciato com'era", "lasciati com'erano")
        click.echo(f"{number(n)} {what}: {left}.")
    if result.rejected:
        report(result.rejected)
        sys.exit(EXIT_PROBLEMS)
