"""Meta's webhook signature: ``X-Hub-Signature-256``, the HMAC-SHA256 of the raw body with the app secret.

Comparisons are made on bytes, in constant time, and never raise: a header
or a verify token with any byte in it is simply not equal.
"""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(secret: str, body: bytes, header: bytes | str | None) -> bool:
    if not header:
        return False
    given = header if isinstance(header, bytes) else header.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(signature(secret, body).encode("ascii"), given)


def same_secret(expected: str, given: str | bytes | None) -> bool:
    """A verify token compared like a signature: bytes, constant time, never raising."""
    if not expected or given is None:
        return False
    given_bytes = given if isinstance(given, bytes) else given.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(expected.encode("utf-8"), given_bytes)
