"""Token buckets: a request spends a token; tokens come back at a steady rate, up to a burst.

:class:`RateLimit` keeps one bucket per client address and one for everybody, in memory (each replica counts
its own requests: the limit protects this process and what it calls, GitHub's key server among them). The
addresses remembered are bounded: the least recently seen is forgotten first, so a flood from many addresses
costs a fixed amount of memory and still meets the shared bucket.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Bucket:
    """``rate`` tokens a second, at most ``burst`` held; starts full."""

    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    updated: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: there is one now). Spends nothing."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def spend(self) -> None:
        self.tokens -= 1


@dataclass
class RateLimit:
    """Per address: ``rate`` requests a second, bursts of ``burst``; for everybody: ``total_rate`` and
    ``total_burst``. :meth:`check` answers how long to wait before trying again (0: go on)."""

    rate: float = 0.5
    burst: float = 20
    total_rate: float = 5.0
    total_burst: float = 100
    max_addresses: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _total: Bucket = field(init=False)
    _by_address: OrderedDict[str, Bucket] = field(init=False, default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self._total = Bucket(self.total_rate, self.total_burst, updated=self.clock())

    def _bucket(self, address: str, now: float) -> Bucket:
        bucket = self._by_address.get(address)
        if bucket is None:
            bucket = self._by_address[address] = Bucket(self.rate, self.burst, updated=now)
            while len(self._by_address) > self.max_addresses:
                self._by_address.popitem(last=False)
        else:
            self._by_address.move_to_end(address)
        return bucket

    def waiting(self, address: str) -> float:
        """Seconds this address must wait (its own bucket only; nothing spent): 0 if it may ask."""
        now = self.clock()
        return self._bucket(address, now).wait(now)

    def refused(self, address: str) -> bool:
        """A refusal spends the address's token (its next requests wait once it has spent its burst) and one of the
        shared bucket; True while the shared bucket had one (say it in the log), False in a flood (count it)."""
        now = self.clock()
        bucket = self._bucket(address, now)
        bucket.wait(now)  # brought up to now before the spend
        bucket.spend()
        if self._total.wait(now) > 0:
            return False
        self._total.spend()
        return True

    def check(self, address: str) -> float:
        """0 and one token spent from both buckets, or the seconds to wait (nothing spent)."""
        now = self.clock()
        bucket = self._bucket(address, now)
        wait = max(bucket.wait(now), self._total.wait(now))
        if wait > 0:
            return wait
        bucket.spend()
        self._total.spend()
        return 0.0
