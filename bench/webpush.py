"""Web Push throughput: one urgent bulletin to N browser subscriptions, against the simulator's push-service stand-in.

.venv/bin/python bench/webpush.py [N]        (default 2,000)

The simulator runs as a process of its own (its stand-in verifies each VAPID token and decrypts each body, as a
push service would); the channel encrypts (RFC 8291: an ECDH and an HKDF per message) and signs in this process.
Prints notifications per second, and this process's CPU time per notification. Figures, not a test.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from site_tools.aio import run_loop  # noqa: E402
from site_tools.channels.webpush import new_key_pair  # noqa: E402
from site_tools.content.loading import load_content  # noqa: E402
from site_tools.delivery.fanout import FanOutOptions  # noqa: E402
from site_tools.delivery.publisher import Publisher  # noqa: E402
from site_tools.render.links import Links  # noqa: E402
from site_tools.settings import Settings  # noqa: E402
from site_tools.store import Store  # noqa: E402

BULLETIN = """---
id: 2026-11-23-allerta
title: Allerta rossa, evacuare le zone vicine al torrente
date: 2026-11-23 12:00
categories: [protezione-civile]
priority: urgent
summary: Allerta rossa per piena del torrente Fiora. Chi abita in via del Molino salga ai piani alti.
---

Testo dell'avviso.
"""


def town(root: Path, public_key: str) -> Path:
    fixture = REPO / "tests" / "fixtures" / "town"
    text = (fixture / "mkdocs.yml").read_text(encoding="utf-8")
    block = (
        "    service:\n      url: https://servizi.valfiorita.example.it\n      repository: comune-valfiorita/avvisi\n"
        "      repository_id: 812345678\n      repository_owner_id: 98765432\n"
        f"    webpush:\n      public_key: {public_key}\n"
    )
    (root / "mkdocs.yml").write_text(text.replace("    # Estimated price", block + "    # Estimated price", 1))
    (root / "content" / "notizie" / "2026").mkdir(parents=True)
    (root / "content" / "notizie" / "2026" / "2026-11-23-allerta.md").write_text(BULLETIN, encoding="utf-8")
    shutil.copytree(fixture / "content" / "img", root / "content" / "img")
    return root / "mkdocs.yml"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    work = Path(tempfile.mkdtemp())
    public, pem = new_key_pair()
    (work / "vapid.pem").write_text(pem)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sim_url = f"http://127.0.0.1:{port}"
    command = [str(REPO / ".venv" / "bin" / "site-tools"), "simulator", "--port", str(port), "--latency", "0"]
    sim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                httpx.get(f"{sim_url}/_sim/stats")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        config_path = town(work, public)
        db = f"sqlite:///{work / 'store.db'}"
        with closing(Store.open(db)) as store, httpx.Client() as client:
            for _ in range(n):
                sub = client.post(f"{sim_url}/_push/subscribe", json={"applicationServerKey": public}).json()
                store.push.subscribe(sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"])
        from site_tools.content.config import load_config

        config = load_config(config_path)
        content = load_content(config, check_bodies=False)
        settings = Settings.from_env(
            {"VAPID_PRIVATE_KEY": str(work / "vapid.pem"), "VAPID_SUBJECT": "mailto:urp@example.it",
             "WEBPUSH_SERVICES": sim_url, **{k: v for k, v in os.environ.items() if k == "WEBPUSH_CONCURRENCY"}}
        )  # fmt: skip
        with closing(Store.open(db)) as store:
            publisher = Publisher(config, store, settings, Links.for_bulletins(config, content.bulletins),
                                  FanOutOptions(progress=False))  # fmt: skip
            channel = publisher.channels["webpush"]
            run_loop(channel.open())  # the client and the libraries' import (once per run), outside the figure
            channel.vapid  # noqa: B018 — the key read once per run, outside the figure
            cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            delivered = run_loop(channel.deliver(content.bulletins[0], publisher))
            wall = time.perf_counter() - wall0
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            run_loop(channel.close())
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        got = len(httpx.get(f"{sim_url}/_push/messages", timeout=60).json())
        print(f"{n:,} subscriptions, concurrency {settings.webpush_concurrency}: {delivered.recipients:,} accepted, "
              f"{got:,} decrypted by the stand-in, in {wall:.2f} s = {delivered.recipients / wall:,.0f}/s; "
              f"sender CPU {cpu:.2f} s ({cpu / n * 1000:.2f} ms per notification); load {os.getloadavg()[0]:.1f}")  # fmt: skip
    finally:
        sim.terminate()
        sim.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
