"""``site-tools publish`` and ``site-tools deliveries``: the text people read."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from site_tools.channels.base import Channel
from site_tools.cli.common import EXIT_PROBLEMS, Context, friendly, pass_ctx, store_for
from site_tools.content.config import CHANNELS, TownConfig
from site_tools.content.loading import Content, load_content
from site_tools.content.problems import InvalidContent
from site_tools.delivery.fanout import FanOutReport
from site_tools.delivery.plan import Plan
from site_tools.delivery.publisher import PublishReport
from site_tools.formatting import euro
from site_tools.render.links import Links
from site_tools.store import Store


def changed_ids(content: Content, rev: str, root: Path) -> set[str]:
    """Ids of the bulletins added or modified since ``rev`` (the push's "before" commit)."""
    try:
        out = subprocess.run(
            ["git", "diff", "--name-only", "--diff-filter=AMR", rev, "HEAD", "--", str(content.config.bulletins_path)],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        raise click.ClickException(f"non riesco a leggere le modifiche da {rev} (git diff): {exc}") from exc
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    paths = {(Path(top) / line).resolve() for line in out.splitlines() if line.strip()}
    return {r.id for r in content.records if r.id and r.path.resolve() in paths}


def print_dry_run(plan: Plan, by_name: dict[str, Channel], links: Links, store: Store, rate: float) -> None:
    if plan.historical:
        click.echo(
            f"Primo avvio: {len(plan.historical)} avvisi già presenti verrebbero segnati come storici (non inviati)."
        )
    active = store.subscribers.count_active()
    for item in plan.items:
        b = item.bulletin
        click.echo(f"\n=== {b.id} {'(URGENTE) ' if b.urgent else ''}→ {', '.join(CHANNELS[c] for c in item.channels)}")
        for name in item.channels:
            channel = by_name[name]
            rendered = channel.render(b, links)
            click.echo(f"--- {channel.label}: {rendered.facts}; {channel.estimate(b, active, rate).describe()}")
            click.echo("\n\n[…]\n\n".join(rendered.parts))
    _print_plan_notes(plan)
    if not plan.items:
        click.echo("Niente da pubblicare adesso.")


def _print_plan_notes(plan: Plan) -> None:
    for b, why in plan.refused:
        click.echo(f"✗ {b.id}: non inviato, {why}. Se va davvero inviato usa --force --only {b.id}.", err=True)
    for b, channel in plan.uncertain:
        click.echo(
            f"? {b.id} su {CHANNELS[channel]}: un invio precedente si è interrotto e l'esito è incerto. "
            "Controlla il canale: se il messaggio non c'è, ripubblica con "
            f"«site-tools publish --only {b.id} --channel {channel} --resend-uncertain».",
            err=True,
        )
    if plan.waiting:
        first = plan.waiting[0]
        click.echo(
            f"In attesa: {len(plan.waiting)} avvisi programmati; il prossimo è {first.id} "
            f"({first.date:%d/%m/%Y %H:%M})."
        )


def print_report(report: PublishReport, plan: Plan, config: TownConfig, rate: float) -> None:
    if report.historical:
        click.echo(f"Primo avvio: {report.historical} avvisi già presenti segnati come storici, nessuno inviato.")
    for result in report.results:
        mark = {"done": "✔", "manual": "✍", "skipped": "·", "paused": "‖", "waiting": "…"}.get(result.state, "✗")
        line = f"{mark} {result.bulletin_id} → {CHANNELS[result.channel]}: {result.state}"
        if result.report:
            line += " — " + fanout_summary(result.report, config)
        elif result.detail:
            line += f" — {result.detail}"
        click.echo(line, err=result.state not in ("done", "manual", "skipped", "waiting"))
        if result.post:
            click.echo("  Testo per il Canale WhatsApp (copialo e incollalo dall'app, poi attiva la campanella):")
            click.echo("  " + result.post.replace("\n", "\n  "))
    _print_plan_notes(plan)
    if not report.results and not report.historical:
        click.echo("Niente da pubblicare adesso.")


def fanout_summary(r: FanOutReport, config: TownConfig) -> str:
    failed = sum(r.failed.values())
    parts = [f"{r.accepted} accettati su {r.recipients}", f"{r.seconds:.1f} s", f"{r.rate:.0f} msg/s"]
    if failed:
        reasons = ", ".join(f"{code}: {n}" for code, n in r.failed.most_common())
        parts.append(f"{failed} non recapitabili ({reasons})")
    if r.skipped:
        parts.append(f"{r.skipped} disiscritti durante l'invio")
    if r.reconciled:
        parts.append(f"{r.reconciled} con esito incerto ripresi")
    if r.reason:
        parts.append(r.reason)
    parts.append(f"costo stimato {euro(r.accepted * config.price_per_template)}")
    return "; ".join(parts)


def print_deliveries(store: Store, bulletin_id: str) -> bool:
    pubs = store.ledger.publications(bulletin_id)
    counts = store.ledger.delivery_counts(bulletin_id)
    if not pubs and not counts:
        return False
    for pub in pubs:
        click.echo(
            f"{CHANNELS.get(pub.channel, pub.channel)}: {pub.state} ({pub.mode})"
            + (f" — {pub.detail}" if pub.detail else "")
        )
        for state, n in sorted(counts.get(pub.channel, {}).items()):
            click.echo(f"  {state:>14}: {n}")
    return True


@click.command()
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
def publish(ctx: Context, **options: Any) -> None:
    """Send new bulletins to every channel, once; urgent first."""
    run_publish(ctx.config, PublishOptions(**options))


@dataclass(frozen=True)
class PublishOptions:
    dry_run: bool
    only: str | None
    channel: str | None
    since: str | None
    force: bool
    max_age_days: int
    rate: float | None
    now_text: str | None
    db_url: str | None
    progress: bool | None
    stale_after: float
    receipt_grace: float
    resend_uncertain: bool


def run_publish(config: TownConfig, o: PublishOptions) -> None:
    from site_tools import channels
    from site_tools.aio import run_loop
    from site_tools.content.dates import now as current_time
    from site_tools.delivery.fanout import FanOutOptions
    from site_tools.delivery.plan import make_plan, missing_secrets, validate_for_publishing
    from site_tools.delivery.publisher import Publisher
    from site_tools.settings import Settings

    if o.resend_uncertain and not o.only:
        raise click.UsageError("--resend-uncertain vale per un avviso alla volta: aggiungi --only ID.")
    settings = Settings.from_env()
    with store_for(config, o.db_url) as store:
        # Only new or changed bulletins are parsed: the rest comes from the store, by content hash (issue 17).
        content = load_content(config, check_bodies=False, cache=store.parsed)
        plan = make_plan(
            content,
            store,
            current_time(config.timezone, o.now_text),
            only=o.only,
            channel=o.channel,
            force=o.force,
            new_ids=changed_ids(content, o.since, config.root) if o.since else None,
            max_age=timedelta(days=o.max_age_days),
            resend_uncertain=o.resend_uncertain and not o.dry_run,
        )
        validate_for_publishing(content, plan)
        links = Links.for_bulletins(config, content.bulletins)
        by_name = channels.create(config, settings)
        rate = o.rate or settings.whatsapp_mps
        if o.dry_run:
            print_dry_run(plan, by_name, links, store, rate)
            return
        problems = missing_secrets(plan, by_name)
        if problems:
            raise InvalidContent(problems)
        show = sys.stderr.isatty() if o.progress is None else o.progress
        options = FanOutOptions(rate=rate, progress=show, stale_after=o.stale_after, unknown_grace=o.receipt_grace)
        report = run_loop(Publisher(config, store, settings, links, options).publish(plan))
        print_report(report, plan, config, rate)
    if not report.ok:
        sys.exit(EXIT_PROBLEMS)


@click.command()
@click.argument("bulletin_id")
@click.option("--db", "db_url", envvar="SITE_TOOLS_DB")
@pass_ctx
@friendly
def deliveries(ctx: Context, bulletin_id: str, db_url: str | None) -> None:
    """Counts per channel for one bulletin: sent, delivered, read, failed by reason."""
    with store_for(ctx.config, db_url) as store:
        if not print_deliveries(store, bulletin_id):
            raise click.ClickException(f"nessuna pubblicazione registrata per «{bulletin_id}».")
