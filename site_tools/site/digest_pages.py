"""The weekly digests on the site (``extra.town.digest``): ``riepiloghi/`` (the archive, newest first, with its
feed), one page per week (``riepiloghi/2026-W50/``, the page the WhatsApp message's button opens) and
``riepiloghi/feed.xml``. A week's page appears at its send moment (the service rebuilds the site then); an empty
week has none, as it has no message."""

from __future__ import annotations

import html

from site_tools.content.dates import format_it
from site_tools.render import digest as render
from site_tools.site.model import SiteModel
from site_tools.site.pages import FRONT, items, link

INDEX = f"{render.SECTION}/index.md"


def digest_pages(model: SiteModel) -> dict[str, str | bytes]:
    """The archive, a page per week and the feed; nothing when the town sends no digest."""
    config = model.config
    digest = config.digest
    if digest is None or config.whatsapp is None:
        return {}
    contents = render.archive(model.bulletins, model.now, config, digest)
    feed_link = link(INDEX, render.FEED_PATH)
    index = (
        f"{FRONT}# Riepiloghi settimanali\n\nOgni {digest.weekday} alle ore {digest.hour}:00 chi ha scelto il "
        f"riepilogo settimanale riceve su WhatsApp gli eventi, le scadenze e i bandi della settimana. "
        f"[Iscriviti]({link(INDEX, 'iscriviti.md')}) · [Feed RSS dei riepiloghi]({feed_link})\n\n"
    )
    pages: dict[str, str | bytes] = {}
    for content in contents:
        name = f"{render.SECTION}/{content.week.key}.md"
        heading = html.escape(render.title(content.week), quote=False)
        index += f"- [{heading}]({link(INDEX, name)}) ({len(content.items)})\n"
        sent = format_it(content.week.send_at, config.timezone)
        pages[name] = (
            # The site cannot know whether it went (the store is not here: a week before the town adopted the tool,
            # or held over the cost ceiling, has a page too): it says what the digest held, not that it was sent.
            f"{FRONT}# {heading}\n\nIl riepilogo di {sent}, per chi ha scelto il riepilogo settimanale sulla lista "
            f"WhatsApp del {html.escape(config.name, quote=False)}.\n\n{items(model, list(content.items), name)}\n"
            f"[Tutti i riepiloghi]({link(name, INDEX)})\n"
        )
    if not contents:
        index += "Nessun riepilogo ancora.\n"
    pages[INDEX] = index
    pages[render.FEED_PATH] = render.feed(config, contents)
    return pages
