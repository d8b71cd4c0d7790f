"""A local stand-in for the demo town's main site, for ``scripts/agid-check`` only.

The model's header links «Amministrazione», «Servizi» and «Vivere il Comune» to the town's main site, and the
footer's FAQ link too (``extra.town``: ``website`` and the sections under it). AGID's checker follows those links
before it audits anything. It looks for the main site's own markers there: category links, a service, the
booking page, the events button. If a page is missing, its audits of cookies, fonts and page feedback give 0,
even for the pages of this site that they did read. The demo town's main site
(``www.comune.valfiorita.example.it``) is fictional, so the script serves this stand-in and builds the demo site
with ``website`` pointing at it.

The stand-in has those markers and nothing else. Every page says it is a stand-in. It is served at
``https://localhost:<port>/``, a different host from the site (``127.0.0.1``). The checker does not audit pages
on another host (``redirectUrlIsInternal`` in its ``utils.ts``), so it only walks through the stand-in's pages
and judges the site's own pages.
"""

from __future__ import annotations

import html
from pathlib import Path

from site_tools.content.identity import MAIN_SITE_SECTIONS

#: What the checker looks for on each section of the main site (its ``storage/municipality/menuItems.ts`` and
#: ``gatherers/``): page path -> [(data-element, link text, target path)].
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    MAIN_SITE_SECTIONS["management_url"]: [("management-category-link", "Uffici", "amministrazione/uffici/")],
    MAIN_SITE_SECTIONS["services_url"]: [
        ("service-category-link", "Anagrafe e stato civile", "servizi/anagrafe/"),
        ("service-link", "Carta d'identità elettronica", "servizi/carta-identita/"),
        ("appointment-booking", "Prenota un appuntamento", "prenota-appuntamento/"),
    ],
    MAIN_SITE_SECTIONS["live_url"]: [
        ("live-button-locations", "Luoghi", "vivere-il-comune/luoghi/"),
        ("live-button-events", "Eventi", "vivere-il-comune/eventi/"),
    ],
    "vivere-il-comune/eventi/": [("event-link", "Festa del paese", "vivere-il-comune/eventi/festa/")],
    MAIN_SITE_SECTIONS["faq_url"]: [],
}

NOTICE = (
    "Sostituto locale del sito istituzionale di un Comune immaginario, servito da scripts/agid-check solo "
    "perché il controllo di AGID possa seguire i link del menu principale. Non è il sito di nessun Comune."
)


def _page(origin: str, title: str, links: list[tuple[str, str, str]]) -> str:
    items = "".join(
        f'<li><a href="{html.escape(origin + target)}" data-element="{html.escape(element)}">{html.escape(text)}</a></li>'
        for element, text, target in links
    )
    return (
        '<!doctype html>\n<html lang="it"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} (sostituto locale)</title></head>\n"
        f"<body><p><strong>{html.escape(NOTICE)}</strong></p><h1>{html.escape(title)}</h1>"
        f"<ul>{items}</ul></body></html>\n"
    )


def write_standin(folder: Path, origin: str) -> Path:
    """Write the stand-in's pages into ``folder``: each section with its markers, and every page they link to.

    Links are absolute (``origin``, with its trailing ``/``): the checker resolves some of them, such as the events
    button, against the address of the site it checks, not of the page that holds them."""
    pages: dict[str, list[tuple[str, str, str]]] = {"": [], **SECTIONS}
    for links in SECTIONS.values():
        for _element, _text, linked in links:
            pages.setdefault(linked, [])
    for path, links in pages.items():
        title = path.strip("/").replace("/", " › ").replace("-", " ").capitalize() or "Sito istituzionale"
        file = folder / path / "index.html"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(_page(origin, title, links), encoding="utf-8")
    return folder
