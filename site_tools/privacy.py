"""Phone numbers in logs: always masked (``+39 333 ••• ••12``)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\+?\d[\d ]{6,}\d")


def mask(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 6:
        return "•••"
    if digits.startswith("39") and len(digits) >= 11:
        return f"+39 {digits[2:5]} ••• ••{digits[-2:]}"
    return f"+{digits[:2]} ••• ••{digits[-2:]}"


def mask_all(text: str) -> str:
    """Mask anything that looks like a phone number inside a free text."""
    return _DIGITS.sub(lambda m: mask(m.group(0)), text)
