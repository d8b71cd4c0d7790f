"""``site-tools preview``: how each changed bulletin will look on every channel (Markdown for PR summaries)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from site_tools import channels
from site_tools.channels.base import Channel
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import CHANNELS
from site_tools.content.loading import Content
from site_tools.delivery.audience import describe as describe_audience
from site_tools.delivery.audience import reached
from site_tools.delivery.plan import DEFAULT_MAX_AGE, channels_for
from site_tools.formatting import count
from site_tools.render.links import Links
from site_tools.render.reader import as_read
from site_tools.settings import Settings


def preview_markdown(
    content: Content,
    paths: list[Path],
    now: datetime,
    recipients: int | None,
    settings: Settings,
    by_choice: Mapping[str, int] | None = None,
) -> str:
    """``by_choice``: the active subscribers by choice (store/choices.py), when the store is at hand; each bulletin
    then counts only the choices it reaches. Otherwise every subscriber (``recipients``, or an estimate) gets it."""
    config = content.config
    wanted = {p.resolve() for p in paths}
    chosen = [b for b in content.bulletins if b.path.resolve() in wanted]
    links = Links.for_bulletins(config, content.bulletins)
    by_name = channels.create(config, settings)
    estimated = recipients is None
    assumed = recipients if recipients is not None else config.population // 4
    who = f"{'circa ' if estimated else ''}{count(assumed, 'iscritto', 'iscritti')}"
    who += " (stima: un residente su quattro)" if estimated else ""
    out = ["## Anteprima degli avvisi", ""]
    if not chosen:
        out.append("Nessun avviso modificato in questa richiesta.")
    for b in sorted(chosen, key=lambda b: (not b.urgent, b.date)):
        when = "subito al merge" if b.date <= now else f"programmato per il {b.date:%d/%m/%Y alle %H:%M}"
        if b.draft:
            when = "bozza: non verrà pubblicato"
        out += [
            f"### {'🔴 URGENTE – ' if b.urgent else ''}{b.title}",
            "",
            f"`{b.path.relative_to(config.root).as_posix()}` · {when} · sul sito: {links.page(b)}",
            "",
        ]
        warning = date_warning(b, now)
        out += [warning, ""] if warning else []
        routed = channels_for(b, config)
        audience, reach = assumed, who
        if by_choice is not None:
            audience, reach = reached(by_choice, b.urgent), describe_audience(by_choice, b.urgent)
        for name in routed:
            out += channel_section(
                by_name[name], b, links, audience, config.whatsapp_rate(settings.whatsapp_mps), reach
            )
        skipped = [CHANNELS[c] for c in config.enabled_channels() if c not in routed]
        if skipped:
            out += [
                f"Non va su: {', '.join(skipped)} (instradamento per categoria; «priority: urgent» lo manda ovunque).",
                "",
            ]
    out += digest_section(content, now)
    return "\n".join(out) + "\n"


def digest_section(content: Content, now: datetime) -> list[str]:
    """The weekly digest, the day before it leaves (within :data:`~site_tools.delivery.digest.PREVIEW_AHEAD`): what
    it will hold with the bulletins of this pull request, and its cost against sending them one by one."""
    from site_tools.delivery import digest
    from site_tools.render.digest import next_week

    config = content.config
    if config.digest is None or config.whatsapp is None:
        return []
    week = next_week(now, config, config.digest)
    if week.send_at - now > digest.PREVIEW_AHEAD:
        return []
    shown = digest.preview(None, config, content.bulletins, week)
    return ["## Anteprima del riepilogo settimanale", "", *digest.describe(shown, config, estimated=True)]


def channel_section(channel: Channel, b: Bulletin, links: Links, audience: int, rate: float, who: str) -> list[str]:
    rendered = channel.render(b, links)
    estimate = channel.estimate(b, audience, rate)
    head = [f"**{channel.label}** – {rendered.facts}; {estimate.describe(who)}", ""]
    if rendered.markup == "html":  # as the reader sees it: bold as bold, links as links, no tags
        return head + ["\n\n— — —\n\n".join(as_read(part) for part in rendered.parts), ""]
    return head + ["```text", "\n\n— — —\n\n".join(rendered.parts), "```", ""]


def date_warning(b: Bulletin, now: datetime) -> str | None:
    """A dated bulletin merged more than the publisher's limit after its date is refused: say so before the merge."""
    if b.dated_at_merge or b.draft or b.date > now:
        return None
    deadline = b.date + DEFAULT_MAX_AGE
    if deadline > now + timedelta(days=1):
        return None
    late = "è già passato" if deadline <= now else "manca meno di un giorno"
    return (
        f"⚠️ La data dell'avviso è {b.date:%d/%m/%Y %H:%M}: se viene unito dopo il {deadline:%d/%m/%Y alle %H:%M} "
        f"(più di {DEFAULT_MAX_AGE.days} giorni dopo la data: {late}) non parte. Togli la riga «date:» "
        "perché abbia la data del merge, o scrivi la data in cui deve uscire."
    )
