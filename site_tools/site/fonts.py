"""The typefaces of Designers Italia's model for municipal sites, served by the site itself.

AGID's checker (criterion C.SI.1.1) reads the computed ``font-family`` of every heading and paragraph and accepts
only Titillium Web (text), Lora (serif) and Roboto Mono (code). The fonts are vendored in the package
(``assets/fonts/``, WOFF2 from the npm packages ``@fontsource/titillium-web``, ``@fontsource/lora`` and
``@fontsource/roboto-mono`` 5.3.0, SIL Open Font License 1.1: ``OFL-*.txt`` beside them), so a town's
``pip install`` builds the site with nothing fetched, and citizens' browsers ask no other host (the pages'
Content-Security-Policy allows fonts from the site alone). mkdocs-material's own Google Fonts stay off
(``theme.font: false``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FONTS_DIR = Path(__file__).parent / "assets" / "fonts"
#: Where the site publishes them, beside ``assets/site-tools.css`` (whose ``url()`` are relative to it).
PUBLISHED = "assets/fonts/"

TEXT = "Titillium Web"
SERIF = "Lora"
CODE = "Roboto Mono"
#: The subsets published: Latin and Latin Extended (every letter of Italian and of the regional minorities'
#: languages), with the unicode ranges Google Fonts and Fontsource give them, so a browser downloads one only for
#: a page that uses its characters.
SUBSETS = {
    "latin": "U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,U+0329,"
    "U+2000-206F,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD",
    "latin-ext": "U+0100-02BA,U+02BD-02C5,U+02C7-02CC,U+02CE-02D7,U+02DD-02FF,U+0304,U+0308,U+0329,U+1D00-1DBF,"
    "U+1E00-1E9F,U+1EF2-1EFF,U+2020,U+20A0-20AB,U+20AD-20C0,U+2113,U+2C60-2C7F,U+A720-A7FF",
}


@dataclass(frozen=True)
class Face:
    family: str
    weight: int
    style: str = "normal"

    def file(self, subset: str) -> str:
        return f"{self.family.lower().replace(' ', '-')}-{subset}-{self.weight}-{self.style}.woff2"


#: The faces the site publishes: Titillium Web regular, italic and bold; Lora for quotations; Roboto Mono for code.
#: The theme's light (300) headings and the site's semibold (600) are drawn with the nearest face (400, 700): each
#: face is about 12 kB a page that uses it, and the home page would load two more.
FACES = (
    Face(TEXT, 400),
    Face(TEXT, 400, "italic"),
    Face(TEXT, 700),
    Face(SERIF, 400),
    Face(SERIF, 400, "italic"),
    Face(CODE, 400),
)


def font_files() -> dict[str, bytes]:
    """Every WOFF2 the site publishes, by its path in the site."""
    return {PUBLISHED + face.file(s): (FONTS_DIR / face.file(s)).read_bytes() for face in FACES for s in SUBSETS}


def font_css() -> str:
    """The ``@font-face`` rules and the theme's font variables, for the top of ``assets/site-tools.css``."""
    rules = [
        f'@font-face{{font-family:"{face.family}";font-style:{face.style};font-weight:{face.weight};'
        f'font-display:swap;src:url("fonts/{face.file(subset)}") format("woff2");unicode-range:{ranges}}}'
        for face in FACES
        for subset, ranges in SUBSETS.items()
    ]
    theme = (
        f':root{{--md-text-font:"{TEXT}";--md-code-font:"{CODE}"}}'
        f'.md-typeset blockquote{{font-family:"{SERIF}",Georgia,serif}}'
    )
    return "\n".join(rules) + "\n" + theme + "\n"
