"""The pacer: at most R request starts per second, evenly spaced, slowing down when throttled."""

from __future__ import annotations

from site_tools.delivery.clock import SYSTEM_CLOCK, Clock


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
