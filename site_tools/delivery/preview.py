"""``site-tools preview``: how each changed bulletin will look on every channel (Markdown for PR summaries)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from site_tools import channels
from site_tools.channels.base import Channel
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import CHANNELS
from site_tools.content.loading import Content
from site_tools.delivery.plan import channels_for
from site_tools.formatting import number
from site_tools.render.links import Links
from site_tools.settings import Settings


def preview_markdown(
    content: Content, paths: list[Path], now: datetime, recipients: int | None, settings: Settings
) -> str:
    config = content.config
    wanted = {p.resolve() for p in paths}
    chosen = [b for b in content.bulletins if b.path.resolve() in wanted]
    links = Links.for_bulletins(config, content.bulletins)
    by_name = channels.create(config, settings)
    estimated = recipients is None
    count = recipients if recipients is not None else config.population // 4
    who = f"{'circa ' if estimated else ''}{number(count)} iscritti{' (stima: un residente su quattro)' if estimated else ''}"
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
        routed = channels_for(b, config)
        for name in routed:
            out += channel_section(by_name[name], b, links, count, settings.whatsapp_mps, who)
        skipped = [CHANNELS[c] for c in config.enabled_channels() if c not in routed]
        if skipped:
            out += [
                f"Non va su: {', '.join(skipped)} (instradamento per categoria; «priority: urgent» lo manda ovunque).",
                "",
            ]
    return "\n".join(out) + "\n"


def channel_section(channel: Channel, b: Bulletin, links: Links, audience: int, rate: float, who: str) -> list[str]:
    rendered = channel.render(b, links)
    estimate = channel.estimate(b, audience, rate)
    fence = "html" if rendered.markup == "html" else "text"
    return [
        f"**{channel.label}** – {rendered.facts}; {estimate.describe(who)}",
        "",
        f"```{fence}",
        "\n\n— — —\n\n".join(rendered.parts),
        "```",
        "",
    ]
