"""The final check of every written page (:func:`~site_tools.site.sanitize.inspect_page`), beside the build.

The check parses each finished page with lexbor: 10 % of a 10,000-bulletin build, on the one core MkDocs
uses. From :data:`BESIDE_FROM` pages on, it runs in a second process (a thread would fight the build for
the GIL): the check of one page overlaps the rendering of the next, on the core MkDocs leaves idle (issue 17).
Smaller sites are checked in line: starting the process would cost more than it saves.

The verdict is the same either way, only given at the end: :meth:`FinalCheck.verdict` (the plugin's
``on_post_build``) names every page that failed and deletes it from the output, so that nothing is published
even by a deploy that ignored the failed build. A failure of the check itself (an exception, the process
killed) fails the build too. At most :data:`AHEAD` pages wait for the check: a slow check slows the build
down instead of holding thousands of pages in memory.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from mkdocs.exceptions import PluginError

#: From this many pages on, the check runs in a second process.
BESIDE_FROM = 1000
#: Pages handed to the process and not checked yet, at most (then the build waits for the oldest).
AHEAD = 32

#: A picklable callable (a module-level function, or a ``functools.partial`` of one): it crosses to the process.
Check = Callable[[str], list[str]]


class FinalCheck:
    def __init__(self, pages: int) -> None:
        self._beside = pages >= BESIDE_FROM
        self._pool: ProcessPoolExecutor | None = None
        self._waiting: deque[tuple[str, Path, Future[list[str]]]] = deque()
        self._failed: list[tuple[str, Path, list[str]]] = []

    def submit(self, name: str, written_to: Path, page_html: str, check: Check) -> None:
        """Check ``page_html``, the page ``name`` about to be written to ``written_to``."""
        if not self._beside:
            self._record(name, written_to, check(page_html))
            return
        if self._pool is None:
            # "spawn": a fresh interpreter, not a fork of the build (its threads, its open files).
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._waiting.append((name, written_to, self._pool.submit(check, page_html)))
        while self._waiting and (self._waiting[0][2].done() or len(self._waiting) > AHEAD):
            self._collect()

    def verdict(self) -> list[tuple[str, list[str]]]:
        """Wait for every page; delete the pages that failed; (name, problems) of each, in the order written."""
        try:
            while self._waiting:
                self._collect()
        finally:
            self.close()
        for _, written_to, _ in self._failed:
            written_to.unlink(missing_ok=True)
        return [(name, problems) for name, _, problems in self._failed]

    def close(self) -> None:
        """Stop the process (after a build that failed elsewhere, what was not checked is dropped)."""
        self._waiting.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _collect(self) -> None:
        name, written_to, future = self._waiting.popleft()
        try:
            problems = future.result()  # an exception of the check is the build's
        except BrokenProcessPool as exc:
            raise PluginError(
                "il controllo finale delle pagine si è interrotto (il processo che lo esegue è terminato, forse per "
                "mancanza di memoria): il sito non è stato aggiornato. Rilancia la costruzione; se si ripete, "
                "segnala il problema a chi gestisce il sito."
            ) from exc
        self._record(name, written_to, problems)

    def _record(self, name: str, written_to: Path, problems: list[str]) -> None:
        if problems:
            self._failed.append((name, written_to, problems))
