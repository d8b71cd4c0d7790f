"""Publishing inside the service: jobs taken from the store and run as ``site-tools publish`` runs, warm.

A job (:mod:`site_tools.store.jobs`) is asked for by ``POST /publish`` (a push to ``main``, proven by
GitHub's OIDC token) or by the service's clock (a scheduled bulletin's minute). The :class:`Runner` of
each replica takes the oldest waiting job under a lease, renews the lease while it works, brings the
checkout to the commit (``prepare``), and runs the very command a person would run by hand — in this
process, whose modules are imported and whose store and parse cache are warm, so the first urgent message
leaves in milliseconds rather than after an interpreter's start. What the command prints goes to the job's
lines, which ``POST /publish`` streams to the workflow's log; its exit code, its summary and the manual
posts for the editors make the job's result.

A replica that dies mid-run stops renewing its lease; another replica takes the job and runs it again, and
the delivery ledger resumes it: nobody who got the bulletin gets it twice, beyond the sends in flight.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import re
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from site_tools.content.config import TownConfig
from site_tools.formatting import log_safe
from site_tools.phones import mask_all
from site_tools.store import Store
from site_tools.store.database import StoreUnavailable
from site_tools.store.jobs import Job

log = logging.getLogger("site_tools.service")
T = TypeVar("T")

#: The result's line at the end of a streamed run (docs/architecture/trusted-publishing.md).
RESULT_PREFIX = "@@site-tools-result "
#: Exit codes, as the command's (site_tools.cli.common): problems, a crash, the service could not run it.
EXIT_PROBLEMS, EXIT_CRASH, EXIT_FATAL = 1, 2, 3

#: Runs ``site-tools <args>`` in the calling thread, its output lines to ``emit``; returns its exit code.
#: The command line layer hands it in (site_tools.cli.inprocess): the service does not import the commands.
Command = Callable[[list[str], Callable[[str], None]], int]
#: Brings the checkout to what the job asks for and holds it there while the job runs (``async with pin(job) as
#: commit``); the commit it serves (None: not a checkout that follows main).
Pin = Callable[[Job], AbstractAsyncContextManager[str | None]]


@dataclass
class RunOutcome:
    exit: int
    summary: str = ""
    posts: list[dict[str, Any]] | None = None


def publish_arguments(job: Job, config_path: Path, db_url: str | None, files: dict[str, Path]) -> list[str]:
    """The command line of the job's run: ``site-tools publish`` with what the job says."""
    args = ["--config", str(config_path), "publish", "--no-progress", "--annotations"]
    args += ["--summary-file", str(files["summary"]), "--posts-file", str(files["posts"])]
    if db_url:
        args += ["--db", db_url]
    before = job.args.get("before")
    if before:
        args += ["--since", str(before)]
    if not job.args.get("adopt", True):
        args.append("--no-adopt")
    return args


#: The workflow commands a run may send to the job's log: its annotations (``Problem.github_annotation``).
ANNOTATION = re.compile(r"::(error|warning|notice)( [^:\r\n]*)?::")


def for_the_log(line: str) -> str:
    """A line of the run as the job's log may show it: an annotation stays one, any other ``::`` command (a line
    of a bulletin that made it to the output: ``::stop-commands::``, ``::add-mask::``…) becomes inert text."""
    return line if ANNOTATION.match(line) and "\r" not in line else log_safe(line)


def run_publish(
    command: Command, job: Job, config_path: Path, db_url: str | None, emit: Callable[[str], None]
) -> RunOutcome:
    with tempfile.TemporaryDirectory(prefix="site-tools-job-") as tmp:
        files = {"summary": Path(tmp) / "summary.md", "posts": Path(tmp) / "posts.json"}
        code = command(publish_arguments(job, config_path, db_url, files), lambda line: emit(for_the_log(line)))
        summary = files["summary"].read_text(encoding="utf-8") if files["summary"].exists() else ""
        posts = json.loads(files["posts"].read_text(encoding="utf-8")) if files["posts"].exists() else []
    return RunOutcome(code, summary, posts)


class Runner:
    """Takes this replica's share of the jobs, one at a time, and runs them."""

    def __init__(
        self,
        config: Callable[[], TownConfig],
        store_factory: Callable[[], Store],
        command: Command,
        db_url: str | None = None,
        pin: Pin | None = None,
        after: Callable[[], None] | None = None,
        lease: float = 30.0,
        poll: float = 1.0,
    ):
        self.config = config
        self.store_factory = store_factory
        self.command = command
        self.db_url = db_url
        self.pin = pin
        self.after = after  # told when a job is done (the clock plans again from the ledger)
        self.lease = lease
        self.poll = poll
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.wake = asyncio.Event()
        self.written = asyncio.Event()  # set whenever lines or a result were written: streams look again
        self.current: Job | None = None
        self.last: dict[str, Any] = {}
        self.lost_lease = 0
        self._db_pool = ThreadPoolExecutor(1, thread_name_prefix="jobs")
        self._run_pool = ThreadPoolExecutor(1, thread_name_prefix="publish")
        self._store: Store | None = None

    async def db(self, fn: Callable[[Store], T]) -> T:
        def call() -> T:
            if self._store is None:
                self._store = self.store_factory()
            return fn(self._store)

        return await asyncio.get_running_loop().run_in_executor(self._db_pool, call)

    def close(self) -> None:
        self._run_pool.shutdown(wait=True)
        self._db_pool.submit(lambda: self._store.close() if self._store else None).result()
        self._db_pool.shutdown(wait=True)

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                job = await self.db(lambda store: store.jobs.claim(self.owner, self.lease))
                failures = 0
            except StoreUnavailable as exc:
                failures += 1
                log.warning("jobs: the store is unavailable (%s)", exc)
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            if job is not None:
                await self.execute(job)
                continue
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=self.poll)
            except TimeoutError:
                pass

    async def execute(self, job: Job) -> None:
        self.current = job
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        if job.attempts > 1:
            lines.put(
                f"Ripreso da {self.owner} (tentativo {job.attempts}): il registro degli invii riprende da dove era."
            )
        log.info("job %s (%s) started, attempt %d", job.id, job.key, job.attempts)
        done = asyncio.Event()
        keeper = asyncio.create_task(self._keep(job, lines, done))
        try:
            try:
                outcome, commit = await self._run(job, lines)
            except Exception as exc:  # noqa: BLE001 - a bug around the run: the job fails loudly, the runner goes on
                log.exception("job %s crashed", job.id)
                lines.put(f"::error title=Errore del servizio::{mask_all(type(exc).__name__ + ': ' + str(exc))[:300]}")
                outcome, commit = RunOutcome(EXIT_CRASH), None
            finally:
                done.set()
                await keeper
            result = {"exit": outcome.exit, "job": job.id, "commit": commit, "summary": outcome.summary,
                      "posts": outcome.posts or []}  # fmt: skip
            finished = await self._retrying(lambda store: store.jobs.finish(job.id, self.owner, outcome.exit, result))
            if not finished:
                log.warning("job %s finished here but another replica had taken it over", job.id)
            self.last = {"job": job.id, "key": job.key, "exit": outcome.exit, "commit": commit, "at": time.time()}
            log.info("job %s finished with exit %d", job.id, outcome.exit)
        finally:
            self.current = None
            self.written.set()

    async def _run(self, job: Job, lines: queue.SimpleQueue[str]) -> tuple[RunOutcome, str | None]:
        pin = self.pin(job) if self.pin else nullcontext(None)
        started = time.monotonic()
        try:
            commit = await pin.__aenter__()
        except Exception as exc:  # noqa: BLE001 - said in the stream and in the result: the job fails loudly
            log.exception("job %s: the checkout could not be brought to the commit", job.id)
            lines.put(
                "::error title=Copia del repository non aggiornata::Il servizio non riesce a portare la sua copia "
                f"del repository al commit: {mask_all(str(exc))[:300]}. Nessun avviso è partito da questo avvio; "
                "l'orologio del servizio riprova da solo al prossimo aggiornamento."
            )
            return RunOutcome(EXIT_FATAL), None
        if commit:
            lines.put(
                f"Copia del repository del servizio a {commit[:12]} ({(time.monotonic() - started) * 1000:.0f} ms)."
            )
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(
                self._run_pool, run_publish, self.command, job, self.config().path, self.db_url, lines.put
            )
        finally:
            await pin.__aexit__(None, None, None)
        if self.after:
            self.after()
        return outcome, commit

    async def _keep(self, job: Job, lines: queue.SimpleQueue[str], done: asyncio.Event) -> None:
        """While the job runs: its lines to the store (every 50 ms), its lease renewed (a third of its length)."""
        renewed = time.monotonic()
        while True:
            finished = done.is_set()
            batch: list[str] = []
            while not lines.empty():
                batch.append(lines.get_nowait())
            if batch:
                await self._retrying(lambda store, b=batch: store.jobs.add_lines(job.id, b))  # type: ignore[misc]
                self.written.set()
            if finished:
                return
            if time.monotonic() - renewed > self.lease / 3:
                try:
                    if not await self.db(lambda store: store.jobs.renew(job.id, self.owner, self.lease)):
                        self.lost_lease += 1
                        log.warning("job %s: lease lost to another replica (the ledger keeps runs apart)", job.id)
                    renewed = time.monotonic()
                except StoreUnavailable as exc:
                    log.warning("job %s: lease not renewed (%s)", job.id, exc)
            try:
                await asyncio.wait_for(done.wait(), timeout=0.05)
            except TimeoutError:
                pass

    async def _retrying(self, fn: Callable[[Store], T], attempts: int = 20) -> T:
        for attempt in range(attempts):
            try:
                return await self.db(fn)
            except StoreUnavailable as exc:
                if attempt == attempts - 1:
                    raise
                log.warning("jobs: the store is unavailable (%s), retrying", exc)
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
        raise AssertionError("unreachable")

    def health(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "running": self.current.key if self.current else None,
            "last": self.last or None,
            "lost_leases": self.lost_lease,
        }


async def stream(runner: Runner, job_id: int, idle_note: float = 20.0) -> Any:
    """The job's lines as they are written (by this replica or another one), then its result line."""
    after, quiet_since = 0, time.monotonic()
    while True:
        runner.written.clear()
        rows = await runner.db(lambda store, a=after: store.jobs.lines(job_id, a))  # type: ignore[misc]
        for line_id, text in rows:
            after = line_id
            yield text + "\n"
        if rows:
            quiet_since = time.monotonic()
            continue
        job = await runner.db(lambda store: store.jobs.get(job_id))
        if job is None:
            yield RESULT_PREFIX + json.dumps({"exit": EXIT_FATAL, "job": job_id, "error": "job scomparso"}) + "\n"
            return
        if job.finished:
            rest = await runner.db(lambda store, a=after: store.jobs.lines(job_id, a))  # type: ignore[misc]
            for line_id, text in rest:
                after = line_id
                yield text + "\n"
            result = job.result or {"exit": job.exit_code if job.exit_code is not None else EXIT_FATAL}
            yield RESULT_PREFIX + json.dumps({**result, "job": job_id}, ensure_ascii=False) + "\n"
            return
        if time.monotonic() - quiet_since > idle_note:
            waited = "in attesa di un servizio libero" if job.state == "queued" else f"in corso su {job.owner}"
            yield f"… {waited}\n"
            quiet_since = time.monotonic()
        try:
            await asyncio.wait_for(runner.written.wait(), timeout=0.25)
        except TimeoutError:
            pass
