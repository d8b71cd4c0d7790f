"""One rate budget per phone number, shared through the store: windows never overlap, urgent first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from site_tools.delivery.pacer import SharedPacer
from site_tools.store import Store
from site_tools.store.budget import HOLD, Reservation

NUMBER = "106540352242922"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store.open(store_url)
    yield store
    store.close()


def windows(reservations: list[Reservation], at: list[float]) -> list[tuple[float, float]]:
    return [(t + r.delay, t + r.delay + r.count * r.spacing) for r, t in zip(reservations, at, strict=True)]


def test_reservations_never_overlap_and_keep_the_rate(store: Store) -> None:
    got, at, took = [], [], []
    for _ in range(20):
        at.append(time.time())
        got.append(store.budget.reserve(NUMBER, 100.0, 10, "normal"))
        took.append(time.time() - at[-1])
    # A delay counts from when the store read its clock, somewhere in the call: each window is placed up to its
    # call's duration early, so a later window may seem to start that much before the previous one ends.
    spans = windows(got, at)
    for (_, end), (start, _), late in zip(spans, spans[1:], took[1:], strict=False):
        assert start >= end - 0.01 - late  # the next window starts where the previous ended (clock jitter aside)
    assert sum(r.count for r in got) == 200
    # 200 slots at 100/s: two seconds.
    assert spans[-1][1] - spans[0][0] == pytest.approx(2.0, abs=0.05 + max(took[0], took[-1]))


def test_urgent_first_then_replies_then_normal(store: Store) -> None:
    assert store.budget.reserve(NUMBER, 80.0, 8, "urgent").granted
    assert not store.budget.reserve(NUMBER, 80.0, 8, "reply").granted
    assert not store.budget.reserve(NUMBER, 80.0, 8, "normal").granted
    assert store.budget.reserve(NUMBER, 80.0, 8, "urgent").granted  # urgent is never held back


def test_a_quiet_higher_priority_gives_the_number_back(store: Store) -> None:
    store.db.execute(
        "INSERT INTO rate_budget (number_id, next_slot, urgent_seen) VALUES (?, ?, ?)",
        (NUMBER, time.time(), time.time() - HOLD - 0.1),
    )
    assert store.budget.reserve(NUMBER, 80.0, 8, "normal").granted


def test_a_throttled_sender_pushes_everyone_back(store: Store) -> None:
    store.budget.reserve(NUMBER, 100.0, 1, "normal", not_before=2.0)
    later = store.budget.reserve(NUMBER, 100.0, 1, "normal")
    assert later.delay >= 1.9


@pytest.mark.slow  # paced for seconds
def test_two_shared_pacers_together_stay_at_the_rate(store: Store, store_url: str) -> None:
    """Two processes' worth of pacers, each with its own store connection, starting as fast as they may."""
    other = Store.open(store_url)
    starts: list[float] = []

    def pacer(s: Store) -> SharedPacer:
        async def reserve(count: int, priority: str, not_before: float, rate: float) -> Reservation:
            return await asyncio.to_thread(s.budget.reserve, NUMBER, rate, count, priority, not_before)

        return SharedPacer(reserve, 200.0)

    async def send(p: SharedPacer, n: int) -> None:
        for _ in range(n):
            await p.wait()
            starts.append(time.monotonic())

    async def both() -> None:
        await asyncio.gather(send(pacer(store), 200), send(pacer(other), 200))

    asyncio.run(both())
    other.close()
    starts.sort()
    elapsed = starts[-1] - starts[0]
    # Slots are placed from the database's clock when the reservation returns: a reservation's round trip
    # (under a row lock, a few ms to tens of ms) shifts a window by that much, never more.
    assert elapsed >= 399 / 200 - 0.1  # never faster than the cap, together (how close: bench/fanout.py)
    for span, allowed in ((0.5, 100 + 20), (1.0, 200 + 20)):
        worst = max(sum(1 for t in starts if s <= t < s + span) for s in starts)
        assert worst <= allowed, f"{worst} starts in {span} s"
