"""The newsletter: 15,000 addresses through a local SMTP server (aiosmtpd), in messages per second, by pool size.

    .venv/bin/python bench/newsletter.py [--addresses 15000] [--pools 1,4,8,16] [--delays 0,0.02] [--pg URL]

The SMTP sink runs in a process of its own (it would otherwise share this one's GIL); ``--delays`` makes it take
that many seconds per message without blocking its other sessions, as a real server's round trips do. Each run
starts from a fresh store with every address confirmed, sends one bulletin through the channel as the publisher
does (a row written before each message, the outcome after), and checks that the sink took each address once.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from site_tools.channels.email import EmailChannel  # noqa: E402
from site_tools.content.config import TownConfig, load_config  # noqa: E402
from site_tools.content.loading import load_content  # noqa: E402
from site_tools.render.links import Links  # noqa: E402
from site_tools.settings import Settings  # noqa: E402
from site_tools.store import Store  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "town"
NEWSLETTER = """    newsletter:
      sender: avvisi@valfiorita.example.it
      service_url: https://servizi.valfiorita.example.it
"""
BULLETIN = """---
id: 2026-11-23-mercato
title: Mercato dei produttori in piazza
date: 2026-11-23 11:00
categories: [eventi]
summary: Sabato in piazza del Comune il mercato dei produttori locali, dalle 8 alle 13, con il laboratorio per i bambini.
---

Con **la banda** e [il programma](https://esempio.it/programma). Parcheggi in via Roma e in piazza della Stazione.
"""


def sink_process(port: int, delay: float, ready, done, results) -> None:  # type: ignore[no-untyped-def]
    from site_tools.devtools.smtp_sink import SmtpSink, start

    sink = SmtpSink(keep=False, delay=delay)
    controller = start(sink, port=port)
    ready.set()
    done.wait()
    controller.stop()
    results.put(dict(sink.counts))


def make_town() -> Path:
    root = Path(tempfile.mkdtemp(prefix="newsletter-bench-"))
    text = (FIXTURE / "mkdocs.yml").read_text(encoding="utf-8").replace("  town:\n", "  town:\n" + NEWSLETTER, 1)
    (root / "mkdocs.yml").write_text(text, encoding="utf-8")
    (root / "content" / "notizie" / "2026").mkdir(parents=True)
    (root / "content" / "notizie" / "2026" / "2026-11-23-mercato.md").write_text(BULLETIN, encoding="utf-8")
    return root


@dataclass
class Context:
    config: TownConfig
    settings: Settings
    links: Links
    run_id: str
    store: Store

    @property
    def newsletter(self):  # type: ignore[no-untyped-def]
        return self.store.newsletter


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_run(root: Path, db: str, addresses: int, pool: int, delay: float) -> dict[str, float]:
    port = free_port()
    ready, done, results = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
    child = multiprocessing.Process(target=sink_process, args=(port, delay, ready, done, results))
    child.start()
    ready.wait(30)
    config = load_config(root / "mkdocs.yml")
    [bulletin] = load_content(config, check_bodies=False).bulletins
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none", "SMTP_POOL": str(pool)}
    settings = Settings.from_env({**env, "NEWSLETTER_SECRET": "bench-" * 8})
    store = Store.open(db)
    store.newsletter.add_active([f"cittadino{i:05d}@esempio.it" for i in range(addresses)], "bench", "bench")
    ctx = Context(config, settings, Links(config), f"bench-{pool}", store)
    started = time.perf_counter()
    cpu = time.process_time()
    delivered = asyncio.run(EmailChannel(config, settings).deliver(bulletin, ctx))
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    counts = store.newsletter.counts(bulletin.id)
    store.close()
    done.set()
    taken = results.get(timeout=30)
    child.join(10)
    assert delivered.state == "done", delivered.detail
    assert counts == {"sent": addresses} and taken.get("accepted") == addresses, (counts, taken)
    return {"seconds": seconds, "rate": addresses / seconds, "cpu": cpu}


def fresh_db(kind: str, tmp: Path, pool: int, delay: float, pg: str | None) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'store-{pool}-{delay}.db'}"
    import psycopg

    schema = f"bench_newsletter_{pool}_{int(delay * 1000)}"
    assert pg is not None
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{pg}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=15_000)
    parser.add_argument("--pools", default="1,4,8,16")
    parser.add_argument("--delays", default="0,0.02")
    parser.add_argument("--pg", default=None, help="also on PostgreSQL (a URL; a schema per run is made and dropped)")
    args = parser.parse_args()
    root = make_town()
    tmp = Path(tempfile.mkdtemp(prefix="newsletter-bench-db-"))
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    print(f"{args.addresses:,} addresses; one bulletin; the sink in its own process")
    print("| Store | Server delay | Pool | Wall | Messages/s | CPU (this process) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    try:
        for kind in kinds:
            for delay in (float(d) for d in args.delays.split(",")):
                for pool in (int(p) for p in args.pools.split(",")):
                    db = fresh_db(kind, tmp, pool, delay, args.pg)
                    r = one_run(root, db, args.addresses, pool, delay)
                    print(
                        f"| {kind} | {delay * 1000:g} ms | {pool} | {r['seconds']:.1f} s | {r['rate']:,.0f} |"
                        f" {r['cpu']:.1f} s |",
                        flush=True,
                    )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
