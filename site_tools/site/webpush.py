"""The site's side of Web Push: the service worker at the site's root, and the signup page's section.

The service worker (``sw.js``, at the root so that its scope is the whole site) shows a push as a notification and,
when tapped, opens the bulletin — only an address of the site itself. The section has the button
(``assets/st-push.js``, from ``st_push.js``), which subscribes the browser and sends the subscription to the town's service, and
the note for iPhones: iOS delivers Web Push only to a site added to the Home Screen (iOS 16.4 and later).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import urlsplit

from site_tools.content.config import TownConfig

SERVICE_WORKER_PATH = "sw.js"
SCRIPT = "assets/st-push.js"

#: What the push service hands the browser is the JSON of ``channels/webpush.py``'s ``notification()``.
SERVICE_WORKER = """// The town's notifications (Web Push): shows each push, opens the bulletin when tapped.
// KEY and SERVICE (the town's public VAPID key and service) are set in the lines above, by site/webpush.py.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Avviso del Comune", {
    body: data.body || "",
    tag: data.tag || undefined,
    lang: "it",
    requireInteraction: !!data.urgent,
    data: { url: data.url || "" }
  }));
});
// The push service replaced the subscription (it expired, or keys were rotated): subscribe again with the town's key
// and tell the town's service; the old one is pruned at its first 404/410.
self.addEventListener("pushsubscriptionchange", function (event) {
  event.waitUntil(self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: KEY })
    .then(function (subscription) {
      return fetch(SERVICE + "/push/iscrizione", { method: "POST", credentials: "omit",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(subscription.toJSON()) });
    }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = self.registration.scope;
  try {
    var wanted = new URL(event.notification.data.url, self.registration.scope);
    if (wanted.origin === self.location.origin) { url = wanted.href; }
  } catch (e) { /* not an address: the home page */ }
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === url && "focus" in list[i]) { return list[i].focus(); }
    }
    return self.clients.openWindow(url);
  }));
});
"""


def service_base(config: TownConfig) -> str:
    """Where the button sends the subscription: the town's service (``webpush`` requires ``service``), with the path
    its URL may have (a reverse proxy's prefix), as the publisher's requests to it have."""
    assert config.service is not None
    return str(config.service.url).rstrip("/")


def service_origin(config: TownConfig) -> str:
    """The service's origin, which the pages' security policy lets the button reach."""
    parts = urlsplit(service_base(config))
    return f"{parts.scheme}://{parts.netloc}"


def service_worker(config: TownConfig) -> str:
    """``sw.js``: the town's key and service, then :data:`SERVICE_WORKER`."""
    assert config.webpush is not None
    key, service = json.dumps(config.webpush.public_key), json.dumps(service_base(config))
    return f"var KEY = {key};\nvar SERVICE = {service};\n" + SERVICE_WORKER


def script(config: TownConfig) -> str:
    """``assets/st-push.js``: the town's public key and service, then the button's code (``st_push.js``)."""
    assert config.webpush is not None
    settings = json.dumps({"key": config.webpush.public_key, "service": service_base(config)})
    return f"var ST_PUSH = {settings};\n" + (Path(__file__).parent / "st_push.js").read_text(encoding="utf-8")


def signup_section(config: TownConfig) -> str:
    """The signup page's block (Markdown with HTML the site's allow-list keeps): empty without Web Push."""
    if config.webpush is None:
        return ""
    return (
        "\n## Notifiche del sito\n\n"
        f"Ricevi gli avvisi del {html.escape(config.name, quote=False)} come notifiche, su questo telefono o computer, "
        "senza installare nulla e senza dare il numero di telefono o l'e-mail. Gratis.\n\n"
        '<div id="st-push" class="st-push">\n'
        '<p><a id="st-push-on" class="md-button md-button--primary st-big" href="#notifiche-del-sito">'
        "Attiva le notifiche</a>\n"
        '<a id="st-push-off" class="md-button" href="#notifiche-del-sito">Disattiva le notifiche</a></p>\n'
        '<p class="st-push__status" role="status"></p>\n'
        "</div>\n\n"
        "1. Tocca «Attiva le notifiche».\n"
        "2. Quando il browser lo chiede, tocca «Consenti».\n"
        "3. Gli avvisi arrivano come notifiche; toccane una per leggere l'avviso sul sito.\n\n"
        "**Su iPhone e iPad** le notifiche dei siti arrivano solo se il sito è stato aggiunto alla schermata Home "
        "(iOS 16.4 o successivo): in Safari tocca Condividi › «Aggiungi alla schermata Home», apri il sito "
        "dall'icona e tocca lì «Attiva le notifiche».\n\n"
        "Per smettere: torna su questa pagina e tocca «Disattiva le notifiche», oppure blocca le notifiche del sito "
        "nelle impostazioni del browser. Il Comune conserva solo l'indirizzo tecnico a cui il browser riceve le "
        "notifiche, non chi sei.\n"
    )
