"""Opt-out during a send: how many citizens still get the bulletin after their OFF was acknowledged?

    .venv/bin/python bench/optout_race.py [--recipients 5000] [--rate 200] [--leavers 600]

A real subscriptions service (uvicorn) and a real publisher process share a SQLite store; the simulator
answers after 150 ms. While the publisher sends, `--leavers` citizens among those not reached yet send
«stop per favore» through the signed webhook, a few at a time. For each, the moment their 200 came back is
compared with the moment the simulator received their bulletin (if it did). The service applies the OFF
before answering; the fan-out polls opt-outs every 100 ms and checks before each request, so what can still
arrive is what was already claimed and past that check: the requests in flight plus one poll interval.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from site_tools.devtools.meta_events import inbound_text
from site_tools.service.signature import signature
from site_tools.store import Store

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"
LATENCY = 0.150


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--leavers", type=int, default=600)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-optout-"))
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "content", root / "content")
    db = f"sqlite:///{root / 'store.db'}"
    numbers = [f"39333{i:07d}" for i in range(args.recipients)]
    with _closing(Store.open(db)) as store:
        store.subscribers.bulk_subscribe(numbers, "bench")
        store.ledger.mark_historical(["placeholder"], ["telegram"])
    (root / "content" / "notizie" / "2026" / "2026-11-23-bench.md").write_text(
        "---\nid: bench\ntitle: Allerta rossa per la piena del torrente\ndate: 2026-11-23 11:59\n"
        "categories: [protezione-civile]\npriority: urgent\nsummary: Allerta rossa per la piena del torrente "
        "Fiora, salire ai piani alti o raggiungere la palestra comunale.\n---\n\nTesto.\n",
        encoding="utf-8",
    )
    sim = subprocess.Popen([sys.executable, "-m", "site_tools", "simulator", "--port", "0", "--mps",
                            str(args.rate * 2), "--latency", str(LATENCY)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    sim_url = (sim.stdout.readline() if sim.stdout else "").strip().rsplit(" ", 1)[-1]
    port = _free_port()
    env = {**os.environ, "SITE_TOOLS_DB": db, "WHATSAPP_API_URL": f"{sim_url}/v24.0", "WHATSAPP_TOKEN": "sim-whatsapp-token",
           "WHATSAPP_PHONE_NUMBER_ID": "106540352242922", "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": "v",
           "WHATSAPP_MPS": str(args.rate), "SITE_TOOLS_NOW": "2026-11-23 12:00"}  # fmt: skip
    service = subprocess.Popen([sys.executable, "-m", "site_tools", "webhook", "--port", str(port)], cwd=root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{port}/health")
        publisher = subprocess.Popen([sys.executable, "-m", "site_tools", "publish", "--no-progress", "--channel",
                                      "whatsapp_list", "--only", "bench"], cwd=root, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        leavers = random.Random(1).sample(numbers[args.recipients // 3 :], args.leavers)
        acked: dict[str, float] = {}
        _send_offs(f"http://127.0.0.1:{port}/webhook", leavers, acked, sim_url, publisher)
        publisher.wait()
        messages = httpx.get(f"{sim_url}/_sim/messages", timeout=120).json()["whatsapp"]
    finally:
        for proc in (service, sim):
            proc.terminate()
            proc.wait()
        shutil.rmtree(root)
    arrived = {m["to"]: m["t"] - LATENCY for m in messages if m["callback"] == "bench"}
    late = sorted(arrived[p] - acked[p] for p in acked if p in arrived and arrived[p] > acked[p])
    print(f"{args.recipients:,} recipients at {args.rate:g}/s; {len(acked)} citizens sent OFF during the send")
    print(f"got the bulletin after their OFF was acknowledged: {len(late)} "
          f"(worst {max(late, default=0) * 1000:.0f} ms after the acknowledgement)")  # fmt: skip
    print(f"in flight at this rate (the design's bound): {int(args.rate * 0.6)} requests + one 100 ms poll")


def _send_offs(url: str, leavers: list[str], acked: dict[str, float], sim_url: str, publisher: Any) -> None:
    """OFFs a few at a time while the send is running, each only before the bulletin reached that citizen."""

    def one(phone: str, n: int) -> None:
        body = inbound_text(phone, "stop per favore", f"wamid.bench-off-{n}")
        answer = httpx.post(url, content=body, headers={"Content-Type": "application/json",
                                                          "X-Hub-Signature-256": signature(SECRET, body)}, timeout=30)  # fmt: skip
        if answer.status_code == 200:
            acked[phone] = time.time()

    while httpx.get(f"{sim_url}/_sim/stats").json().get("accepted", 0) < 200:
        if publisher.poll() is not None:
            raise SystemExit(f"the publisher stopped early:\n{publisher.stderr.read()}")
        time.sleep(0.05)
    threads = []
    for n, phone in enumerate(leavers):
        thread = threading.Thread(target=one, args=(phone, n))
        thread.start()
        threads.append(thread)
        time.sleep(0.01)
    for thread in threads:
        thread.join()


def _closing(store: Store):  # type: ignore[no-untyped-def]
    from contextlib import closing

    return closing(store)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


if __name__ == "__main__":
    main()
