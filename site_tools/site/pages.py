"""Markdown for the pages the plugin generates: home sections, Novità, categories, topics, archive, signup.

Links between pages are written as relative ``.md`` paths, so MkDocs checks
every one of them (``--strict`` fails on a broken link).
"""

from __future__ import annotations

import html
import posixpath
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from functools import lru_cache, partial

from site_tools.content.bulletin import Bulletin
from site_tools.content.dates import format_it, month_title
from site_tools.content.topics import TOPICS
from site_tools.formatting import number
from site_tools.site.model import SECTIONS, SiteModel
from site_tools.site.posters import SIZES, poster_name
from site_tools.site.qr import svg
from site_tools.site.signup import newsletter_form, signup_channels
from site_tools.site.signup_choices import choices_markdown
from site_tools.site.webpush import signup_section

PER_PAGE = 50
FRONT = "---\nsearch:\n  exclude: true\n---\n\n"


def link(from_src: str, to_src: str) -> str:
    """A relative link between two source files (MkDocs checks these)."""
    return _relpath(to_src, posixpath.dirname(from_src))


def page_url(src: str) -> str:
    """``categorie/meteo.md`` → ``categorie/meteo/``; ``novita/index.md`` → ``novita/``."""
    stem = src[:-3]
    if stem == "index" or stem.endswith("/index"):
        stem = stem[:-5]
    return f"{stem.rstrip('/')}/" if stem.strip("/") else ""


def _relpath(path: str, start: str) -> str:
    """``posixpath.relpath`` for two paths from the site root, without its ``getcwd()`` per call (profiled)."""
    p = [part for part in path.split("/") if part and part != "."]
    s = [part for part in start.split("/") if part and part != "."]
    if ".." in p or ".." in s or path.startswith("/") or start.startswith("/"):
        return posixpath.relpath(path or ".", start or ".")
    common = 0
    for a, b in zip(p, s, strict=False):
        if a != b:
            break
        common += 1
    return "/".join([".."] * (len(s) - common) + p[common:]) or "."


@lru_cache(maxsize=65536)  # listing pages and bulletins ask the same few thousand pairs again and again
def rel_url(from_url: str, to_url: str) -> str:
    """A relative URL from the page published at ``from_url`` to the site path ``to_url``.

    Both are paths from the site root as the site publishes them
    (``notizie/2026/11/x/``, ``categorie/meteo/``, ``feed.xml``, ``""`` for the home).
    """
    target = _relpath(to_url, from_url)
    return target if not to_url.endswith("/") or target.endswith("/") else target + "/"


def href(from_src: str, to_url: str) -> str:
    """A relative URL from a generated page (by its source name) to a site path, for generated HTML.

    Only for pages published where their source says (``categorie/meteo.md`` → ``categorie/meteo/``):
    a bulletin is published by date and slug, so its links start from ``rel_url(b.url_path, …)``.
    """
    return rel_url(page_url(from_src), to_url)


def day_it(moment: datetime, tz: tzinfo) -> str:
    """``venerdì 20 novembre 2026``: :func:`~site_tools.content.dates.format_it` without the time."""
    return format_it(moment, tz, with_time=False)


def item(model: SiteModel, b: Bulletin, page: str) -> str:
    """One entry of a listing, as HTML: generated lists are long, and raw HTML
    skips Python-Markdown's inline processing (most of the build time)."""
    esc = html.escape
    labels = []
    for slug in b.categories:
        category = model.config.category(slug)
        labels.append(f'<a href="{href(page, f"categorie/{slug}/")}">{esc(category.label if category else slug)}</a>')
    flags = "".join(f"<strong>{esc(label)}</strong> · " for label in model.status(b))
    when = day_it(b.date, model.config.timezone)
    return (
        f'<li><a class="st-title" href="{href(page, b.url_path)}">{esc(b.title)}</a><br>'
        f'<span class="st-meta">{flags}<time datetime="{b.date.isoformat()}">{when}</time> · '
        f"{' · '.join(labels)}</span><br>{esc(b.summary)}</li>"
    )


def items(model: SiteModel, bulletins: Iterable[Bulletin], page: str) -> str:
    rows = "\n".join(item(model, b, page) for b in bulletins)
    return f'<ul class="st-list">\n{rows}\n</ul>\n' if rows else "Nessun avviso.\n"


def _md(text: str) -> str:
    """Editors' text inside generated Markdown: no accidental formatting or HTML."""
    escaped = html.escape(text, quote=False)
    for ch in "\\`*_[]#{}":  # {…} too: attr_list would read «{: onclick=… }» in a title as attributes
        escaped = escaped.replace(ch, "\\" + ch)
    return escaped


def paginated(
    model: SiteModel, base: str, title: str, intro: Callable[[str], str], bulletins: list[Bulletin]
) -> dict[str, str]:
    """``base.md``, ``base/2.md``…: lists of PER_PAGE with numbered navigation."""
    pages: dict[str, str] = {}
    chunks = [bulletins[i : i + PER_PAGE] for i in range(0, len(bulletins), PER_PAGE)] or [[]]
    names = [f"{base}.md"] + [f"{base}/{n}.md" for n in range(2, len(chunks) + 1)]
    for index, (name, chunk) in enumerate(zip(names, chunks, strict=True)):
        nav = ""
        if len(chunks) > 1:
            parts = [
                f'<a href="{href(name, page_url(other))}">{n + 1}</a>'
                if n != index
                else f'<strong aria-current="page">{n + 1}</strong>'
                for n, other in enumerate(names)
            ]
            nav = f'\n<nav class="st-pages" aria-label="Pagine">Pagine: {" · ".join(parts)}</nav>\n'

        heading = title if index == 0 else f"{title} – pagina {index + 1}"
        pages[name] = f"{FRONT}# {heading}\n\n{intro(name)}\n\n{items(model, chunk, name)}\n{nav}"
    return pages


def novita(model: SiteModel) -> dict[str, str]:
    pages: dict[str, str] = {}
    index = f"{FRONT}# Novità\n\nNotizie, comunicati, avvisi e bandi del {model.config.name}.\n"
    for kind, (slug, label, everything) in SECTIONS.items():
        listed = model.of_type(kind)
        index += f"\n## {label}\n\n{items(model, listed[:5], 'novita/index.md')}\n\n"
        # «news-category-link»: the model's Novità page links each kind of news so (AGID's checker reads them).
        target = href("novita/index.md", page_url(f"novita/{slug}.md"))
        index += f'<a href="{target}" data-element="news-category-link">{everything} ({number(len(listed))})</a>\n'
        pages.update(
            paginated(
                model,
                f"novita/{slug}",
                label,
                partial(_type_intro, everything, model.config.name),
                listed,
            )
        )
    pages["novita/index.md"] = index
    return pages


def _type_intro(everything: str, town: str, page: str) -> str:
    return f"{everything} del {html.escape(town, quote=False)}, dalla data più recente."


def _category_intro(label: str, feed: str, page: str) -> str:
    return f"Avvisi e notizie della categoria «{label}». [Feed RSS di questa categoria]({link(page, feed)})."


def categories(model: SiteModel) -> dict[str, str]:
    pages: dict[str, str] = {}
    index = f"{FRONT}# Categorie\n\n"
    for category in model.config.categories:
        listed = model.in_category(category.slug)
        index += f"- [{category.label}]({category.slug}.md) ({number(len(listed))}) · [RSS]({category.slug}/feed.xml)\n"
        feed = f"categorie/{category.slug}/feed.xml"
        pages.update(
            paginated(
                model,
                f"categorie/{category.slug}",
                category.label,
                partial(_category_intro, category.label, feed),
                listed,
            )
        )
    pages["categorie/index.md"] = index
    return pages


#: Where the «Argomenti» page is published; the header's «Argomenti» entry and the home's link point here.
TOPICS_INDEX = "argomenti/index.md"


def _topic_intro(label: str, page: str) -> str:
    return (
        f"Avvisi e notizie sull'argomento «{label}», dalla data più recente. "
        f"[Tutti gli argomenti]({link(page, TOPICS_INDEX)})."
    )


def topics(model: SiteModel) -> dict[str, str]:
    """«Argomenti» (``argomenti/``) and one page per topic in use (``argomenti/<slug>/``).

    The model's markers, as AGID's checker reads them (C.SI.1.5): every topic of the list is a
    link marked ``data-element="topic-element"`` whose whole text is the topic's label, compared with
    the model's vocabulary; the number of bulletins stays outside the link.
    """
    esc = html.escape
    pages: dict[str, str] = {}
    in_use = model.topics_in_use()
    rows = []
    for slug, listed in in_use.items():
        label = TOPICS[slug]
        count = f"{number(len(listed))} {'avviso' if len(listed) == 1 else 'avvisi'}"
        rows.append(
            f'<li><a href="{href(TOPICS_INDEX, f"argomenti/{slug}/")}" data-element="topic-element">{esc(label)}</a>'
            f' <span class="st-meta">({count})</span></li>'
        )
        pages.update(paginated(model, f"argomenti/{slug}", label, partial(_topic_intro, label), listed))
    listing = '<ul class="st-topics">\n' + "\n".join(rows) + "\n</ul>\n" if rows else "Nessun argomento.\n"
    pages[TOPICS_INDEX] = (
        f"{FRONT}# Argomenti\n\n"
        f"Gli avvisi del {_md(model.config.name)} per argomento, con le voci del modello dei siti comunali.\n\n"
        f"{listing}"
    )
    return pages


def archive(model: SiteModel) -> dict[str, str]:
    pages: dict[str, str] = {}
    index = f"{FRONT}# Archivio\n\nTutti gli avvisi, mese per mese.\n"
    year = None
    for (y, m), listed in model.months().items():
        if y != year:
            index += f"\n## {y}\n\n"
            year = y
        name = f"archivio/{y}/{m:02d}.md"
        index += f"- [{month_title(y, m)}]({link('archivio/index.md', name)}) ({len(listed)})\n"
        pages[name] = f"{FRONT}# {month_title(y, m)}\n\n{items(model, listed, name)}\n"
    pages["archivio/index.md"] = index
    return pages


def home_sections(model: SiteModel) -> str:
    page = "index.md"
    text = ""
    pinned = model.pinned()
    if pinned:
        text += f"\n## In evidenza\n\n{items(model, pinned[:3], page)}\n"
    text += f"\n## Ultimi avvisi\n\n{items(model, model.bulletins[:10], page)}\n\n"
    text += (
        "[Tutte le novità](novita/index.md) · [Categorie](categorie/index.md) · "
        f'[Argomenti]({TOPICS_INDEX}){{ data-element="all-topics" }} · [Archivio](archivio/index.md)\n'
    )
    text += (
        "\n## Ricevi gli avvisi sul telefono\n\n"
        "Allerte, strade chiuse e scuole chiuse arrivano subito su WhatsApp e Telegram. "
        "[Iscriviti in un minuto](iscriviti.md){ .md-button .md-button--primary }\n"
    )
    return text


def signup(model: SiteModel) -> str:
    config = model.config
    text = (
        "# Iscriviti agli avvisi\n\n"
        f"Il {config.name} manda avvisi urgenti, allerte di protezione civile, chiusure di strade e scuole, "
        "eventi e scadenze. Scegli il canale che preferisci: se sei già sul telefono tocca il pulsante, "
        "altrimenti inquadra il codice QR con la fotocamera.\n"
    )
    for channel in signup_channels(config):
        steps = "\n".join(f"{n}. {html.escape(step, quote=False)}" for n, step in enumerate(channel.steps, 1))
        posters = " · ".join(f"[Manifesto {size.upper()} (PDF)]({poster_name(channel, size)})" for size in SIZES)
        qr = svg(channel.link, f"Codice QR: {channel.name} del {config.name}")
        text += (
            f"\n## {channel.name}\n\n"
            f"[{html.escape(channel.button, quote=False)}]({channel.link}){{ .md-button .md-button--primary .st-big }}\n\n"
            f'<figure class="st-qr-figure">\n{qr}\n<figcaption>Inquadra per aprire: '
            f'<span class="st-link">{html.escape(channel.link)}</span></figcaption>\n</figure>\n\n'
            f"{steps}\n\n{html.escape(channel.stop, quote=False)}\n\n"
            f"Da stampare e appendere: {posters}\n"
        )
        if channel.key == "whatsapp_list":  # each citizen chooses what the list sends them (site/signup_choices.py)
            text += choices_markdown(config)
    text += newsletter_form(config)
    text += signup_section(config)
    text += (
        "\n## La tua privacy\n\n"
        "Nessun altro iscritto vede il tuo numero di telefono. Puoi smettere quando vuoi, come spiegato sopra. "
        "Conserviamo solo il numero, la data e il modo in cui ti sei iscritto, per poterti scrivere e per "
        "dimostrare il tuo consenso. [Leggi l'informativa sulla privacy](privacy.md).\n"
    )
    return text
