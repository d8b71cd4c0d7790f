"""Bulletin → the newsletter's e-mail: a subject, a plain-text part and an HTML part.

Both parts walk the bulletin's Markdown with :func:`~site_tools.markdown.text.render_markdown`: the text part
with plain markers, the HTML part with Telegram's tag set (``b i s a code pre blockquote``, everything else
escaped), which every mail client shows. Nothing an editor writes reaches the HTML unescaped. The
unsubscribe link (per address) is filled in by the sender: the body says where it goes with
:data:`UNSUBSCRIBE_PLACEHOLDER`, so one rendering serves every address.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.markdown.text import TELEGRAM, Style, render_markdown
from site_tools.render.common import event_when, status_labels
from site_tools.render.links import Links

#: Replaced, in both parts, by each address's own unsubscribe link.
UNSUBSCRIBE_PLACEHOLDER = "%%CANCELLA%%"
#: A subject longer than this is cut (RFC 5322 advises lines of at most 78 characters; clients show ~60).
SUBJECT_MAX = 140

PLAIN = Style(
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("> ", ""),
    lambda s: s,
    lambda text, url: url if text.strip() in ("", url) else f"{text} ({url})",
)


@dataclass(frozen=True)
class EmailParts:
    subject: str
    text: str
    html: str


def subject(bulletin: Bulletin) -> str:
    labels = " ".join(label for _, label in status_labels(bulletin))
    title = f"{labels}: {bulletin.title}" if labels else bulletin.title
    title = " ".join(title.split())  # one line, whatever the title held
    return title if len(title) <= SUBJECT_MAX else title[: SUBJECT_MAX - 1].rstrip() + "…"


def render_email(bulletin: Bulletin, config: TownConfig, links: Links | None = None) -> EmailParts:
    links = links or Links(config)
    url = links.page(bulletin)
    absolute = lambda href: links.absolute(href, bulletin)  # noqa: E731
    when = event_when(bulletin.event, config.timezone) if bulletin.event else None
    where = bulletin.event.location if bulletin.event and bulletin.event.location else None
    text_blocks = [f"{emoji} {label}" for emoji, label in status_labels(bulletin)]
    text_blocks += [bulletin.title.upper(), bulletin.summary]
    if when:
        text_blocks.append(f"Quando: {when}" + (f"\nDove: {where}" if where else ""))
    if bulletin.area:
        text_blocks.append(f"Zona: {bulletin.area}")
    text_blocks += render_markdown(bulletin.body, PLAIN, absolute)
    text_blocks.append(f"Leggi sul sito del Comune: {url}")
    text_blocks.append(_footer_text(config))
    esc = html.escape
    parts = [f"<p>{emoji} <b>{esc(label)}</b></p>" for emoji, label in status_labels(bulletin)]
    parts += [f'<h1 style="font-size:1.4em">{esc(bulletin.title)}</h1>', f"<p><i>{esc(bulletin.summary)}</i></p>"]
    if when:
        parts.append(f"<p>🗓 {esc(when)}" + (f"<br>📍 {esc(where)}" if where else "") + "</p>")
    if bulletin.area:
        parts.append(f"<p>📍 Zona: {esc(bulletin.area)}</p>")
    parts += [
        f"<p>{block.replace(chr(10), '<br>')}</p>" for block in render_markdown(bulletin.body, TELEGRAM, absolute)
    ]
    parts.append(f'<p>👉 <a href="{esc(url, quote=True)}">Leggi sul sito del Comune</a></p>')
    parts.append(_footer_html(config))
    page = (
        '<!DOCTYPE html><html lang="it"><head><meta charset="utf-8">'
        f"<title>{esc(bulletin.title)}</title></head>"
        f'<body style="font-family:sans-serif;max-width:40em">{"".join(parts)}</body></html>'
    )
    return EmailParts(subject(bulletin), "\n\n".join(text_blocks) + "\n", page)


def consent_text(config: TownConfig) -> str:
    """The sentence next to the signup form's checkbox, recorded word for word as the consent on confirmation."""
    return (
        f"Chiedo di ricevere per e-mail gli avvisi del {config.name} (newsletter). Posso annullare l'iscrizione "
        "in ogni momento dal link in fondo a ogni e-mail."
    )


def _footer_text(config: TownConfig) -> str:
    return (
        f"--\nRicevi questa e-mail perché ti sei iscritto alla newsletter degli avvisi del {config.name}.\n"
        f"Per non riceverla più: {UNSUBSCRIBE_PLACEHOLDER}"
    )


def _footer_html(config: TownConfig) -> str:
    return (
        '<hr><p style="font-size:0.85em;color:#555">Ricevi questa e-mail perché ti sei iscritto alla newsletter '
        f"degli avvisi del {html.escape(config.name)}. "
        f'<a href="{UNSUBSCRIBE_PLACEHOLDER}">Annulla l\'iscrizione</a>.</p>'
    )
