"""Checks that need every bulletin at once: duplicate ids and addresses, references, links in bodies."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from site_tools.content.config import TownConfig
from site_tools.content.frontmatter import Parsed, image_too_big
from site_tools.content.problems import Problem, ProblemList
from site_tools.markdown.scan import dangerous, scan


def cross_checks(records: list[Parsed], out: list[Problem]) -> set[str]:
    """Duplicates and references; returns the files that must not be used."""
    problems = ProblemList()
    seen_ids: dict[str, Parsed] = {}
    seen_urls: dict[str, Parsed] = {}
    for r in records:
        if r.id is not None:
            if r.id in seen_ids:
                problems.add(
                    r.shown,
                    "id",
                    f"l'id «{r.id}» è già usato da {seen_ids[r.id].shown}.",
                    "ogni avviso ha un id suo: se hai copiato un file, cambia l'id di quello nuovo.",
                    r.line("id"),
                )
            else:
                seen_ids[r.id] = r
        if r.url_path is not None:
            if r.url_path in seen_urls:
                problems.add(
                    r.shown,
                    "slug",
                    f"l'indirizzo {r.url_path} è già usato da {seen_urls[r.url_path].shown}.",
                    "cambia il nome del file o aggiungi un campo «slug:» diverso.",
                    r.line("slug"),
                )
            else:
                seen_urls[r.url_path] = r
    for r in records:
        for key in ("updates", "cancels"):
            target = getattr(r, key)
            if target is None:
                continue
            if target not in seen_ids:
                problems.add(
                    r.shown,
                    key,
                    f"non esiste un avviso con id «{target}».",
                    "copia esattamente il campo «id» dell'avviso che vuoi aggiornare o annullare.",
                    r.line(key),
                )
            elif r.date and (target_date := seen_ids[target].date) and target_date > r.date:
                problems.add(
                    r.shown,
                    key,
                    f"l'avviso «{target}» è più recente di questo.",
                    "si può aggiornare o annullare solo un avviso pubblicato prima.",
                    r.line(key),
                )
    out.extend(problems)
    return {p.file for p in problems}


def site_pages(config: TownConfig, records: list[Parsed]) -> set[str]:
    """Every site path an absolute internal link may point to (``iscriviti/``)."""
    pages = {r.url_path for r in records if r.url_path}
    bulletins = os.path.normpath(config.bulletins_path)
    for folder, dirs, names in os.walk(config.content_dir):
        if os.path.normpath(folder) == bulletins:
            dirs[:] = []  # bulletins are addressed by date and slug, added above
            continue
        rel_folder = os.path.relpath(folder, config.content_dir).replace(os.sep, "/")
        for name in names:
            if not name.endswith(".md"):
                continue
            rel = name[:-3] if rel_folder == "." else f"{rel_folder}/{name[:-3]}"
            if rel.endswith("index") or rel.endswith("README"):
                rel = rel.rsplit("/", 1)[0] if "/" in rel else ""
            pages.add(f"{rel}/" if rel else "")
    return pages


def check_body(b: Parsed, config: TownConfig, pages: set[str]) -> list[Problem]:
    problems = ProblemList()
    if "<" not in b.body and "[" not in b.body:
        return problems  # no link, image or HTML can hide in it: skip the parse
    shown = b.shown
    for found in scan(b.body):
        line = b.body_line + found.line
        if found.kind == "html":
            for what in dangerous(found.value):
                problems.add(
                    shown,
                    "testo",
                    f"il testo contiene {what}, che non è ammesso per sicurezza.",
                    "togli il codice HTML: per un video o una mappa metti un link normale [testo](https://…).",
                    line,
                )
            continue
        problem = _check_target(found.value, found.kind, b, config, pages)
        if problem:
            problems.add(shown, "testo", problem[0], problem[1], line)
    return problems


def _check_target(target: str, kind: str, b: Parsed, config: TownConfig, pages: set[str]) -> tuple[str, str] | None:
    what = "l'immagine" if kind == "image" else "il link"
    if not target:
        return f"{what} è vuoto.", "scrivi l'indirizzo tra le parentesi tonde: [testo](indirizzo)."
    if target.strip().lower().startswith("javascript:"):
        return f"{what} «{target}» esegue codice.", "usa un indirizzo web normale."
    parts = urlsplit(target)
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
