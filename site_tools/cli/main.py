"""The ``site-tools`` command.

Each subcommand is a thin layer over a module that does the work; the
wrapper turns :class:`InvalidContent` into a readable Italian report and an
exit status, so no traceback ever reaches an editor.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from site_tools import __version__
from site_tools.content.bulletin import Priority
from site_tools.content.config import CHANNELS, TownConfig, load_config
from site_tools.content.dates import parse_datetime
from site_tools.content.loading import load_content
from site_tools.content.problems import InvalidContent, Problem, format_report
from site_tools.store import Store

EXIT_PROBLEMS = 1
EXIT_CRASH = 2


def report(problems: list[Problem]) -> None:
    click.echo(format_report(problems), err=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for problem in problems:
            click.echo(problem.github_annotation())


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Problems become a report and exit 1; a bug becomes one clear line and exit 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidContent as exc:
            report(exc.problems)
            sys.exit(EXIT_PROBLEMS)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence for editors
            if os.environ.get("SITE_TOOLS_DEBUG"):
                raise
            click.echo(
                f"Errore imprevisto ({type(exc).__name__}): {exc}\n"
                "Non è colpa del contenuto: avvisa chi gestisce il sito "
                "(SITE_TOOLS_DEBUG=1 mostra i dettagli tecnici).",
                err=True,
            )
            sys.exit(EXIT_CRASH)

    return wrapper


class Context:
    def __init__(self, config_path: Path | None):
        self.config_path = config_path
        self._config: TownConfig | None = None

    @property
    def config(self) -> TownConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


@click.group()
@click.version_option(__version__)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SITE_TOOLS_CONFIG",
    help="mkdocs.yml of the town (default: found from the current folder).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Bulletins of an Italian town hall: validate, build the site, publish."""
    ctx.obj = Context(config_path)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@pass_ctx
@friendly
def validate(ctx: Context, paths: tuple[Path, ...]) -> None:
    """Check the configuration and the bulletins; list every problem.

    With PATHS, report only on those files or folders (the rest of the
    content is still read, to check references and duplicates).
    """
    config = ctx.config
    extra = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.md")))]
    content = load_content(config, extra_files=extra)
    problems = content.problems_for(paths)
    if problems:
        raise InvalidContent(problems)
    checked = len(extra) if paths else len(content.bulletins)
    click.echo(f"Tutto in ordine: {checked} avvisi controllati, nessun problema.")


@main.command()
@click.option("--title", prompt="Titolo dell'avviso", help="Title of the bulletin.")
@click.option("--summary", prompt="Sintesi (il testo breve che arriva sui telefoni)", help="Short text for phones.")
@click.option("--category", prompt="Categoria", help="Category slug.")
@click.option(
    "--priority",
    type=click.Choice([p.value for p in Priority]),
    default=Priority.NORMAL.value,
    prompt="Priorità (normal o urgent)",
    show_choices=True,
)
@click.option("--date", "when", default=None, help="Publication date and time (default: now).")
@click.option("--type", "kind", type=click.Choice(["avviso", "notizia", "comunicato", "bando"]), default="avviso")
@pass_ctx
@friendly
def new(ctx: Context, title: str, summary: str, category: str, priority: str, when: str | None, kind: str) -> None:
    """Write a new bulletin with valid frontmatter under content/."""
    from datetime import datetime

    from site_tools.content.authoring import Draft, write_new
    from site_tools.content.dates import DateError

    config = ctx.config
    try:
        moment = (
            parse_datetime(when, config.timezone)
            if when
            else datetime.now(config.timezone).replace(second=0, microsecond=0)
        )
    except DateError as exc:
        raise click.BadParameter(f"{exc.message} {exc.fix}", param_hint="--date") from exc
    path = write_new(config, Draft(title.strip(), summary.strip(), category.strip(), Priority(priority), moment, kind))
    click.echo(f"Creato {path.relative_to(config.root).as_posix()}: aprilo e scrivi il testo completo.")


@main.command()
@click.option("--strict", is_flag=True, help="Fail on any warning, such as a broken link.")
@click.option(
    "--site-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the site (default: site/).",
)
@click.option("--now", "now_text", envvar="SITE_TOOLS_NOW", help="Build the site as it is at this time.")
@pass_ctx
@friendly
def build(ctx: Context, strict: bool, site_dir: Path | None, now_text: str | None) -> None:
    """Build the public site (MkDocs + mkdocs-material) into site/."""
    import time

    from site_tools.site.build import build_site

    config = ctx.config
    if now_text:
        os.environ["SITE_TOOLS_NOW"] = now_text
    started = time.monotonic()
    out = build_site(config.path, site_dir, strict)
    click.echo(f"Sito costruito in {out} ({time.monotonic() - started:.1f} s).")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@pass_ctx
@friendly
def serve(ctx: Context, host: str, port: int) -> None:
    """Preview the site at http://127.0.0.1:8000/, rebuilt on every save."""
    from site_tools.site.build import serve_site

    serve_site(ctx.config.path, host, port)


@main.command()
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
    from site_tools.store import Store

    config = ctx.config
    settings = Settings.from_env()
    if not settings.app_secret or not settings.verify_token:
        raise click.ClickException("mancano WHATSAPP_APP_SECRET e/o WHATSAPP_VERIFY_TOKEN nell'ambiente.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Store.open(db_url, default_dir=config.root / "data").close()  # migrate once, before serving
    service = Service(config, settings, lambda: Store.open(db_url, default_dir=config.root / "data"))
    click.echo(f"Servizio iscrizioni in ascolto su http://{host}:{port}/webhook", err=True)
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


@main.group()
def subscribers() -> None:
    """List subscribers: stats, import, GDPR export and erasure."""


def _number_arg(value: str) -> str:
    from site_tools.phones import normalize

    phone = normalize(value)
    if phone is None:
        raise click.BadParameter(f"«{value}» non è un numero di telefono valido.")
    return phone


@subscribers.command("stats")
@click.option("--db", "db_url", envvar="SITE_TOOLS_DB")
@pass_ctx
@friendly
def subscribers_stats(ctx: Context, db_url: str | None) -> None:
    """Active subscribers, joined and left per week, and the ratio to residents."""
    from site_tools.cli.subscribers import stats_text

    with store_for(ctx.config, db_url) as store:
        click.echo(stats_text(store, ctx.config))


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", "db_url", envvar="SITE_TOOLS_DB")
@pass_ctx
@friendly
def subscribers_import(ctx: Context, csv_file: Path, db_url: str | None) -> None:
    """Import an existing list (numbers with consent dates). Re-importing is harmless."""
    from site_tools.cli.subscribers import import_csv

    with store_for(ctx.config, db_url) as store:
        result = import_csv(store, ctx.config, csv_file)
    click.echo(f"Importati {result.added} nuovi iscritti; {result.already} erano già presenti.")
    if result.rejected:
        report(result.rejected)
        click.echo(f"{len(result.rejected)} righe NON importate: correggile e importa di nuovo il file.", err=True)
        sys.exit(EXIT_PROBLEMS)


@subscribers.command("export")
@click.argument("phone")
@click.option("--db", "db_url", envvar="SITE_TOOLS_DB")
@pass_ctx
@friendly
def subscribers_export(ctx: Context, phone: str, db_url: str | None) -> None:
    """GDPR access: everything stored about one number, as JSON."""
    from site_tools.cli.subscribers import export_json

    with store_for(ctx.config, db_url) as store:
        data = export_json(store, _number_arg(phone))
    if data is None:
        raise click.ClickException("nessun dato conservato per questo numero.")
    click.echo(data)


@subscribers.command("forget")
@click.argument("phone")
@click.option("--db", "db_url", envvar="SITE_TOOLS_DB")
@pass_ctx
@friendly
def subscribers_forget(ctx: Context, phone: str, db_url: str | None) -> None:
    """GDPR erasure: the number is deleted; delivery counts stay, anonymous."""
    from site_tools.phones import mask

    number = _number_arg(phone)
    with store_for(ctx.config, db_url) as store:
        found = store.forget(number)
    click.echo(f"{mask(number)}: " + ("dati cancellati." if found else "non era iscritto; nulla da cancellare."))


@main.command()
@click.option("--citizens", default=15000, show_default=True, type=int, help="Simulated citizens who subscribe.")
@click.option(
    "--rate",
    default=1000.0,
    show_default=True,
    type=float,
    help="Messages per second of the simulated number (WhatsApp: 80 by default, up to 1,000).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the demo keeps its SQLite store and site (default: data/demo, wiped at start).",
)
@click.option(
    "--serve/--no-serve", default=None, help="Serve the site at the end until Ctrl-C (default: on a terminal)."
)
@pass_ctx
@friendly
def demo(ctx: Context, citizens: int, rate: float, data_dir: Path | None, serve: bool | None) -> None:
    """The whole system on this machine: site, simulated citizens, an urgent bulletin, receipts."""
    from site_tools.devtools.demo import run_demo

    config = ctx.config
    summary = run_demo(
        config,
        citizens,
        rate,
        data_dir or config.root / "data" / "demo",
        sys.stdin.isatty() if serve is None else serve,
    )
    if summary.get("missing") or summary.get("duplicates"):
        sys.exit(EXIT_PROBLEMS)


def open_store(config: TownConfig, url: str | None = None) -> Store:
    from site_tools.store import Store

    return Store.open(url, default_dir=config.root / "data")


@contextlib.contextmanager
def store_for(config: TownConfig, url: str | None) -> Iterator[Store]:
    store = open_store(config, url)
    try:
        yield store
    finally:
        store.close()


@main.command()
@click.option(
    "--dry-run", is_flag=True, help="Show what would be sent, to whom, how long and at what cost; send nothing."
)
@click.option("--only", "only", metavar="ID", help="Publish only this bulletin.")
@click.option("--channel", type=click.Choice(list(CHANNELS)), help="Publish only to this channel.")
@click.option("--since", "since", metavar="REV", help="Git revision before the push: bulletins changed since are new.")
@click.option("--force", is_flag=True, help="Also send a bulletin dated more than --max-age-days ago.")
@click.option("--max-age-days", type=int, default=3, show_default=True)
@click.option("--rate", type=float, default=None, help="Messages per second to the list (default: WHATSAPP_MPS or 80).")
@click.option("--now", "now_text", envvar="SITE_TOOLS_NOW", help="Pretend it is this time (tests, previews).")
@click.option("--db", "db_url", envvar="SITE_TOOLS_DB", help="Store URL (default: data/site-tools.db).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option(
    "--stale-after",
    type=float,
    default=15.0,
    show_default=True,
    help="After a crash: seconds of silence before a dead run's unconfirmed sends are retried.",
)
@click.option(
    "--receipt-grace",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait for a delivery receipt before resending after a timeout.",
)
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="With --only: post again to Telegram/the Channel after an interrupted run (check the channel first).",
)
@pass_ctx
@friendly
def publish(
    ctx: Context,
    dry_run: bool,
    only: str | None,
    channel: str | None,
    since: str | None,
    force: bool,
    max_age_days: int,
    rate: float | None,
    now_text: str | None,
    db_url: str | None,
    progress: bool | None,
    stale_after: float,
    receipt_grace: float,
    resend_uncertain: bool,
) -> None:
    """Send new bulletins to every channel, once; urgent first."""
    from datetime import timedelta

    from site_tools import channels
    from site_tools.aio import run_loop
    from site_tools.cli.publish import changed_ids, print_dry_run, print_report
    from site_tools.content.dates import now as current_time
    from site_tools.delivery.fanout import FanOutOptions
    from site_tools.delivery.plan import make_plan, missing_secrets, validate_for_publishing
    from site_tools.delivery.publisher import Publisher
    from site_tools.render.links import Links
    from site_tools.settings import Settings

    config = ctx.config
    content = load_content(config, check_bodies=False)
    settings = Settings.from_env()
    store = open_store(config, db_url)
    try:
        now = current_time(config.timezone, now_text)
        new_ids = changed_ids(content, since, config.root) if since else None
        if resend_uncertain and not only:
            raise click.UsageError("--resend-uncertain vale per un avviso alla volta: aggiungi --only ID.")
        plan = make_plan(
            content,
            store,
            now,
            only=only,
            channel=channel,
            force=force,
            new_ids=new_ids,
            max_age=timedelta(days=max_age_days),
            resend_uncertain=resend_uncertain and not dry_run,
        )
        validate_for_publishing(content, plan)
        links = Links.for_bulletins(config, content.bulletins)
        by_name = channels.create(config, settings)
        rate = rate or settings.whatsapp_mps
        if dry_run:
            print_dry_run(plan, by_name, links, store, rate)
            return
        problems = missing_secrets(plan, by_name)
        if problems:
            raise InvalidContent(problems)
        show = sys.stderr.isatty() if progress is None else progress
        options = FanOutOptions(rate=rate, progress=show, stale_after=stale_after, unknown_grace=receipt_grace)
        publisher = Publisher(config, store, settings, links, options)
        report = run_loop(publisher.publish(plan))
        print_report(report, plan, config, rate)
        if not report.ok:
            sys.exit(EXIT_PROBLEMS)
    finally:
        store.close()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--now", "now_text", envvar="SITE_TOOLS_NOW")
@click.option("--recipients", type=int, default=None, help="Subscribers to assume (default: the store, if reachable).")
@click.option("--output", type=click.File("a"), default="-", help="Append to this file (e.g. $GITHUB_STEP_SUMMARY).")
@pass_ctx
@friendly
def preview(ctx: Context, paths: tuple[Path, ...], now_text: str | None, recipients: int | None, output) -> None:  # type: ignore[no-untyped-def]
    """Markdown preview of bulletins on every channel: text, counts, recipients, time, cost."""
    from site_tools.content.dates import now as current_time
    from site_tools.delivery.preview import preview_markdown
    from site_tools.settings import Settings

    config = ctx.config
    # Site pages (home, privacy…) may change in the same pull request: only bulletins are previewed.
    bulletins = config.bulletins_path.resolve()
    existing = [p for p in paths if p.is_file() and p.suffix == ".md" and bulletins in p.resolve().parents]
    content = load_content(config, extra_files=existing)
    problems = content.problems_for(existing) if existing else []
    if problems:
        raise InvalidContent(problems)
    settings = Settings.from_env()
    if recipients is None and settings.db_url:
        with store_for(config, settings.db_url) as store:
            recipients = store.subscribers.count_active()
    output.write(preview_markdown(content, existing, current_time(config.timezone, now_text), recipients, settings))


@main.command()
@click.argument("bulletin_id")
@click.option("--db", "db_url", envvar="SITE_TOOLS_DB")
@pass_ctx
@friendly
def deliveries(ctx: Context, bulletin_id: str, db_url: str | None) -> None:
    """Counts per channel for one bulletin: sent, delivered, read, failed by reason."""
    from site_tools.cli.publish import print_deliveries

    with store_for(ctx.config, db_url) as store:
        if not print_deliveries(store, bulletin_id):
            raise click.ClickException(f"nessuna pubblicazione registrata per «{bulletin_id}».")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int)
@click.option("--mps", default=80.0, show_default=True, type=float, help="Throughput cap, messages per second.")
@click.option("--latency", default=0.150, show_default=True, type=float, help="Seconds before each answer.")
@click.option("--daily-limit", type=int, default=None, help="Unique recipients per 24 h (messaging limit tier).")
@click.option("--error-rate", type=float, default=0.0, help="Share of 5xx answers.")
@click.option("--timeout-rate", type=float, default=0.0, help="Share of requests never answered.")
@click.option("--drop-rate", type=float, default=0.0, help="Share of connections dropped.")
@click.option("--undeliverable-suffix", default=None, help="Numbers ending so fail later with 131026.")
@click.option("--webhook-url", default=None, help="Where to post status webhooks (the subscriptions service).")
@click.option("--app-secret", envvar="WHATSAPP_APP_SECRET", default="sim-app-secret", show_default=True)
def simulator(
    host: str,
    port: int,
    mps: float,
    latency: float,
    daily_limit: int | None,
    error_rate: float,
    timeout_rate: float,
    drop_rate: float,
    undeliverable_suffix: str | None,
    webhook_url: str | None,
    app_secret: str,
) -> None:
    """A local WhatsApp Cloud API, Channel gateway and Telegram Bot API, for demos and tests."""
    from site_tools.devtools.simulator import SimConfig, run

    run(
        SimConfig(
            mps=mps,
            latency=latency,
            daily_limit=daily_limit,
            error_rate=error_rate,
            timeout_rate=timeout_rate,
            drop_rate=drop_rate,
            undeliverable_suffix=undeliverable_suffix,
            webhook_url=webhook_url,
            app_secret=app_secret,
        ),
        host=host,
        port=port,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
