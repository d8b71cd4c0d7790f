"""Background loops that never die quietly.

A loop that raises is logged and started again after a growing pause; one
that keeps failing gives up, and the service then stops with a non-zero exit
status so that systemd, Docker or the platform restarts the whole process
(and ``/health`` says so meanwhile).

A bug in the SQL or the schema (``no such column``, a syntax error, a
constraint the code does not expect: :func:`~site_tools.store.database.store_bug`)
gives up at once, on SQLite as on PostgreSQL: running it again would only
repeat it. A transient store failure never reaches here: the loops wait and
retry it themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from site_tools.phones import mask_all
from site_tools.store.database import describe_error, store_bug

log = logging.getLogger("site_tools.service")


@dataclass
class Supervised:
    name: str
    run: Callable[[], Awaitable[None]]
    max_failures: int = 5  # in a row: then give up
    healthy_after: float = 60.0  # a run this long resets the count
    state: str = "starting"
    failures: int = 0
    last_error: str | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def alive(self) -> bool:
        return self.state in ("running", "idle")


async def supervise(loop: Supervised, give_up: Callable[[str], None], pause: float = 0.5) -> None:
    while True:
        loop.state, loop.started_at = "running", time.monotonic()
        try:
            await loop.run()
            loop.state = "idle"  # it decided it has nothing to do (no token to send replies with)
            return
        except asyncio.CancelledError:
            loop.state = "stopped"
            raise
        except Exception as exc:  # noqa: BLE001 - whatever it was, say it and try again
            if time.monotonic() - loop.started_at > loop.healthy_after:
                loop.failures = 0
            loop.failures += 1
            if store_bug(exc):
                loop.state, loop.last_error = "dead", mask_all(f"database error: {describe_error(exc)}")[:300]
                log.critical("background loop %r stopped by a database error (a bug, not an outage)", loop.name)
                log.exception("background loop %r: %s", loop.name, loop.last_error)
                give_up(f"{loop.name}: {loop.last_error}")
                return
            loop.last_error = mask_all(f"{type(exc).__name__}: {exc}")[:300]
            log.exception("background loop %r failed (%d in a row)", loop.name, loop.failures)
            if loop.failures >= loop.max_failures:
                loop.state = "dead"
                give_up(f"{loop.name}: {loop.failures} failures in a row, last: {loop.last_error}")
                return
            loop.state = "restarting"
            await asyncio.sleep(min(30.0, pause * 2 ** (loop.failures - 1)))
