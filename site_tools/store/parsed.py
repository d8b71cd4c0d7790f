"""Bulletins parsed before, by content hash: what lets a publish parse only what is new or changed.

The rows are opaque here (``site_tools.content.cache`` writes and reads the
payload); this repository only keeps them. New rows wait in memory until
:meth:`ParsedBulletins.flush` (called by ``Store.close``): writing 10,000 rows
after a cold start must not delay the first urgent message.
"""

from __future__ import annotations

import time

from site_tools.store.database import Database

#: PostgreSQL refuses a B-tree index entry over 2,704 bytes, and the covering index holds the path, the id, the
#: address and the date: one longer row (a file deep in folders of long names) failed the whole flush, and the
#: cache stayed empty for good. Such a file is not kept: parsed on every run, like a broken one.
INDEX_ENTRY_MAX = 2000


class ParsedBulletins:
    def __init__(self, db: Database):
        self.db = db
        self._pending: dict[str, tuple[str, ...]] = {}  # path → (fingerprint, sha, parsed, body, fm, id, url, date)

    def entries(self, fingerprint: str) -> dict[str, tuple[str, str, str, str]]:
        """Every kept parse made under ``fingerprint``: path → (sha, parsed, body, frontmatter)."""
        rows = self.db.all(
            "SELECT path, sha, parsed, body, frontmatter FROM parsed_bulletins WHERE fingerprint = ?", (fingerprint,)
        )
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    def index(self, fingerprint: str) -> dict[str, tuple[str, str, str, str]]:
        """The short columns of every kept parse: path → (sha, bulletin id, url path, date). What the checks
        across files need of the bulletins a publish does not parse (10,000 rows in milliseconds)."""
        rows = self.db.all(
            "SELECT path, sha, bulletin_id, url_path, published FROM parsed_bulletins WHERE fingerprint = ?",
            (fingerprint,),
        )
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    def save(self, fingerprint: str, rows: list[tuple[str, str, str, str, str, str, str, str]]) -> None:
        """Keep (path, sha, parsed, body, frontmatter, bulletin id, url path, date) rows, written by :meth:`flush`."""
        for path, *entry in rows:
            sha, _, _, _, bulletin_id, url_path, published = entry
            if len(f"{fingerprint}{path}{sha}{bulletin_id}{url_path}{published}".encode()) > INDEX_ENTRY_MAX:
                continue
            self._pending[path] = (fingerprint, *entry)

    def flush(self) -> int:
        """Write what :meth:`save` kept; entries of another fingerprint go (they can never be used again)."""
        if not self._pending:
            return 0
        now = time.time()
        rows = [(path, *rest[1:], rest[0], now) for path, rest in self._pending.items()]
        with self.db.transaction():
            for fingerprint in {rest[0] for rest in self._pending.values()}:
                self.db.execute("DELETE FROM parsed_bulletins WHERE fingerprint <> ?", (fingerprint,))
            self.db.many(
                "INSERT INTO parsed_bulletins (path, sha, parsed, body, frontmatter, bulletin_id, url_path, published,"
                " fingerprint, parsed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
                " sha = excluded.sha, parsed = excluded.parsed, body = excluded.body,"
                " frontmatter = excluded.frontmatter, bulletin_id = excluded.bulletin_id,"
                " url_path = excluded.url_path, published = excluded.published,"
                " fingerprint = excluded.fingerprint, parsed_at = excluded.parsed_at",
                rows,
            )
        self._pending.clear()
        return len(rows)

    def count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM parsed_bulletins") or 0)
