"""The final check of every written page (:func:`~site_tools.site.sanitize.inspect_page`), beside the build.

The check parses each finished page with lexbor: 10 % of a 10,000-bulletin build, on the one core MkDocs
uses. From :data:`BESIDE_FROM` pages on, it runs in a second process (a thread would fight the build for
the GIL): the check of one page overlaps the rendering of the next, on the core MkDocs leaves idle.

* **In line** (smaller sites: starting the process would cost more than it saves): a page that fails is
  refused at once, and never written.
* **Beside**: a page is written while it is checked. :meth:`FinalCheck.verdict` (the plugin's
  ``on_post_build``) waits for every page, deletes each that failed and refuses the build naming them all;
  :meth:`FinalCheck.abandon` (``on_build_error``: the build failed for another reason) deletes every page
  that failed *or was not checked yet*. Either way no page that failed is left in the output, even for a
  deploy that ignored the failed build. An interrupted process (Ctrl-C, a killed job) runs neither: the
  build writes beside ``site/`` and only a build whose verdict is in takes its place
  (:mod:`site_tools.site.staging`).

Files the build copies as they are, not rendered as pages (the web editor's ``admin/index.html``), are
checked too, once written (:func:`inspect_own_file`): a file that fails is deleted like a page.

A failure of the check itself (an exception, the process killed) fails the build. At most :data:`AHEAD`
pages wait for the check: a slow check slows the build down instead of holding pages in memory.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from mkdocs.exceptions import PluginError
from selectolax.lexbor import LexborHTMLParser

from site_tools.site.sanitize import inspect_page

#: From this many pages on, the check runs in a second process.
BESIDE_FROM = 1000
#: Pages handed to the process and not checked yet, at most (then the build waits for the oldest).
AHEAD = 32

#: A picklable callable (a module-level function, or a ``functools.partial`` of one): it crosses to the process.
Check = Callable[[str], list[str]]

STOPPED = (
    "il controllo finale delle pagine si è interrotto (il processo che lo esegue è terminato, forse per mancanza "
    "di memoria): il sito non è stato aggiornato. Rilancia la costruzione; se si ripete, segnala il problema a chi "
    "gestisce il sito."
)


def refused(failed: list[tuple[str, list[str]]]) -> PluginError:
    """The build's error for the pages that failed: (name, problems) of each."""
    lines = [
        f"la pagina «{name or '/'}» conterrebbe codice eseguibile ({'; '.join(problems[:5])}): non è stata pubblicata."
        for name, problems in failed[:20]
    ]
    if len(failed) > 20:
        lines.append(f"… e altre {len(failed) - 20} pagine.")
    lines.append("Segnala il problema a chi gestisce il sito: il sito non è stato aggiornato.")
    return PluginError("\n".join(lines))


class FinalCheck:
    def __init__(self, pages: int) -> None:
        self._beside = pages >= BESIDE_FROM
        self._pool: ProcessPoolExecutor | None = None
        self._waiting: deque[tuple[str, Path, Future[list[str]]]] = deque()
        self._failed: list[tuple[str, Path, list[str]]] = []
        #: The verdict is in: every page passed, or the build was refused for a page that failed (in line: at
        #: once; beside: at the end). The output may then take the site's place (staging.py), never before.
        self.decided = False

    def submit(self, name: str, written_to: Path, page_html: str, check: Check, written: bool = False) -> None:
        """Check ``page_html``, the page ``name`` about to be written to ``written_to`` (or ``written`` there
        already: a failure is then deleted with the verdict, in line too)."""
        if not self._beside:
            problems = check(page_html)
            if problems and written:
                self._failed.append((name, written_to, problems))
            elif problems:
                self.decided = True
                raise refused([(name, problems)])
            return
        if self._pool is None:
            # "spawn": a fresh interpreter, not a fork of the build (its threads, its open files).
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        try:
            future = self._pool.submit(check, page_html)
        except BrokenProcessPool as exc:
            raise PluginError(STOPPED) from exc
        self._waiting.append((name, written_to, future))
        while self._waiting and (self._waiting[0][2].done() or len(self._waiting) > AHEAD):
            self._collect()

    def verdict(self) -> None:
        """Wait for every page; refuse the build, naming every page that failed (deleted from the output)."""
        while self._waiting:
            self._collect()
        self._stop()
        self.decided = True
        if self._failed:
            _delete(written_to for _, written_to, _ in self._failed)
            raise refused([(name, problems) for name, _, problems in self._failed])

    def abandon(self) -> None:
        """The build failed: delete every written page that failed or was not checked; stop the process."""
        unchecked = [written_to for _, written_to, _ in self._waiting]
        self._waiting.clear()
        self._stop()
        _delete([*(written_to for _, written_to, _ in self._failed), *unchecked])

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _collect(self) -> None:
        name, written_to, future = self._waiting[0]
        try:
            problems = future.result()  # an exception of the check is the build's (abandon deletes the page)
        except BrokenProcessPool as exc:
            raise PluginError(STOPPED) from exc
        self._waiting.popleft()
        if problems:
            self._failed.append((name, written_to, problems))


def inspect_own_file(page_html: str, *, policy: str | None, site_url: str, feedback_url: str = "") -> list[str]:
    """:func:`~site_tools.site.sanitize.inspect_page` of a file the build copies as it is (no inline script is
    the theme's); with ``policy``, the file must carry exactly that Content-Security-Policy (its own, such as
    the web editor's: :func:`site_tools.site.admin.content_security_policy`)."""
    problems = inspect_page(page_html, frozenset(), site_url, feedback_url)
    if policy is not None:
        tree = LexborHTMLParser(page_html)
        found = [
            m.attributes.get("content") or ""
            for m in tree.css("meta")
            if (m.attributes.get("http-equiv") or "").lower() == "content-security-policy"
        ]
        if found != [policy]:
            problems.append("a Content-Security-Policy other than its own" if found else "no Content-Security-Policy")
    return problems


def _delete(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
