"""WhatsApp's 24-hour customer-service window, as staff need to see it."""

from __future__ import annotations

from dataclasses import dataclass

from site_tools.content import limits


@dataclass(frozen=True)
class Window:
    last_inbound_at: float
    now: float

    @property
    def closes_at(self) -> float:
        return self.last_inbound_at + limits.SERVICE_WINDOW_SECONDS

    @property
    def left(self) -> float:
        return max(0.0, self.closes_at - self.now)

    @property
    def open(self) -> bool:
        return self.left > 0

    @property
    def closing_soon(self) -> bool:
        return 0 < self.left < 3600

    def describe(self) -> str:
        """``17 h 05 min`` left, ``chiusa`` when past."""
        if not self.open:
            return "chiusa"
        minutes = int(self.left // 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
