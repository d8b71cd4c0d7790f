"""``site-tools validate``, ``new``, ``build``, ``serve`` and ``preview``: the editors' commands."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from site_tools.cli.common import Context, friendly, now_option, pass_ctx, store_for
from site_tools.content.answers import load_answers
from site_tools.content.bulletin import TYPES, Priority
from site_tools.content.loading import load_content
from site_tools.content.problems import NOTHING_PUBLISHED, InvalidContent, Problem
from site_tools.formatting import count


@click.command()
@click.argument("paths", nargs=-1, metavar="[PERCORSI]...", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--base",
    default=None,
    help="La revisione Git i cui indirizzi pubblicati non devono cambiare (se manca: la base della richiesta di modifica, altrimenti HEAD).",
)
@now_option
@pass_ctx
@friendly
def validate(ctx: Context, paths: tuple[Path, ...], base: str | None, now_text: str | None) -> None:
    """Controlla la configurazione e gli avvisi; elenca ogni problema.

    Con PERCORSI segnala solo i problemi di quei file o cartelle (il resto
    è letto lo stesso, per controllare riferimenti e doppioni). Un avviso
    pubblicato il cui indirizzo cambierebbe è un avvertimento (esce con 0).
    """
    from site_tools.content.addresses import default_base, moved_addresses
    from site_tools.content.dates import now as current_time
    from site_tools.content.readability import readability_warnings

    config = ctx.config
    extra = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.md")))]
    content = load_content(config, extra_files=extra)
    at = current_time(config.timezone, now_text)
    warn(moved_addresses(config, content.records, at, base or default_base()))
    records = content.records
    if paths:  # only the files asked about, as for problems
        roots = [p.resolve() for p in paths]
        records = [r for r in records if any(r.path.resolve() == x or x in r.path.resolve().parents for x in roots)]
    warn(readability_warnings(config, records))
    answers, answer_problems = load_answers(config)  # the counter's canned answers, if any
    content.problems.extend(answer_problems)
    problems = content.problems_for(paths)
    if not paths:
        problems += config.site_problems  # the footer's fields: they stop the site build, not the publisher
    if problems:
        raise InvalidContent(problems)
    checked = count(len(extra) if paths else len(content.bulletins), "avviso", "avvisi")
    if answers and not paths:
        checked += f" e {count(len(answers), 'risposta pronta', 'risposte pronte')} dello sportello"
    click.echo(f"Tutto in ordine, nessun problema in {checked}.")


def warn(warnings: list[Problem]) -> None:
    """Warnings: printed (and annotated on GitHub) but the command still succeeds."""
    from site_tools.settings import current

    for warning in warnings:
        click.echo(f"Attenzione: {warning.format()}", err=True)
        if current().github_actions:
            click.echo(warning.github_annotation("warning"))


@click.command()
@click.option("--title", default=None, metavar="TITOLO", help="Titolo dell'avviso.")
@click.option("--summary", default=None, metavar="SINTESI", help="Sintesi: il testo breve che arriva sui telefoni.")
@click.option(
    "--category", default=None, metavar="CATEGORIA", help="Categoria: il nome, l'etichetta o il numero nell'elenco."
)
@click.option("--priority", type=click.Choice([p.value for p in Priority]), default=None, help="Priorità.")
@click.option(
    "--date",
    "when",
    default=None,
    metavar="DATA",
    help="Programma l'avviso a questa data e ora (se manca: la data del merge).",
)
@click.option(
    "--type", "kind", type=click.Choice(list(TYPES)), default=None, help="Tipo (se manca: quello predefinito)."
)
@click.option("--expires", default=None, metavar="DATA", help="Valido fino a questa data (o data e ora).")
@click.option("--event-start", default=None, metavar="DATA", help="Se è un evento: quando comincia.")
@click.option("--event-end", default=None, metavar="DATA", help="Quando finisce l'evento.")
@click.option("--location", default=None, metavar="LUOGO", help="Dove si svolge l'evento.")
@pass_ctx
@friendly(outcome="Nessun avviso è stato scritto.")
def new(
    ctx: Context,
    title: str | None,
    summary: str | None,
    category: str | None,
    priority: str | None,
    when: str | None,
    kind: str | None,
    expires: str | None,
    event_start: str | None,
    event_end: str | None,
    location: str | None,
) -> None:
    """Scrive un nuovo avviso in content/, con l'intestazione già valida.

    Senza opzioni fa tutte le domande (quelle facoltative si saltano con
    invio); con le opzioni chiede solo ciò che manca ed è obbligatorio.
    Una risposta sbagliata è richiesta da sola: le altre restano. Senza
    data l'avviso prende la data del merge.
    """
    from site_tools.cli.asking import ask_draft
    from site_tools.content.authoring import write_new

    config = ctx.config
    given = {
        "title": title,
        "summary": summary,
        "categories": category,
        "priority": priority,
        "date": when,
        "expires": expires,
        "event.start": event_start,
        "event.end": event_end,
        "event.location": location,
    }
    path = write_new(config, ask_draft(config, given, kind))
    click.echo(f"Creato {path.relative_to(config.root).as_posix()}: aprilo e scrivi il testo completo.")


@click.command()
@click.option("--strict", is_flag=True, help="Fallisci a ogni avvertimento, come un link rotto.")
@click.option(
    "--site-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dove scrivere il sito (se manca: site/).",
)
@now_option
@pass_ctx
@friendly(outcome=NOTHING_PUBLISHED)
def build(ctx: Context, strict: bool, site_dir: Path | None, now_text: str | None) -> None:
    """Costruisce il sito pubblico (ProperDocs + mkdocs-material) in site/."""
    import time

    from site_tools.site.build import build_site

    config = ctx.config
    if now_text:
        os.environ["SITE_TOOLS_NOW"] = now_text
    started = time.monotonic()
    out = build_site(config.path, site_dir, strict)
    click.echo(f"Sito costruito in {out} ({time.monotonic() - started:.1f} s).")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Indirizzo su cui ascoltare.")
@click.option("--port", default=8000, show_default=True, type=int, help="Porta su cui ascoltare.")
@click.option(
    "--cms/--no-cms",
    default=None,
    help="Avvia anche l'editor web in locale (decap-server) su content/ (se manca: quando c'è extra.town.editor).",
)
@pass_ctx
@friendly
def serve(ctx: Context, host: str, port: int, cms: bool | None) -> None:
    """Anteprima del sito su http://127.0.0.1:8000/, ricostruito a ogni salvataggio; l'editor web su /admin/."""
    from site_tools.site.admin import LOCAL_BACKEND_ENV, decap_config
    from site_tools.site.build import serve_site
    from site_tools.site.local_editor import local_backend

    config = ctx.config
    if cms is None:
        cms = config.editor is not None
    if not cms:
        serve_site(config.path, host, port)
        return
    decap_config(config)  # a town without the editor block gets the Italian explanation now
    signal.signal(signal.SIGTERM, _interrupt)  # a plain `kill` ends the preview like Ctrl-C: backend stopped too
    with local_backend(config, host) as api:
        os.environ[LOCAL_BACKEND_ENV] = api
        click.echo(f"Editor web: http://{host}:{port}/admin/ (salva direttamente in content/)", err=True)
        click.echo(f"Anteprima del sito: http://{host}:{port}/", err=True)
        serve_site(config.path, host, port)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command("cms-config")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Scrivi qui (se manca: stampa).",
)
@click.option(
    "--local-backend", default=None, help="Indirizzo di un decap-server da usare in locale (modifiche senza rete)."
)
@pass_ctx
@friendly
def cms_config(ctx: Context, output: Path | None, local_backend: str | None) -> None:
    """Il config.yml dell'editor web (Decap CMS), generato da mkdocs.yml: la costruzione del sito lo mette in admin/."""
    from site_tools.site.admin import config_yaml

    text = config_yaml(ctx.config, local_backend)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Scritto {output}.", err=True)


@click.command()
@click.argument("paths", nargs=-1, metavar="[PERCORSI]...", type=click.Path(path_type=Path))
@now_option
@click.option(
    "--recipients",
    type=int,
    default=None,
    help="Iscritti da considerare (se manca: quelli dell'archivio, se raggiungibile).",
)
@click.option(
    "--output",
    type=click.File("a"),
    default="-",
    help="Aggiungi in fondo a questo file (per esempio $GITHUB_STEP_SUMMARY).",
)
@pass_ctx
@friendly
def preview(ctx: Context, paths: tuple[Path, ...], now_text: str | None, recipients: int | None, output) -> None:  # type: ignore[no-untyped-def]
    """Anteprima in Markdown degli avvisi su ogni canale: testo, lunghezze, destinatari, tempi, costo."""
    from site_tools.content.dates import now as current_time
    from site_tools.delivery.preview import preview_markdown
    from site_tools.settings import Settings, reveal

    config = ctx.config
    # Site pages (home, privacy…) may change in the same pull request: only bulletins are previewed.
    bulletins = config.bulletins_path.resolve()
    existing = [p for p in paths if p.is_file() and p.suffix == ".md" and bulletins in p.resolve().parents]
    content = load_content(config, extra_files=existing)
    problems = content.problems_for(existing) if existing else []
    if problems:
        raise InvalidContent(problems)
    settings = Settings.from_env()
    by_choice = None
    if recipients is None and settings.db_url:
        with store_for(config, reveal(settings.db_url)) as store:
            recipients = store.subscribers.count_active()
            by_choice = store.subscribers.count_by_choice()
    at = current_time(config.timezone, now_text)
    output.write(preview_markdown(content, existing, at, recipients, settings, by_choice))
