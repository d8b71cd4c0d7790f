"""QR codes for signup links: SVG for the web page, a module matrix for PDF posters."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _code(data: str) -> qrcode.QRCode:
    # Level M survives a scratched or dirty poster in the street (15 % of modules).
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(data)
    code.make(fit=True)
    return code


def svg(data: str, label: str) -> str:
    """An inline SVG with an accessible name."""
    image = _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    text = image.to_string(encoding="unicode")
    text = text.replace("<svg ", f'<svg role="img" aria-label="{_attr(label)}" class="st-qr" ', 1)
    return text


def matrix(data: str) -> list[list[bool]]:
    """Modules including the quiet zone (True = dark)."""
    return _code(data).get_matrix()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
