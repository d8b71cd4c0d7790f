"""The town's look, from ``extra.town``: its colour in the stylesheet, and the default link-preview image.

The colour has been checked against white (content/identity.py: at least
4.5:1), so white text on it and links in it on white both pass WCAG AA.
The preview image (Open Graph, 1200×630) is drawn at build time with Pillow
and a font that ships with reportlab (DejaVu's ancestor, Bitstream Vera: it has
every Italian accent), so the build needs nothing from the network.
"""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

import reportlab
from PIL import Image, ImageDraw, ImageFont

from site_tools.content.config import TownConfig

SHARE_SIZE = (1200, 630)
SHARE_IMAGE = "assets/condivisione.png"
_FONTS = Path(reportlab.__file__).parent / "fonts"


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _mix(color: str, other: tuple[int, int, int], amount: float) -> str:
    r, g, b = (round(c + (o - c) * amount) for c, o in zip(_rgb(color), other, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def town_css(color: str) -> str:
    """The custom palette of mkdocs-material, in the town's colour (prepended to site-tools.css)."""
    dark = _mix(color, (0, 0, 0), 0.25)
    light = _mix(color, (255, 255, 255), 0.15)
    return (
        f":root{{--st-town-color:{color};--md-primary-fg-color:{color};--md-primary-fg-color--light:{light};"
        f"--md-primary-fg-color--dark:{dark};--md-accent-fg-color:{dark};--md-typeset-a-color:{color}}}\n"
    )


def minify_css(css: str) -> str:
    """Comments and layout whitespace out: every page loads this file (our CSS only, no strings with spaces)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"\s+", " ", css)
    css = re.sub(r"\s*([{};])\s*", r"\1", css)
    return re.sub(r"([,:])\s+", r"\1", css).replace(";}", "}").strip() + "\n"


def share_image(config: TownConfig) -> bytes:
    """A PNG of 1200×630 in the town's colour with its name: what a shared link shows without an image."""
    width, height = SHARE_SIZE
    color = _rgb(config.identity.color)
    image = Image.new("RGB", SHARE_SIZE, color)
    draw = ImageDraw.Draw(image)
    bold = str(_FONTS / "VeraBd.ttf")
    regular = str(_FONTS / "Vera.ttf")
    margin = 80
    lines = textwrap.wrap(config.name, width=22)[:3]
    size = 84 if len(lines) == 1 else 72
    title = ImageFont.truetype(bold, size)
    y = (height - 130 - len(lines) * (size + 16)) // 2
    for line in lines:
        draw.text((margin, y), line, font=title, fill="white")
        y += size + 16
    draw.text((margin, y + 18), "Avvisi, allerte e notizie", font=ImageFont.truetype(regular, 44), fill="white")
    draw.rectangle((0, height - 110, width, height), fill="white")
    host = config.site_url.split("://", 1)[-1].rstrip("/")
    draw.text((margin, height - 78), host, font=ImageFont.truetype(bold, 36), fill=color)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
