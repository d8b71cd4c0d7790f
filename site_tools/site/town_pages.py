"""Pages every Italian town's site has, generated from ``extra.town``: «Dati aperti», «Note legali»,
«Segnalazione disservizio»; and what the model puts on every page: the header's menu and the footer's links.

Every value from the configuration is escaped here (``html.escape``) before it
enters the page: these pages are Markdown with raw HTML in places.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any, cast

from mkdocs.utils import normalize_url

from site_tools.content.config import TownConfig
from site_tools.render.cap import CapFeed
from site_tools.render.rss import FEED_SIZE
from site_tools.site.model import SiteModel
from site_tools.site.pages import FRONT, _md, page_url

esc = html.escape

#: AGID's open-by-default wording (art. 52 CAD, CC-BY 4.0), word for word as AGID's checker for
#: municipal sites reads it under «Licenza dei contenuti» (criterion C.SI.3.4: the title marked
#: ``data-element="legal-notes-section"`` — the checker compares that element's whole text with «Licenza dei
#: contenuti», so the marker is on the title alone — and this text marked ``legal-notes-body``).
LICENCE_TEXT = (
    "In applicazione del principio open by default ai sensi dell’articolo 52 del decreto legislativo "
    "7 marzo 2005, n. 82 (CAD) e salvo dove diversamente specificato (compresi i contenuti incorporati "
    "di terzi), i dati, i documenti e le informazioni pubblicati sul sito sono rilasciati con licenza "
    "CC-BY 4.0. Gli utenti sono quindi liberi di condividere (riprodurre, distribuire, comunicare al "
    "pubblico, esporre in pubblico), rappresentare, eseguire e recitare questo materiale con qualsiasi "
    "mezzo e formato e modificare (trasformare il materiale e utilizzarlo per opere derivate) per "
    "qualsiasi fine, anche commerciale con il solo onere di attribuzione, senza apporre restrizioni aggiuntive."
)
OPEN_DATA = "dati-aperti.md"
LEGAL_NOTES = "note-legali.md"
REPORTS = "segnalazioni.md"


#: The model's main menu (Designers Italia, municipal sites): label, where it leads, the ``data-element`` AGID's
#: checker finds it by. «Novità» is this site; «Argomenti» is this site's topics page; the rest are sections of
#: the town's main site (``extra.town``: ``management_url``, ``services_url``, ``live_url``).
MENU = (
    ("Amministrazione", "management_url", "management"),
    ("Novità", "novita/index.md", "news"),
    ("Servizi", "services_url", "all-services"),
    ("Vivere il Comune", "live_url", "live"),
)
TOPICS_PAGE = "argomenti/index.md"
TOPICS = ("Argomenti", TOPICS_PAGE, "all-topics")


def _menu_link(config: TownConfig, label: str, target: str, element: str) -> dict[str, str]:
    href = page_url(target) if target.endswith(".md") else config.identity.main_site(target)
    return {"label": label, "href": href, "element": element}


def menu(config: TownConfig, topics: bool) -> dict[str, object]:
    """The model's header menu (partials/st-menu.html escapes each value): the four main entries, then
    «Argomenti» if the site has that page (``topics``)."""
    return {
        "main": [_menu_link(config, *entry) for entry in MENU],
        "topics": [_menu_link(config, *TOPICS)] if topics else [],
    }


def footer(config: TownConfig) -> dict[str, object]:
    """What the footer of every page shows (partials/copyright.html escapes each value).

    Links are site paths (``note-legali/``) or absolute addresses; ``element`` is the
    ``data-element`` AGID's checker (italia/pa-website-validator) looks for.
    """
    identity = config.identity
    privacy = page_url(identity.privacy) if identity.privacy_is_page else identity.privacy
    links = [
        ("Sito istituzionale del Comune", identity.website, ""),
        ("Domande frequenti (FAQ)", identity.main_site("faq_url"), "faq"),
        ("Segnalazione disservizio", page_url(REPORTS), "report-inefficiency"),
        ("Note legali", page_url(LEGAL_NOTES), "legal-notes"),
        ("Privacy", privacy, "privacy-policy-link"),
        ("Dichiarazione di accessibilità", identity.accessibility_statement, "accessibility-link"),
        ("Dati aperti", page_url(OPEN_DATA), ""),
        ("Iscriviti agli avvisi", "iscriviti/", ""),
    ]
    return {
        "name": config.name,
        "coat_of_arms": identity.coat_of_arms,
        "address": identity.address,
        "pec": identity.pec,
        "tax_code": identity.tax_code,
        "links": [{"label": label, "href": href, "element": element} for label, href, element in links],
    }


def footer_key(shown: dict[str, Any]) -> Callable[[Any, str], str]:
    """The footer's link addresses as a page prints them (the ``url`` filter, ProperDocs' ``normalize_url``):
    partials/copyright.html prints nothing else that depends on the page, so pages with one key share one footer."""
    links = cast(list[dict[str, str]], shown["links"])
    targets = [str(shown["coat_of_arms"] or ""), *(link["href"] for link in links), "feed.xml"]

    def key(page: Any, base_url: str) -> str:
        return "|".join(normalize_url(target, page=page, base=base_url) for target in targets)

    return key


def town_pages(model: SiteModel, cap: CapFeed) -> dict[str, str]:
    return {OPEN_DATA: open_data(model, cap), LEGAL_NOTES: legal_notes(model), REPORTS: reports(model)}


def open_data(model: SiteModel, cap: CapFeed) -> str:
    config = model.config
    site = config.site_url
    webcal = "webcal://" + site.split("://", 1)[1] + "eventi.ics"
    rows = "\n".join(
        f"| {_md(c.label)} | [categorie/{c.slug}/feed.xml](categorie/{c.slug}/feed.xml) |" for c in config.categories
    )
    alerts = (
        "\n".join(f"- [{_md(b.title)}](cap/{b.id}.xml) ({cap.msg_type(b)})" for b in cap.messages)
        or "- Nessuna allerta in corso."
    )
    events = sum(1 for b in model.bulletins if b.event)
    return f"""# Dati aperti

Gli avvisi del {_md(config.name)} sono anche dati aperti, in tre formati standard che si
aggiornano da soli a ogni pubblicazione. Si possono riusare liberamente, citando la fonte
(licenza CC-BY 4.0: vedi le [Note legali]({LEGAL_NOTES})).

## RSS: le novità in un lettore di notizie

Un feed RSS elenca gli ultimi {FEED_SIZE} avvisi, dal più recente. Serve per seguire le novità
con un'app di lettura di notizie (*feed reader*), per mostrarle su un altro sito (quello di una
scuola, di un'associazione, di un giornale locale) o per collegarle ad altri servizi.

- [Tutti gli avvisi](feed.xml): <code>{esc(site)}feed.xml</code>
- Una categoria sola:

| categoria | feed RSS |
|---|---|
{rows}

## iCalendar: gli eventi nel tuo calendario

Il calendario degli eventi del Comune ({events} in tutto) è in formato iCalendar (RFC 5545):
aggiunto all'app Calendario del telefono o del computer, si aggiorna da solo quando il Comune
pubblica, sposta o annulla un evento.

- [Abbonati al calendario degli eventi]({esc(webcal)}) (dal telefono), oppure aggiungi
  l'indirizzo <code>{esc(site)}eventi.ics</code> nell'app Calendario;
- [Scarica il calendario](eventi.ics) (file .ics);
- ogni evento futuro ha anche il suo pulsante «Aggiungi al calendario» nella sua pagina.

## CAP: le allerte in formato standard

Le allerte urgenti sono pubblicate anche nel Common Alerting Protocol (OASIS CAP 1.2), il
formato internazionale delle allerte di protezione civile: lo leggono i sistemi di allerta, i
media e le app che diffondono gli avvisi alla popolazione. Ogni allerta è un file XML; un
aggiornamento o un annullamento rimanda all'allerta che aggiorna o annulla.

- [Elenco delle allerte](cap/index.json) (JSON, l'indirizzo di ogni file): <code>{esc(site)}cap/index.json</code>
- Allerte in corso:

{alerts}
"""


def legal_notes(model: SiteModel) -> str:
    config, identity = model.config, model.config.identity
    return f"""{FRONT}# Note legali

<section>
<h2 id="licenza-dei-contenuti" data-element="legal-notes-section">Licenza dei contenuti</h2>
<p data-element="legal-notes-body">{esc(LICENCE_TEXT)}</p>
</section>

## Titolare del sito

{_md(config.name)}, {_md(identity.address)}. Codice fiscale {_md(identity.tax_code)}.
Posta elettronica certificata (PEC): [{_md(identity.pec)}](mailto:{esc(identity.pec)}).
Sito istituzionale: [{_md(identity.website)}]({esc(identity.website)}).

## Stemma e nome del Comune

Lo stemma e il nome del Comune identificano l'ente: non sono coperti dalla licenza e non si
possono usare in modo da far credere che un contenuto provenga dal Comune.

## Contenuti di terzi

I link verso altri siti (WhatsApp, Telegram, AGID…) portano a servizi che il Comune non
gestisce: valgono le loro condizioni d'uso e le loro informative.
"""


def reports(model: SiteModel) -> str:
    config = model.config
    r = config.reports
    ways = []
    if r.toll_free:
        digits = re.sub(r"\D", "", r.toll_free)
        ways.append(f"- **Numero verde** (gratuito): [{_md(r.toll_free)}](tel:{digits})")
    if r.form_url:
        ways.append(f"- **Modulo online**: [{_md(r.form_url)}]({esc(r.form_url)})")
    if r.email:
        ways.append(f"- **E-mail**: [{_md(r.email)}](mailto:{esc(r.email)})")
    hours = config.office_hours.describe()
    if config.counter and config.whatsapp:
        chat = (
            f"Al numero WhatsApp degli avvisi ({_md(config.whatsapp.display)}) risponde lo sportello "
            f"negli orari d'ufficio ({_md(hours)}); per una segnalazione usa i canali qui sopra, "
            "che la registrano e la passano all'ufficio giusto."
        )
    else:
        chat = (
            "La lista WhatsApp, il Canale WhatsApp e il canale Telegram servono solo a mandare avvisi: "
            "i messaggi scritti lì non vengono letti. Per una segnalazione usa i canali qui sopra."
        )
    return f"""{FRONT}# Segnalazione disservizio

Per segnalare un disservizio o un problema in città (una buca, un lampione spento, un albero
caduto, rifiuti abbandonati, un servizio che non funziona) usa uno di questi canali del
{_md(config.name)}:

{chr(10).join(ways)}

{chat}

Per un'emergenza chiama il **112**.
"""
