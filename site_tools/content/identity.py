"""The town's identity on its site: what every page of an Italian town's site shows.

AGID's guidelines and Designers Italia's model for municipal sites (and the
checker that reads them) want in the footer the town's contacts (address,
PEC, tax code), «Note legali», «Privacy», the «Dichiarazione di
accessibilità» published on AGID's form site, a link to the town's main
website and where to report a problem; on content pages the «Quanto sono
chiare le informazioni su questa pagina?» rating; in the header the coat of
arms. Each comes from ``extra.town`` in ``mkdocs.yml``.

Only the site needs these: a problem here stops the site build (with an
Italian message naming the field and the fix) but never the publisher, so an
urgent alert is not held back by a missing tax code. The checks that need the
content folder (files, pages) read it from the validation context
(``{"content_dir": Path}``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urljoin, urlparse

from pydantic import AfterValidator, Field, ValidationInfo

from site_tools.content.town_base import Block, Email, HttpsUrl, Text, refuse

#: White text on the town's colour (header, buttons) and the colour on white (links): WCAG AA.
MIN_CONTRAST = 4.5
AGID_FORM = "https://form.agid.gov.it/view/"
COAT_OF_ARMS_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg")  # not SVG: opened alone it can run script (content/files.py)
SHARE_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: The sections of the town's main site the model's header («Amministrazione», «Servizi», «Vivere il Comune») and
#: footer («Domande frequenti») link to: each field's default, a path under ``website`` as the model's own sites
#: (Designers Italia's WordPress and Drupal themes for towns) publish them.
MAIN_SITE_SECTIONS = {
    "management_url": "amministrazione/",
    "services_url": "servizi/",
    "live_url": "vivere-il-comune/",
    "faq_url": "domande-frequenti/",
}


def relative_luminance(color: str) -> float:
    """WCAG 2.1's relative luminance of ``#rrggbb``."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _it(ratio: float) -> str:
    return f"{ratio:.1f}".replace(".", ",")


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise refuse(
            f"«{value}» non è un colore.",
            'scrivi il colore in esadecimale tra virgolette, per esempio «color: "#0b4fa3"».',
        )
    ratio = contrast(value, "#ffffff")
    if ratio < MIN_CONTRAST:
        raise refuse(
            f"il colore «{value}» è troppo chiaro: il testo bianco su questo colore (e il colore dei link "
            f"sul bianco) ha un contrasto di {_it(ratio)}:1, ne serve almeno {_it(MIN_CONTRAST)}:1 (WCAG 2.1 AA).",
            "scegli una tonalità più scura dello stesso colore.",
        )
    return value.lower()


def _content_dir(info: ValidationInfo) -> Path:
    context = info.context if isinstance(info.context, dict) else {}
    return Path(context.get("content_dir", "content"))


def _content_file(suffixes: tuple[str, ...]) -> Any:
    def check(value: str, info: ValidationInfo) -> str:
        if re.match(r"^[a-z]+:", value):
            raise refuse(f"«{value}» deve essere un file dentro content/.", "scrivi il percorso del file.")
        content_dir = _content_dir(info)
        target = content_dir / value.lstrip("/")
        if not target.resolve().is_relative_to(content_dir.resolve()) or not target.is_file():
            raise refuse(
                f"il file «{value}» non esiste dentro content/.",
                "controlla nome e cartella: il percorso parte da content/ (maiuscole comprese).",
            )
        if not value.lower().endswith(suffixes):
            raise refuse(f"«{value}» non è di un tipo ammesso.", f"usa un file {', '.join(suffixes)}.")
        return value.lstrip("/")

    return AfterValidator(check)


def _tax_code(value: str) -> str:
    from stdnum.it import iva  # only the site needs it: not imported on the urgent path's import

    if not iva.is_valid(value):
        raise refuse(
            f"«{value}» non è un codice fiscale valido: quello di un ente ha 11 cifre e l'ultima è di controllo.",
            "copialo dal sito istituzionale del Comune, tra virgolette (così gli zeri iniziali restano).",
        )
    return value


def _agid(value: str) -> str:
    if not value.startswith(AGID_FORM):
        raise refuse(
            f"«{value}» non è una dichiarazione pubblicata sul sito di AGID.",
            f"compila la dichiarazione su https://form.agid.gov.it e copia qui il link pubblico ({AGID_FORM}…).",
        )
    return value


def _privacy(value: str, info: ValidationInfo) -> str:
    if value.startswith("https://") and urlparse(value).netloc:
        return value
    if value.endswith(".md") and (_content_dir(info) / value.lstrip("/")).is_file():
        return value.lstrip("/")
    raise refuse(
        f"«{value}» non è una pagina del sito né un indirizzo https://.",
        "scrivi il nome della pagina in content/ (per esempio privacy.md) o l'indirizzo completo dell'informativa.",
    )


def _main_site(field: str, what: str) -> Any:
    path = MAIN_SITE_SECTIONS[field]
    return Field(
        default=None,
        description=f"{what} Se manca: l'indirizzo del sito istituzionale («website») seguito da «{path}».",
        examples=[f"https://www.comune.example.it/{path}"],
    )


class Identity(Block):
    """L'identità del Comune sul sito (modello AGID dei siti comunali): serve solo al sito; un errore qui ferma
    la costruzione del sito ma mai l'invio degli avvisi."""

    color: Annotated[str, AfterValidator(_color)] = Field(
        description="Colore del Comune (intestazione, pulsanti, link), in esadecimale tra virgolette. "
        "Deve avere un contrasto di almeno 4,5:1 con il bianco (WCAG 2.1 AA).",
        examples=['"#0b4fa3"'],
    )
    coat_of_arms: Annotated[Text, _content_file(COAT_OF_ARMS_SUFFIXES)] = Field(
        description="Lo stemma del Comune: un file dentro content/ (PNG, WebP o JPEG; non SVG).",
        examples=["img/stemma.png"],
    )
    website: HttpsUrl = Field(
        description="Indirizzo del sito istituzionale del Comune, con https://.",
        examples=["https://www.comune.example.it/"],
    )
    address: Text = Field(
        description="Indirizzo della sede del Comune, mostrato a piè di pagina.",
        examples=["Piazza del Municipio 1, 00000 Paese"],
    )
    pec: Email = Field(
        description="Indirizzo di posta elettronica certificata (PEC) del Comune, mostrato a piè di pagina.",
        examples=["protocollo@pec.comune.example.it"],
    )
    tax_code: Annotated[Text, AfterValidator(_tax_code)] = Field(
        description="Codice fiscale del Comune (11 cifre, l'ultima di controllo), tra virgolette perché gli zeri "
        "iniziali restino.",
        examples=['"12345670017"'],
    )
    accessibility_statement: Annotated[HttpsUrl, AfterValidator(_agid)] = Field(
        description=f"Link pubblico della dichiarazione di accessibilità compilata sul sito di AGID ({AGID_FORM}…).",
        examples=[f"{AGID_FORM}00000000-0000-0000-0000-000000000000"],
    )
    privacy: Annotated[Text, AfterValidator(_privacy)] = Field(
        description="L'informativa sulla privacy: una pagina del sito in content/ (per esempio privacy.md) "
        "oppure l'indirizzo https:// dell'informativa del Comune.",
        examples=["privacy.md"],
    )
    page_feedback: HttpsUrl = Field(
        description="Indirizzo del modulo del Comune che riceve le valutazioni delle pagine "
        "(«Quanto sono chiare le informazioni su questa pagina?»).",
        examples=["https://www.comune.example.it/valutazione-pagine"],
    )
    management_url: HttpsUrl | None = _main_site(
        "management_url",
        "Pagina «Amministrazione» del sito istituzionale: voce del menu principale in alto (modello AGID dei siti "
        "comunali).",
    )
    services_url: HttpsUrl | None = _main_site(
        "services_url", "Pagina «Servizi» del sito istituzionale: voce del menu principale in alto."
    )
    live_url: HttpsUrl | None = _main_site(
        "live_url",
        "Pagina «Vivere il Comune» del sito istituzionale (luoghi ed eventi): voce del menu principale in alto.",
    )
    faq_url: HttpsUrl | None = _main_site(
        "faq_url", "Pagina delle domande frequenti (FAQ) del Comune, linkata a piè di pagina."
    )
    share_image: Annotated[Text, _content_file(SHARE_IMAGE_SUFFIXES)] | None = Field(
        default=None,
        description="Immagine di anteprima quando un link del sito è condiviso (PNG o JPEG dentro content/). "
        "Se manca, il sito ne disegna una con il nome e il colore del Comune.",
        examples=["img/anteprima.png"],
    )

    @property
    def privacy_is_page(self) -> bool:
        return not self.privacy.startswith("https://")

    def main_site(self, field: str) -> str:
        """The address of a section of the town's main site: the field if written, else its default under
        ``website`` (:data:`MAIN_SITE_SECTIONS`)."""
        written = getattr(self, field)
        return str(written) if written else urljoin(self.website, MAIN_SITE_SECTIONS[field])


#: What the site falls back to while an identity problem is reported (the publisher never needs these).
_FALLBACK: dict[str, Any] = dict.fromkeys(Identity.model_fields, "")
FALLBACK = Identity.model_construct(
    None,
    **_FALLBACK
    | {"color": "#0b4fa3", "privacy": "privacy.md", "share_image": None}
    | dict.fromkeys(MAIN_SITE_SECTIONS),
)
#: The keys of ``extra.town`` that belong to the identity.
IDENTITY_KEYS = tuple(Identity.model_fields)
