"""Numbers as Italians read them: € 1.234,56 and durations."""

from __future__ import annotations


def euro(amount: float) -> str:
    text = f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"€ {text}"


def number(n: float) -> str:
    return f"{n:,.0f}".replace(",", ".")


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} ore".replace(".", ",")
