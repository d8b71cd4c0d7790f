"""Web Push in Chromium: the signup page's button, the subscription stored by the real service, and the service
worker showing the notification for a push delivered through the DevTools protocol.

What cannot run here, and what stands in for it: Chromium's ``PushManager.subscribe`` needs Google's push service
(FCM). In Playwright's contexts (off the record) Chromium refuses it at once («Registration failed - permission
denied»); in a persistent profile it waits for FCM forever (measured: no answer in 15 s). So the test replaces
``PushManager.prototype.subscribe``/``getSubscription`` only — through a Playwright binding, which asks the
simulator's push-service stand-in for a real subscription bound to the page's ``applicationServerKey`` — and
everything else is the real thing: the page's script, CSP, CORS, the service and its store, the channel's signed and
encrypted request to the stand-in (which verifies and decrypts it), and the decrypted payload handed to the real
service worker with ``ServiceWorker.deliverPushMessage``.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from site_tools.service.app import Service
from site_tools.settings import Settings
from site_tools.site.build import build_site
from site_tools.site.local_editor import free_port
from site_tools.store import Store

from .conftest import Town
from .services import simulator, wait_for
from .test_publisher import URGENT, add
from .test_webpush import deliver, settings_for

STUB = """
(() => {
  const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const wrap = (json) => json && { endpoint: json.endpoint, toJSON: () => json,
    unsubscribe: async () => { localStorage.removeItem("stand-in"); return true; } };
  PushManager.prototype.subscribe = async function (options) {
    const json = await window.standInSubscribe(b64(options.applicationServerKey));
    localStorage.setItem("stand-in", JSON.stringify(json));
    return wrap(json);
  };
  PushManager.prototype.getSubscription = async function () {
    return wrap(JSON.parse(localStorage.getItem("stand-in") || "null"));
  };
})();
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def log_message(self, *args: object) -> None:
        pass


class Running:
    """The built site on one local port, the service on another, the simulator's push service stand-in."""

    def __init__(self, town: Town, keys: tuple[str, Path], sim: Any, tmp_path: Path):
        self.sim, self.keys, self.town = sim, keys, town
        out = tmp_path / "site"
        out.mkdir()
        handler = functools.partial(_Quiet, directory=str(out))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.site = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        port = free_port()
        self.service = f"http://127.0.0.1:{port}"
        path = town.root / "mkdocs.yml"
        text = path.read_text(encoding="utf-8").replace("https://avvisi.valfiorita.example.it/", self.site + "/")
        block = (
            f"    service:\n      url: {self.service}\n      repository: comune-valfiorita/avvisi\n"
            f"      repository_id: 812345678\n      repository_owner_id: 98765432\n"
            f"    webpush:\n      public_key: {keys[0]}\n"
        )
        path.write_text(text.replace("    # Estimated price", block + "    # Estimated price", 1), encoding="utf-8")
        build_site(path, out, strict=True)
        self.db = f"sqlite:///{tmp_path / 'store.db'}"
        settings = Settings.from_env(
            {"WEBPUSH_SERVICES": sim.url, "WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v"}
        )
        app = Service(town.config, settings, lambda: Store.open(self.db), db_url=self.db).app()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=20)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One site build for the module (the build is the slow part)."""
    from .test_webpush import new_key_pair

    tmp_path = tmp_path_factory.mktemp("webpush")
    (tmp_path / "town").mkdir()
    town = Town(tmp_path / "town", with_demo=False)
    public, pem = new_key_pair()
    (tmp_path / "vapid.pem").write_text(pem)
    with simulator("--latency", "0") as sim:
        up = Running(town, (public, tmp_path / "vapid.pem"), sim, tmp_path)
        try:
            yield up
        finally:
            up.stop()


def in_a_thread(fn: Any) -> Any:
    """Playwright's synchronous API holds this thread's event loop: asyncio code runs on another thread."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join(60)
    return result[0]


def test_the_button_subscribes_the_service_stores_it_and_the_service_worker_shows_the_bulletin(
    running: Running, browser: Any
) -> None:
    site, sim = running.site, running.sim
    context = browser.new_context(locale="it-IT")
    context.grant_permissions(["notifications"], origin=site)
    context.expose_binding(
        "standInSubscribe",
        lambda source, key: httpx.post(f"{sim.url}/_push/subscribe", json={"applicationServerKey": key}).json(),
    )
    context.add_init_script(STUB)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{site}/iscriviti/")
    assert "schermata Home" in page.inner_text("main") and "iOS 16.4" in page.inner_text("main")
    page.get_by_role("link", name="Attiva le notifiche", exact=True).click()
    page.get_by_text("Fatto: su questo dispositivo riceverai gli avvisi del Comune.").wait_for()
    assert page.get_by_role("link", name="Disattiva le notifiche").is_visible()
    assert problems == []  # no CSP violation, no CORS refusal
    with closing(Store.open(running.db)) as store:
        assert store.push.count() == 1
    # A bulletin goes out through the channel: signed, encrypted, decrypted by the stand-in.
    add(running.town, URGENT, "2026-11-23-allerta")
    report = in_a_thread(
        lambda: deliver(running.town, running.db, settings_for(sim, running.keys[1]), "2026-11-23-allerta")
    )
    assert report.recipients == 1
    (message,) = httpx.get(f"{sim.url}/_push/messages").json()
    # The push service hands it to the browser: the DevTools protocol delivers it to the real service worker.
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(100):  # Playwright hands events over only while it is called: wait through it
        if any(r["scopeURL"] == f"{site}/" for r in registrations):
            break
        page.wait_for_timeout(100)
    registration = next(r for r in registrations if r["scopeURL"] == f"{site}/")
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": site, "registrationId": registration["registrationId"], "data": json.dumps(message["payload"])},
    )
    shown = page.wait_for_function(
        """async () => {
          const list = await (await navigator.serviceWorker.ready).getNotifications();
          return list.length ? list.map(n => ({title: n.title, body: n.body, url: n.data.url, tag: n.tag})) : null;
        }""",
        polling=100,
        timeout=10_000,
    ).json_value()
    assert shown == [
        {
            "title": message["payload"]["title"],
            "body": message["payload"]["body"],
            "url": f"{site}/notizie/2026/11/allerta/",
            "tag": "2026-11-23-allerta",
        }
    ]
    assert shown[0]["title"].startswith("⚠️ Allerta rossa")
    # Off again: the service forgets the subscription.
    page.get_by_role("link", name="Disattiva le notifiche").click()
    page.get_by_text("Notifiche disattivate su questo dispositivo.").wait_for()
    with closing(Store.open(running.db)) as store:
        assert store.push.count() == 0
    context.close()


def test_the_service_worker_is_at_the_sites_root_and_opens_only_the_sites_own_addresses(running: Running) -> None:
    sw = httpx.get(f"{running.site}/sw.js")
    assert sw.status_code == 200 and "notificationclick" in sw.text
    assert "wanted.origin === self.location.origin" in sw.text
    assert f"var SERVICE = {json.dumps(running.service)};" in sw.text  # where a replaced subscription is sent
    assert f"var KEY = {json.dumps(running.keys[0])};" in sw.text
    page = httpx.get(f"{running.site}/iscriviti/").text
    csp = page.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()[1:]
    assert connect == ["'self'", running.service]
    home = httpx.get(f"{running.site}/").text
    home_csp = home.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert running.service not in home_csp  # only the signup page may talk to the service
