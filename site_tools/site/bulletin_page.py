"""The page of one bulletin: breadcrumb, status, summary, body, event, details, attachments, share.

A bulletin's source is ``notizie/<yyyy>/<file>.md`` but its page is published
at ``notizie/<yyyy>/<mm>/<slug>/``: every link in generated HTML starts from
the published URL (``rel_url(b.url_path, …)``); Markdown links to other
``.md`` files are resolved by MkDocs, which knows both.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from urllib.parse import quote

from site_tools.content.bulletin import TYPES, Bulletin
from site_tools.content.dates import format_it, format_until
from site_tools.content.topics import TOPICS
from site_tools.formatting import file_size
from site_tools.render.common import event_when
from site_tools.site.model import SECTIONS, SiteModel
from site_tools.site.pages import _md, day_it, link, rel_url

esc = html.escape


def calendar_src(b: Bulletin) -> str:
    return f"calendario/{b.id}.ics"


def root_prefix(url: str) -> str:
    """From a page URL (``notizie/2026/11/x/``) back to the site root (``../../../../``)."""
    depth = url.count("/")
    return "../" * depth if depth else "./"


def page_markdown(model: SiteModel, b: Bulletin, body: str, keep: Callable[[str], str] = str) -> str:
    """The page's Markdown; ``keep`` takes each piece of generated HTML (:class:`~site_tools.site.stash.HtmlStash`)."""
    parts = [keep(_breadcrumb(b)), f"# {_md(b.title)}\n", *_notices(model, b)]
    parts.append(keep(f'<p class="st-lead">{esc(b.summary)}</p>\n'))
    parts.append(body.strip() + "\n")
    parts.extend(keep(html) for html in _event(model, b))
    parts.append(keep(_details(model, b)))
    parts.extend(keep(html) for html in _attachments(model, b))
    parts.append(keep(_share(model, b)))
    return "\n".join(parts)


def _breadcrumb(b: Bulletin) -> str:
    root = root_prefix(b.url_path)
    section = SECTIONS[b.type]
    return (
        f'<nav class="st-breadcrumb" aria-label="Percorso di navigazione" data-element="breadcrumb">'
        f'<a href="{root}">Home</a> › <a href="{root}novita/">Novità</a> › '
        f'<a href="{root}novita/{section.slug}/">{esc(section.label)}</a> › '
        f'<span aria-current="page">{esc(b.title)}</span></nav>\n\n'
    )


def _notices(model: SiteModel, b: Bulletin) -> list[str]:
    """Admonitions: urgent, withdrawn, updated since, and what this one updates or withdraws."""
    tz, src = model.config.timezone, model.src_uri(b)
    parts = []
    if b.urgent and b.is_active(model.now) and b.id not in model.cancelled:
        parts.append('!!! danger "Avviso urgente"\n    Segui le indicazioni di questo avviso.\n')
    cancelling = model.cancelled.get(b.id)
    if cancelling:
        parts.append(
            f'!!! danger "Avviso annullato"\n    Questo avviso è stato annullato {format_it(cancelling.date, tz)}: '
            f"leggi [{_md(cancelling.title)}]({link(src, model.src_uri(cancelling))}).\n"
        )
    else:
        updates = [n for n in model.newer.get(b.id, []) if not n.cancels]
        if updates:
            latest = updates[-1]
            parts.append(
                f'!!! warning "Avviso aggiornato"\n    Questo avviso è stato aggiornato {format_it(latest.date, tz)}: '
                f"leggi [{_md(latest.title)}]({link(src, model.src_uri(latest))}).\n"
            )
    earlier = model.by_id.get(b.refers_to or "")
    if earlier is not None:
        verb = "annulla" if b.cancels else "aggiorna"
        parts.append(
            f'!!! info "{"Annullamento" if b.cancels else "Aggiornamento"}"\n'
            f"    Questo avviso {verb} [{_md(earlier.title)}]({link(src, model.src_uri(earlier))}), "
            f"pubblicato {day_it(earlier.date, tz)}.\n"
        )
    return parts


def _event(model: SiteModel, b: Bulletin) -> list[str]:
    """When and where; «Aggiungi al calendario» only while the event is still to come."""
    if not b.event:
        return []
    when = event_when(b.event, model.config.timezone)
    where = f"<li><strong>Dove:</strong> {esc(b.event.location)}</li>" if b.event.location else ""
    if b.id in model.cancelled:
        action = "<p><strong>L'evento è stato annullato.</strong></p>"
    elif b.event.is_over(model.now):
        action = "<p>L'evento si è concluso.</p>"
    else:
        action = f'<p><a class="md-button" href="{rel_url(b.url_path, calendar_src(b))}">Aggiungi al calendario</a></p>'
    return [f'<h2 id="evento">Evento</h2>\n<ul><li><strong>Quando:</strong> {esc(when)}</li>{where}</ul>\n{action}\n']


def _details(model: SiteModel, b: Bulletin) -> str:
    config, tz, here = model.config, model.config.timezone, b.url_path
    categories = ", ".join(
        f'<a href="{rel_url(here, f"categorie/{c}/")}">{esc(cat.label if (cat := config.category(c)) else c)}</a>'
        for c in b.categories
    )
    minutes = model.reading_minutes(b)
    details = [
        f"<li><strong>Pubblicato:</strong> {format_it(b.date, tz)}</li>",
        f"<li><strong>Ultimo aggiornamento:</strong> {format_it(model.last_updated(b), tz)}</li>",
        f"<li><strong>Tipo:</strong> {esc(TYPES[b.type])}</li>",
        f"<li><strong>Categorie:</strong> {categories}</li>",
    ]
    topics = model.topics_of(b)
    if topics:
        # The model's chips on a news page (``news-topic``), each to the topic's page.
        chips = ", ".join(
            f'<a href="{rel_url(here, f"argomenti/{t}/")}" data-element="news-topic">{esc(TOPICS[t])}</a>'
            for t in topics
        )
        details.append(f"<li><strong>Argomenti:</strong> {chips}</li>")
    if b.area:
        details.append(f"<li><strong>Zona:</strong> {esc(b.area)}</li>")
    if b.office:
        details.append(f"<li><strong>A cura di:</strong> {esc(b.office)}</li>")
    if b.expires:
        past = b.expires <= model.now
        details.append(
            f"<li><strong>{'Scaduto' if past else 'Valido fino a'}:</strong> {format_until(b.expires, tz)}</li>"
        )
    details.append(f"<li><strong>Tempo di lettura:</strong> {minutes} {'minuto' if minutes == 1 else 'minuti'}</li>")
    return '<h2 id="dettagli">Dettagli</h2>\n<ul data-element="metadata">' + "".join(details) + "</ul>\n"


def _attachments(model: SiteModel, b: Bulletin) -> list[str]:
    if not b.attachments:
        return []
    rows = []
    for attachment in b.attachments:
        target = model.site_file(b, attachment.file)
        size = os.path.getsize(model.config.content_dir / target)
        rows.append(
            f'<li><a href="{esc(quote(rel_url(b.url_path, target)))}">{esc(attachment.title)}</a> '
            f"(PDF, {file_size(size)})</li>"
        )
    return ['<h2 id="allegati">Allegati</h2>\n<ul class="st-attachments">' + "".join(rows) + "</ul>\n"]


def _share(model: SiteModel, b: Bulletin) -> str:
    url = model.config.site_url + b.url_path
    text = quote(f"{b.title} – {url}")
    return (
        '<h2 id="condividi">Condividi</h2>\n<p>'
        f'<a href="https://wa.me/?text={text}">Condividi su WhatsApp</a> · '
        f'<a href="https://t.me/share/url?url={quote(url)}&amp;text={quote(b.title)}">Condividi su Telegram</a> · '
        f'<a href="{rel_url(b.url_path, "iscriviti/")}">Ricevi gli avvisi sul telefono</a></p>\n'
    )
