"""The coexistence candidates' store: a contact is never a subscriber by itself; states move one way."""

from __future__ import annotations

from pathlib import Path

from site_tools.store import Store
from site_tools.store import candidates as c


def test_a_contact_becomes_a_candidate_once_and_is_never_a_subscriber_by_itself(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        assert store.candidates.seen("393331112222", "Maria", at=1.0) is True
        assert store.candidates.seen("393331112222", None, at=2.0) is False  # the app sends contacts again
        held = store.candidates.get("393331112222")
        assert held is not None and held.name == "Maria" and held.state == c.NEW and held.added_at == 1.0
        assert store.subscribers.get("393331112222") is None
        assert store.candidates.counts() == {c.NEW: 1}
    finally:
        store.close()


def test_a_removed_contact_leaves_the_plan_unless_already_asked(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        store.candidates.seen("393331112222", "A", at=1.0)
        store.candidates.seen("393331113333", "B", at=1.0)
        assert store.candidates.set_state(["393331113333"], c.ASKED, at=5.0) == 1
        store.candidates.removed("393331112222")
        store.candidates.removed("393331113333")
        assert store.candidates.counts() == {c.REMOVED: 1, c.ASKED: 1}
        store.candidates.seen("393331112222", "A", at=9.0)  # added again in the app
        assert store.candidates.counts() == {c.NEW: 1, c.ASKED: 1}
        asked = store.candidates.get("393331113333")
        assert asked is not None and asked.asked_at == 5.0
    finally:
        store.close()


def test_forgetting_a_number_forgets_the_candidate(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        store.candidates.seen("393331112222", "Maria")
        assert store.forget("393331112222") is True
        assert store.candidates.get("393331112222") is None
    finally:
        store.close()
