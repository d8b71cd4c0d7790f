"""The publisher and the service when the database misbehaves under them: killed, silent, failing one write."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from contextlib import closing
from typing import Any

import psycopg
import pytest

from site_tools.delivery.fanout import FanOut, FanOutOptions
from site_tools.store import Store

from .conftest import Town
from .services import PG_BASE, phones, simulator, wait_for
from .test_publisher import URGENT, add, adopt, counts, subscribe


@pytest.mark.e2e
def test_publisher_survives_its_postgresql_connection_being_killed_mid_send(demo_town: Town, pg_url: str) -> None:
    """pg_terminate_backend on the publisher's connection while it sends: the run must either finish
    (everyone once, duplicates within the bound) or stop loudly (non-zero) so that a re-run finishes;
    it must never hang, nor end 0 with citizens left out."""
    rate, n = 200, 1200
    tagged = f"{pg_url}&application_name=pub-under-test"
    with simulator("--latency", "0.05", "--mps", str(rate)) as sim:
        numbers = phones(n)
        subscribe(pg_url, numbers)
        adopt(demo_town, pg_url, sim)
        add(demo_town, URGENT, "allerta-rossa")
        env = {**os.environ, **sim.env(), "SITE_TOOLS_DB": tagged, "SITE_TOOLS_NOW": "2026-11-23 12:00"}
        cmd = [sys.executable, "-m", "site_tools", "publish", "--rate", str(rate), "--no-progress",
               "--stale-after", "1", "--channel", "whatsapp_list"]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=demo_town.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: sim.stats().get("accepted", 0) >= n // 4, timeout=60)
        kills = 0
        with psycopg.connect(PG_BASE, autocommit=True) as admin:
            kills += len(admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pub-under-test'"
            ).fetchall())  # fmt: skip
        assert kills >= 1
        try:
            out, err = proc.communicate(timeout=45)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            accepted = sim.stats().get("accepted", 0)
            raise AssertionError(
                f"the publisher hung after its connection was killed ({accepted}/{n} accepted); stderr: {err[-800:]!r}"
            ) from None
        if proc.returncode == 0:
            got = counts(sim, "allerta-rossa")
            assert set(got) == set(numbers), f"exit 0 but {n - len(got)} citizens never got the bulletin"
        else:
            with closing(Store.open(pg_url)) as store:
                wait_for(lambda: store.db.scalar("SELECT MAX(heartbeat_at) FROM runs") < time.time() - 1.0)
            again = subprocess.run(cmd, cwd=demo_town.root, env=env, capture_output=True, text=True, timeout=120)
            assert again.returncode == 0, again.stderr
            got = counts(sim, "allerta-rossa")
            assert set(got) == set(numbers)
        duplicates = sum(c - 1 for c in got.values())
        assert duplicates <= FanOutOptions(rate=rate).duplicate_bound()


def test_one_failed_ledger_write_does_not_wedge_or_forget_a_fan_out() -> None:
    """The unit behind the hang above: one ``record_results`` that fails with StoreUnavailable (a dropped
    connection, a locked SQLite file) kills the fan-out's housekeeping task silently, the batch of answers it
    held is dropped from memory, and the workers then wait forever for the ledger to catch up."""
    import asyncio

    from site_tools.store.database import StoreUnavailable

    from .test_fanout import FakeSender, FastClock, options, payload
    from .test_fanout import subscribe as subscribe_in

    store = Store.open("sqlite:///:memory:")
    try:
        numbers = subscribe_in(store, 300)
        real = store.ledger.record_results
        failed = {"n": 0}

        def blip(results):  # type: ignore[no-untyped-def]
            if failed["n"] == 0 and len(results) > 0:
                failed["n"] += 1
                raise StoreUnavailable("OperationalError: terminating connection due to administrator command")
            return real(results)

        store.ledger.record_results = blip  # type: ignore[method-assign]
        sender = FakeSender()
        fan = FanOut(store, sender, "run-1", options(max_in_flight=8), clock=FastClock())

        outcome: dict[str, object] = {}

        def in_thread() -> None:  # a thread, because a wedged fan-out does not even end when cancelled
            try:
                outcome["report"] = asyncio.run(fan.run("allerta-rossa", payload, "urgent"))
            except StoreUnavailable as exc:
                outcome["error"] = exc  # stopping loudly is acceptable; what was accepted must still be known

        thread = threading.Thread(target=in_thread, daemon=True)
        thread.start()
        thread.join(20)
        if thread.is_alive():
            raise AssertionError(
                f"the fan-out hung after one failed ledger write ({sum(sender.accepted.values())}/300 sent)"
            )
        report = outcome.get("report")
        assert failed["n"] == 1
        counts_ = store.ledger.delivery_counts("allerta-rossa").get("whatsapp_list", {})
        sent = sum(sender.accepted.values())
        assert counts_.get("accepted", 0) == sent, f"{sent} accepted by the API, the ledger knows {counts_}"
        if report is not None:
            assert set(sender.accepted) == set(numbers)
    finally:
        store.close()


class BlackholeProxy:
    """A TCP proxy to PostgreSQL that can turn its open connections into a black hole: the server side goes,
    the client's socket stays open and silent (a failover, a NAT that forgot the flow, a cable): no RST,
    no FIN. New connections work again at once (the network is back)."""

    def __init__(self, upstream: tuple[str, int]):
        import socket

        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.pairs: list[tuple[Any, Any, threading.Event]] = []
        self.silenced: list[Any] = []  # client sockets kept open (and referenced) so that no FIN ever leaves
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            dead = threading.Event()
            with self.lock:
                self.pairs.append((client, upstream, dead))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b, dead), daemon=True).start()

    @staticmethod
    def _pump(source: Any, target: Any, dead: threading.Event) -> None:
        while not dead.is_set():
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data or dead.is_set():
                return
            try:
                target.sendall(data)
            except OSError:
                return

    def blackhole(self, tell_client: bool = False) -> int:
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for client, upstream, dead in pairs:
            dead.set()
            upstream.close()  # the server's side is gone; the client is never told
            if tell_client:
                client.close()
            else:
                self.silenced.append(client)
        return len(pairs)

    def close(self) -> None:
        """Close every socket, both sides: a server backend left open keeps its locks (the schema's drop waits)."""
        self.server.close()
        for client in self.silenced:
            client.close()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for client, upstream, dead in pairs:
            dead.set()
            client.close()
            upstream.close()


@pytest.mark.e2e
@pytest.mark.timeout(240)  # the service's own bound on a silent connection is 30 s; a loaded machine adds to it
def test_the_service_recovers_when_its_postgresql_connection_stops_answering(pg_url: str) -> None:
    """A connection that stops answering without being closed (a frozen server or pooler, a middlebox that
    keeps the socket alive, a half-open TCP connection after a failover) is waited on without any bound:
    connections are opened with no TCP keepalive, no tcp_user_timeout, and no client-side timeout on a
    statement. The service's one inbox thread then waits forever (for a truly dead peer: the kernel's
    retransmission timeout, ~15 minutes); every webhook queues behind it, opt-outs included, long after
    new connections work again. /health says 503 (true), but nothing recovers. (Sanity check: when the
    client is told — ``blackhole(tell_client=True)`` — the service recovers at once.)"""
    import hashlib
    import hmac
    import json
    from urllib.parse import urlsplit

    import httpx

    from .test_subscriptions import SECRET, VERIFY, free_port, inbound

    base = urlsplit(PG_BASE)
    proxy = BlackholeProxy((base.hostname or "127.0.0.1", base.port or 5432))
    proxied = pg_url.replace(f"{base.hostname}:{base.port or 5432}", f"127.0.0.1:{proxy.port}")
    Store.open(pg_url).close()
    port = free_port()
    env = {**os.environ, "SITE_TOOLS_DB": proxied, "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY}
    from .conftest import FIXTURE_TOWN

    proc = subprocess.Popen([sys.executable, "-m", "site_tools", "webhook", "--port", str(port)], cwd=FIXTURE_TOWN, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def post(i: int) -> int:
        body = json.dumps(inbound(phones(1, 8800 + i)[0], "VALFIORITA ON", f"wamid.hole{i}")).encode()
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        try:
            return httpx.post(
                f"{url}/webhook", content=body, headers={"X-Hub-Signature-256": sig}, timeout=20
            ).status_code
        except httpx.HTTPError:
            return 0

    try:
        wait_for(lambda: _answers(f"{url}/health"), timeout=30)
        assert post(0) == 200
        assert proxy.blackhole() >= 1
        deadline = time.monotonic() + 90
        recovered = False
        i = 1
        while time.monotonic() < deadline and not recovered:
            recovered = post(i) == 200
            i += 1
        assert recovered, "90 s after a silent drop (the database reachable again at once), webhooks still fail"
    finally:
        proc.kill()
        proc.wait()
        proxy.close()


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
