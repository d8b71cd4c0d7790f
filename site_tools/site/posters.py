"""Printable posters (A4 and A3 PDF), one per channel: town name, QR code, three steps.

The QR code is drawn as vector squares from the same matrix as the web page's
code, so it stays sharp at any print size.
"""

from __future__ import annotations

import io

from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A3, A4
from reportlab.pdfgen.canvas import Canvas

from site_tools.content.config import TownConfig
from site_tools.site.qr import matrix
from site_tools.site.signup import SignupChannel

SIZES = {"a4": A4, "a3": A3}
HEADLINES = {
    "whatsapp_channel": "Segui il Canale WhatsApp del Comune",
    "whatsapp_list": "Ricevi gli avvisi urgenti su WhatsApp",
    "telegram": "Segui il Comune su Telegram",
    "facebook": "Segui il Comune su Facebook",
    "mastodon": "Segui il Comune su Mastodon",
    "bluesky": "Segui il Comune su Bluesky",
}


def _latin1(text: str) -> str:
    """The built-in PDF fonts cover Latin-1: accents yes, emoji no."""
    return text.encode("latin-1", "ignore").decode("latin-1").strip()


def poster_pdf(config: TownConfig, channel: SignupChannel, size: str) -> bytes:
    width, height = SIZES[size]
    scale = width / A4[0]
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=(width, height))
    pdf.setTitle(f"{config.name} – {HEADLINES[channel.key]}")
    pdf.setAuthor(config.name)
    pdf.setSubject(channel.link)
    margin = 40 * scale
    colour = HexColor(config.identity.color)  # the town's, at least 4.5:1 with white (content/identity.py)
    # Band with the town's name.
    pdf.setFillColor(colour)
    pdf.rect(0, height - 120 * scale, width, 120 * scale, stroke=0, fill=1)
    pdf.setFillColor(white)
    pdf.setFont("Helvetica-Bold", 34 * scale)
    pdf.drawCentredString(width / 2, height - 75 * scale, _latin1(config.name))
    pdf.setFillColor(black)
    pdf.setFont("Helvetica-Bold", 26 * scale)
    pdf.drawCentredString(width / 2, height - 180 * scale, _latin1(HEADLINES[channel.key]))
    pdf.setFont("Helvetica", 15 * scale)
    pdf.drawCentredString(
        width / 2,
        height - 210 * scale,
        _latin1("Allerte meteo e di protezione civile, strade chiuse, scuole, scadenze."),
    )
    # QR code, vector.
    modules = matrix(channel.link)
    side = 300 * scale
    cell = side / len(modules)
    left, top = (width - side) / 2, height - 240 * scale
    pdf.setFillColor(black)
    path = pdf.beginPath()  # one path for all modules: a small, fast PDF
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                path.rect(left + c * cell, top - (r + 1) * cell, cell, cell)
    pdf.drawPath(path, stroke=0, fill=1)
    pdf.setFont("Helvetica", 11 * scale)
    pdf.drawCentredString(width / 2, top - side - 16 * scale, _latin1(channel.link))
    # Three steps.
    y = top - side - 60 * scale
    for number, step in enumerate(channel.printed_steps, 1):
        pdf.setFillColor(colour)
        pdf.circle(margin + 14 * scale, y + 5 * scale, 13 * scale, stroke=0, fill=1)
        pdf.setFillColor(white)
        pdf.setFont("Helvetica-Bold", 15 * scale)
        pdf.drawCentredString(margin + 14 * scale, y, str(number))
        pdf.setFillColor(black)
        pdf.setFont("Helvetica", 15 * scale)
        for line in _wrap(_latin1(step), pdf, "Helvetica", 15 * scale, width - 2 * margin - 40 * scale):
            pdf.drawString(margin + 40 * scale, y, line)
            y -= 20 * scale
        y -= 14 * scale
    pdf.setFont("Helvetica", 11 * scale)
    for line in _wrap(_latin1(channel.stop), pdf, "Helvetica", 11 * scale, width - 2 * margin):
        pdf.drawString(margin, y, line)
        y -= 15 * scale
    pdf.drawCentredString(width / 2, 30 * scale, _latin1(f"Tutti gli avvisi: {config.site_url}"))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _wrap(text: str, pdf: Canvas, font: str, size: float, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if pdf.stringWidth(candidate, font, size) > width and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + ([line] if line else [])


def poster_name(channel: SignupChannel, size: str) -> str:
    return f"manifesti/{channel.key.replace('_', '-')}-{size}.pdf"
