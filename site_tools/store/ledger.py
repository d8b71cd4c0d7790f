"""Publications (bulletin × channel), the runs that send them, and the per-recipient delivery ledger.

Delivery states::

    sending ─► accepted ─► sent ─► delivered ─► read      (status webhooks only move forward)
       │  └──► retry ─► sending …                            (transient error; bounded attempts)
       └─────► failed                                        (permanent error, or attempts exhausted)
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from site_tools.store import choices as choice_filter
from site_tools.store.database import Database
from site_tools.store.subscribers import ACTIVE

#: Order of receipt states: a late "sent" never overwrites "read".
RANK = {"sending": 0, "retry": 0, "skipped": 0, "accepted": 1, "sent": 2, "delivered": 3, "read": 4, "failed": 5}
DONE_STATES = ("accepted", "sent", "delivered", "read")
#: Meta: a citizen at the marketing cap (131049) may be tried again after 24 hours, not before.
DEFERRED_CODE = 131049
DEFER_131049 = 24 * 3600.0


@dataclass(frozen=True)
class Publication:
    bulletin_id: str
    channel: str
    state: str  # pending, sending, done, failed, paused, historical, manual, unknown
    mode: str
    priority: str
    recipients: int
    external_id: str | None
    detail: str | None


@dataclass(frozen=True)
class Result:
    delivery_id: int
    subscriber_id: int
    state: str  # accepted, failed, retry
    wamid: str | None = None
    error_code: int | None = None
    error: str | None = None
    next_attempt_at: float | None = None
    refund: bool = False  # throttled: this attempt does not count against the message


class HeldReceipt(NamedTuple):
    """A status webhook that came before its send was recorded (see :meth:`Ledger.hold_receipt`)."""

    id: int
    wamid: str
    phone: str | None
    status: str
    callback: str | None
    error_code: int | None
    received_at: float


class Receipt(NamedTuple):
    """One status webhook, as the ledger applies it."""

    wamid: str
    phone: str | None
    status: str
    callback: str | None
    error_code: int | None
    at: float | None = None  # when Meta says it happened (the status's timestamp), if it said


def receipt_verdict(state: str, status: str, error_code: int | None) -> str:
    """What a receipt does to a delivery in ``state``: ``apply`` it, ``defer`` the recipient (131049: retried after
    :data:`DEFER_131049`) or nothing (``stale``). States only move forward (sent < delivered < read); a row waiting
    for a retry takes any news; a failure is final."""
    if status != "failed" and RANK[status] <= RANK.get(state, 0) and state != "retry":
        return "stale"
    if status == "failed" and state == "failed":
        return "stale"
    if status == "failed" and error_code == DEFERRED_CODE:
        return "defer"
    return "apply"


@dataclass
class _Row:
    """A delivery row read for a batch of receipts, changed in memory, written once."""

    id: int
    state: str
    wamid: str | None
    error_code: int | None
    next_attempt_at: float | None
    bulletin_id: str
    channel: str
    phone: str | None
    changed: bool = False


class _Rows:
    """The rows a batch of receipts names, found as the SQL of :meth:`Ledger.apply_status` would find them."""

    def __init__(self) -> None:
        self.by_id: dict[int, _Row] = {}
        self.by_wamid: dict[str, _Row] = {}
        self.by_recipient: dict[tuple[str, str], _Row] = {}  # (bulletin id, phone) of the list's deliveries

    def add(self, rows: Iterable[_Row]) -> None:
        for row in rows:
            row = self.by_id.setdefault(row.id, row)
            if row.wamid is not None:
                self.by_wamid.setdefault(row.wamid, row)
            if row.channel == "whatsapp_list" and row.phone is not None:
                self.by_recipient.setdefault((row.bulletin_id, row.phone), row)

    def forget_wamid(self, row: _Row) -> None:
        if row.wamid is not None and self.by_wamid.get(row.wamid) is row:
            del self.by_wamid[row.wamid]

    def changed(self) -> list[_Row]:
        return [row for row in self.by_id.values() if row.changed]


def _chunks(items: Sequence[str], size: int = 900) -> Iterator[tuple[str, ...]]:
    """Parameters per statement (SQLite allows 32,766; PostgreSQL 65,535)."""
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


class Claim(NamedTuple):
    """One recipient this run now owns: the attempt is in the ledger before the call."""

    delivery_id: int
    subscriber_id: int
    phone: str
    attempt: int


@dataclass(frozen=True)
class Adoption:
    """When the store adopted the repository; what was visible then is historical, nothing after."""

    adopted_at: float
    historical: int
    how: str


@dataclass(frozen=True)
class Refusal:
    """A bulletin (or a file) a run would not send, and why; ``key`` names it across runs."""

    key: str
    bulletin_id: str | None
    reason: str


class Origin(NamedTuple):
    """Which file a bulletin id stood for when it first went out (or was adopted as historical): its path as the
    editor sees it and its date (ISO 8601). The ledger keys on the id; this tells an edit of that bulletin from a
    new one that took its id after it was deleted."""

    path: str
    date: str


class Ledger:
    def __init__(self, db: Database):
        self.db = db

    # -- adoption and refusals ---------------------------------------------------------------
    def adoption(self) -> Adoption | None:
        row = self.db.one("SELECT adopted_at, historical, how FROM adoption WHERE id = 1")
        return Adoption(*row) if row else None

    def adopt(
        self,
        bulletin_ids: Sequence[str],
        channels: Sequence[str],
        how: str,
        at: float | None = None,
        origins: Mapping[str, Origin] | None = None,
    ) -> bool:
        """Record the adoption and its historical bulletins (with their ``origins``) in one transaction; False if
        already adopted."""
        now = at or time.time()
        with self.db.transaction():
            inserted = self.db.all(
                "INSERT INTO adoption (id, adopted_at, historical, how) VALUES (1, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                (now, len(bulletin_ids), how),
            )
            if not inserted:
                return False
            self.db.many(
                "INSERT INTO publications (bulletin_id, channel, state, mode, started_at, finished_at)"
                " VALUES (?, ?, 'historical', 'none', ?, NULL) ON CONFLICT DO NOTHING",
                [(b, c, now) for b in bulletin_ids for c in channels],
            )
            self._insert_origins(origins or {}, now)
        return True

    # -- which file each id stood for --------------------------------------------------------
    def origins(self, ids: Collection[str] | None = None) -> dict[str, Origin]:
        """id → :class:`Origin` of every bulletin id the ledger knows the file of (or of those ids)."""
        sql, args = "SELECT bulletin_id, path, published FROM bulletin_origins", tuple(ids or ())
        if ids is not None:
            sql += " WHERE bulletin_id IN (" + ", ".join("?" * len(args)) + ")" if args else " WHERE 1 = 0"
        return {r[0]: Origin(r[1], r[2]) for r in self.db.all(sql, args)}

    def record_origins(self, origins: Mapping[str, Origin]) -> None:
        """Remember the file of ids that have none yet (the first one recorded stays)."""
        if origins:
            with self.db.transaction():
                self._insert_origins(origins, time.time())

    def _insert_origins(self, origins: Mapping[str, Origin], now: float) -> None:
        self.db.many(
            "INSERT INTO bulletin_origins (bulletin_id, path, published, recorded_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (bulletin_id) DO NOTHING",
            [(bid, o.path, o.date, now) for bid, o in origins.items()],
        )

    def record_refusals(self, refusals: Sequence[Refusal], prune: bool = False) -> set[str]:
        """Remember each refusal; returns the keys no earlier run had reported.

        ``prune`` (a run that looked at everything): what it no longer refuses was resolved and is forgotten,
        so the same mistake made again later is reported again, and the table does not grow forever.
        """
        now = time.time()
        fresh: set[str] = set()
        with self.db.transaction():
            if prune:
                keep = {r.key for r in refusals}
                gone = [(key,) for (key,) in self.db.all("SELECT key FROM refusals") if key not in keep]
                self.db.many("DELETE FROM refusals WHERE key = ?", gone)
            for r in refusals:
                if self.db.all(
                    "INSERT INTO refusals (key, bulletin_id, reason, first_at, last_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (key) DO NOTHING RETURNING key",
                    (r.key, r.bulletin_id, r.reason, now, now),
                ):
                    fresh.add(r.key)
            self.db.many(
                "UPDATE refusals SET last_at = ? WHERE key = ?", [(now, r.key) for r in refusals if r.key not in fresh]
            )
        return fresh

    def refusals(self) -> list[Refusal]:
        return [Refusal(*r) for r in self.db.all("SELECT key, bulletin_id, reason FROM refusals ORDER BY first_at")]

    def set_external_id(self, bulletin_id: str, channel: str, external_id: str) -> None:
        self.db.execute(
            "UPDATE publications SET external_id = ? WHERE bulletin_id = ? AND channel = ?",
            (external_id, bulletin_id, channel),
        )

    def publication(self, bulletin_id: str, channel: str) -> Publication | None:
        row = self.db.one(
            "SELECT bulletin_id, channel, state, mode, priority, recipients, external_id, detail"
            " FROM publications WHERE bulletin_id = ? AND channel = ?",
            (bulletin_id, channel),
        )
        return Publication(*row) if row else None

    def publications(self, bulletin_id: str | None = None) -> list[Publication]:
        where, params = ("WHERE bulletin_id = ?", (bulletin_id,)) if bulletin_id else ("", ())
        return [
            Publication(*r)
            for r in self.db.all(
                "SELECT bulletin_id, channel, state, mode, priority, recipients, external_id, detail"
                f" FROM publications {where} ORDER BY bulletin_id, channel",
                params,
            )
        ]

    def states(self, ids: Collection[str] | None = None) -> dict[tuple[str, str], str]:
        """(bulletin id, channel) → state of every publication (or of those bulletins): what ``make_plan`` needs,
        three columns and no sort (building 40,000 ``Publication`` records was most of its time at 10,000
        bulletins)."""
        sql, args = "SELECT bulletin_id, channel, state FROM publications", tuple(ids or ())
        if ids is not None:
            sql += " WHERE bulletin_id IN (" + ", ".join("?" * len(args)) + ")" if args else " WHERE 1 = 0"
        return {(r[0], r[1]): r[2] for r in self.db.all(sql, args)}

    def mark_historical(self, bulletin_ids: Iterable[str], channels: Sequence[str]) -> int:
        now = time.time()
        rows = [(b, c, now) for b in bulletin_ids for c in channels]
        with self.db.transaction():
            # Marking bulletins historical by hand (tools, tests) adopts the repository if nothing had.
            self.db.execute(
                "INSERT INTO adoption (id, adopted_at, historical, how) VALUES (1, ?, 0, 'a mano')"
                " ON CONFLICT (id) DO NOTHING",
                (now,),
            )
            self.db.many(
                "INSERT INTO publications (bulletin_id, channel, state, mode, started_at, finished_at)"
                " VALUES (?, ?, 'historical', 'none', ?, NULL) ON CONFLICT DO NOTHING",
                rows,
            )
        return len(rows)

    def claim_publication(
        self, bulletin_id: str, channel: str, mode: str, priority: str, shared: bool, origin: Origin | None = None
    ) -> bool:
        """Take (or resume) a publication; True if this run may send.

        A one-post channel (Telegram, the WhatsApp Channel) is claimed by one
        run only. The list fan-out is ``shared``: concurrent runs cooperate on
        it, their claims on recipients being disjoint. The bulletin's ``origin``
        is recorded with the first claim of its id.
        """
        now = time.time()
        with self.db.transaction():
            if origin is not None:
                self._insert_origins({bulletin_id: origin}, now)
            inserted = self.db.all(
                "INSERT INTO publications (bulletin_id, channel, state, mode, priority, started_at)"
                " VALUES (?, ?, 'sending', ?, ?, ?) ON CONFLICT (bulletin_id, channel) DO NOTHING RETURNING state",
                (bulletin_id, channel, mode, priority, now),
            )
            if inserted:
                return True
            resumed = self.db.all(
                "UPDATE publications SET state = 'sending', detail = NULL, priority = ? WHERE bulletin_id = ?"
                " AND channel = ? AND state IN ('pending', 'paused', 'failed', 'waiting') RETURNING state",
                (priority, bulletin_id, channel),
            )
            if resumed:
                return True
            if shared:
                row = self.db.one(
                    "SELECT state FROM publications WHERE bulletin_id = ? AND channel = ?", (bulletin_id, channel)
                )
                return bool(row and row[0] == "sending")
            return False

    def release_publication(self, bulletin_id: str, channel: str) -> None:
        """An editor checked: the interrupted post is not there. It may be claimed again."""
        self.db.execute(
            "UPDATE publications SET state = 'failed', detail = 'ripubblicato dopo verifica'"
            " WHERE bulletin_id = ? AND channel = ? AND state = 'sending'",
            (bulletin_id, channel),
        )

    def confirm_publication(self, bulletin_id: str, channel: str) -> bool:
        """An editor checked: the interrupted or uncertain post is online. Done, never posted again (False: it was
        not «sending»)."""
        with self.db.transaction():
            changed = self.db.one(
                "UPDATE publications SET state = 'done', detail = 'online: confermato dopo verifica', finished_at = ?"
                " WHERE bulletin_id = ? AND channel = ? AND state = 'sending' RETURNING bulletin_id",
                (time.time(), bulletin_id, channel),
            )
        return changed is not None

    def finish_publication(
        self,
        bulletin_id: str,
        channel: str,
        state: str,
        detail: str | None = None,
        external_id: str | None = None,
        recipients: int | None = None,
    ) -> None:
        self.db.execute(
            "UPDATE publications SET state = ?, detail = ?, finished_at = ?,"
            " external_id = COALESCE(?, external_id), recipients = COALESCE(?, recipients)"
            " WHERE bulletin_id = ? AND channel = ?",
            (state, detail, time.time(), external_id, recipients, bulletin_id, channel),
        )

    def urgent_in_progress(self, except_bulletin: str) -> bool:
        row = self.db.one(
            "SELECT COUNT(*) FROM publications WHERE priority = 'urgent' AND state = 'sending'"
            " AND channel = 'whatsapp_list' AND bulletin_id <> ?",
            (except_bulletin,),
        )
        return bool(row and row[0])

    def start_run(self, run_id: str, pid: int) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO runs (run_id, started_at, heartbeat_at, pid) VALUES (?, ?, ?, ?)", (run_id, now, now, pid)
        )

    def heartbeat(self, run_id: str) -> None:
        self.db.execute("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (time.time(), run_id))

    def claim_new(
        self,
        bulletin_id: str,
        channel: str,
        run_id: str,
        first_id: int,
        last_id: int,
        choices: tuple[str, ...] | None = None,
    ) -> dict[int, int]:
        """Record the attempt *before* the call: subscriber id → delivery id, for the rows this run now owns.

        ``ON CONFLICT DO NOTHING`` makes claims disjoint between concurrent
        runs and skips everyone who already has a row for this bulletin.
        With ``choices`` (store/choices.py) only subscribers who chose one of them are claimed.
        """
        condition, params = choice_filter.where(choices)
        with self.db.transaction():
            rows = self.db.all(
                "INSERT INTO deliveries (bulletin_id, channel, subscriber_id, state, attempts, run_id, updated_at)"
                " SELECT ?, ?, id, 'sending', 1, ?, ? FROM subscribers"
                f" WHERE status = 'active' AND id >= ? AND id <= ?{condition}"
                " ON CONFLICT (bulletin_id, channel, subscriber_id) DO NOTHING RETURNING subscriber_id, id",
                (bulletin_id, channel, run_id, time.time(), first_id, last_id, *params),
            )
        return {r[0]: r[1] for r in rows}

    def claim_retries(
        self, bulletin_id: str, channel: str, run_id: str, limit: int, choices: tuple[str, ...] | None = None
    ) -> list[Claim]:
        """Rows due for another attempt: (delivery id, subscriber id, phone, attempt number). With ``choices``
        (store/choices.py), a subscriber who has since chosen something else is skipped, as one who opted out."""
        now = time.time()
        with self.db.transaction():
            due = self.db.all(
                "SELECT d.id FROM deliveries d WHERE d.bulletin_id = ? AND d.channel = ? AND d.state = 'retry'"
                " AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY d.id LIMIT ? {skip_locked}",
                (bulletin_id, channel, now, limit),
            )
            ids = [r[0] for r in due]
            if not ids:
                return []
            self.db.many(
                "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, run_id = ?,"
                " updated_at = ? WHERE id = ? AND state = 'retry'",
                [(run_id, now, i) for i in ids],
            )
            marks = ",".join("?" for _ in ids)
            rows = self.db.all(
                f"SELECT d.id, d.subscriber_id, s.phone, d.attempts, s.status, s.choice FROM deliveries d"
                f" LEFT JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id IN ({marks}) AND d.run_id = ?",
                (*ids, run_id),
            )
            owed = [r for r in rows if r[4] == ACTIVE and (choices is None or r[5] in choices)]
            kept = {r[0] for r in owed}
            # Opted out (or forgotten), or chose not to get this any more, since the first attempt: never resend.
            self.db.many(
                "UPDATE deliveries SET state = 'skipped', updated_at = ? WHERE id = ?",
                [(now, r[0]) for r in rows if r[0] not in kept],
            )
            return [Claim(r[0], r[1], r[2], r[3]) for r in owed]

    def record_results(self, results: Sequence[Result]) -> None:
        """Record outcomes *after* the calls, in one transaction; rows in id order, the order a batch of receipts
        locks them in too (apply_statuses), so that the two never wait on each other in a cycle on PostgreSQL."""
        if not results:
            return
        now = time.time()
        with self.db.transaction():
            self.db.many(
                "UPDATE deliveries SET state = ?, wamid = COALESCE(?, wamid), error_code = ?, last_error = ?,"
                " next_attempt_at = ?, attempts = attempts - ?, updated_at = ? WHERE id = ? AND state = 'sending'",
                [
                    (r.state, r.wamid, r.error_code, r.error, r.next_attempt_at, int(r.refund), now, r.delivery_id)
                    for r in sorted(results, key=lambda r: r.delivery_id)
                ],
            )

    def release(self, run_id: str, delivery_ids: Sequence[int]) -> None:
        """Claimed but never sent (the run stopped): back to retry, attempt not counted."""
        if delivery_ids:
            with self.db.transaction():
                self.db.many(
                    "UPDATE deliveries SET state = 'retry', attempts = attempts - 1, next_attempt_at = NULL"
                    " WHERE id = ? AND run_id = ? AND state = 'sending'",
                    [(i, run_id) for i in delivery_ids],
                )

    def reconcile_unknown(self, bulletin_id: str, channel: str, stale_after: float, own_run: str = "") -> int:
        """Rows left 'sending' by a run that died: their outcome is unknown.

        Receipts (status webhooks, matched by recipient and
        ``biz_opaque_callback_data``) have already moved the ones that
        arrived; what is left after the dead run's grace period goes back to
        'retry'. Duplicates are therefore bounded by the requests that were
        in flight when the run died. The caller's own run is never taken
        for dead, however late its heartbeat.
        """
        cutoff = time.time() - stale_after
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE deliveries SET state = 'retry', next_attempt_at = NULL WHERE bulletin_id = ? AND channel = ?"
                " AND state = 'sending' AND run_id <> ? AND run_id IN (SELECT run_id FROM runs WHERE heartbeat_at < ?)",
                (bulletin_id, channel, own_run, cutoff),
            )
            return cur.rowcount

    def owed_to_active(self, bulletin_id: str, channel: str, choices: tuple[str, ...] | None = None) -> int:
        """Active subscribers a fan-out of this bulletin would still send to: no row, or one still owed (with
        ``choices``: among those who chose one of them)."""
        where, params = choice_filter.where(choices, "s.choice")
        return self.db.scalar(
            f"SELECT COUNT(*) FROM subscribers s WHERE s.status = 'active'{where} AND NOT EXISTS (SELECT 1 FROM"
            " deliveries d WHERE d.bulletin_id = ? AND d.channel = ? AND d.subscriber_id = s.id"
            " AND d.state NOT IN ('retry', 'sending'))",
            (*params, bulletin_id, channel),
        )

    def failed_with(self, prefix: str, channel: str, code: int, choices: tuple[str, ...] | None = None) -> int:
        """Active subscribers whose send of an id starting with ``prefix`` failed with ``code`` (131050 on the
        digest); with ``choices``, only those whose choice is now one of them."""
        where, params = choice_filter.where(choices, "s.choice")
        return self.db.scalar(
            "SELECT COUNT(DISTINCT d.subscriber_id) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            f" WHERE d.bulletin_id LIKE ? AND d.channel = ? AND d.error_code = ? AND s.status = 'active'{where}",
            (prefix + "%", channel, code, *params),
        )

    def pending_count(self, bulletin_id: str, channel: str, horizon: float | None = None) -> int:
        """Rows still owed the bulletin; with ``horizon`` (a time), only those due by then."""
        if horizon is None:
            return self.db.scalar(
                "SELECT COUNT(*) FROM deliveries WHERE bulletin_id = ? AND channel = ? AND state IN ('retry', 'sending')",
                (bulletin_id, channel),
            )
        return self.db.scalar(
            "SELECT COUNT(*) FROM deliveries WHERE bulletin_id = ? AND channel = ? AND (state = 'sending'"
            " OR (state = 'retry' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)))",
            (bulletin_id, channel, horizon),
        )

    def apply_status(
        self,
        wamid: str,
        phone: str | None,
        status: str,
        callback: str | None,
        error_code: int | None,
        at: float | None = None,
    ) -> str:
        """A status webhook: ``applied``, ``stale`` (nothing newer to say) or ``unmatched`` (no send known yet).

        Idempotent; out-of-order events never move a row backwards. A failure
        with 131049 (the citizen's marketing cap) is not final: the row is
        retried after :data:`DEFER_131049` and the publication reopened.
        """
        if status not in RANK:
            return "stale"
        now = at or time.time()
        with self.db.transaction():
            row = self.db.one("SELECT id, state, bulletin_id, channel FROM deliveries WHERE wamid = ?", (wamid,))
            if row is None and callback and phone:
                # The run that sent it died before recording the wamid: match by recipient.
                row = self.db.one(
                    "SELECT d.id, d.state, d.bulletin_id, d.channel FROM deliveries d"
                    " JOIN subscribers s ON s.id = d.subscriber_id"
                    " WHERE d.bulletin_id = ? AND d.channel = 'whatsapp_list' AND s.phone = ?",
                    (callback, phone),
                )
            if row is None:
                return "unmatched"
            delivery_id, state, bulletin_id, channel = row
            verdict = receipt_verdict(state, status, error_code)
            if verdict == "stale":
                return "stale"
            if verdict == "defer":
                self.db.execute(
                    "UPDATE deliveries SET state = 'retry', wamid = NULL, error_code = ?, next_attempt_at = ?,"
                    " updated_at = ? WHERE id = ?",
                    (error_code, now + DEFER_131049, now, delivery_id),
                )
                self._reopen_deferred([(bulletin_id, channel)])
                return "applied"
            self.db.execute(
                "UPDATE deliveries SET state = ?, wamid = COALESCE(wamid, ?), error_code = ?,"
                " updated_at = ? WHERE id = ?",
                (status, wamid, error_code, now, delivery_id),
            )
            return "applied"

    def _reopen_deferred(self, publications: Iterable[tuple[str, str]]) -> None:
        self.db.many(
            "UPDATE publications SET state = 'waiting', detail = ? WHERE bulletin_id = ? AND channel = ?"
            " AND state = 'done'",
            [
                ("rinviati di 24 ore i cittadini al limite dei messaggi di marketing (131049)", bulletin_id, channel)
                for bulletin_id, channel in publications
            ],
        )

    def apply_statuses(self, receipts: Sequence[Receipt], at: float | None = None) -> list[str]:
        """Many status webhooks in one transaction: for each, what :meth:`apply_status` would have said had they
        been applied one by one in this order (``applied``, ``stale``, ``unmatched``), with the same end state.

        The rows they name are read (and locked) with a few set-based queries, the rules of
        :func:`receipt_verdict` are applied in memory, receipt after receipt, and each changed row is written once.
        """
        now = at or time.time()
        results = ["stale"] * len(receipts)
        with self.db.transaction():
            rows = _Rows()
            wamids = sorted({r.wamid for r in receipts if r.status in RANK})
            if self.db.dialect == "postgresql":  # one statement: its rows locked in id order, all at once
                rows.add(self._locked("d.wamid = ANY(?)", (wamids,)))
            else:
                for chunk in _chunks(wamids):
                    rows.add(self._locked(f"d.wamid IN ({', '.join('?' * len(chunk))})", chunk))
            # Matched by recipient when the wamid is unknown (the run died before recording it); all of them when
            # a deferral (131049) in this batch may clear a row's wamid before another receipt names it.
            deferring = any(r.status == "failed" and r.error_code == DEFERRED_CODE for r in receipts)
            by_callback: dict[str, set[str]] = {}
            for r in receipts:
                if r.callback and r.phone and r.status in RANK and (deferring or r.wamid not in rows.by_wamid):
                    by_callback.setdefault(r.callback, set()).add(r.phone)
            for callback, phones in by_callback.items():
                for chunk in _chunks(sorted(phones)):
                    rows.add(self._locked(
                        f"d.bulletin_id = ? AND d.channel = 'whatsapp_list' AND s.phone IN ({', '.join('?' * len(chunk))})",
                        (callback, *chunk),
                    ))  # fmt: skip
            reopened: set[tuple[str, str]] = set()
            for i, r in enumerate(receipts):
                if r.status not in RANK:
                    continue
                row = rows.by_wamid.get(r.wamid)
                if row is None and r.callback and r.phone:
                    row = rows.by_recipient.get((r.callback, r.phone))
                if row is None:
                    results[i] = "unmatched"
                    continue
                verdict = receipt_verdict(row.state, r.status, r.error_code)
                if verdict == "stale":
                    continue
                if verdict == "defer":
                    rows.forget_wamid(row)
                    row.state, row.wamid, row.next_attempt_at = "retry", None, now + DEFER_131049
                    reopened.add((row.bulletin_id, row.channel))
                else:
                    row.state = r.status
                    if row.wamid is None:
                        row.wamid = r.wamid
                        rows.by_wamid.setdefault(r.wamid, row)
                row.error_code, row.changed = r.error_code, True
                results[i] = "applied"
            self.db.many(
                "UPDATE deliveries SET state = ?, wamid = ?, error_code = ?, next_attempt_at = ?, updated_at = ?"
                " WHERE id = ?",
                [(w.state, w.wamid, w.error_code, w.next_attempt_at, now, w.id) for w in rows.changed()],
            )
            self._reopen_deferred(sorted(reopened))
        return results

    def _locked(self, where: str, params: Sequence[object]) -> list[_Row]:
        # In id order, as other batches take them: two batches never deadlock. (A publisher's write of many rows
        # in another order can meet one: PostgreSQL then fails one side, which retries.)
        lock = " FOR UPDATE OF d" if self.db.dialect == "postgresql" else ""
        return [
            _Row(*r)
            for r in self.db.all(
                "SELECT d.id, d.state, d.wamid, d.error_code, d.next_attempt_at, d.bulletin_id, d.channel, s.phone"
                f" FROM deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id WHERE {where} ORDER BY d.id{lock}",
                params,
            )
        ]

    # -- receipts that came before the send was recorded --------------------------------------
    def hold_receipt(
        self,
        wamid: str,
        phone: str | None,
        status: str,
        callback: str | None,
        error_code: int | None,
        at: float | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO pending_receipts (wamid, phone, status, callback, error_code, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (wamid, phone, status, callback, error_code, at or time.time()),
        )

    def held_receipts(self, limit: int = 500) -> list[HeldReceipt]:
        return [
            HeldReceipt(*r)
            for r in self.db.all(
                "SELECT id, wamid, phone, status, callback, error_code, received_at FROM pending_receipts"
                " ORDER BY id LIMIT ?",
                (limit,),
            )
        ]

    def hold_receipts(self, receipts: Sequence[Receipt], at: float | None = None) -> None:
        """:meth:`hold_receipt` for many, in one statement."""
        now = at or time.time()
        self.db.many(
            "INSERT INTO pending_receipts (wamid, phone, status, callback, error_code, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(r.wamid, r.phone, r.status, r.callback, r.error_code, now) for r in receipts],
        )

    def held_count(self) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM pending_receipts")

    def drop_held(self, held_id: int) -> None:
        self.db.execute("DELETE FROM pending_receipts WHERE id = ?", (held_id,))

    def delivery_counts(self, bulletin_id: str) -> dict[str, dict[str, int]]:
        """channel → {state or 'failed:<code>': count}."""
        counts: dict[str, dict[str, int]] = {}
        for channel, state, code, n in self.db.all(
            "SELECT channel, state, error_code, COUNT(*) FROM deliveries WHERE bulletin_id = ?"
            " GROUP BY channel, state, error_code",
            (bulletin_id,),
        ):
            key = f"failed:{code}" if state == "failed" and code is not None else state
            counts.setdefault(channel, {})
            counts[channel][key] = counts[channel].get(key, 0) + n
        return counts

    def totals(self) -> list[tuple[str, str, int | None, int]]:
        """Every delivery row counted by (channel, state, error code): what ``/metrics`` reports, across replicas and
        the command line's publishes. One scan of the ``deliveries_totals`` index (migration 13), not of the table."""
        return [
            (str(c), str(s), None if code is None else int(code), int(n))
            for c, s, code, n in self.db.all(
                "SELECT channel, state, error_code, COUNT(*) FROM deliveries GROUP BY channel, state, error_code"
            )
        ]
