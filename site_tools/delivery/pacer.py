"""Pacing: at most R request starts per second, evenly spaced, slowing down when throttled — in one process
(:class:`Pacer`) or shared by every process sending from one phone number (:class:`SharedPacer`)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from site_tools.delivery.clock import SYSTEM_CLOCK, Clock
from site_tools.store.budget import Reservation


class Pacer:
    """At most ``rate`` starts per second, evenly spaced.

    When the API throttles anyway (130429, HTTP 429) the pacer pauses and
    lowers its rate (multiplicative decrease, at most once per half second),
    then creeps back up to the configured rate while no throttling is seen.
    A slot is never saved up: after an idle moment there is no burst.
    """

    def __init__(self, rate: float, clock: Clock = SYSTEM_CLOCK):
        self.target = rate
        self.rate = rate
        self.clock = clock
        self._next = 0.0
        self._paused_until = 0.0
        self._last_cut = -1.0
        self._last_raise = 0.0

    async def wait(self) -> None:
        now = self.clock.monotonic()
        if self.rate < self.target and now - max(self._last_cut, self._last_raise) >= 1.0:
            self.rate = min(self.target, self.rate * 1.1)
            self._last_raise = now
        slot = max(now, self._next, self._paused_until)
        self._next = slot + 1.0 / self.rate
        if slot > now:
            await self.clock.sleep(slot - now)

    def throttled(self, pause: float) -> None:
        now = self.clock.monotonic()
        self._paused_until = max(self._paused_until, now + pause)
        if now - self._last_cut >= 0.5:
            self.rate = max(1.0, self.rate * 0.7)
            self._last_cut = now


#: A slot missed by more than this (a busy event loop) is dropped, not sent late in a burst.
LATE_SLOT = 0.02


class SharedPacer(Pacer):
    """The same promise for one phone number across every process: slots reserved from the store.

    ``reserve(count, priority, not_before, rate)`` returns a
    :class:`~site_tools.store.budget.Reservation`: ``count`` slots on the
    database's clock, ``spacing`` apart. This sender keeps an estimate of its
    offset from that clock (from the reservation with the shortest round
    trip, as NTP does) and starts each request at the slot's time on its own
    wall clock. A slot already in the past by more than :data:`LATE_SLOT` is
    dropped rather than sent late in a burst. While a sender of higher
    priority holds the number, the reservation is empty and this one waits.
    """

    def __init__(
        self,
        reserve: Callable[[int, str, float, float], Awaitable[Reservation]],
        rate: float,
        priority: str = "normal",
        clock: Clock = SYSTEM_CLOCK,
        window: float = 0.1,
        release: Callable[[str], Awaitable[None]] | None = None,
        demand: Callable[[], int] | None = None,
    ):
        super().__init__(rate, clock)
        self._reserve = reserve
        self._release = release
        self._demand = demand  # how many starts are wanted now: reserve no more than that
        self.priority = priority
        self.window = window
        self._slots: deque[float] = deque()  # on this process's wall clock
        self._lock: asyncio.Lock | None = None
        self._push = 0.0  # seconds every sender of the number should wait (after a 130429)
        self._offset = 0.0  # database clock minus ours
        self._best_trip = float("inf")
        self.reservations = 0

    async def wait(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        while True:
            slot = self._next_slot()
            if slot is not None:
                now = self.clock.time()
                if slot > now:
                    await self.clock.sleep(slot - now)
                return
            async with self._lock:
                if self._slots:
                    continue
                await self._refill()

    def _next_slot(self) -> float | None:
        now = self.clock.time()
        late = max(2.0 / self.rate, LATE_SLOT)
        while self._slots:
            slot = self._slots.popleft()
            if slot >= now - late:
                return slot
        return None

    async def _refill(self) -> None:
        now = self.clock.monotonic()
        if self.rate < self.target and now - max(self._last_cut, self._last_raise) >= 1.0:
            self.rate = min(self.target, self.rate * 1.1)
            self._last_raise = now
        push, self._push = self._push, 0.0
        count = max(1, round(self.rate * self.window))
        if self._demand is not None:
            count = max(1, min(count, self._demand()))
        # Ask for a window that starts after the answer is back: its first slots are not dropped as late.
        lead = min(0.05, 2 * self._best_trip + 0.002) if self._best_trip < float("inf") else 0.02
        asked = self.clock.time()
        reservation = await self._reserve(count, self.priority, max(push, lead), self.rate)
        answered = self.clock.time()
        self.reservations += 1
        if answered - asked < self._best_trip:  # the database read its clock inside the trip: best guess, midpoint
            self._best_trip = answered - asked
            self._offset = reservation.now - (asked + answered) / 2
        if not reservation.granted:
            await self.clock.sleep(max(0.0, reservation.delay))
            return
        first = reservation.start - self._offset
        self._slots.extend(first + i * reservation.spacing for i in range(reservation.count))

    async def done(self) -> None:
        """Nothing more to send for now: give the number back to lower priorities at once."""
        self._slots.clear()
        if self._release is not None:
            await self._release(self.priority)

    def throttled(self, pause: float) -> None:
        super().throttled(pause)  # the rate comes down for this sender
        self._push = max(self._push, pause)  # and the next reservation pushes every sender back
        self._slots.clear()
