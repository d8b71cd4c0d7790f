"""The default link-preview image (Open Graph, 1200×630): the town's colour and name, drawn with Pillow.

The site publishes it (``assets/condivisione.png``) for pages without an image of their own, and the Bluesky
channel uploads the same picture as its link card's thumbnail: one drawing for both. The font ships with
reportlab (Bitstream Vera: it has every Italian accent), so nothing comes from the network.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from site_tools.content.config import TownConfig

SHARE_SIZE = (1200, 630)
SHARE_IMAGE = "assets/condivisione.png"


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def share_image(config: TownConfig) -> bytes:
    """A PNG of 1200×630 in the town's colour with its name: what a shared link shows without an image."""
    import reportlab
    from PIL import Image, ImageDraw, ImageFont

    fonts = Path(reportlab.__file__).parent / "fonts"
    width, height = SHARE_SIZE
    color = _rgb(config.identity.color)
    image = Image.new("RGB", SHARE_SIZE, color)
    draw = ImageDraw.Draw(image)
    bold = str(fonts / "VeraBd.ttf")
    regular = str(fonts / "Vera.ttf")
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
