"""The Store: one database (SQLite file or PostgreSQL URL) and its repositories.

Every query the project runs lives in this package, on top of
:class:`~site_tools.store.database.Database`, so SQLite and PostgreSQL share
one code path. Phone numbers never leave it except towards the WhatsApp API
(and the citizen's own GDPR export).

* ``store.subscribers`` — consent, opt-out, reachability (:mod:`.subscribers`);
* ``store.ledger`` — publications, runs and per-recipient deliveries (:mod:`.ledger`);
* ``store.inbox`` — webhook events stored before they are acknowledged (:mod:`.inbox`);
* ``store.outbox`` — replies to citizens (:mod:`.outbox`);
* ``store.budget`` — one rate budget per phone number, shared by every sender (:mod:`.budget`).
* ``store.conversations`` — the one-to-one counter's questions and answers (:mod:`.conversations`);
* ``store.staff`` — the counter's staff, sessions, login throttling and audit log (:mod:`.staff`);
* ``store.parsed`` — bulletins parsed before, by content hash (:mod:`.parsed`);
* ``store.jobs`` — publish jobs shared by the service's replicas, with leases (:mod:`.jobs`).
* ``store.tokens`` — OIDC tokens already used to publish, by ``jti`` (:mod:`.tokens`).
* ``store.state`` — what the service remembers across restarts and replicas (:mod:`.service_state`).
* ``store.push`` — Web Push: the browsers' subscriptions and what went to each (:mod:`.push`).
* ``store.newsletter`` — the e-mail newsletter's addresses, their opt-in and its ledger (:mod:`.newsletter`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from site_tools.phones import sender_hash
from site_tools.store.budget import RateBudget
from site_tools.store.candidates import Candidates
from site_tools.store.conversations import Conversations
from site_tools.store.database import Database
from site_tools.store.inbox import Inbox
from site_tools.store.jobs import Jobs
from site_tools.store.ledger import Ledger
from site_tools.store.newsletter import Newsletter
from site_tools.store.outbox import Outbox
from site_tools.store.parsed import ParsedBulletins
from site_tools.store.push import PushStore
from site_tools.store.service_state import ServiceState
from site_tools.store.staff import Staff
from site_tools.store.subscribers import Subscribers
from site_tools.store.tokens import UsedTokens


class Store:
    def __init__(self, db: Database):
        self.db = db
        self.subscribers = Subscribers(db)
        self.ledger = Ledger(db)
        self.inbox = Inbox(db)
        self.outbox = Outbox(db)
        self.budget = RateBudget(db)
        self.conversations = Conversations(db)
        self.staff = Staff(db)
        self.parsed = ParsedBulletins(db)
        self.jobs = Jobs(db)
        self.tokens = UsedTokens(db)
        self.state = ServiceState(db)
        self.candidates = Candidates(db)
        self.push = PushStore(db)
        self.newsletter = Newsletter(db)

    @classmethod
    def open(cls, url: str | None = None, default_dir: Path | None = None) -> Store:
        return cls(Database.open(url, default_dir))

    def close(self) -> None:
        try:
            self.parsed.flush()  # parses kept during the run: written once the run is done
        except Exception as exc:  # noqa: BLE001 - a cache not written costs a parse next time, never the run
            # But said: a cache that is never written makes every publish cold, and nobody would know why.
            print(
                f"⚠ Attenzione: la cache degli avvisi letti non è stata salvata ({type(exc).__name__}: "
                f"{str(exc)[:200]}). Nessun avviso è perso, ma il prossimo invio rilegge tutto l'archivio.",
                file=sys.stderr,
            )
        finally:
            self.db.close()

    # -- GDPR: access and erasure span every repository ------------------------------
    def export(self, phone: str) -> dict[str, Any] | None:
        sub = self.subscribers.get(phone)
        conversations = self.conversations.export(phone)
        if sub is None and not conversations:
            return None
        deliveries = self.db.all(
            "SELECT bulletin_id, channel, state, attempts, error_code, updated_at FROM deliveries"
            " WHERE subscriber_id = ? ORDER BY id",
            (sub.id if sub else -1,),
        )
        replies = self.db.all(
            "SELECT body, state, created_at, sent_at FROM outbox WHERE phone = ? ORDER BY id", (phone,)
        )
        return {
            "phone": phone,
            "status": sub.status if sub else None,
            "consent_at": sub.consent_at if sub else None,
            "consent_source": sub.consent_source if sub else None,
            "consent_text": sub.consent_text if sub else None,
            "opted_out_at": sub.opted_out_at if sub else None,
            "choice": sub.choice if sub else None,  # what they chose to receive (store/choices.py)
            "deliveries": [
                dict(zip(("bulletin", "channel", "state", "attempts", "error_code", "updated_at"), d, strict=True))
                for d in deliveries
            ],
            "replies": [dict(zip(("text", "state", "created_at", "sent_at"), r, strict=True)) for r in replies],
            "automatic_answers_on": [
                r[0] for r in self.db.all("SELECT day FROM auto_replies WHERE phone = ?", (phone,))
            ],
            "conversations": conversations,
        }

    def forget(self, phone: str) -> bool:
        """Erasure: the number is gone everywhere; delivery counts stay, anonymous."""
        with self.db.transaction():
            sub = self.subscribers.get(phone)
            talked = self.conversations.forget(phone) > 0  # before the outbox: it finds reply statuses through it
            self.db.execute("DELETE FROM outbox WHERE phone = ?", (phone,))
            self.db.execute("DELETE FROM auto_replies WHERE phone = ?", (phone,))
            self.db.execute("DELETE FROM events WHERE body LIKE ?", (f"%{phone}%",))
            # Inbound message ids encode the number (wamid.HBgM… is base64): erased by the sender's hash.
            self.db.execute("DELETE FROM inbound WHERE sender_hash = ?", (sender_hash(phone),))
            self.db.execute("DELETE FROM pending_receipts WHERE phone = ?", (phone,))
            was_candidate = self.candidates.get(phone) is not None
            self.candidates.forget(phone)
            if sub is None:
                return talked or was_candidate
            self.db.execute(
                "UPDATE deliveries SET subscriber_id = NULL, wamid = NULL WHERE subscriber_id = ?", (sub.id,)
            )
            self.db.execute("DELETE FROM subscribers WHERE id = ?", (sub.id,))
            return True
