"""What one thread prints, as lines: a publish run inside the service speaks as the command does.

The publish command writes its report with ``click.echo`` to ``sys.stdout`` and ``sys.stderr``. Inside the
service it runs in a thread of its own, and its lines must go to the job's stream, not to the service's
console: :func:`install` puts a :class:`Routed` stream in front of both once, and :func:`captured` sends
what the current thread writes to a sink while it runs. Every other thread writes where it always did.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_sinks: dict[int, Callable[[str], None]] = {}
_lock = threading.Lock()


class Routed:
    """A text stream that hands each thread's writes to that thread's sink, or to the original stream."""

    def __init__(self, original: TextIO):
        self.original = original

    def write(self, text: str) -> int:
        sink = _sinks.get(threading.get_ident())
        if sink is None:
            return self.original.write(text)
        sink(text)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in _sinks:
            self.original.flush()

    def isatty(self) -> bool:
        return False if threading.get_ident() in _sinks else self.original.isatty()

    @property
    def encoding(self) -> str:
        return "utf-8" if threading.get_ident() in _sinks else self.original.encoding

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


def install() -> None:
    """Route ``sys.stdout`` and ``sys.stderr`` (once; harmless to call again)."""
    with _lock:
        if not isinstance(sys.stdout, Routed):
            sys.stdout = Routed(sys.stdout)
        if not isinstance(sys.stderr, Routed):
            sys.stderr = Routed(sys.stderr)


class Lines:
    """Text written in pieces, handed on a line at a time (the last piece when :meth:`close` is called)."""

    def __init__(self, emit: Callable[[str], None]):
        self.emit = emit
        self.partial = ""

    def __call__(self, text: str) -> None:
        self.partial += text
        *whole, self.partial = self.partial.split("\n")
        for line in whole:
            self.emit(line)

    def close(self) -> None:
        if self.partial:
            self.emit(self.partial)
            self.partial = ""


@contextmanager
def captured(emit: Callable[[str], None]) -> Iterator[None]:
    """While inside, every line this thread prints (stdout and stderr) goes to ``emit``."""
    install()
    lines = Lines(emit)
    _sinks[threading.get_ident()] = lines
    try:
        yield
    finally:
        del _sinks[threading.get_ident()]
        lines.close()
