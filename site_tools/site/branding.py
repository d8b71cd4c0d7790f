"""The town's look, from ``extra.town``: its colour in the stylesheet, and the default link-preview image.

The colour has been checked against white (content/identity.py: at least
4.5:1), so white text on it and links in it on white both pass WCAG AA.
The preview image (Open Graph, 1200×630) is drawn at build time by ``render/share_image.py`` (the Bluesky
channel uploads the same picture as its link card's thumbnail), with a font that ships with reportlab, so the
build needs nothing from the network.
"""

from __future__ import annotations

import re

from site_tools.render.share_image import SHARE_IMAGE, SHARE_SIZE, share_image

__all__ = ["SHARE_IMAGE", "SHARE_SIZE", "minify_css", "share_image", "town_css"]


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
