"""The town's identity on its site: what every page of an Italian town's site shows.

AGID's guidelines and Designers Italia's model for municipal sites (and the
checker that reads them, ``shared/spec/pa-site-model.md``) want in the footer
the town's contacts (address, PEC, tax code), «Note legali», «Privacy», the
«Dichiarazione di accessibilità» published on AGID's form site, a link to the
town's main website and where to report a problem; on content pages the
«Quanto sono chiare le informazioni su questa pagina?» rating; in the header
the coat of arms. Each comes from ``extra.town`` in ``mkdocs.yml``.

Only the site needs these: a problem here stops the site build (with an
Italian message naming the field and the fix) but never the publisher, so an
urgent alert is not held back by a missing tax code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from stdnum.it import iva

Add = Callable[[str, str, str], None]

#: The keys of ``extra.town`` that belong to the identity (config.py accepts them).
IDENTITY_KEYS = (
    "color",
    "coat_of_arms",
    "website",
    "address",
    "pec",
    "tax_code",
    "accessibility_statement",
    "privacy",
    "page_feedback",
    "share_image",
)
#: White text on the town's colour (header, buttons) and the colour on white (links): WCAG AA.
MIN_CONTRAST = 4.5
AGID_FORM = "https://form.agid.gov.it/view/"
COAT_OF_ARMS_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg")  # not SVG: opened alone it can run script (content/files.py)
SHARE_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Identity:
    color: str = "#0b4fa3"
    #: Paths inside content/, as written (``img/stemma.svg``).
    coat_of_arms: str = ""
    website: str = ""
    address: str = ""
    pec: str = ""
    tax_code: str = ""
    accessibility_statement: str = ""
    #: A page of the site (``privacy.md``) or the address of the town's own policy.
    privacy: str = "privacy.md"
    #: Where the «Quanto sono chiare le informazioni su questa pagina?» form is sent.
    page_feedback: str = ""
    #: The default link-preview image; None: one is drawn at build time with the town's name.
    share_image: str | None = None

    @property
    def privacy_is_page(self) -> bool:
        return not self.privacy.startswith("https://")


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


def parse_identity(town: dict[str, Any], content_dir: Path, P: str, add: Add) -> Identity:
    """Every identity field, each problem reported through ``add`` (field, message, fix)."""
    reader = _Reader(town, content_dir, P, add)
    return Identity(
        color=reader.color(),
        coat_of_arms=reader.file(
            "coat_of_arms", COAT_OF_ARMS_SUFFIXES, "lo stemma del Comune, per esempio «img/stemma.png»"
        )
        or "",
        website=reader.url(
            "website", "l'indirizzo del sito istituzionale, per esempio https://www.comune.example.it/."
        ),
        address=reader.text("address", "l'indirizzo della sede, per esempio «Piazza del Municipio 1, 00000 Paese»."),
        pec=reader.email("pec", "l'indirizzo di posta certificata, per esempio protocollo@pec.comune.example.it."),
        tax_code=reader.tax_code(),
        accessibility_statement=reader.accessibility_statement(),
        privacy=reader.privacy(),
        page_feedback=reader.url(
            "page_feedback",
            "l'indirizzo del modulo del Comune che riceve le valutazioni delle pagine "
            "(«Quanto sono chiare le informazioni su questa pagina?»).",
        ),
        share_image=reader.file("share_image", SHARE_IMAGE_SUFFIXES, "", required=False),
    )


class _Reader:
    def __init__(self, town: dict[str, Any], content_dir: Path, P: str, add: Add):
        self.town, self.content_dir, self.P, self.add = town, content_dir, P, add

    def missing(self, key: str, what: str) -> None:
        self.add(self.P + key, f"manca «{key}», che il sito mostra a piè di pagina.", f"aggiungi sotto «town:» {what}")

    def text(self, key: str, what: str) -> str:
        value = self.town.get(key)
        if not isinstance(value, str) or not value.strip():
            self.missing(key, what)
            return ""
        return " ".join(value.split())

    def url(self, key: str, what: str) -> str:
        value = self.text(key, what)
        if value and (urlparse(value).scheme != "https" or not urlparse(value).netloc):
            self.add(
                self.P + key, f"«{value}» non è un indirizzo web sicuro.", "scrivi l'indirizzo completo con https://."
            )
            return ""
        return value

    def email(self, key: str, what: str) -> str:
        value = self.text(key, what)
        if value and not _EMAIL.match(value):
            self.add(self.P + key, f"«{value}» non è un indirizzo e-mail.", f"scrivi {what}")
            return ""
        return value

    def color(self) -> str:
        value = self.town.get("color")
        if value is None:
            self.missing("color", 'il colore del Comune, per esempio «color: "#0b4fa3"» (tra virgolette).')
            return Identity.color
        if not isinstance(value, str) or not _COLOR.match(value):
            self.add(
                self.P + "color",
                f"«{value}» non è un colore.",
                'scrivi il colore in esadecimale tra virgolette, per esempio «color: "#0b4fa3"».',
            )
            return Identity.color
        ratio = contrast(value, "#ffffff")
        if ratio < MIN_CONTRAST:
            self.add(
                self.P + "color",
                f"il colore «{value}» è troppo chiaro: il testo bianco su questo colore (e il colore dei link "
                f"sul bianco) ha un contrasto di {_it(ratio)}:1, ne serve almeno {_it(MIN_CONTRAST)}:1 (WCAG 2.1 AA).",
                "scegli una tonalità più scura dello stesso colore.",
            )
            return Identity.color
        return value.lower()

    def file(self, key: str, suffixes: tuple[str, ...], what: str, required: bool = True) -> str | None:
        value = self.town.get(key)
        if value is None:
            if required:
                self.missing(key, f"{what} (un file dentro content/).")
            return None
        if not isinstance(value, str) or re.match(r"^[a-z]+:", value):
            self.add(self.P + key, f"«{value}» deve essere un file dentro content/.", "scrivi il percorso del file.")
            return None
        target = self.content_dir / value.lstrip("/")
        if not target.resolve().is_relative_to(self.content_dir.resolve()) or not target.is_file():
            self.add(
                self.P + key,
                f"il file «{value}» non esiste dentro content/.",
                "controlla nome e cartella: il percorso parte da content/ (maiuscole comprese).",
            )
            return None
        if not value.lower().endswith(suffixes):
            self.add(self.P + key, f"«{value}» non è di un tipo ammesso.", f"usa un file {', '.join(suffixes)}.")
            return None
        return value.lstrip("/")

    def tax_code(self) -> str:
        value = self.town.get("tax_code")
        text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if not text:
            self.missing("tax_code", 'il codice fiscale del Comune tra virgolette, per esempio «tax_code: "…"».')
            return ""
        if not iva.is_valid(text):
            self.add(
                self.P + "tax_code",
                f"«{text}» non è un codice fiscale valido: quello di un ente ha 11 cifre e l'ultima è di controllo.",
                "copialo dal sito istituzionale del Comune, tra virgolette (così gli zeri iniziali restano).",
            )
            return ""
        return text

    def accessibility_statement(self) -> str:
        value = self.url(
            "accessibility_statement",
            f"l'indirizzo della dichiarazione di accessibilità pubblicata su AGID ({AGID_FORM}…).",
        )
        if value and not value.startswith(AGID_FORM):
            self.add(
                self.P + "accessibility_statement",
                f"«{value}» non è una dichiarazione pubblicata sul sito di AGID.",
                f"compila la dichiarazione su https://form.agid.gov.it e copia qui il link pubblico ({AGID_FORM}…).",
            )
            return ""
        return value

    def privacy(self) -> str:
        value = self.town.get("privacy")
        if value is None:
            self.missing(
                "privacy", "«privacy: privacy.md» (una pagina del sito) o l'indirizzo https:// dell'informativa."
            )
            return Identity.privacy
        if isinstance(value, str) and value.startswith("https://") and urlparse(value).netloc:
            return value
        if isinstance(value, str) and value.endswith(".md") and (self.content_dir / value.lstrip("/")).is_file():
            return value.lstrip("/")
        self.add(
            self.P + "privacy",
            f"«{value}» non è una pagina del sito né un indirizzo https://.",
            "scrivi il nome della pagina in content/ (per esempio privacy.md) o l'indirizzo completo dell'informativa.",
        )
        return Identity.privacy
