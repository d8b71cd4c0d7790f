"""``site-tools preview``: how each changed bulletin will look on every channel (Markdown for PR summaries)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .config import CHANNELS, TownConfig
from .content import Content
from .formatting import number
from .publish_cli import estimate
from .publisher import channels_for
from .render.channel_post import render_channel_post
from .render.links import Links
from .render.telegram import render_telegram, visible_length
from .render.whatsapp_template import render_template


def preview_markdown(content: Content, paths: list[Path], now: datetime, recipients: int | None, rate: float) -> str:
    config = content.config
    wanted = {p.resolve() for p in paths}
    chosen = [b for b in content.bulletins if b.path.resolve() in wanted]
    links = Links.for_bulletins(config, content.bulletins)
    estimated = recipients is None
    count = recipients if recipients is not None else config.population // 4
    out = ["## Anteprima degli avvisi", ""]
    if not chosen:
        out.append("Nessun avviso modificato in questa richiesta.")
    for b in sorted(chosen, key=lambda b: (not b.urgent, b.date)):
        when = "subito al merge" if b.date <= now else f"programmato per il {b.date:%d/%m/%Y alle %H:%M}"
        if b.draft:
            when = "bozza: non verrà pubblicato"
        out += [f"### {'🔴 URGENTE – ' if b.urgent else ''}{b.title}", "",
                f"`{b.path.relative_to(config.root).as_posix()}` · {when} · sul sito: {links.page(b)}", ""]
        for channel in channels_for(b, config):
            out += _channel(config, b, channel, links, count, estimated, rate)
        skipped = [CHANNELS[c] for c in config.enabled_channels() if c not in channels_for(b, config)]
        if skipped:
            out += [f"Non va su: {', '.join(skipped)} (instradamento per categoria; «priority: urgent» lo manda ovunque).", ""]
    return "\n".join(out) + "\n"


def _channel(config: TownConfig, b, channel: str, links: Links, count: int, estimated: bool, rate: float) -> list[str]:  # type: ignore[no-untyped-def]
    if channel == "whatsapp_list":
        message = render_template(b, config)
        label = f"{'circa ' if estimated else ''}{number(count)} iscritti{' (stima: un residente su quattro)' if estimated else ''}"
        return [f"**{CHANNELS[channel]}** – modello `{message.name}`, {len(message.text)}/1.024 caratteri; "
                f"{estimate(count, rate, config.price_per_template, label)}", "", "```text", message.text,
                f"[Pulsante «Leggi l'avviso»: {message.url}]", "```", ""]
    if channel == "whatsapp_channel":
        post = render_channel_post(b, config, links)
        return [f"**{CHANNELS[channel]}** – {len(post)} caratteri; da incollare nell'app dopo il merge "
                "(nessuna API ufficiale)", "", "```text", post, "```", ""]
    parts = render_telegram(b, config, links)
    sizes = ", ".join(f"{visible_length(p)}/4.096" for p in parts)
    return [f"**{CHANNELS[channel]}** – {len(parts)} messaggio/i ({sizes} caratteri), gratuito", "", "```html",
            "\n\n— — —\n\n".join(parts), "```", ""]
