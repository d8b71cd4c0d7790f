"""Checks across bulletins (duplicate ids and addresses, references) and of bodies: links, and what the site removes."""

from __future__ import annotations

import os
from collections.abc import Hashable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from site_tools.content.cache import Known
from site_tools.content.config import TownConfig
from site_tools.content.frontmatter import Parsed, image_too_big
from site_tools.content.problems import Problem, ProblemList
from site_tools.markdown.html import shorten

if TYPE_CHECKING:  # Python-Markdown is imported only when a body has markup to render
    from site_tools.markdown.body import SiteMarkdown
    from site_tools.markdown.html import Finding


def cross_checks(records: list[Parsed], out: list[Problem], known: Known | None = None) -> set[str]:
    """Duplicates and references; returns the files that must not be used.

    ``known``: the bulletins of the cache this run did not parse (a publish parses only new or changed files):
    a parsed file clashing with one of them, or referring to one, is checked against them.
    """
    problems = ProblemList()
    ids: dict[str, str] = dict(known.ids) if known else {}
    urls: dict[str, str] = dict(known.urls) if known else {}
    dates: dict[str, datetime | None] = {}
    for r in records:
        if r.id is not None:
            if r.id in ids:
                problems.add(
                    r.shown,
                    "id",
                    f"l'id «{r.id}» è già usato da {ids[r.id]}.",
                    "ogni avviso ha un id suo: se hai copiato un file, cambia l'id di quello nuovo.",
                    r.line("id"),
                )
            else:
                ids[r.id], dates[r.id] = r.shown, r.date
        if r.url_path is not None:
            if r.url_path in urls:
                problems.add(
                    r.shown,
                    "slug",
                    f"l'indirizzo {r.url_path} è già usato da {urls[r.url_path]}.",
                    "cambia il nome del file o aggiungi un campo «slug:» diverso.",
                    r.line("slug"),
                )
            else:
                urls[r.url_path] = r.shown
    for r in records:
        for key in ("updates", "cancels"):
            target = getattr(r, key)
            if target is None:
                continue
            if target not in ids:
                problems.add(
                    r.shown,
                    key,
                    f"non esiste un avviso con id «{target}».",
                    "copia esattamente il campo «id» dell'avviso che vuoi aggiornare o annullare.",
                    r.line(key),
                )
            elif r.date and (target_date := _date_of(target, dates, known)) and target_date > r.date:
                problems.add(
                    r.shown,
                    key,
                    f"l'avviso «{target}» è più recente di questo.",
                    "si può aggiornare o annullare solo un avviso pubblicato prima.",
                    r.line(key),
                )
    out.extend(problems)
    return {p.file for p in problems}


def _date_of(bulletin_id: str, dates: dict[str, datetime | None], known: Known | None) -> datetime | None:
    if bulletin_id in dates:
        return dates[bulletin_id]
    return datetime.fromisoformat(known.dates[bulletin_id]) if known else None


#: The pages the site generates (no file in content/): a link may name them as ``.md`` files like any page.
GENERATED_PAGES = (
    "novita/index.md",
    "categorie/index.md",
    "argomenti/index.md",
    "archivio/index.md",
    "iscriviti.md",
    "dati-aperti.md",
    "note-legali.md",
)


def page_path(rel: str) -> str:
    """The site path of a page's file relative to content/ (``iscriviti.md`` → ``iscriviti/``)."""
    rel = rel.removesuffix(".md")
    if rel.endswith("index") or rel.endswith("README"):
        rel = rel.rsplit("/", 1)[0] if "/" in rel else ""
    return f"{rel}/" if rel else ""


def site_pages(config: TownConfig, records: list[Parsed], known: Known | None = None) -> set[str]:
    """Every site path an absolute internal link may point to (``iscriviti/``)."""
    pages = {r.url_path for r in records if r.url_path} | {page_path(p) for p in GENERATED_PAGES}
    pages.update(known.urls if known else ())
    bulletins = os.path.normpath(config.bulletins_path)
    answers = os.path.normpath(config.content_dir / config.counter.answers_dir) if config.counter else None
    for folder, dirs, names in os.walk(config.content_dir):
        if os.path.normpath(folder) == bulletins:
            dirs[:] = []  # bulletins are addressed by date and slug, added above
            continue
        if os.path.normpath(folder) == answers:
            dirs[:] = []  # the counter's canned answers are not site pages
            continue
        rel_folder = os.path.relpath(folder, config.content_dir).replace(os.sep, "/")
        for name in names:
            if not name.endswith(".md"):
                continue
            pages.add(page_path(name if rel_folder == "." else f"{rel_folder}/{name}"))
    return pages


def may_hold_markup(body: str) -> bool:
    """Without «<», «[», «{» or «__» a body has no link, image, HTML, attribute list or reserved id: nothing to render."""
    return "<" in body or "[" in body or "{" in body or "__" in body


def check_body(b: Parsed, config: TownConfig, pages: set[str] | None, site: SiteMarkdown) -> list[Problem]:
    """What the site's sanitiser would remove from the body, and (with ``pages``) links that lead nowhere.

    The body is rendered as the site renders it (:class:`SiteMarkdown`): one
    parser decides what a link is, for the site and for this check.
    """
    if not may_hold_markup(b.body):
        return []
    review = site.review(b.body)
    found: list[tuple[Hashable, str, str]] = [(f, *explain(f)) for f in review.findings]
    if pages is not None:
        for kind, target in review.links:
            problem = _check_target(target, kind, b, config, pages)
            if problem:
                found.append(((kind, target), *problem))
    lines = site.locate(b.body, [key for key, _, _ in found]) if found else []
    return [
        Problem(b.shown, b.body_line + line, "testo", message, fix)
        for (_, message, fix), line in zip(found, lines, strict=True)
    ]


_TAG_FIX = {
    "script": "togli lo script: nel sito non può girare codice scritto in un avviso o in una pagina.",
    "iframe": "per un video o una mappa metti un link normale [testo](https://…).",
    "form": "per un modulo metti un link alla sua pagina: [Compila il modulo](https://…).",
    "style": "l'aspetto lo decide il sito: togli il tag e usa il Markdown (**grassetto**, titoli, elenchi).",
}
_TAG_FIX.update(dict.fromkeys(("object", "embed", "video", "audio", "frame", "frameset"), _TAG_FIX["iframe"]))
_TAG_FIX.update(dict.fromkeys(("input", "button", "select", "textarea"), _TAG_FIX["form"]))
_TAG_FIX.update(dict.fromkeys(("link", "font", "center"), _TAG_FIX["style"]))


def explain(f: Finding) -> tuple[str, str]:
    """A finding of the sanitiser, in Italian: what the site removes and how to write it instead."""
    if f.what == "tag":
        if ":" in f.tag:  # <javascript:…> or another address between < >: not a link for Markdown
            return (
                f"«<{shorten(f.tag)}>» non è un link che il sito possa pubblicare: lo toglie.",
                "per un link scrivi [testo](https://…): gli indirizzi tra «< >» devono iniziare con https://.",
            )
        return (
            f"il testo contiene il tag «<{f.tag}>», che non è ammesso per sicurezza: il sito lo toglie.",
            _TAG_FIX.get(f.tag, "togli il tag e usa il Markdown (**grassetto**, titoli, elenchi, [link](https://…))."),
        )
    if f.what == "attribute" and f.name.startswith("on"):
        return (
            f"l'attributo «{shorten(f.name)}» su «<{f.tag}>» è un gestore di eventi «on…=» che esegue codice: "
            "non è ammesso per sicurezza e il sito lo toglie.",
            f"togli «{shorten(f.name)}=…» (anche se è scritto dentro «{{: … }}»).",
        )
    if f.what == "attribute":
        return (
            f"l'attributo «{shorten(f.name)}» su «<{f.tag}>» non è ammesso: il sito lo toglie.",
            "togli l'attributo: sono ammessi link (href), immagini (src, alt), class, id e title; "
            "l'aspetto lo decide il sito.",
        )
    if f.what == "url":
        scheme = f.value.split(":", 1)[0].lower()
        runs = scheme in ("javascript", "vbscript")
        return (
            f"{_what(f)} «{f.value}» "
            + ("esegue codice" if runs else f"usa un indirizzo «{scheme}:», che non è ammesso")
            + ": il sito lo toglie.",
            "usa un indirizzo web normale (https://…), oppure mailto: o tel:.",
        )
    if f.what == "image":
        return (
            f"l'immagine «{f.value}» è su un altro sito: chi apre la pagina verrebbe tracciato, quindi il sito la toglie.",
            "scarica l'immagine, mettila in content/ (per esempio in content/img/) e scrivi il suo percorso.",
        )
    if f.what == "id":
        return (
            f"l'identificativo «{f.value}» è riservato al sito: il sito lo toglie.",
            "cambia il titolo o l'id: non può cominciare con due trattini bassi «__».",
        )
    return (
        "una parte dell'HTML non è valida e il sito la toglie o la cambia (per esempio un indirizzo scritto male).",
        "controlla l'HTML indicato, o scrivi lo stesso contenuto in Markdown.",
    )


def _what(f: Finding) -> str:
    return "l'immagine" if f.tag == "img" else "il link"


def _check_target(target: str, kind: str, b: Parsed, config: TownConfig, pages: set[str]) -> tuple[str, str] | None:
    what = "l'immagine" if kind == "image" else "il link"
    if not target:
        return f"{what} è vuoto.", "scrivi l'indirizzo tra le parentesi tonde: [testo](indirizzo)."
    try:
        parts = urlsplit(target)
    except ValueError:
        return f"{what} «{shorten(target)}» non è un indirizzo valido.", "controlla l'indirizzo tra le parentesi tonde."
    if parts.scheme or target.startswith("//") or target.startswith("#"):
        return None  # external, mail, phone, or an anchor on the same page
    path = unquote(parts.path)
    if path.startswith("/"):
        site_path = path.strip("/")
        site_path = f"{site_path}/" if site_path else ""
        if kind == "link" and site_path in pages:
            return None
        if kind == "image" and (config.content_dir / path.lstrip("/")).is_file():
            too_big = image_too_big(config.content_dir / path.lstrip("/"))
            return (too_big[0].format(what=f"l'immagine «{target}»"), too_big[1]) if too_big else None
        return (
            f"{what} «{target}» punta a una pagina del sito che non esiste.",
            "controlla l'indirizzo; per un altro avviso è più sicuro il percorso del file .md.",
        )
    resolved = (b.path.parent / path).resolve()
    inside = config.content_dir.resolve() in resolved.parents
    if kind == "link" and inside and resolved.relative_to(config.content_dir.resolve()).as_posix() in GENERATED_PAGES:
        return None  # a page the site generates, named by its .md file as the guide teaches
    if kind == "link" and not path.endswith(".md") and not resolved.is_file():
        return (
            f"il link «{target}» non è il percorso di un file.",
            "per collegare un altro avviso o una pagina usa il percorso del suo file .md, per esempio ../2026-11-20-chiusura-via-roma.md.",
        )
    if not inside or not resolved.is_file():
        return (
            f"{what} «{target}» non esiste.",
            "controlla nome del file (maiuscole comprese) e cartelle: il percorso è relativo a questo file.",
        )
    too_big = image_too_big(resolved) if kind == "image" else None
    if too_big:
        return too_big[0].format(what=f"l'immagine «{target}»"), too_big[1]
    return None
