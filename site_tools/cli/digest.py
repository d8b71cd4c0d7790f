"""``site-tools digest``: the weekly digest of the WhatsApp list — preview (what it holds, what it costs) and send.

The service's clock sends it by itself (every ``publish`` run sends the digest due, once); ``send`` is for staff
who want it now, or to resume it by hand.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from site_tools.cli.common import EXIT_PROBLEMS, Context, db_option, friendly, pass_ctx, store_for
from site_tools.content.config import TownConfig
from site_tools.content.loading import load_content
from site_tools.content.town import Digest

if TYPE_CHECKING:
    from site_tools.delivery.digest import DigestOutcome
    from site_tools.render.digest import Week


def _digest(config: TownConfig) -> Digest:
    if config.digest is None or config.whatsapp is None:
        raise click.ClickException(
            "il riepilogo settimanale non è configurato: aggiungi in extra.town di mkdocs.yml «digest: {}» (e la "
            "lista «whatsapp»), poi «site-tools whatsapp templates --submit» e attendi che Meta approvi i modelli."
        )
    return config.digest


def _week(config: TownConfig, digest: Digest, week_key: str | None, now: datetime, upcoming: bool) -> Week:
    from site_tools.render.digest import due_week, next_week, week_by_key

    if week_key:
        week = week_by_key(week_key, config, digest)
        if week is None:
            raise click.BadParameter(
                f"«{week_key}» non è una settimana: scrivi per esempio 2026-W50.", param_hint="--week"
            )
        return week
    return next_week(now, config, digest) if upcoming else due_week(now, config, digest)


@click.group()
def digest() -> None:
    """Il riepilogo settimanale della lista WhatsApp (a chi ha scelto «settimanale»)."""


@digest.command("preview")
@click.option("--week", "week_key", metavar="AAAA-Wnn", help="La settimana (es. 2026-W50). Se manca: la prossima.")
@click.option("--now", "now_text", metavar="DATA", help="Fai finta che ora sia questa data (AAAA-MM-GG HH:MM).")
@click.option(
    "--recipients",
    type=click.IntRange(min=0),
    default=None,
    help="Quanti iscritti conteggiare per il costo (es. 15000). Se manca: chi ha scelto «settimanale» nel registro.",
)
@db_option
@pass_ctx
@friendly
def digest_preview(
    ctx: Context, week_key: str | None, now_text: str | None, recipients: int | None, db_url: str | None
) -> None:
    """Cosa conterrà il riepilogo, il messaggio com'è, e quanto costa rispetto agli stessi avvisi uno per uno."""
    from dataclasses import replace

    from site_tools.content.dates import now as current_time
    from site_tools.delivery.digest import describe, preview
    from site_tools.render.digest import cost

    config = ctx.config
    dig = _digest(config)
    week = _week(config, dig, week_key, current_time(config.timezone, now_text), upcoming=True)
    bulletins = load_content(config, check_bodies=False).bulletins
    with store_for(config, db_url) as store:
        shown = preview(store, config, bulletins, week)
    if recipients is not None:
        shown = replace(shown, recipients=recipients, cost=cost(recipients, len(shown.content.items), config, dig))
    click.echo("\n".join(describe(shown, config)))


@digest.command("send")
@click.option(
    "--week", "week_key", metavar="AAAA-Wnn", help="La settimana (es. 2026-W50). Se manca: quella dovuta ora."
)
@click.option("--now", "now_text", metavar="DATA", hidden=True, help="Fai finta che ora sia questa data.")
@click.option("--rate", type=float, default=None, help="Messaggi al secondo (se manca: WHATSAPP_MPS).")
@click.option("--progress/--no-progress", default=False, help="Barra di avanzamento.")
@click.option("--approve-cost", is_flag=True, help="Invia anche se il costo stimato supera il tetto di spesa.")
@db_option
@pass_ctx
@friendly
def digest_send(
    ctx: Context,
    week_key: str | None,
    now_text: str | None,
    rate: float | None,
    progress: bool,
    approve_cost: bool,
    db_url: str | None,
) -> None:
    """Invia (o riprende) il riepilogo: a ciascuno una volta sola; nulla se la settimana è vuota o se è già partito."""
    from site_tools.aio import run_loop
    from site_tools.content.dates import now as current_time
    from site_tools.delivery.digest import send_week
    from site_tools.delivery.fanout import FanOutOptions
    from site_tools.settings import current

    config = ctx.config
    dig = _digest(config)
    now = current_time(config.timezone, now_text)
    week = _week(config, dig, week_key, now, upcoming=False)
    if week.send_at > now:
        raise click.ClickException(f"il riepilogo della settimana {week.key} parte solo dal {week.send_at:%d/%m/%Y alle %H:%M}.")  # fmt: skip
    settings = current()
    if not (settings.whatsapp_token and settings.whatsapp_phone_number_id):
        raise click.ClickException("mancano WHATSAPP_TOKEN o WHATSAPP_PHONE_NUMBER_ID: impostali come per la pubblicazione.")  # fmt: skip
    bulletins = load_content(config, check_bodies=False).bulletins
    options = FanOutOptions(
        rate=config.whatsapp_rate(rate or settings.whatsapp_mps),
        number_id=settings.whatsapp_phone_number_id or None,
        progress=progress,
    )
    with store_for(config, db_url) as store:
        outcome = run_loop(send_week(store, config, settings, bulletins, week, options, approve_cost))
    click.echo(say(outcome), err=outcome.state in PROBLEMS)
    if outcome.state in PROBLEMS:
        sys.exit(EXIT_PROBLEMS)


#: The outcomes that fail the command (and the publish run): staff must look.
PROBLEMS = ("failed", "paused", "held")


def say(outcome: DigestOutcome) -> str:
    """One Italian line for staff and the job summary."""
    from site_tools.formatting import number

    head = f"Riepilogo {outcome.week.key}"
    if outcome.state in ("held", "late"):
        return f"⚠ {head}: {outcome.detail}"
    if outcome.state == "skipped":
        return f"{head}: settimana vuota, non è partito."
    if outcome.state == "already":
        return f"{head}: già inviato, nulla da fare."
    if outcome.state == "busy":
        return f"{head}: in corso in un'altra esecuzione ({outcome.detail})."
    r = outcome.report
    failed = sum(r.failed.values()) if r else 0
    sent = f"{number(r.accepted if r else 0)} inviati" + (f", {number(failed)} non riusciti" if failed else "")
    if outcome.state == "done":
        return f"{head}: {sent}."
    return f"{head}: {sent}; non concluso ({outcome.detail or outcome.state}): riprende al prossimo avvio."
