"""Tokens already used: a GitHub OIDC token's ``jti`` is accepted once, then refused until it expires.

A token proves a push for hours (GitHub's live about six): without this, anyone who saw one (a log, a proxy)
could replay it to publish again. ``first_use`` is one ``INSERT … ON CONFLICT DO NOTHING`` on the primary key,
so two requests racing with the same token on two connections (two replicas on one PostgreSQL) get exactly one
winner. A row is kept until its token has expired and the verifier's leeway has passed, then pruned.
"""

from __future__ import annotations

import time

from site_tools.store.database import Database

#: Rows outlive their token's ``exp`` by this much: more than any clock leeway a verifier allows.
KEEP_AFTER_EXPIRY = 3600.0


class UsedTokens:
    def __init__(self, db: Database):
        self.db = db

    def first_use(self, jti: str, expires_at: float, now: float | None = None) -> bool:
        """True the first time ``jti`` is seen (and records it until ``expires_at``); False for a replay."""
        now = time.time() if now is None else now
        self.prune(now)
        rows = self.db.all(
            "INSERT INTO used_tokens (jti, expires_at, used_at) VALUES (?, ?, ?)"
            " ON CONFLICT (jti) DO NOTHING RETURNING jti",
            (jti, float(expires_at), now),
        )
        return bool(rows)

    def prune(self, now: float | None = None) -> int:
        """Forget tokens that expired more than :data:`KEEP_AFTER_EXPIRY` ago: no verifier accepts them anyway."""
        now = time.time() if now is None else now
        return self.db.execute("DELETE FROM used_tokens WHERE expires_at < ?", (now - KEEP_AFTER_EXPIRY,)).rowcount

    def count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM used_tokens"))
