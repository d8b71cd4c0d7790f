"""Sending the weekly digest: to the subscribers who chose «settimanale», once a week, once each.

The digest of an ISO week is a publication of its own in the ledger, under the id ``riepilogo-2026-W50``
(:attr:`~site_tools.render.digest.Week.id`), on the ``whatsapp_list`` channel; the fan-out's claim on each
recipient (``ON CONFLICT DO NOTHING``) makes it exactly-once and resumable, as for a bulletin and the Channel
invitation: a crash or a second run sends only to those not yet served, a finished week sends nothing again. An
empty week is recorded as ``skipped`` (nothing sent, nothing to resume).

Meta's marketing rules (docs/reference/messaging-apis.md, «Marketing messages»): the message goes to
``/<PHONE_NUMBER_ID>/marketing_messages`` when the town has that API (``extra.town.digest.marketing_api``); a
131049 (the citizen's marketing cap) defers that citizen by 24 hours, not counted as a failure; a 131050 (the
citizen stopped marketing messages) moves the citizen from «settimanale» to «urgenti»: never a digest again, the
urgent bulletins still, and staff see how many in ``site-tools digest preview``.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from site_tools.channels.base import FanOutReport
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.dates import format_it
from site_tools.content.town import Digest
from site_tools.delivery.fanout import FanOut, FanOutOptions
from site_tools.render import digest as render
from site_tools.settings import Settings, reveal
from site_tools.store import Store
from site_tools.store.choices import URGENT_ONLY, receives

CHANNEL = "whatsapp_list"
#: The digest's audience: those whose choice receives it (``settimanale``).
AUDIENCE = receives("digest")
#: Meta's code for «the citizen stopped marketing messages».
STOPPED_MARKETING = 131050
#: A digest not started this long after its moment (the service was down) is not started by the clock: its events
#: may be over by then, and the next one follows within days. Staff may still send it by hand.
LATE_LIMIT = timedelta(hours=24)
#: The preview shows the next digest when it is due within this long (the day before, with a margin).
PREVIEW_AHEAD = timedelta(hours=36)


def endpoint(digest: Digest) -> str:
    return "marketing_messages" if digest.marketing_api else "messages"


@dataclass(frozen=True)
class DigestOutcome:
    week: render.Week
    #: ``done``, ``waiting`` (some deferred by 131049), ``failed``, ``paused``, ``skipped`` (empty week), ``already``
    #: (finished before), ``busy`` (another run holds it), ``held`` (over the cost ceiling, not approved), ``late``
    #: (not started by :data:`LATE_LIMIT` after its moment: the clock leaves it).
    state: str
    detail: str = ""
    report: FanOutReport | None = None


def run_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


async def send_week(
    store: Store,
    config: TownConfig,
    settings: Settings,
    bulletins: list[Bulletin],
    week: render.Week,
    options: FanOutOptions | None = None,
    approve_cost: bool = False,
) -> DigestOutcome:
    """Send (or resume) the digest of ``week``: nothing when it is empty or already finished; held (not started)
    when its cost is over the town's ceiling and nobody approved it."""
    from site_tools.channels.cloud_api import WhatsAppCloud  # aiohttp: only when something is sent

    digest = config.digest
    assert digest is not None, "no extra.town.digest"
    content = render.select(bulletins, week, digest)
    over = None if approve_cost else over_ceiling(store, config, week, len(content.items))
    if over:
        return DigestOutcome(week, "held", over)
    if not store.ledger.claim_publication(week.id, CHANNEL, "api", "normal", shared=True):
        held = store.ledger.publication(week.id, CHANNEL)
        state = held.state if held else "busy"
        return DigestOutcome(week, "already" if state in ("done", "skipped") else "busy", state)
    if content.empty:
        store.ledger.finish_publication(week.id, CHANNEL, "skipped", "settimana vuota: nessun riepilogo", recipients=0)
        return DigestOutcome(week, "skipped", "settimana vuota: nessun riepilogo")
    message = render.message(content, config, digest)
    opts = options or FanOutOptions(
        rate=config.whatsapp_rate(settings.whatsapp_mps), number_id=settings.whatsapp_phone_number_id or None
    )
    opts.choices, opts.marketing = AUDIENCE, True
    rid = run_id()
    store.ledger.start_run(rid, os.getpid())
    async with WhatsAppCloud(
        settings.whatsapp_api_url,
        settings.whatsapp_phone_number_id or "",
        reveal(settings.whatsapp_token),
        timeout=settings.http_timeout,
        endpoint=endpoint(digest),
    ) as cloud:
        report = await FanOut(store, cloud, rid, opts).run(week.id, message.payload, "normal", CHANNEL)
    state = report.state if report.state in ("failed", "paused", "waiting") else "done"
    store.ledger.finish_publication(week.id, CHANNEL, state, report.reason or None, recipients=report.recipients)
    return DigestOutcome(week, state, report.reason or "", report)


async def send_due(
    store: Store, config: TownConfig, settings: Settings, bulletins: list[Bulletin], now: datetime,
    options: FanOutOptions | None = None, approve_cost: bool = False,
) -> DigestOutcome | None:  # fmt: skip
    """What the service's clock (through ``publish``) calls at every run: the digest due now, if any and not
    finished. None when the town has no digest or no list."""
    if config.digest is None or config.whatsapp is None:
        return None
    week = render.due_week(now, config, config.digest)
    held = store.ledger.publication(week.id, CHANNEL)
    if held is not None and held.state in ("done", "skipped"):
        return None  # finished (a run that died while ``sending`` is resumed: the claims are shared)
    if not _adopted_before(store, week):
        return None  # the digest due when the town adopted the tool (or earlier) is not sent late
    if held is None and now - week.send_at > LATE_LIMIT:
        return DigestOutcome(
            week,
            "late",
            f"non partito: era previsto {format_it(week.send_at, config.timezone)}, più di 24 ore fa (il servizio era "
            f"fermo?). Il prossimo parte all'ora solita; per mandare comunque questo, sul server del servizio: "
            f"«site-tools digest send --week {week.key}»",
        )
    return await send_week(store, config, settings, bulletins, week, options, approve_cost)


def over_ceiling(store: Store, config: TownConfig, week: render.Week, items: int) -> str | None:
    """The town's cost ceiling per send (``extra.town.cost_ceiling_eur``), as for a bulletin: a digest over it is
    not started without approval (one already started was decided: it is resumed). None when it may go."""
    from site_tools.formatting import count, euro

    ceiling, digest = config.cost_ceiling_eur, config.digest
    if ceiling is None or digest is None or not items or store.ledger.publication(week.id, CHANNEL) is not None:
        return None
    recipients = store.ledger.owed_to_active(week.id, CHANNEL, AUDIENCE)
    estimate = render.cost(recipients, items, config, digest).digest_eur
    if estimate <= ceiling:
        return None
    return (
        f"non inviato: {count(recipients, 'iscritto', 'iscritti')}, costo stimato {euro(estimate)}, oltre il tetto "
        f"di spesa di {euro(ceiling)} (extra.town.cost_ceiling_eur). Se va inviato, approva la spesa: sul server "
        f"del servizio, «site-tools digest send --week {week.key} --approve-cost»"
    )


def _adopted_before(store: Store, week: render.Week) -> bool:
    """Only digests due after the store adopted the site: a first run never sends an old week's digest."""
    adoption = store.ledger.adoption()
    return adoption is not None and adoption.adopted_at <= week.send_at.timestamp()


@dataclass(frozen=True)
class Preview:
    content: render.DigestContent
    message: render.DigestMessage | None
    recipients: int
    cost: render.Cost
    stopped_marketing: int


def preview(store: Store | None, config: TownConfig, bulletins: list[Bulletin], week: render.Week) -> Preview:
    """What the digest of ``week`` holds and costs (recipients from the store, or a quarter of the residents)."""
    digest = config.digest
    assert digest is not None
    content = render.select(bulletins, week, digest)
    recipients = store.subscribers.count_active(AUDIENCE) if store else config.population // 4
    # Those the 131050 moved to «urgenti» and still there: on the list, without the digest.
    stopped = store.ledger.failed_with(render.ID_PREFIX, CHANNEL, STOPPED_MARKETING, (URGENT_ONLY,)) if store else 0
    message = None if content.empty else render.message(content, config, digest)
    return Preview(content, message, recipients, render.cost(recipients, len(content.items), config, digest), stopped)


def describe(p: Preview, config: TownConfig, estimated: bool = False) -> list[str]:
    """The digest's preview in Markdown (Italian): the pull request's check, the job summary, ``digest preview``."""
    from site_tools.formatting import count, euro

    digest = config.digest
    assert digest is not None
    week = p.content.week
    out = [f"### {render.title(week)}", "", f"Parte {format_it(week.send_at, config.timezone)} · sul sito: "
           f"{config.site_url}{week.url_path}", ""]  # fmt: skip
    if p.message is None:
        out += ["Settimana vuota: il riepilogo non parte.", ""]
    else:
        out += [f"Modello «{p.message.name}» (marketing), a chi ha scelto «settimanale»:", "", "```text",
                p.message.text, "```", ""]  # fmt: skip
    for b, why in p.content.left_out:
        out.append(f"- escluso: {b.title} ({why})")
    if p.content.left_out:
        out.append("")
    who = f"{'circa ' if estimated else ''}{count(p.recipients, 'iscritto', 'iscritti')}"
    c = p.cost
    out.append(
        f"**Costo** per {who}: il riepilogo {euro(c.digest_eur)} (un messaggio di marketing a testa, "
        f"{euro(digest.price_per_marketing)}); gli stessi {count(c.bulletins, 'avviso', 'avvisi')} mandati uno per "
        f"uno {euro(c.separate_eur)} ({euro(config.price_per_template)} a messaggio): "
        + (f"risparmio {euro(c.saving_eur)}." if c.saving_eur >= 0 else f"costa {euro(-c.saving_eur)} in più.")
    )
    if p.stopped_marketing:
        out += ["", f"⚠️ {count(p.stopped_marketing, 'iscritto ha', 'iscritti hanno')} bloccato i messaggi di "
                "marketing (131050): non ricevono più il riepilogo, solo gli avvisi urgenti."]  # fmt: skip
    return [*out, ""]
