"""``site-tools publish`` and ``site-tools deliveries``: the text people read."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

from site_tools.channels.base import Channel
from site_tools.content.config import CHANNELS, TownConfig
from site_tools.content.loading import Content
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
        mark = {"done": "✔", "manual": "✍", "skipped": "·", "paused": "‖"}.get(result.state, "✗")
        line = f"{mark} {result.bulletin_id} → {CHANNELS[result.channel]}: {result.state}"
        if result.report:
            line += " — " + fanout_summary(result.report, config)
        elif result.detail:
            line += f" — {result.detail}"
        click.echo(line, err=result.state not in ("done", "manual", "skipped"))
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
