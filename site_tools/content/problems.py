"""Problems found in content or configuration, and how they are shown.

A problem always says *where* (file, line when known, field), *what* and
*how to fix it*, in Italian: editors read these messages in pull-request
checks. Nothing in the project raises a traceback at an editor; code that
finds something wrong appends a :class:`Problem` and carries on, so that
one run lists everything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from site_tools.formatting import count, plural


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str | None
    message: str
    fix: str

    def __lt__(self, other: Problem) -> bool:
        return self._key() < other._key()

    def _key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line or 0, self.field or "", self.message)

    def format(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}:{field} {self.message}\n    ➜ Come correggere: {self.fix}"

    def github_annotation(self, level: str = "error") -> str:
        """The same problem as a GitHub Actions annotation on the PR's diff (``error`` or ``warning``)."""
        parts = [f"file={self.file}"]
        if self.line is not None:
            parts.append(f"line={self.line}")
        title = f"Campo {self.field}" if self.field else "Problema"
        text = f"{self.message} Come correggere: {self.fix}".replace("%", "%25")
        text = text.replace("\r", "%0D").replace("\n", "%0A")
        return f"::{level} {','.join(parts)},title={title}::{text}"


class ProblemList(list[Problem]):
    """A list of problems with a helper that fills in the file once."""

    def add(self, file: str, field: str | None, message: str, fix: str, line: int | None = None) -> None:
        self.append(Problem(file, line, field, message, fix))


class InvalidContent(Exception):
    """Raised at a boundary (publisher, site build) when content is invalid."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__(format_report(self.problems))


def display_path(path: Path, root: Path | None = None) -> str:
    """A path as an editor sees it in the repository: relative, with slashes."""
    base = root or Path.cwd()
    text, prefix = str(path), str(base).rstrip(os.sep) + os.sep
    if text.startswith(prefix) and os.sep == "/" and ".." not in text:
        return _printable(text[len(prefix) :])  # the common case, without relpath's syscalls
    try:
        return _printable(Path(os.path.relpath(path, base)).as_posix())
    except ValueError:  # another drive on Windows
        return _printable(path.as_posix())


def _printable(text: str) -> str:
    """A file name that is not UTF-8 (Latin-1 from an old zip: os.walk keeps its bytes as surrogates) with «�»
    for those bytes: printed, stored in the ledger or in the cache, it must not raise."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def shown(value: object, limit: int = 60) -> str:
    """A value an editor wrote, fit for a message: never the whole of a huge one.

    Lists and mappings are named, not printed: ``str()`` of a large (or,
    through YAML aliases, exponentially nested) value is how a message
    could exhaust memory.
    """
    if isinstance(value, int) and value.bit_length() > 256:
        return "un numero lunghissimo"
    if isinstance(value, str | int | float | bool) or value is None:
        text = " ".join(str(value).split()) if isinstance(value, str) else repr(value)[: limit + 1]
        return text if len(text) <= limit else text[: limit - 1] + "…"
    if isinstance(value, list | tuple):
        return f"un elenco di {len(value)} elementi"
    if isinstance(value, dict):
        return f"un gruppo di {len(value)} campi"
    return f"un valore di tipo {type(value).__name__}"


#: What a publishing step (``publish``, the site build) adds to its report: only those may say it.
NOTHING_PUBLISHED = "Nulla è stato pubblicato."


def format_report(problems: list[Problem], outcome: str = "") -> str:
    """Every problem, then how many; ``outcome`` says what the command did not do (e.g. :data:`NOTHING_PUBLISHED`)."""
    if not problems:
        return "Nessun problema trovato."
    files = {p.file for p in problems}
    lines = [p.format() for p in sorted(problems)]
    n = len(problems)
    found = f"{plural(n, 'Trovato', 'Trovati')} {count(n, 'problema', 'problemi')}"
    lines.append("")
    lines.append(f"{found} in {len(files)} file." + (f" {outcome}" if outcome else ""))
    return "\n".join(lines)
