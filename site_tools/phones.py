"""Phone numbers: parsed one way everywhere, and always masked in logs (``+39 333 ••• ••12``)."""

from __future__ import annotations

import hashlib
import re

import phonenumbers

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


def normalize(raw: str) -> str | None:
    """Any way Italians write a mobile number → E.164 digits without "+"."""
    try:
        parsed = phonenumbers.parse(raw.strip(), "IT")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def e164(raw: str) -> str | None:
    """WhatsApp ids are E.164 digits without "+"; anything else is not a phone number."""
    try:
        number = phonenumbers.parse("+" + raw.lstrip("+"))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def sender_hash(phone: str) -> str:
    """Who sent an inbound message, without the number: enough for erasure to find its traces."""
    return hashlib.sha256(f"site-tools:{phone}".encode()).hexdigest()[:32]


#: Why a number cannot be on a WhatsApp list, in Italian (``None`` from :func:`whatsapp_refusal`: it can).
NOT_VALID = "numero non valido"
LANDLINE = "numero fisso: non può ricevere WhatsApp"
NOT_MOBILE = "non è un numero di cellulare (numero verde, a pagamento o di servizio)"


def whatsapp_refusal(raw: str) -> str | None:
    """Why ``raw`` cannot be a WhatsApp subscriber, or ``None``: phonenumbers' number type decides.

    MOBILE and FIXED_LINE_OR_MOBILE (countries whose plans do not tell them apart) are accepted; FIXED_LINE and
    every other type (toll-free, premium rate, shared cost, …) are refused, and so is an invalid number.
    """
    try:
        parsed = phonenumbers.parse(raw.strip(), "IT")
    except phonenumbers.NumberParseException:
        return NOT_VALID
    if not phonenumbers.is_valid_number(parsed):
        return NOT_VALID
    kind = phonenumbers.number_type(parsed)
    if kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return LANDLINE
    return NOT_MOBILE
