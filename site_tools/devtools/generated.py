"""A generated town with many bulletins, for link checks and benchmarks.

Its bulletins use every feature that makes links: categories, topics, types, urgent
alerts with updates and cancellations, events past and future, attachments
and images written both relative to the bulletin and from ``content/``, links
to other bulletins (with a ``#fragment``) and to site pages, drafts and
future-dated ones, over three years of dates.
"""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from site_tools.content.config import load_config
from site_tools.content.dates import DEFAULT_TZ
from site_tools.content.topics import TOPICS

WORDS = (
    "comune strada chiusura lavori piazza scuola evento cittadini servizio acqua rete via ponte parco "
    "allerta meteo traffico uffici sportello avviso orario biblioteca raccolta rifiuti torrente"
).split()
#: The generated bulletins end here: build the site with SITE_TOOLS_NOW at this time.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=DEFAULT_TZ)
SITE_PAGES = ("index.md", "privacy.md", "accessibilita.md")


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def generate_town(template: Path, dest: Path, n: int, seed: int = 14) -> Path:
    """Copy the town at ``template`` (``mkdocs.yml``, site pages, the coat of arms) with ``n`` new bulletins."""
    rng = random.Random(seed)
    config = template / "mkdocs.yml"
    shutil.copy(config, dest / "mkdocs.yml")
    content = dest / "content"
    content.mkdir()
    for page in SITE_PAGES:
        shutil.copy(template / "content" / page, content / page)
    shutil.copytree(template / "content" / "img", content / "img")
    (content / "allegati").mkdir()
    pdf = next((template / "content").rglob("*.pdf"))
    shutil.copy(pdf, content / "allegati" / "documento.pdf")
    photo = content / "img" / "foto.png"
    _photo(photo)
    categories = list(load_config(dest / "mkdocs.yml").category_slugs)
    published: list[tuple[str, str, bool]] = []  # id, file from notizie/, urgent: on the site, oldest first
    cancelled: set[str] = set()
    for i in range(n):
        date = NOW - timedelta(hours=12 + (n - 1 - i) * 26)  # oldest first, about three years for 1,000
        future, draft = i % 97 == 5, i % 89 == 7
        if future:
            date = NOW + timedelta(days=3 + i % 5)  # not on the site yet
        folder = content / "notizie" / f"{date:%Y}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{date:%Y-%m-%d}-avviso-{i}.md"
        bid = f"avviso-{i}"
        urgent = i % 10 == 3
        meta = [
            f"id: {bid}",
            f"title: {_words(rng, 5).capitalize()} {i}",
            f"date: {_stamp(date)}",
            f"type: {('avviso', 'notizia', 'comunicato', 'bando')[i % 4]}",
            f"categories: [{', '.join(rng.sample(categories, rng.choice((1, 2))))}]",
            f"summary: {_words(rng, 20).capitalize()}.",
        ]
        if urgent:
            meta += ["priority: urgent", f"expires: {_stamp(date + timedelta(days=2 + i % 400))}"]
        meta += _relations(i, published, cancelled)
        meta += _extras(i, date)
        if draft:
            meta.append("draft: true")
        body = _body(rng, published)
        (folder / name).write_text("---\n" + "\n".join(meta) + "\n---\n\n" + body, encoding="utf-8")
        if not (future or draft):
            published.append((bid, f"{date:%Y}/{name}", urgent))
    return dest / "mkdocs.yml"


def _relations(i: int, published: list[tuple[str, str, bool]], cancelled: set[str]) -> list[str]:
    """Every 25th updates, every 40th cancels, the latest urgent bulletin still standing."""
    key = "updates" if i % 25 == 11 else "cancels" if i % 40 == 17 else None
    target = next((bid for bid, _, urgent in reversed(published) if urgent and bid not in cancelled), None)
    if key is None or target is None:
        return []
    if key == "cancels":
        cancelled.add(target)
    return [f"{key}: {target}"]


def _extras(i: int, date: datetime) -> list[str]:
    meta = []
    if i % 7 == 2:
        start = date + timedelta(days=(i % 3) * 10 - 5)
        meta += ["event:", f"  start: {_stamp(start)}", "  location: Piazza del Comune"]
        if i % 2:
            meta.append(f"  end: {_stamp(start + timedelta(hours=3))}")
    if i % 15 == 4:
        where = "/allegati/documento.pdf" if i % 2 else "../../allegati/documento.pdf"
        meta += ["attachments:", f"- file: {where}", f"  title: Documento {i}"]
    if i % 20 == 9:
        meta.append(f"image: {'/img/foto.png' if i % 3 else '../../img/foto.png'}")
    if i % 12 == 1:
        meta.append(f"updated: {_stamp(date + timedelta(hours=5))}")
    if i % 3 == 0:  # topics by index (no draw from the generator: the rest of the town stays as it was)
        slugs = list(TOPICS)
        meta.append(f"topics: [{slugs[i % len(slugs)]}, {slugs[(i * 7 + 3) % len(slugs)]}]")
    return meta


def _body(rng: random.Random, published: list[tuple[str, str, bool]]) -> str:
    paragraphs = [_words(rng, rng.randint(30, 60)).capitalize() + "." for _ in range(3)]
    links = ["[informativa sulla privacy](../../privacy.md)"]
    if published:
        _, file, _ = rng.choice(published[-50:])
        links.append(f"[un avviso precedente](../{file}), i suoi [dettagli](../{file}#dettagli)")
    paragraphs.append("Vedi anche " + " e ".join(links) + ".")
    return "\n\n".join(paragraphs) + "\n"


def _photo(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (1200, 630), (11, 79, 163)).save(path, format="PNG")
