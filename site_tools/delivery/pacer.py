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


class SharedPacer(Pacer):
    """The same promise for one phone number across every process: slots reserved from the store.

    ``reserve(count, priority, not_before, rate)`` returns a
    :class:`~site_tools.store.budget.Reservation`: ``count`` slots, the first
    after ``delay`` seconds, ``spacing`` apart. Slots are handed out in order;
    a slot already in the past by more than one spacing is dropped rather
    than sent late in a burst. While a sender of higher priority holds the
    number, the reservation is empty and this sender waits.
    """

    def __init__(
        self,
        reserve: Callable[[int, str, float, float], Awaitable[Reservation]],
        rate: float,
        priority: str = "normal",
        clock: Clock = SYSTEM_CLOCK,
        window: float = 0.1,
    ):
        super().__init__(rate, clock)
        self._reserve = reserve
        self.priority = priority
        self.window = window
        self._slots: deque[float] = deque()
        self._lock: asyncio.Lock | None = None
        self._push = 0.0  # seconds every sender of the number should wait (after a 130429)
        self.reservations = 0

    async def wait(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        while True:
            slot = self._next_slot()
            if slot is not None:
                now = self.clock.monotonic()
                if slot > now:
                    await self.clock.sleep(slot - now)
                return
            async with self._lock:
                if self._slots:
                    continue
                await self._refill()

    def _next_slot(self) -> float | None:
        now = self.clock.monotonic()
        while self._slots:
            slot = max(self._slots.popleft(), self._paused_until)
            if slot >= now - 1.0 / self.rate:
                return slot
        return None

    async def _refill(self) -> None:
        now = self.clock.monotonic()
        if self.rate < self.target and now - max(self._last_cut, self._last_raise) >= 1.0:
            self.rate = min(self.target, self.rate * 1.1)
            self._last_raise = now
        push, self._push = self._push, 0.0
        count = max(1, round(self.rate * self.window))
        asked = self.clock.monotonic()
        reservation = await self._reserve(count, self.priority, push, self.rate)
        self.reservations += 1
        # The database read its clock somewhere inside the round trip: the midpoint is the best guess (error at
        # most half the round trip, which is what two senders' windows can overlap by).
        base = (asked + self.clock.monotonic()) / 2
        if not reservation.granted:
            await self.clock.sleep(reservation.delay)
            return
        first = base + reservation.delay
        self._slots.extend(first + i * reservation.spacing for i in range(reservation.count))

    def throttled(self, pause: float) -> None:
        super().throttled(pause)
        self._push = max(self._push, pause)
        self._slots.clear()  # reserved at the old pace: let them go, the next reservation pushes everyone back
