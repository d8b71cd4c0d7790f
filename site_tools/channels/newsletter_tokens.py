"""The newsletter's signed links: a confirmation token (expires) and an unsubscribe token (does not).

A token names the address by its id in the store, never by the address itself (links end up in logs and
proxies), and carries an HMAC-SHA256 of its purpose, the id and when it was issued, keyed by
``NEWSLETTER_SECRET``. A forged, altered or truncated token is refused; so is a confirmation token older than
:data:`CONFIRM_MAX_AGE`. Unsubscribe links stay valid as long as the secret: an old e-mail's link must work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

CONFIRM = "c"
UNSUBSCRIBE = "u"
#: A confirmation link works for seven days.
CONFIRM_MAX_AGE = 7 * 24 * 3600
_SHAPE = re.compile(r"^([cu])(\d{1,18})\.(\d{1,12})\.([A-Za-z0-9_-]{22})$")


def _mac(secret: str, purpose: str, address_id: int, issued: int) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}.{address_id}.{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def make(secret: str, purpose: str, address_id: int, now: float | None = None) -> str:
    if not secret:
        raise ValueError("NEWSLETTER_SECRET is not set")
    issued = int(time.time() if now is None else now)
    return f"{purpose}{address_id}.{issued}.{_mac(secret, purpose, address_id, issued)}"


def check(secret: str, purpose: str, token: str, now: float | None = None) -> int | None:
    """The address id of a valid ``token`` for ``purpose``; None if it is forged, malformed or expired."""
    match = _SHAPE.match(token or "")
    if not secret or match is None or match.group(1) != purpose:
        return None
    address_id, issued = int(match.group(2)), int(match.group(3))
    if not hmac.compare_digest(match.group(4), _mac(secret, purpose, address_id, issued)):
        return None
    now = time.time() if now is None else now
    if purpose == CONFIRM and not (issued - 60 <= now <= issued + CONFIRM_MAX_AGE):
        return None
    return address_id
