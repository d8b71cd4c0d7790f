"""``site-tools demo``: the whole path on one laptop, offline, in about a minute.

Build the demo town's site → start the API simulator and the subscriptions
service → N simulated citizens send "VALFIORITA ON" through the webhook,
signed as Meta signs → publish the latest urgent bulletin to every channel →
take in the delivery receipts → print a summary. Everything lives under one
data folder (SQLite); Ctrl-C stops every process it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from site_tools.content.config import TownConfig
from site_tools.devtools.demo_counter import ask_the_counter
from site_tools.devtools.meta_events import inbound_text
from site_tools.formatting import duration, euro, number
from site_tools.service.signature import signature

APP_SECRET = "demo-app-secret"  # the simulator signs with it; not a real secret
#: The seed town: one message to 15,000 people took almost 4 hours with the phone app's lists.
SEED_SECONDS_PER_15000 = 4 * 3600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fake_phone(i: int) -> str:
    return f"39333{i:07d}"  # the fake 333 000 … range


@dataclass
class Processes:
    logs: Path
    started: list[subprocess.Popen[Any]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[Any]:
        log = open(self.logs / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "site_tools", *args],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )  # Ctrl-C reaches us; we stop them in order
        self.started.append(proc)
        return proc

    def tail(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(encoding="utf-8")[-1500:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.started:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_http(url: str, procs: Processes, name: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise click.ClickException(f"il servizio {name} ({url}) non è partito:\n{procs.tail(name)}")


async def _opt_in(url: str, n: int, keyword: str) -> int:
    import aiohttp
    from tqdm import tqdm

    errors = 0
    bar = tqdm(total=n, unit="iscr.", desc="Iscrizioni", disable=not sys.stderr.isatty(), mininterval=0.3)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def citizen() -> None:
            nonlocal errors
            while not queue.empty():
                i = queue.get_nowait()
                phone = fake_phone(i)
                body = inbound_text(phone, f"{keyword} ON", f"wamid.demo.on.{i}", f"Cittadino {i}")
                async with session.post(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature(APP_SECRET, body)},
                ) as response:
                    await response.read()
                    errors += response.status != 200
                bar.update(1)

        await asyncio.gather(*(citizen() for _ in range(64)))
    bar.close()
    return errors


def run_demo(config: TownConfig, citizens: int, rate: float, data_dir: Path, serve: bool) -> dict[str, Any]:
    """The five steps, with every process stopped at the end (Ctrl-C and SIGTERM included)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    demo = Demo(config, citizens, rate, data_dir)

    def stop_on_sigterm(*_: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        site_dir = demo.build()
        demo.start_services()
        demo.subscribe_citizens()
        demo.publish_urgent()
        demo.take_receipts()
        counter = ask_the_counter(demo.db, demo.sim_url, demo.hook_port, "6/6")  # the one-to-one counter
        demo.summary["counter_conversations"] = counter.conversations
        demo.tell()
        counter.tell()
        if serve:
            _serve(site_dir)
        else:
            click.echo(f"\nIl sito è in {site_dir} (apri index.html, oppure: site-tools serve).")
        return demo.summary
    except KeyboardInterrupt:
        click.echo("\nInterrotto: fermo tutti i processi.")
        return demo.summary
    finally:
        demo.procs.stop()
        signal.signal(signal.SIGTERM, previous)


class Demo:
    def __init__(self, config: TownConfig, citizens: int, rate: float, data_dir: Path):
        self.config, self.citizens, self.rate, self.data_dir = config, citizens, rate, data_dir
        self.db = f"sqlite:///{data_dir / 'site-tools.db'}"
        self.procs = Processes(data_dir)
        self.summary: dict[str, Any] = {"citizens": citizens}
        self.env: dict[str, str] = {}

    def build(self) -> Path:
        from site_tools.site.build import build_site

        started = time.monotonic()
        click.echo("1/6 Costruisco il sito del Comune di esempio…")
        site_dir = build_site(self.config.path, self.data_dir / "site")
        click.echo(f"    fatto in {time.monotonic() - started:.1f} s: {site_dir}")
        return site_dir

    def start_services(self) -> None:
        from site_tools.store import Store

        Store.open(self.db).close()  # create the store once, before two processes use it
        sim_port, hook_port = free_port(), free_port()
        self.hook_port = hook_port
        self.hook_url = f"http://127.0.0.1:{hook_port}/webhook"
        sim_args = ["simulator", "--port", str(sim_port), "--mps", str(self.rate), "--latency", "0.150"]
        sim_args += ["--webhook-url", self.hook_url, "--app-secret", APP_SECRET]
        sim = self.procs.start("simulator", sim_args, dict(os.environ), self.config.root)
        self.sim_url = sim_url = f"http://127.0.0.1:{sim_port}"
        self.env = {
            **os.environ,
            "SITE_TOOLS_DB": self.db,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "demo",
            "WHATSAPP_API_URL": f"{sim_url}/v24.0",
            "WHATSAPP_TOKEN": "sim-whatsapp-token",
            "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
            "WHATSAPP_MPS": str(self.rate),
            "TELEGRAM_API_URL": sim_url,
            "TELEGRAM_BOT_TOKEN": "123456:sim-telegram-token",
            "SITE_TOOLS_CONFIG": str(self.config.path),
            "SITE_TOOLS_SESSION_SECRET": secrets.token_urlsafe(32),  # the counter's inbox
        }
        hook = self.procs.start("webhook", ["webhook", "--port", str(hook_port)], self.env, self.config.root)
        _wait_http(f"{sim_url}/_sim/stats", self.procs, "simulator")
        _wait_http(f"http://127.0.0.1:{hook_port}/health", self.procs, "webhook")
        self.summary["pids"] = [sim.pid, hook.pid]
        click.echo(f"2/6 Simulatore delle API su {sim_url}, servizio iscrizioni su {self.hook_url}")

    def subscribe_citizens(self) -> None:
        from site_tools.aio import run_loop
        from site_tools.store import Store

        wa = self.config.whatsapp
        assert wa is not None
        click.echo(f"3/6 {number(self.citizens)} cittadini scrivono «{wa.on_message}» al numero del Comune…")
        t0 = time.monotonic()
        errors = run_loop(_opt_in(self.hook_url, self.citizens, wa.keyword))
        with contextlib.closing(Store.open(self.db)) as store:
            deadline = time.monotonic() + 600
            while store.subscribers.count_active() < self.citizens and time.monotonic() < deadline:
                time.sleep(0.2)
            unsent = "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'"
            while store.db.scalar(unsent) and time.monotonic() < deadline:
                time.sleep(0.2)  # confirmations use the same number's throughput: let them finish first
            self.summary["subscribed"] = store.subscribers.count_active()
        click.echo(
            f"    {number(self.summary['subscribed'])} iscritti e {number(self.citizens)} conferme inviate in "
            f"{time.monotonic() - t0:.1f} s (errori HTTP: {errors})"
        )

    def publish_urgent(self) -> None:
        from site_tools.aio import run_loop
        from site_tools.content.loading import load_content
        from site_tools.delivery.fanout import FanOutOptions
        from site_tools.delivery.plan import make_plan, validate_for_publishing
        from site_tools.delivery.publisher import Publisher
        from site_tools.render.links import Links
        from site_tools.settings import Settings
        from site_tools.store import Store

        config = self.config
        content = load_content(config, check_bodies=False)
        urgent = sorted((b for b in content.bulletins if b.urgent and b.is_active(_now(config))), key=lambda b: b.date)
        if not urgent:
            raise click.ClickException("nessun avviso urgente attivo nel contenuto di esempio")
        self.bulletin = bulletin = urgent[-1]
        click.echo(f"4/6 Pubblico l'avviso urgente «{bulletin.title}» su tutti i canali, a {self.rate:g} messaggi/s…")
        with contextlib.closing(Store.open(self.db)) as store:
            plan = make_plan(content, store, _now(config), only=bulletin.id, force=True)
            validate_for_publishing(content, plan)
            links = Links.for_bulletins(config, content.bulletins)
            options = FanOutOptions(rate=self.rate, progress=sys.stderr.isatty())
            publisher = Publisher(config, store, Settings.from_env(self.env), links, options)
            report = run_loop(publisher.publish(plan))
        self.fan = next(r.report for r in report.results if r.report)
        self.post = next((r.post for r in report.results if r.post), None)

    def take_receipts(self) -> None:
        from site_tools.store import Store

        click.echo("5/6 Ricevo le conferme di consegna (webhook di stato)…")
        t1 = time.monotonic()
        self.delivered = 0
        with contextlib.closing(Store.open(self.db)) as store:
            while time.monotonic() - t1 < 120:
                counts = store.ledger.delivery_counts(self.bulletin.id).get("whatsapp_list", {})
                self.delivered = counts.get("delivered", 0) + counts.get("read", 0)
                if self.delivered >= self.fan.accepted:
                    break
                time.sleep(0.3)

    def tell(self) -> None:
        import httpx

        fan, citizens, echo = self.fan, self.citizens, click.echo
        messages = httpx.get(f"{self.sim_url}/_sim/messages", timeout=120).json()
        per_citizen = Counter(m["to"] for m in messages["whatsapp"] if m["callback"] == self.bulletin.id)
        expected = {fake_phone(i) for i in range(citizens)}
        summary = self.summary
        summary.update(
            {
                "bulletin": self.bulletin.id,
                "accepted": fan.accepted,
                "seconds": round(fan.seconds, 2),
                "rate": round(fan.rate, 1),
                "delivered": self.delivered,
                "received_once": sum(1 for p in expected if per_citizen.get(p) == 1),
                "duplicates": sum(c - 1 for c in per_citizen.values() if c > 1),
                "missing": len(expected - set(per_citizen)),
                "telegram_posts": sum(1 for m in messages["telegram"]),
                "cost_eur": round(fan.accepted * self.config.price_per_template, 2),
            }
        )
        hand = SEED_SECONDS_PER_15000 * citizens / 15000
        echo("")
        echo(
            f"Raggiunti {number(summary['received_once'])} cittadini su {number(citizens)}, ognuno una volta sola "
            f"(doppioni: {summary['duplicates']}, mancanti: {summary['missing']}); consegnati: {number(self.delivered)}."
        )
        echo(f"Invio in {fan.seconds:.1f} s, {fan.rate:.0f} messaggi/s; costo stimato {euro(summary['cost_eur'])}.")
        echo(
            f"Con le liste broadcast del telefono (256 contatti l'una, a mano) servivano circa {duration(hand)}; "
            f"al limite iniziale di WhatsApp, 80 messaggi/s, {duration(citizens / 80)}."
        )
        echo(f"Telegram: {summary['telegram_posts']} post nel canale. Canale WhatsApp: testo pronto da incollare:")
        echo("  " + (self.post or "").replace("\n", "\n  "))
        (self.data_dir / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


def _now(config: TownConfig) -> Any:
    from site_tools.content.dates import now
    from site_tools.settings import current

    return now(config.timezone, current().now)


def _serve(site_dir: Path) -> None:
    import functools
    import http.server

    port = free_port()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site_dir))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        click.echo(f"\nApri il sito: http://127.0.0.1:{port}/   (Ctrl-C per chiudere tutto)")
        httpd.serve_forever()
