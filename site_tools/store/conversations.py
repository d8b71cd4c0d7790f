"""The one-to-one counter's conversations: citizens' questions and media, staff answers.

One conversation per citizen's number, reopened when they write again.
``waiting_since`` is the time of the first citizen message not yet answered
(NULL once staff answered): the inbox lists the oldest waiting first.
``last_inbound_at`` opens WhatsApp's 24-hour customer-service window.
Messages and media are personal data: deleted after the town's retention
period, exported and forgotten with the rest of a number's data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from site_tools.store.database import Database

OPEN, HANDLED = "open", "handled"
#: Media waiting to be fetched; fetched; given up on (the reason is in ``body``-free ``media_state``).
MEDIA_PENDING, MEDIA_STORED, MEDIA_FAILED, MEDIA_TOO_BIG = "pending", "stored", "failed", "too_big"
#: Status webhooks only move an answer forward.
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}
#: Who answered, for a message staff wrote in the WhatsApp Business app on the office's phone (coexistence).
PHONE_APP = "telefono dell'ufficio"
#: ``client_key`` of such a message: the prefix, then Meta's id of the echo (each echo recorded once).
ECHO_KEY = "echo:"


@dataclass(frozen=True)
class Inbound:
    """One message a citizen sent (text, or the metadata of a medium to fetch)."""

    wamid: str
    kind: str
    body: str | None
    at: float
    media_id: str | None = None
    media_mime: str | None = None
    media_sha256: str | None = None
    media_filename: str | None = None


@dataclass(frozen=True)
class Conversation:
    id: int
    phone: str
    state: str
    assignee_id: int | None
    assignee: str | None
    opened_at: float
    last_inbound_at: float
    last_message_at: float
    waiting_since: float | None
    preview: str | None


@dataclass(frozen=True)
class Message:
    id: int
    direction: str  # in, out
    kind: str
    body: str | None
    at: float
    staff: str | None
    status: str | None  # out: queued, sending, sent, delivered, read, failed
    error: str | None
    media_mime: str | None
    media_filename: str | None
    media_size: int | None
    media_state: str | None


@dataclass(frozen=True)
class MediaJob:
    message_id: int
    media_id: str
    mime: str | None
    sha256: str | None
    attempts: int


_CONVERSATION = (
    "SELECT c.id, c.phone, c.state, c.assignee_id, s.display_name, c.opened_at, c.last_inbound_at,"
    " c.last_message_at, c.waiting_since, c.preview FROM conversations c LEFT JOIN staff s ON s.id = c.assignee_id"
)
#: Oldest waiting first; then the answered ones still open, most recent first.
_QUEUE_ORDER = " ORDER BY (c.waiting_since IS NULL), c.waiting_since, c.last_message_at DESC, c.id"


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def _preview(text: str | None, kind: str) -> str:
    if text:
        return " ".join(text.split())[:140]
    return f"[{kind}]"


class Conversations:
    def __init__(self, db: Database):
        self.db = db

    # -- citizens write -----------------------------------------------------------
    def record_inbound(self, phone: str, message: Inbound) -> tuple[int, int]:
        """Store a citizen's message, opening or reopening their conversation. Returns (conversation, message)."""
        at = message.at
        with self.db.transaction():
            row = self.db.one(
                "INSERT INTO conversations (phone, state, opened_at, last_inbound_at, last_message_at, waiting_since,"
                " preview) VALUES (?, 'open', ?, ?, ?, ?, ?)"
                " ON CONFLICT (phone) DO UPDATE SET state = 'open', handled_at = NULL, handled_by = NULL,"
                " opened_at = CASE WHEN conversations.state = 'open' THEN conversations.opened_at"
                " ELSE excluded.opened_at END,"
                " last_inbound_at = CASE WHEN excluded.last_inbound_at > conversations.last_inbound_at"
                " THEN excluded.last_inbound_at ELSE conversations.last_inbound_at END,"
                " last_message_at = CASE WHEN excluded.last_message_at > conversations.last_message_at"
                " THEN excluded.last_message_at ELSE conversations.last_message_at END,"
                " waiting_since = COALESCE(conversations.waiting_since, excluded.waiting_since),"
                " preview = excluded.preview RETURNING id",
                (phone, at, at, at, at, _preview(message.body, message.kind)),
            )
            assert row is not None
            conversation_id = int(row[0])
            media_state = MEDIA_PENDING if message.media_id else None
            msg = self.db.one(
                "INSERT INTO conversation_messages (conversation_id, direction, kind, body, at, wamid, media_id,"
                " media_mime, media_sha256, media_filename, media_state, media_next_at)"
                " VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    conversation_id,
                    message.kind,
                    message.body,
                    at,
                    message.wamid,
                    message.media_id,
                    message.media_mime,
                    message.media_sha256,
                    message.media_filename,
                    media_state,
                    at if media_state else None,
                ),
            )
            assert msg is not None
            return conversation_id, int(msg[0])

    # -- staff write from the phone app (coexistence) ----------------------------------------------------------
    def record_echo(self, phone: str, wamid: str, body: str | None, at: float) -> int | None:
        """A message staff sent from the WhatsApp Business app (``smb_message_echoes``): an answer in the
        citizen's conversation, shown as from :data:`PHONE_APP`. It never opens or extends the 24 h window
        (``last_inbound_at`` is untouched; a conversation it starts has none) and creates no outbox row (not
        billed, nothing to send). Returns the message id, None when this echo was already recorded."""
        key = ECHO_KEY + wamid
        with self.db.transaction():
            if self.answered_with(key):
                return None
            row = self.db.one(
                "INSERT INTO conversations (phone, state, opened_at, last_inbound_at, last_message_at, waiting_since,"
                " preview) VALUES (?, 'open', ?, 0, ?, NULL, ?)"
                " ON CONFLICT (phone) DO UPDATE SET"
                " last_message_at = CASE WHEN excluded.last_message_at > conversations.last_message_at"
                " THEN excluded.last_message_at ELSE conversations.last_message_at END,"
                " waiting_since = CASE WHEN conversations.waiting_since <= excluded.last_message_at THEN NULL"
                " ELSE conversations.waiting_since END,"
                " preview = excluded.preview RETURNING id",
                (phone, at, at, _preview(body, "text")),
            )
            assert row is not None
            msg = self.db.one(
                "INSERT INTO conversation_messages (conversation_id, direction, kind, body, at, wamid, status,"
                " client_key) VALUES (?, 'out', 'text', ?, ?, ?, 'sent', ?) RETURNING id",
                (int(row[0]), body, at, wamid, key),
            )
            assert msg is not None
            return int(msg[0])

    # -- the inbox ----------------------------------------------------------------------
    def queue(
        self,
        state: str = OPEN,
        assignee_id: int | None = None,
        unassigned: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Conversation], int]:
        """A page of conversations in the given state (oldest waiting first) and how many there are in all."""
        where, params = self._filter(state, assignee_id, unassigned)
        total = self.db.scalar(f"SELECT COUNT(*) FROM conversations c{where}", params)
        rows = self.db.all(f"{_CONVERSATION}{where}{_QUEUE_ORDER} LIMIT ? OFFSET ?", (*params, limit, offset))
        return [Conversation(*r) for r in rows], int(total or 0)

    @staticmethod
    def _filter(state: str, assignee_id: int | None, unassigned: bool) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        params: list[Any] = []
        if state != "all":
            clauses.append("c.state = ?")
            params.append(state)
        if assignee_id is not None:
            clauses.append("c.assignee_id = ?")
            params.append(assignee_id)
        elif unassigned:
            clauses.append("c.assignee_id IS NULL")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def waiting_since_between(self, start: float, end: float) -> int:
        """Open conversations whose question arrived in a span (the office's closed hours)."""
        return int(
            self.db.scalar(
                "SELECT COUNT(*) FROM conversations WHERE state = 'open' AND waiting_since >= ? AND waiting_since < ?",
                (start, end),
            )
            or 0
        )

    def get(self, conversation_id: int) -> Conversation | None:
        row = self.db.one(f"{_CONVERSATION} WHERE c.id = ?", (conversation_id,))
        return Conversation(*row) if row else None

    def messages(self, conversation_id: int) -> list[Message]:
        rows = self.db.all(
            "SELECT m.id, m.direction, m.kind, m.body, m.at,"
            " COALESCE(s.display_name, CASE WHEN m.client_key LIKE ? THEN ? END),"
            " CASE WHEN r.status IN ('delivered', 'read', 'failed') THEN r.status"
            " WHEN o.state = 'pending' THEN 'queued' ELSE COALESCE(o.state, m.status) END,"
            " COALESCE(o.error, CASE WHEN r.error_code IS NOT NULL THEN 'errore ' || r.error_code END),"
            " m.media_mime, m.media_filename, m.media_size, m.media_state"
            " FROM conversation_messages m LEFT JOIN staff s ON s.id = m.staff_id"
            " LEFT JOIN outbox o ON o.id = m.outbox_id LEFT JOIN reply_statuses r ON r.wamid = o.wamid"
            " WHERE m.conversation_id = ? ORDER BY m.at, m.id",
            (ECHO_KEY + "%", PHONE_APP, conversation_id),
        )
        return [Message(*r) for r in rows]

    # -- staff answer -------------------------------------------------------------------
    def add_answer(
        self,
        conversation_id: int,
        staff_id: int,
        kind: str,
        body: str,
        outbox_id: int,
        client_key: str | None = None,
        at: float | None = None,
    ) -> int:
        """Record an answer queued in the outbox; the citizen is no longer waiting."""
        at = at or time.time()
        with self.db.transaction():
            row = self.db.one(
                "INSERT INTO conversation_messages (conversation_id, direction, kind, body, at, staff_id, outbox_id,"
                " status, client_key) VALUES (?, 'out', ?, ?, ?, ?, ?, 'queued', ?) RETURNING id",
                (conversation_id, kind, body, at, staff_id, outbox_id, client_key),
            )
            self.db.execute(
                "UPDATE conversations SET waiting_since = NULL, last_message_at = ?, preview = ? WHERE id = ?",
                (at, _preview(body, kind), conversation_id),
            )
            assert row is not None
            return int(row[0])

    def answered_with(self, client_key: str) -> bool:
        """True when a form with this key was already submitted (a double click sends once)."""
        return self.db.scalar("SELECT COUNT(*) FROM conversation_messages WHERE client_key = ?", (client_key,)) > 0

    def set_state(self, conversation_id: int, state: str, staff_id: int) -> bool:
        at = time.time() if state == HANDLED else None
        by = staff_id if state == HANDLED else None
        cur = self.db.execute(
            "UPDATE conversations SET state = ?, handled_at = ?, handled_by = ? WHERE id = ? AND state <> ?",
            (state, at, by, conversation_id, state),
        )
        return cur.rowcount > 0

    def assign(self, conversation_id: int, staff_id: int | None) -> bool:
        cur = self.db.execute("UPDATE conversations SET assignee_id = ? WHERE id = ?", (staff_id, conversation_id))
        return cur.rowcount > 0

    def apply_status(self, wamid: str, status: str, error_code: int | None, at: float | None = None) -> bool:
        """A status webhook for a reply (not a bulletin); kept by message id, never moved backwards.

        Kept apart from the outbox because it can arrive before the outbox has
        recorded the id the API gave the reply; :meth:`messages` joins them.
        """
        if status not in STATUS_RANK:
            return False
        with self.db.transaction():
            row = self.db.one("SELECT status FROM reply_statuses WHERE wamid = ?", (wamid,))
            if row is not None and STATUS_RANK[status] <= STATUS_RANK.get(row[0], 0):
                return False
            self.db.execute(
                "INSERT INTO reply_statuses (wamid, status, error_code, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (wamid) DO UPDATE SET status = excluded.status, error_code = excluded.error_code,"
                " at = excluded.at",
                (wamid, status, error_code, at or time.time()),
            )
            return True

    # -- media ----------------------------------------------------------------------------
    def media_due(self, limit: int, now: float | None = None) -> list[MediaJob]:
        now = now or time.time()
        rows = self.db.all(
            "SELECT id, media_id, media_mime, media_sha256, media_attempts FROM conversation_messages"
            " WHERE media_state = 'pending' AND media_next_at <= ? ORDER BY media_next_at LIMIT ?",
            (now, limit),
        )
        return [MediaJob(*r) for r in rows]

    def media_stored(self, message_id: int, data: bytes, mime: str | None) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM media_blobs WHERE message_id = ?", (message_id,))
            self.db.execute("INSERT INTO media_blobs (message_id, data) VALUES (?, ?)", (message_id, data))
            self.db.execute(
                "UPDATE conversation_messages SET media_state = 'stored', media_size = ?,"
                " media_mime = COALESCE(?, media_mime), media_attempts = media_attempts + 1 WHERE id = ?",
                (len(data), mime, message_id),
            )

    def media_retry(self, message_id: int, retry_at: float | None, final_state: str = MEDIA_FAILED) -> None:
        """Try again at ``retry_at``, or give up (``final_state``) when it is None."""
        if retry_at is None:
            self.db.execute(
                "UPDATE conversation_messages SET media_state = ?, media_attempts = media_attempts + 1 WHERE id = ?",
                (final_state, message_id),
            )
        else:
            self.db.execute(
                "UPDATE conversation_messages SET media_next_at = ?, media_attempts = media_attempts + 1 WHERE id = ?",
                (retry_at, message_id),
            )

    def media(self, conversation_id: int, message_id: int) -> tuple[str | None, str | None, bytes] | None:
        """(mime, filename, bytes) of a stored medium of this conversation."""
        row = self.db.one(
            "SELECT m.media_mime, m.media_filename, b.data FROM conversation_messages m"
            " JOIN media_blobs b ON b.message_id = m.id WHERE m.id = ? AND m.conversation_id = ?",
            (message_id, conversation_id),
        )
        return (row[0], row[1], bytes(row[2])) if row else None

    # -- privacy ----------------------------------------------------------------------------
    def purge_before(self, cutoff: float) -> tuple[int, int]:
        """Delete messages (and their media) older than ``cutoff``; then conversations left empty.

        Returns (messages, conversations) deleted. Answers already sent leave the outbox too.
        """
        with self.db.transaction():
            old = "SELECT id FROM conversation_messages WHERE at < ?"
            self.db.execute(f"DELETE FROM media_blobs WHERE message_id IN ({old})", (cutoff,))
            self.db.execute(
                "DELETE FROM outbox WHERE state IN ('sent', 'failed') AND id IN"
                " (SELECT outbox_id FROM conversation_messages WHERE at < ? AND outbox_id IS NOT NULL)",
                (cutoff,),
            )
            self.db.execute("DELETE FROM reply_statuses WHERE at < ?", (cutoff,))
            messages = self.db.execute("DELETE FROM conversation_messages WHERE at < ?", (cutoff,)).rowcount
            conversations = self.db.execute(
                "DELETE FROM conversations WHERE last_message_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM conversation_messages m WHERE m.conversation_id = conversations.id)",
                (cutoff,),
            ).rowcount
        return int(messages), int(conversations)

    def export(self, phone: str) -> list[dict[str, Any]]:
        """Everything kept about this number's conversation (media as metadata, not bytes)."""
        conversation = self.db.one("SELECT id, state, opened_at FROM conversations WHERE phone = ?", (phone,))
        if conversation is None:
            return []
        messages = [
            {
                "direction": "cittadino" if m.direction == "in" else "comune",
                "kind": m.kind,
                "text": m.body,
                "at": _iso(m.at),
                "status": m.status,
                **(
                    {"media": {"mime": m.media_mime, "filename": m.media_filename, "size": m.media_size}}
                    if m.media_state
                    else {}
                ),
            }
            for m in self.messages(conversation[0])
        ]
        return [{"state": conversation[1], "opened_at": _iso(conversation[2]), "messages": messages}]

    def forget(self, phone: str) -> int:
        """Erase this number's conversation, messages and media; returns the messages deleted."""
        with self.db.transaction():
            self.db.execute(
                "DELETE FROM reply_statuses WHERE wamid IN (SELECT wamid FROM outbox WHERE phone = ? AND wamid IS NOT NULL)",
                (phone,),
            )
            ids = [r[0] for r in self.db.all("SELECT id FROM conversations WHERE phone = ?", (phone,))]
            deleted = 0
            for conversation_id in ids:
                thread = "SELECT id FROM conversation_messages WHERE conversation_id = ?"
                self.db.execute(f"DELETE FROM media_blobs WHERE message_id IN ({thread})", (conversation_id,))
                deleted += self.db.execute(
                    "DELETE FROM conversation_messages WHERE conversation_id = ?", (conversation_id,)
                ).rowcount
                self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            return int(deleted)

    def count(self, state: str | None = None) -> int:
        if state is None:
            return int(self.db.scalar("SELECT COUNT(*) FROM conversations") or 0)
        return int(self.db.scalar("SELECT COUNT(*) FROM conversations WHERE state = ?", (state,)) or 0)
