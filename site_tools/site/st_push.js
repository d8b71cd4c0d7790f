// The signup page's «Attiva le notifiche» button (Web Push): loaded only when the town has extra.town.webpush,
// after `var ST_PUSH = {key, service}` (site/webpush.py writes both into assets/st-push.js).
// The subscription goes to the town's own service; nothing is asked of any other host.
(function () {
  var here = document.currentScript ? document.currentScript.src : location.href;
  var box = document.getElementById("st-push");
  if (!box) { return; }
  var status = box.querySelector(".st-push__status");
  var on = document.getElementById("st-push-on");
  var off = document.getElementById("st-push-off");
  var busy = false;
  function say(text) { status.textContent = text; }
  // style, not the hidden attribute: the theme's .md-button sets display, which would win over [hidden].
  function visible(link, yes) { link.style.display = yes ? "" : "none"; }
  function show(subscribed) { visible(on, !subscribed); visible(off, subscribed); }
  show(false);
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    visible(on, false);
    say("Questo browser non riceve le notifiche dei siti. Su iPhone e iPad: aggiungi prima il sito alla schermata " +
        "Home (iOS 16.4 o successivo) e aprilo da lì.");
    return;
  }
  function keyBytes(text) {
    var b64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function post(path, body) {
    return fetch(ST_PUSH.service + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit"
    }).then(function (response) {
      if (!response.ok) { throw new Error("service"); }
      return response;
    });
  }
  var root = new URL("../", here).href;  // the script is in assets/: the site's root is one level up
  var ready = navigator.serviceWorker.register(root + "sw.js", { scope: root })
    .then(function () { return navigator.serviceWorker.ready; });
  ready.then(function (registration) { return registration.pushManager.getSubscription(); })
    .then(function (subscription) {
      show(!!subscription);
      if (subscription) { say("Le notifiche sono attive su questo dispositivo."); }
    })
    .catch(function () { say("Le notifiche non sono disponibili in questo browser."); });

  on.addEventListener("click", function (event) {
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    say("Attendi…");
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") { throw new Error("permission"); }
        return ready;
      })
      .then(function (registration) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(ST_PUSH.key)
        });
      })
      .then(function (subscription) { return post("/push/iscrizione", subscription.toJSON()); })
      .then(function () {
        show(true);
        say("Fatto: su questo dispositivo riceverai gli avvisi del Comune.");
      })
      .catch(function (error) {
        if (error && error.message === "permission") {
          say("Le notifiche sono bloccate per questo sito: consentile nelle impostazioni del browser e riprova.");
        } else if (error && error.message === "service") {
          say("Il Comune non ha potuto registrare l'iscrizione: riprova tra qualche minuto.");
        } else {
          say("Il browser non è riuscito ad attivare le notifiche: riprova più tardi.");
        }
      })
      .then(function () { busy = false; });
  });

  off.addEventListener("click", function (event) {
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    ready.then(function (registration) { return registration.pushManager.getSubscription(); })
      .then(function (subscription) {
        if (!subscription) { return null; }
        return post("/push/cancella", { endpoint: subscription.endpoint })
          .then(function () { return subscription.unsubscribe(); });
      })
      .then(function () { show(false); say("Notifiche disattivate su questo dispositivo."); })
      .catch(function () { say("Non è stato possibile disattivare le notifiche: riprova tra qualche minuto."); })
      .then(function () { busy = false; });
  });
})();
