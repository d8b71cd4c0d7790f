"""Telegram flood control, the Channel gateway, status webhooks and the publish/deliveries commands."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from site_tools.aio import run_loop
from site_tools.channels.base import ChannelStopped
from site_tools.channels.telegram import TelegramBot
from site_tools.phones import mask, mask_all

from .command import Ran, site_tools
from .conftest import Town
from .services import phones, simulator, wait_for
from .test_publisher import URGENT, add, adopt, publish, subscribe


@pytest.mark.slow  # waits out Telegram's retry_after
def test_telegram_flood_control_waits_retry_after() -> None:
    with simulator("--latency", "0") as sim:
        sim.configure(telegram_per_chat_per_minute=1, telegram_window=2)
        bot = TelegramBot(sim.url, "123456:sim-telegram-token", "@valfiorita_avvisi")
        ids = run_loop(bot.post(["<b>uno</b>", "<i>due</i>"]))
        assert len(ids) == 2
        assert sim.stats()["telegram_throttled"] >= 1
        assert [m["text"] for m in sim.messages()["telegram"]] == ["<b>uno</b>", "<i>due</i>"]


def test_telegram_bad_token_and_bad_html_stop() -> None:
    with simulator("--latency", "0") as sim:
        with pytest.raises(ChannelStopped):
            run_loop(TelegramBot(sim.url, "wrong", "@x").post(["ciao"]))
        with pytest.raises(ChannelStopped) as info:
            run_loop(TelegramBot(sim.url, "123456:sim-telegram-token", "@x").post(["<b>non chiuso"]))
        assert "can't parse entities" in info.value.explanation
        assert sim.messages()["telegram"] == []


def test_channel_gateway_adapter(demo_town: Town, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with simulator("--latency", "0") as sim:
        adopt(demo_town, url, sim)
        add(demo_town, URGENT, "allerta-rossa")
        env = {
            "WHATSAPP_CHANNEL_GATEWAY_URL": sim.url,
            "WHATSAPP_CHANNEL_GATEWAY_TOKEN": "sim-gateway-token",
            "WHATSAPP_CHANNEL_ID": "120363171744447809@newsletter",
        }
        plan, report = publish(demo_town, url, sim, env=env)
        channel = next(r for r in report.results if r.channel == "whatsapp_channel")
        assert channel.state == "done"
        (post,) = sim.messages()["gateway"]
        assert post["to"] == "120363171744447809@newsletter" and post["body"].startswith("🔴 *URGENTE*")


def test_simulator_posts_signed_status_webhooks(demo_town: Town, tmp_path) -> None:
    received: list[tuple[bytes, str]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["X-Hub-Signature-256"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"sqlite:///{tmp_path / 's.db'}"
    try:
        with simulator(
            "--latency",
            "0",
            "--webhook-url",
            f"http://127.0.0.1:{server.server_port}/webhook",
            "--undeliverable-suffix",
            "0003",
        ) as sim:
            subscribe(url, phones(5))
            adopt(demo_town, url, sim)
            add(demo_town, URGENT, "allerta-rossa")
            publish(demo_town, url, sim)
            wait_for(
                lambda: (
                    sum(len(json.loads(b)["entry"][0]["changes"][0]["value"]["statuses"]) for b, _ in received) >= 9
                ),
                timeout=10,
            )
    finally:
        server.shutdown()
    statuses = []
    for body, signature in received:
        assert signature == "sha256=" + hmac.new(b"sim-app-secret", body, hashlib.sha256).hexdigest()
        statuses += json.loads(body)["entry"][0]["changes"][0]["value"]["statuses"]
    by_phone = {}
    for s in statuses:
        by_phone.setdefault(s["recipient_id"], []).append(s["status"])
        assert s["biz_opaque_callback_data"] == "allerta-rossa"
    assert by_phone["393330000003"] == ["failed"]
    assert by_phone["393330000001"] == ["sent", "delivered"]


def cli(town: Town, *args: str, env: dict[str, str | None] | None = None) -> Ran:
    return site_tools(*args, cwd=town.root, env={"SITE_TOOLS_NOW": "2026-11-23 12:00", **(env or {})})


def test_publish_and_deliveries_commands(demo_town: Town, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with simulator("--latency", "0.01") as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": url}
        subscribe(url, phones(25))
        first = cli(demo_town, "publish", env=env)
        assert first.returncode == 0, first.stderr
        assert "26 avvisi già presenti segnati come storici" in first.stdout
        add(demo_town, URGENT, "allerta-rossa")
        dry = cli(demo_town, "publish", "--dry-run", env=env)
        assert dry.returncode == 0, dry.stderr
        assert (
            "25 destinatari (tutte le scelte, «tutto»: 25, «solo urgenti»: 0, «settimanale»: 0), circa 0 s a 80 messaggi/s, costo stimato € 1,25"
            in dry.stdout
        )
        assert "URGENTE – Allerta rossa" in dry.stdout and sim.stats().get("requests", 0) == 0
        real = cli(demo_town, "publish", env=env)
        assert real.returncode == 0, real.stderr
        assert "25 accettati su 25" in real.stdout
        assert "Testo per il Canale WhatsApp" in real.stdout
        assert "393330000" not in real.stdout + real.stderr  # no phone number in the log
        assert "sim-whatsapp-token" not in real.stdout + real.stderr
        report = cli(demo_town, "deliveries", "allerta-rossa", env=env)
        assert "Lista WhatsApp: done (api)" in report.stdout and "accepted: 25" in report.stdout
        again = cli(demo_town, "publish", env=env)
        assert again.returncode == 0 and "Niente da pubblicare" in again.stdout


def test_publish_without_any_secret_sends_only_what_needs_none(demo_town: Town, tmp_path) -> None:
    # No WhatsApp nor Telegram secret: the list and Telegram wait (unpublished, for a run with the secrets); the
    # WhatsApp Channel's manual post needs no secret and still reaches the editors, who paste it.
    url = f"sqlite:///{tmp_path / 's.db'}"
    cli(demo_town, "publish", env={"SITE_TOOLS_DB": url})
    add(demo_town, URGENT, "allerta-rossa")
    no_secrets: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("WHATSAPP", "TELEGRAM"))}
    result = cli(demo_town, "publish", env={**no_secrets, "SITE_TOOLS_DB": url})
    assert result.returncode == 1
    assert "WHATSAPP_TOKEN" in result.stderr and "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Su Telegram, Lista WhatsApp non è partito nulla" in result.stderr
    assert "Nulla è stato pubblicato" not in result.stderr
    assert "Testo per il Canale WhatsApp" in result.stdout
    shown = cli(demo_town, "deliveries", "allerta-rossa", env={"SITE_TOOLS_DB": url}).stdout
    assert "Canale WhatsApp: manual" in shown
    assert "Lista WhatsApp:" not in shown and "Telegram:" not in shown


def test_phone_numbers_are_masked() -> None:
    assert mask("393331234512") == "+39 333 ••• ••12"
    assert mask_all("errore per 393331234512 e +39 333 765 4321") == "errore per +39 333 ••• ••12 e +39 333 ••• ••21"


def test_an_interrupted_channel_post_is_not_reposted_unless_an_editor_says_so(demo_town: Town, tmp_path) -> None:
    from site_tools.store import Store

    url = f"sqlite:///{tmp_path / 's.db'}"
    with simulator("--latency", "0") as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": url}
        cli(demo_town, "publish", env=env)
        add(demo_town, URGENT, "allerta-rossa")
        store = Store.open(url)  # a run that died between the Telegram request and its answer
        store.ledger.claim_publication("allerta-rossa", "telegram", "api", "urgent", shared=False)
        store.close()
        first = cli(demo_town, "publish", "--channel", "telegram", env=env)
        assert first.returncode == 1 and "esito è incerto" in first.stderr
        assert sim.messages()["telegram"] == []
        again = cli(
            demo_town, "publish", "--only", "allerta-rossa", "--channel", "telegram", "--resend-uncertain", env=env
        )
        assert again.returncode == 0, again.stderr
        assert len(sim.messages()["telegram"]) == 1
        assert cli(demo_town, "publish", "--resend-uncertain", env=env).returncode == 2  # needs --only


def test_simulated_faults_strike_at_their_rate_not_by_luck() -> None:
    # A test that asks for 2 % timeouts must see them: faults are spread evenly over the requests.
    from collections import Counter

    from site_tools.devtools.simulator import SimConfig, Simulator

    sim = Simulator(SimConfig(drop_rate=0.03, timeout_rate=0.02, error_rate=0.1))
    seen = Counter(sim._fault() for _ in range(1000))
    assert abs(seen["dropped"] - 30) <= 1
    assert abs(seen["timeouts"] - 20) <= 1
    assert abs(seen["server_errors"] - 100) <= 1
    assert Simulator(SimConfig())._fault() is None


def test_the_tls_context_is_built_once_on_a_thread_and_a_failure_reaches_the_sender(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ssl
    import threading

    import httpx

    from site_tools.channels import https

    built: list[str] = []

    def build() -> ssl.SSLContext:
        built.append(threading.current_thread().name)
        return ssl.create_default_context()

    monkeypatch.setattr(https, "_pending", None)
    monkeypatch.setattr(httpx, "create_ssl_context", build)
    https.prepare()
    https.prepare()
    context = https.context()
    assert isinstance(context, ssl.SSLContext) and https.context() is context and built == ["tls-context"]

    def broken() -> ssl.SSLContext:
        raise ssl.SSLError("certificate store unreadable")

    monkeypatch.setattr(https, "_pending", None)
    monkeypatch.setattr(httpx, "create_ssl_context", broken)
    with pytest.raises(ssl.SSLError, match="unreadable"):
        https.context()
