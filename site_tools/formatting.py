"""Numbers and names as Italians read them: € 1.234,56, counts that agree (1 avviso, 2 avvisi), «ad Anna»,
durations and file sizes."""

from __future__ import annotations


def euro(amount: float) -> str:
    text = f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"€ {text}"


def number(n: float) -> str:
    return f"{n:,.0f}".replace(",", ".")


def plural(n: int, one: str, many: str) -> str:
    """The word that agrees with ``n``: ``plural(1, "era", "erano")`` is ``era`` (Italian: only 1 is singular)."""
    return one if n == 1 else many


def count(n: int, one: str, many: str) -> str:
    """``1 avviso``, ``0 avvisi``, ``1.234 avvisi``: every count printed to a person goes through here."""
    return f"{number(n)} {plural(n, one, many)}"


def to_whom(name: str) -> str:
    """``a Mario Bianchi``, ``ad Anna Verdi``: «a» takes a euphonic «d» before a vowel."""
    return f"ad {name}" if name[:1].lower() in "aeiouàèéìòù" and name else f"a {name}"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} ore".replace(".", ",")


def file_size(size: int) -> str:
    """``840 byte``, ``256 KB``, ``1,4 MB`` (1 KB = 1,024 bytes, as the limits are written): one way everywhere."""
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


#: What GitHub's runner reads as a workflow command: a line that starts with ``::`` once its leading whitespace is
#: trimmed (``::stop-commands::``, ``::add-mask::``, ``::set-output``…). A word joiner, which no trimming removes,
#: keeps such a line of an editor's text a line of text.
_COMMAND = "::"
_INERT = "\u2060"


def log_safe(text: str) -> str:
    """Editor text for a log GitHub reads: no line of it can be taken for a workflow command (a carriage return,
    which the runner also reads as a line's end, becomes a line break first)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_INERT + line if line.lstrip().startswith(_COMMAND) else line for line in lines)
