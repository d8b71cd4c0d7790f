"""Time from `site-tools publish` starting to the first urgent message accepted by the simulator.

    .venv/bin/python bench/first_message.py                   # 1,000, 5,000 and 10,000 bulletins
    .venv/bin/python bench/first_message.py --sizes 10000
    .venv/bin/python bench/first_message.py --trigger --sizes 1000 10000

``--trigger`` times the production path instead: the town's service already running (warm), a push to the
town's repository (a bare remote on this machine), then ``POST /publish`` with the workflow's OIDC token (from
the simulator's issuer): seconds from the request leaving to the first message the simulator accepted, and to
the run's result line. The service verifies the token, fetches the pushed commit into its checkout and
publishes in process (see "Trigger" below).

For each size: the demo town plus N archive bulletins, committed in a Git
repository (as a checkout in CI is), a SQLite store with 1,000 subscribers,
the simulator with --latency (default 50 ms: the "accepted" time includes one
simulated API round trip). A first publish adopts the archive (historical,
nothing sent). Then, each time with a new urgent bulletin committed:

* **cold**: the store's cache of parsed bulletins emptied: every file parsed
  before the first send (what every run cost before the cache);
* **warm**: the cache as the previous run left it: only the new file is
  parsed, checked against the cache's columns for the others, and sent;
  the rest of the archive is read after the first sends.

Figures: seconds from just before the process is started to the first
message the simulator accepted (WhatsApp list or Telegram), and the whole
run. Each publish is a fresh process.

Bytecode: Python's compiled modules (``__pycache__``) are written by the
first publish (the adoption) and used by the timed ones, as in CI when the
install step compiles them (``UV_COMPILE_BYTECODE=1``). ``--no-bytecode``
keeps ``PYTHONDONTWRITEBYTECODE`` if the environment sets it: then every
import is compiled from source in every run (about 1 s more at any size on
the shared 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

import httpx

from site_tools.store import Store

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from fanout import URGENT, make_town, publish, start_simulator  # noqa: E402


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=bench@example.it", "-c", "user.name=bench", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def first_after(sim_url: str, started_wall: float, seen: int) -> float:
    msgs = httpx.get(f"{sim_url}/_sim/messages", timeout=60).json()
    times = sorted(m["t"] for m in msgs["whatsapp"] + msgs["telegram"])
    new = [t for t in times[seen:] if t >= started_wall]
    return (min(new) - started_wall) if new else float("nan")


def count(sim_url: str) -> int:
    msgs = httpx.get(f"{sim_url}/_sim/messages", timeout=60).json()
    return len(msgs["whatsapp"]) + len(msgs["telegram"])


def run_size(n: int, latency: float, repeat: int) -> dict[str, float]:
    town = make_town(n)
    db = f"sqlite:///{town / 'store.db'}"
    (town / ".gitignore").write_text("store.db*\n", encoding="utf-8")
    git(town, "init", "-q", ".")
    git(town, "add", "-A")
    git(town, "commit", "-qm", "archive")
    store = Store.open(db)
    store.subscribers.bulk_subscribe([f"39333{i:07d}" for i in range(1000)], "bench")
    store.close()
    sim, url = start_simulator(1000, latency)
    result: dict[str, float] = {"bulletins": n}
    firsts: dict[str, list[float]] = {"cold": [], "warm": []}
    try:
        _, result["adopt_s"], _, _ = publish(town, url, db, 1000, [])  # adoption: historical, cache filled
        for run, kind in enumerate(["cold", *["warm"] * repeat]):
            if kind == "cold":
                with sqlite3.connect(town / "store.db") as conn:
                    conn.execute("DELETE FROM parsed_bulletins")
            name = f"2026-11-23-bench-{run}.md"
            (town / "content" / "notizie" / "2026" / name).write_text(
                URGENT.format(id=f"bench-{run}"), encoding="utf-8"
            )
            git(town, "add", "-A")
            git(town, "commit", "-qm", f"urgent {run}")
            seen = count(url)
            started_wall, total, rss, _ = publish(town, url, db, 1000, [])
            firsts[kind].append(first_after(url, started_wall, seen))
            result[f"{kind}_total_s"] = total
            result[f"{kind}_rss_mb"] = rss
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(town)
    result["cold_first_s"] = firsts["cold"][0]
    result["warm_first_s"] = statistics.median(firsts["warm"])
    result["warm_min_s"] = min(firsts["warm"])
    return result


# -- Trigger: the service publishes ---------------------------------------------------------------------------------
SERVICE_BLOCK = """    service:
      url: {url}
      repository: comune-valfiorita/avvisi
      repository_id: 812345678
      repository_owner_id: 98765432
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token(sim_url: str, audience: str, sha: str, run: int) -> str:
    httpx.post(f"{sim_url}/_sim/config", json={"oidc_run": {"sha": sha, "run_id": str(run)}}).raise_for_status()
    answer = httpx.get(
        f"{sim_url}/github-oidc/token",
        params={"api-version": "2.0", "audience": audience},
        headers={"Authorization": "bearer sim-actions-id-token-request-token"},
    )
    answer.raise_for_status()
    return str(answer.json()["value"])


def trigger(service: str, bearer: str, before: str) -> tuple[float, float, list[str]]:
    """POST /publish: (wall time the request left, seconds to the result line, the lines)."""
    import time

    started = time.time()
    lines: list[str] = []
    with httpx.stream(
        "POST", f"{service}/publish", headers={"Authorization": f"Bearer {bearer}"}, json={"before": before},
        timeout=300,
    ) as answer:  # fmt: skip
        for line in answer.iter_lines():
            lines.append(line)
    if not lines or not lines[-1].startswith("@@site-tools-result "):
        raise RuntimeError(f"no result: {answer.status_code} {lines[-5:]}")
    return started, time.time() - started, lines


def head(root: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def run_trigger(n: int, latency: float, repeat: int, settle: float) -> dict[str, float]:
    import re
    import tempfile
    import time

    town = make_town(n)
    port = free_port()
    service_url = f"http://127.0.0.1:{port}"
    mkdocs = town / "mkdocs.yml"
    text = mkdocs.read_text(encoding="utf-8")
    mkdocs.write_text(
        text.replace("    # Estimated price", SERVICE_BLOCK.format(url=service_url) + "    # Estimated price", 1),
        encoding="utf-8",
    )
    github = Path(tempfile.mkdtemp(prefix="bench-github-"))
    remote, served = github / "remote.git", github / "service"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(town, "init", "-q", "-b", "main", ".")
    git(town, "remote", "add", "origin", str(remote))
    git(town, "add", "-A")
    git(town, "commit", "-qm", "archive")
    git(town, "push", "-q", "origin", "HEAD:main")
    subprocess.run(["git", "clone", "-q", str(remote), str(served)], check=True)
    db = f"sqlite:///{github / 'server.db'}"
    store = Store.open(db)
    store.subscribers.bulk_subscribe([f"39333{i:07d}" for i in range(1000)], "bench")
    store.close()
    sim, sim_url = start_simulator(1000, latency)
    env = {
        **os.environ,
        "SITE_TOOLS_DB": db,
        "SITE_TOOLS_NOW": "2026-11-23 12:00",
        "WHATSAPP_API_URL": f"{sim_url}/v24.0",
        "WHATSAPP_TOKEN": "sim-whatsapp-token",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "WHATSAPP_MPS": "1000",
        "TELEGRAM_API_URL": sim_url,
        "TELEGRAM_BOT_TOKEN": "123456:sim-telegram-token",
        "WHATSAPP_APP_SECRET": "bench-app-secret",
        "WHATSAPP_VERIFY_TOKEN": "bench-verify",
        "SITE_TOOLS_OIDC_ISSUER": f"{sim_url}/github-oidc",
        "SITE_TOOLS_REPOSITORY": "comune-valfiorita/avvisi",
        "SITE_TOOLS_REPOSITORY_ID": "812345678",
        "SITE_TOOLS_REPOSITORY_URL": str(remote),
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
        cwd=served, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    result: dict[str, float] = {"bulletins": n}
    firsts, totals, fetches, refusals = [], [], [], []
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{service_url}/health", timeout=1).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        before = head(town)
        _, result["adopt_s"], _ = trigger(service_url, token(sim_url, service_url, before, 1), "0" * 40)
        for run in range(1 + repeat):  # the first fills the service's parse cache with the archive: not timed
            name = f"2026-11-23-bench-{run}.md"
            (town / "content" / "notizie" / "2026" / name).write_text(
                URGENT.format(id=f"bench-{run}"), encoding="utf-8"
            )
            git(town, "add", "-A")
            git(town, "commit", "-qm", f"urgent {run}")
            git(town, "push", "-q", "origin", "HEAD:main")
            sha = head(town)
            bearer = token(sim_url, service_url, sha, 100 + run)
            time.sleep(settle)  # the service idle, as between two pushes (see main_trigger)
            seen = count(sim_url)
            started, total, lines = trigger(service_url, bearer, before)
            before = sha
            if run == 0:
                continue
            firsts.append(first_after(sim_url, started, seen))
            totals.append(total)
            fetched = next((float(m.group(1)) for x in lines if (m := re.search(r"\((\d+) ms\)\.$", x))), float("nan"))
            fetches.append(fetched / 1000)
            t0 = time.time()  # a refusal: the HTTP round trip and the checks, no work
            httpx.post(f"{service_url}/publish", headers={"Authorization": f"Bearer {bearer}"}, json={})
            refusals.append(time.time() - t0)
    finally:
        service.terminate()
        service.wait(20)
        sim.terminate()
        sim.wait()
        shutil.rmtree(town)
        shutil.rmtree(github)
    result["first_s"] = statistics.median(firsts)
    result["first_min_s"] = min(firsts)
    result["total_s"] = statistics.median(totals)
    result["fetch_s"] = statistics.median(fetches)
    result["refusal_s"] = statistics.median(refusals)
    return result


def main_trigger(sizes: list[int], latency: float, repeat: int, settle: float) -> None:
    """After each publish whose checkout moved, the service reads every bulletin again for its clock (1 s at 10,000
    bulletins, in the background): pushes minutes apart never meet it, pushes one second apart do. ``settle``
    seconds between runs measure the first case; ``--settle 0`` the second."""
    print(
        f"trigger → first urgent message, service warm, simulator latency {latency * 1000:.0f} ms, SQLite store, "
        f"{settle:.0f} s idle before each push, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'bulletins':>9} {'first msg (median, best)':>25} {'whole run':>10} {'fetch+checkout':>15} "
        f"{'a refusal':>10} {'load':>5}"
    )
    for n in sizes:
        r = run_trigger(n, latency, repeat, settle)
        print(
            f"{n:>9,} {r['first_s'] * 1000:>14.0f} ms, {r['first_min_s'] * 1000:.0f} ms {r['total_s']:>8.2f} s "
            f"{r['fetch_s'] * 1000:>12.0f} ms {r['refusal_s'] * 1000:>7.1f} ms {os.getloadavg()[0]:>5.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 10000])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per size (median and best shown)")
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module in every run")
    parser.add_argument("--trigger", action="store_true", help="POST /publish to the running service instead")
    parser.add_argument("--settle", type=float, default=5.0, help="with --trigger: idle seconds before each push")
    args = parser.parse_args()
    if args.trigger:
        main_trigger(args.sizes, args.latency, args.repeat, args.settle)
        return
    os.environ.pop("SITE_TOOLS_DEBUG", None)
    if not args.no_bytecode:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    bytecode = "from source" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "bytecode cached"
    print(
        f"first urgent message, simulator latency {args.latency * 1000:.0f} ms, SQLite store, {bytecode}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'bulletins':>9} {'cold: first msg':>15} {'run':>6} {'warm: first msg (median, best)':>30} {'run':>6} "
        f"{'peak RSS warm':>13} {'load':>5}"
    )
    for n in args.sizes:
        r = run_size(n, args.latency, args.repeat)
        print(
            f"{n:>9,} {r['cold_first_s']:>13.2f} s {r['cold_total_s']:>4.1f} s "
            f"{r['warm_first_s']:>19.2f} s, {r['warm_min_s']:.2f} s "
            f"{r['warm_total_s']:>4.1f} s {r['warm_rss_mb']:>10} MB {os.getloadavg()[0]:>5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
