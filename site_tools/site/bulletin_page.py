"""The page of one bulletin: breadcrumb, status, summary, body, details, event, share."""

from __future__ import annotations

import html
from urllib.parse import quote

from site_tools.content.bulletin import TYPES, Bulletin
from site_tools.content.dates import format_it
from site_tools.render.common import event_when
from site_tools.site.model import SECTIONS, SiteModel
from site_tools.site.pages import _md, href, link


def calendar_src(b: Bulletin) -> str:
    return f"calendario/{b.id}.ics"


def root_prefix(url: str) -> str:
    """From a page URL (``notizie/2026/11/x/``) back to the site root (``../../../../``)."""
    depth = url.count("/")
    return "../" * depth if depth else "./"


def page_markdown(model: SiteModel, b: Bulletin, body: str) -> str:
    config = model.config
    src = model.src_uri(b)
    tz = config.timezone
    root = root_prefix(b.url_path)
    section_slug, section_label = SECTIONS[b.type]
    crumbs = (
        f'<nav class="st-breadcrumb" aria-label="Percorso di navigazione">'
        f'<a href="{root}">Home</a> › <a href="{root}novita/">Novità</a> › '
        f'<a href="{root}novita/{section_slug}/">{section_label}</a> › '
        f'<span aria-current="page">{html.escape(b.title)}</span></nav>\n\n'
    )
    parts = [crumbs, f"# {_md(b.title)}\n"]
    if b.urgent and b.is_active(model.now) and b.id not in model.cancelled:
        parts.append('!!! danger "Avviso urgente"\n    Segui le indicazioni di questo avviso.\n')
    cancelling = model.cancelled.get(b.id)
    if cancelling:
        parts.append(
            f'!!! danger "Avviso annullato"\n    Questo avviso è stato annullato il '
            f"{format_it(cancelling.date, tz)}: leggi [{_md(cancelling.title)}]"
            f"({link(src, model.src_uri(cancelling))}).\n"
        )
    else:
        updates = [n for n in model.newer.get(b.id, []) if not n.cancels]
        if updates:
            latest = updates[-1]
            parts.append(
                f'!!! warning "Avviso aggiornato"\n    Ci sono novità del {format_it(latest.date, tz)}: '
                f"leggi [{_md(latest.title)}]({link(src, model.src_uri(latest))}).\n"
            )
    earlier = model.by_id.get(b.refers_to or "")
    if earlier is not None:
        verb = "annulla" if b.cancels else "aggiorna"
        parts.append(
            f'!!! info "{"Annullamento" if b.cancels else "Aggiornamento"}"\n'
            f"    Questo avviso {verb} [{_md(earlier.title)}]({link(src, model.src_uri(earlier))}) "
            f"del {format_it(earlier.date, tz, with_time=False)}.\n"
        )
    parts.append(f'<p class="st-lead">{html.escape(b.summary)}</p>\n')
    parts.append(body.strip() + "\n")
    esc = html.escape
    if b.event:
        when = event_when(b.event, tz)
        where = f"<li><strong>Dove:</strong> {esc(b.event.location)}</li>" if b.event.location else ""
        parts.append(
            f'<h2 id="evento">Evento</h2>\n<ul><li><strong>Quando:</strong> {when}</li>{where}</ul>\n'
            f'<p><a class="md-button" href="{href(src, calendar_src(b))}">Aggiungi al calendario</a></p>\n'
        )
    categories = ", ".join(
        f'<a href="{href(src, f"categorie/{c}/")}">{esc(cat.label if (cat := config.category(c)) else c)}</a>'
        for c in b.categories
    )
    details = [
        f"<li><strong>Pubblicato:</strong> {format_it(b.date, tz)}</li>",
        f"<li><strong>Tipo:</strong> {TYPES[b.type]}</li>",
        f"<li><strong>Categorie:</strong> {categories}</li>",
    ]
    if b.area:
        details.append(f"<li><strong>Zona:</strong> {esc(b.area)}</li>")
    if b.office:
        details.append(f"<li><strong>A cura di:</strong> {esc(b.office)}</li>")
    if b.expires:
        past = b.expires <= model.now
        details.append(
            f"<li><strong>{'Scaduto' if past else 'Valido fino a'}:</strong> {format_it(b.expires, tz)}</li>"
        )
    parts.append('<h2 id="dettagli">Dettagli</h2>\n<ul>' + "".join(details) + "</ul>\n")
    url = config.site_url + b.url_path
    text = quote(f"{b.title} – {url}")
    parts.append(
        '<h2 id="condividi">Condividi</h2>\n<p>'
        f'<a href="https://wa.me/?text={text}">Condividi su WhatsApp</a> · '
        f'<a href="https://t.me/share/url?url={quote(url)}&amp;text={quote(b.title)}">Condividi su Telegram</a> · '
        f'<a href="{href(src, "iscriviti/")}">Ricevi gli avvisi sul telefono</a></p>\n'
    )
    return "\n".join(parts)
