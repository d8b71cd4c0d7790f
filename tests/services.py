"""Real servers for tests: the simulator (in this process, or in its own), SQLite files, PostgreSQL schemas."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

PG_BASE = os.environ.get("SITE_TOOLS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


class _SimulatorClient:
    """What a test asks of a running simulator, over HTTP as the publisher talks to it."""

    url: str

    def env(self) -> dict[str, str]:
        """The environment a publisher needs to talk to this simulator."""
        return {
            "WHATSAPP_API_URL": f"{self.url}/v24.0",
            "WHATSAPP_TOKEN": "sim-whatsapp-token",
            "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
            "TELEGRAM_API_URL": self.url,
            "TELEGRAM_BOT_TOKEN": "123456:sim-telegram-token",
            "FACEBOOK_API_URL": f"{self.url}/v24.0",
            "FACEBOOK_PAGE_TOKEN": "sim-facebook-page-token",
            "MASTODON_API_URL": self.url,
            "MASTODON_ACCESS_TOKEN": "sim-mastodon-token",
            "BLUESKY_API_URL": self.url,
            "BLUESKY_APP_PASSWORD": "sim-bluesky-app-password",
        }

    def configure(self, **changes: Any) -> None:
        httpx.post(f"{self.url}/_sim/config", json=changes).raise_for_status()

    def messages(self) -> dict[str, list[dict[str, Any]]]:
        return httpx.get(f"{self.url}/_sim/messages", timeout=60).json()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_sim/stats").json()


def _with_test_rate(args: tuple[str, ...]) -> tuple[str, ...]:
    # Tests that are not about the cap should not hit it.
    return args if "--mps" in args else (*args, "--mps", "1000")


class SimThread(_SimulatorClient):
    """The simulator in this process, on an event loop of its own in a thread: the same app and the same options
    as ``site-tools simulator`` (parsed by that command), without a process to start."""

    def __init__(self, *args: str):
        from site_tools.cli.dev import simulator as command
        from site_tools.devtools.simulator import SimConfig, Simulator

        params = command.make_context("simulator", list(_with_test_rate(args))).params
        host = params.pop("host")
        params.pop("port")
        self.sim = Simulator(SimConfig(**params))
        self._loop = _new_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="simulator", daemon=True)
        self._thread.start()
        self._runner, port = asyncio.run_coroutine_threadsafe(self._start(host), self._loop).result(30)
        self.url = f"http://{host}:{port}"

    async def _start(self, host: str) -> tuple[Any, int]:
        from aiohttp import web

        runner = web.AppRunner(self.sim.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, 0, backlog=4096)
        await site.start()
        return runner, runner.addresses[0][1]

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class SimProcess(_SimulatorClient):
    """The simulator as ``site-tools simulator`` in a process of its own: for tests that kill or stop processes."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "site_tools", "simulator", "--port", "0", *_with_test_rate(args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        match = re.search(r"http://[\d.]+:\d+", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(
                f"simulator did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        self.url = match.group(0)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@contextmanager
def simulator(*args: str) -> Iterator[SimThread]:
    """The simulator, in process (see :class:`SimThread`), for the duration of the block."""
    sim = SimThread(*args)
    try:
        yield sim
    finally:
        sim.stop()


@contextmanager
def simulator_process(*args: str) -> Iterator[SimProcess]:
    """The simulator in a process of its own (see :class:`SimProcess`), for the duration of the block: for tests
    whose client waits on tight timeouts, which a simulator sharing the test's interpreter (and its GIL) would
    answer late on a busy machine, and for tests that kill or stop processes."""
    sim = SimProcess(*args)
    try:
        yield sim
    finally:
        sim.stop()


_pg_unreachable: str | None = None


def pg_unreachable() -> str | None:
    """Why no PostgreSQL server answers at SITE_TOOLS_TEST_PG (None when one does); asked once."""
    global _pg_unreachable
    if _pg_unreachable is None:
        import psycopg

        try:
            psycopg.connect(PG_BASE, connect_timeout=3).close()
            _pg_unreachable = ""
        except psycopg.OperationalError as exc:
            _pg_unreachable = f"no PostgreSQL server at {PG_BASE} ({str(exc).strip().splitlines()[0]})"
    return _pg_unreachable or None


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards; the URL selects it by search_path."""
    import psycopg
    import pytest

    why = pg_unreachable()
    if why:
        pytest.skip(f"{why}: set SITE_TOOLS_TEST_PG to a server to run the PostgreSQL half of this test")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        _drop_schema(schema)


def _drop_schema(schema: str) -> None:
    """Drop a test's schema; if a backend the test left open (a killed process's half-open socket) holds a lock
    on it, the test's leftover backends are ended first, so one test's leftovers never hang the next one's
    teardown."""
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")
        try:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
            return
        except psycopg.errors.LockNotAvailable:
            pass
        # Whoever blocks the drop: a lock on a table of the schema, or on the schema itself (CI once saw a lock the
        # first query could not see, and the drop still waited). Tests run one at a time against a database of
        # their own, so at teardown every other client of it is a leftover of this test.
        conn.execute(
            """SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
            AND a.backend_type = 'client backend'"""
        )
        conn.execute("SET lock_timeout = '30s'")
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def phones(n: int, start: int = 0) -> list[str]:
    """Obviously fake Italian mobile numbers (prefix 333 000…)."""
    return [f"39333{start + i:07d}" for i in range(n)]


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def steady(read: Any, window: float = 0.5, timeout: float = 15.0, interval: float = 0.02) -> Any:
    """What ``read()`` returns once it has not changed for ``window`` seconds: a count that stopped growing.

    Fails when the value is still changing at the timeout."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
        elif time.monotonic() - since >= window:
            return value
    raise AssertionError(f"still changing after {timeout} s (last value {value!r})")


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)[:2000]


__all__ = [
    "SimProcess",
    "SimThread",
    "simulator",
    "simulator_process",
    "pg_schema_url",
    "phones",
    "steady",
    "wait_for",
    "dump",
    "Path",
]


@contextmanager
def serving(server: Any, poll_interval: float = 0.5) -> Iterator[Any]:
    """A ``socketserver`` server answering on a thread for the duration of the block, then shut down (it looks for
    the shutdown every ``poll_interval`` seconds)."""
    import threading

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def send_json(handler: Any, status: int, body: Any) -> None:
    """A stand-in server's JSON answer (``handler``: a ``BaseHTTPRequestHandler``)."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def free_port() -> int:
    """A port nobody listens on now (for a process told to listen there)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answering(url: str) -> bool:
    """The service at ``url`` answers ``/health`` (ok or failing: it is up)."""
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def start_service(root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``site-tools webhook`` in a process of its own, serving ``root``'s town: the process and its URL, once up.
    Its log is dropped (a pipe nobody reads would stop it once full)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: answering(url), timeout=30)
    return proc, url
