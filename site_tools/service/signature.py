"""Meta's webhook envelope and signature, in one place.

The subscriptions service checks signatures with :func:`valid_signature`; the
simulator, the demo and the opt-in benchmark build and sign events with the
other functions (tests keep their own, independent copies).
"""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(signature(secret, body), header)
