"""Web Push, the server side: the notification, the subscriptions the service accepts, and delivery over real HTTP
to the simulator's push-service stand-in, which checks the VAPID signature and decrypts every message."""

from __future__ import annotations

import json
import stat
import time
from contextlib import closing
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest

from site_tools.aio import run_loop
from site_tools.channels.base import ChannelStopped
from site_tools.channels.webpush import BadSubscription, WebPushChannel, check_subscription, new_key_pair
from site_tools.content import limits
from site_tools.content.loading import load_content
from site_tools.delivery.fanout import FanOutOptions
from site_tools.delivery.publisher import Publisher
from site_tools.render.links import Links
from site_tools.settings import Settings
from site_tools.store import Store
from site_tools.store.push import SENDING

from .command import site_tools
from .conftest import Town
from .services import simulator
from .test_oidc import SERVICE_BLOCK
from .test_publisher import NORMAL, URGENT, add

SUBJECT = "mailto:urp@comune.valfiorita.example.it"


def with_webpush(town: Town, public_key: str) -> Town:
    path = town.root / "mkdocs.yml"
    block = f"{SERVICE_BLOCK}    webpush:\n      public_key: {public_key}\n"
    path.write_text(
        path.read_text(encoding="utf-8").replace("    # Estimated price", block + "    # Estimated price", 1)
    )
    return town


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, Path]:
    public, pem = new_key_pair()
    file = tmp_path / "vapid.pem"
    file.write_text(pem)
    return public, file


@pytest.fixture
def push_town(town: Town, keys: tuple[str, Path]) -> Town:
    return with_webpush(town, keys[0])


@pytest.fixture(scope="module")
def sim() -> Any:
    with simulator("--latency", "0") as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(sim: Any) -> None:
    httpx.post(f"{sim.url}/_sim/reset").raise_for_status()


def settings_for(sim: Any, key_file: Path, **extra: str) -> Settings:
    return Settings.from_env(
        {"VAPID_PRIVATE_KEY": str(key_file), "VAPID_SUBJECT": SUBJECT, "WEBPUSH_SERVICES": sim.url, **extra}
    )


def browsers(sim: Any, public_key: str, url: str, n: int) -> list[dict[str, Any]]:
    """n browsers subscribe at the stand-in (as PushManager.subscribe would) and the service stores them."""
    subs = [
        httpx.post(f"{sim.url}/_push/subscribe", json={"applicationServerKey": public_key}).json() for _ in range(n)
    ]
    with closing(Store.open(url)) as store:
        for s in subs:
            store.push.subscribe(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"])
    return subs


def deliver(town: Town, url: str, settings: Settings, bulletin_id: str) -> Any:
    """The channel's delivery of one bulletin, with a publisher lending it the fan-out."""
    config = town.config
    content = load_content(config, check_bodies=False)
    bulletin = next(b for b in content.bulletins if b.id == bulletin_id)
    with closing(Store.open(url)) as store:
        publisher = Publisher(config, store, settings, Links.for_bulletins(config, content.bulletins),
                              FanOutOptions(progress=False))  # fmt: skip
        channel = publisher.channels["webpush"]

        async def run() -> Any:
            try:
                return await channel.deliver(bulletin, publisher)
            finally:
                await channel.close()

        return run_loop(run())


def delivered(sim: Any) -> list[dict[str, Any]]:
    return httpx.get(f"{sim.url}/_push/messages").json()


def test_the_command_prints_the_public_key_and_writes_the_private_one_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    result = site_tools("webpush", "chiavi", "--file", str(tmp_path / "vapid.pem"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    public = next(line.split(": ")[1] for line in result.stdout.splitlines() if "public_key:" in line)
    assert len(public) == 87 and public.startswith("B")
    mode = stat.S_IMODE((tmp_path / "vapid.pem").stat().st_mode)
    assert mode == 0o600
    pem = (tmp_path / "vapid.pem").read_text()
    assert "BEGIN PRIVATE KEY" in pem
    assert "BEGIN PRIVATE KEY" not in result.stdout and pem.splitlines()[1] not in result.stdout  # never printed
    again = site_tools("webpush", "chiavi", "--file", str(tmp_path / "vapid.pem"), cwd=tmp_path)
    assert again.returncode != 0 and "esiste già" in again.stderr


def test_a_town_with_webpush_but_no_service_is_told_what_to_add(town: Town, keys: tuple[str, Path]) -> None:
    path = town.root / "mkdocs.yml"
    block = f"    webpush:\n      public_key: {keys[0]}\n"
    path.write_text(
        path.read_text(encoding="utf-8").replace("    # Estimated price", block + "    # Estimated price", 1)
    )
    result = site_tools("validate", cwd=town.root)
    assert result.returncode != 0
    assert "«webpush» ha bisogno del servizio" in result.stdout + result.stderr


def test_a_private_key_in_place_of_the_public_one_is_refused(town: Town) -> None:
    with_webpush(town, "-----BEGIN")
    result = site_tools("validate", cwd=town.root)
    assert result.returncode != 0 and "non è una chiave pubblica VAPID" in result.stdout + result.stderr


def test_the_notification_is_the_title_the_summary_and_the_address_within_the_payload_limit(
    push_town: Town, keys: tuple[str, Path], sim: Any
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    add(push_town, NORMAL, "2026-11-23-biblioteca")
    config = push_town.config
    content = load_content(config, check_bodies=False)
    channel = WebPushChannel(config, settings_for(sim, keys[1]))
    links = Links.for_bulletins(config, content.bulletins)
    by_id = {b.id: b for b in content.bulletins}
    urgent = channel.render(by_id["2026-11-23-allerta"], links)
    normal = channel.render(by_id["2026-11-23-biblioteca"], links)
    assert urgent.parts[0].startswith("⚠️ Allerta rossa")
    assert "https://avvisi.valfiorita.example.it/notizie/2026/11/allerta/" in urgent.parts[0]
    assert "priorità alta" in urgent.facts and "priorità normale" in normal.facts
    assert f"/{limits.PUSH_PAYLOAD_MAX:,}".replace(",", ".") + " byte" in urgent.facts
    assert limits.PUSH_PAYLOAD_MAX == 4096 - 103  # one aes128gcm record: 86 header + 1 delimiter + 16 tag
    assert channel.estimate(by_id["2026-11-23-allerta"], 10_000, 80).cost == 0
    assert "webpush" in config.enabled_channels()


def test_delivered_once_to_every_browser_signed_and_encrypted_and_twice_sends_nothing_twice(
    push_town: Town, keys: tuple[str, Path], sim: Any, store_url: str
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    subs = browsers(sim, keys[0], store_url, 5)
    settings = settings_for(sim, keys[1])
    first = deliver(push_town, store_url, settings, "2026-11-23-allerta")
    assert first.state == "done" and first.recipients == 5
    messages = delivered(sim)
    assert sorted(m["token"] for m in messages) == sorted(s["endpoint"].rsplit("/", 1)[1] for s in subs)
    payload = messages[0]["payload"]  # decrypted by the stand-in with the browser's private key
    assert payload["title"].startswith("⚠️ Allerta rossa")
    assert payload["url"] == "https://avvisi.valfiorita.example.it/notizie/2026/11/allerta/"
    assert {m["urgency"] for m in messages} == {"high"}
    assert {m["ttl"] for m in messages} == {limits.PUSH_TTL_URGENT}
    assert httpx.get(f"{sim.url}/_push/rejections").json() == []
    second = deliver(push_town, store_url, settings, "2026-11-23-allerta")
    assert second.state == "done" and second.recipients == 0
    assert len(delivered(sim)) == 5


def test_a_normal_bulletin_goes_with_normal_urgency_and_a_longer_ttl(
    push_town: Town, keys: tuple[str, Path], sim: Any, sqlite_url: str
) -> None:
    add(push_town, NORMAL, "2026-11-23-biblioteca")
    browsers(sim, keys[0], sqlite_url, 1)
    deliver(push_town, sqlite_url, settings_for(sim, keys[1]), "2026-11-23-biblioteca")
    (message,) = delivered(sim)
    assert message["urgency"] == "normal" and message["ttl"] == limits.PUSH_TTL_NORMAL
    assert not message["payload"]["title"].startswith("⚠️")


def test_a_subscription_the_push_service_says_is_gone_is_pruned(
    push_town: Town, keys: tuple[str, Path], sim: Any, store_url: str
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    add(push_town, NORMAL, "2026-11-23-biblioteca")
    subs = browsers(sim, keys[0], store_url, 3)
    gone = subs[1]["endpoint"]
    httpx.post(f"{gone.replace('/push/', '/_push/')}/expire").raise_for_status()
    settings = settings_for(sim, keys[1])
    report = deliver(push_town, store_url, settings, "2026-11-23-allerta")
    assert report.recipients == 2 and report.report.failed["scaduta"] == 1
    with closing(Store.open(store_url)) as store:
        assert store.push.count() == 2 and store.push.get(gone) is None
    deliver(push_town, store_url, settings, "2026-11-23-biblioteca")
    refused = [r for r in httpx.get(f"{sim.url}/_push/rejections").json() if r["status"] == 410]
    assert len(refused) == 1  # the next bulletin did not try the pruned subscription again
    assert len(delivered(sim)) == 4


def test_a_throttling_push_service_is_waited_for_as_its_retry_after_says(
    push_town: Town, keys: tuple[str, Path], sim: Any, sqlite_url: str
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    browsers(sim, keys[0], sqlite_url, 3)
    httpx.post(f"{sim.url}/_push/throttle", json={"count": 2, "retry_after": "0"}).raise_for_status()
    report = deliver(push_town, sqlite_url, settings_for(sim, keys[1]), "2026-11-23-allerta")
    assert report.state == "done" and report.recipients == 3
    assert [r["status"] for r in httpx.get(f"{sim.url}/_push/rejections").json()] == [429, 429]
    assert len(delivered(sim)) == 3


def test_a_push_service_still_throttling_leaves_the_rest_for_the_next_run(
    push_town: Town, keys: tuple[str, Path], sim: Any, sqlite_url: str
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    browsers(sim, keys[0], sqlite_url, 1)
    httpx.post(f"{sim.url}/_push/throttle", json={"count": 4, "retry_after": "0"}).raise_for_status()
    settings = settings_for(sim, keys[1])
    first = deliver(push_town, sqlite_url, settings, "2026-11-23-allerta")
    assert first.state == "waiting" and delivered(sim) == []
    second = deliver(push_town, sqlite_url, settings, "2026-11-23-allerta")
    assert second.state == "done" and len(delivered(sim)) == 1


def test_after_a_crash_mid_send_the_claimed_subscriptions_are_not_sent_again_and_the_rest_are(
    push_town: Town, keys: tuple[str, Path], sim: Any, store_url: str
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    subs = browsers(sim, keys[0], store_url, 4)
    with closing(Store.open(store_url)) as store:  # a run claimed two, then died before any answer was recorded
        claimed = store.push.claim("2026-11-23-allerta", "dead-run", limit=2)
        assert dict(store.push.states("2026-11-23-allerta")) == {s.id: SENDING for s in claimed}
    report = deliver(push_town, store_url, settings_for(sim, keys[1]), "2026-11-23-allerta")
    assert report.recipients == 2
    tokens = {m["token"] for m in delivered(sim)}
    assert tokens == {s["endpoint"].rsplit("/", 1)[1] for s in subs[2:]}


def test_a_private_key_that_is_not_the_towns_public_one_stops_before_sending(
    push_town: Town, sim: Any, sqlite_url: str, tmp_path: Path
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    other = tmp_path / "other.pem"
    other.write_text(new_key_pair()[1])
    browsers(sim, push_town.config.webpush.public_key, sqlite_url, 1)  # type: ignore[union-attr]
    with pytest.raises(ChannelStopped, match="non corrisponde"):
        deliver(push_town, sqlite_url, settings_for(sim, other), "2026-11-23-allerta")
    assert delivered(sim) == []


def test_an_unreadable_private_key_stops_the_channel_with_a_clear_message(
    push_town: Town, sim: Any, sqlite_url: str, tmp_path: Path
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    (tmp_path / "broken.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    for value in (str(tmp_path / "broken.pem"), "not-a-key"):
        with pytest.raises(ChannelStopped, match="VAPID_PRIVATE_KEY non è leggibile"):
            deliver(push_town, sqlite_url, settings_for(sim, Path(value)), "2026-11-23-allerta")


def test_the_stand_in_refuses_what_a_push_service_refuses(keys: tuple[str, Path], sim: Any) -> None:
    from py_vapid import Vapid02

    from site_tools.channels.webpush import load_vapid

    (sub,) = [httpx.post(f"{sim.url}/_push/subscribe", json={"applicationServerKey": keys[0]}).json()]
    vapid = load_vapid(str(keys[1]))
    base = {"TTL": "60", "Content-Encoding": "aes128gcm"}

    def token(signer: Vapid02 = vapid, **claims: Any) -> str:
        claims = {"aud": sim.url, "exp": int(time.time()) + 3600, "sub": SUBJECT, **claims}
        return signer.sign(claims)["Authorization"]

    def status(headers: dict[str, str], body: bytes = b"x" * 100) -> int:
        return httpx.post(sub["endpoint"], content=body, headers=headers).status_code

    assert status(base) == 401
    assert status({**base, "Authorization": token(aud="https://fcm.googleapis.com")}) == 403
    assert status({**base, "Authorization": token(exp=int(time.time()) + 25 * 3600)}) == 403
    other = Vapid02()
    other.generate_keys()
    assert status({**base, "Authorization": token(other)}) == 403  # not the key the browser subscribed with
    good = token()
    cut = good.index(",k=") - 20  # one character of the signature changed: it no longer verifies
    forged = good[:cut] + ("A" if good[cut] != "A" else "B") + good[cut + 1 :]
    assert status({**base, "Authorization": forged}) == 403
    assert status({"TTL": "60", "Content-Encoding": "aes128gcm", "Authorization": token()}, b"x" * 4097) == 413
    assert status({"Content-Encoding": "aes128gcm", "Authorization": token()}) == 400
    reasons = [r["reason"] for r in httpx.get(f"{sim.url}/_push/rejections").json()]
    assert any("aud" in r for r in reasons) and any("bad signature" in r for r in reasons)


# -- what the service accepts from a browser ---------------------------------------------------------------------


def stand_in_subscription(sim: Any, public_key: str) -> dict[str, Any]:
    return httpx.post(f"{sim.url}/_push/subscribe", json={"applicationServerKey": public_key}).json()


def test_only_a_well_formed_subscription_on_a_known_push_service_is_accepted(keys: tuple[str, Path], sim: Any) -> None:
    good = stand_in_subscription(sim, keys[0])
    assert check_subscription(good, sim.url)[0] == good["endpoint"]
    fcm = {**good, "endpoint": "https://fcm.googleapis.com/fcm/send/abc:APA91b"}
    assert check_subscription(fcm, Settings().webpush_services)[0] == fcm["endpoint"]
    wns = {**good, "endpoint": "https://db5p.notify.windows.com/w/?token=abc"}
    assert check_subscription(wns, Settings().webpush_services)
    bad = [
        ({**good, "endpoint": "http://fcm.googleapis.com/fcm/send/abc"}, "non è di un servizio"),
        ({**good, "endpoint": "https://127.0.0.1:8080/admin"}, "non è di un servizio"),
        ({**good, "endpoint": "https://fcm.googleapis.com.evil.example/x"}, "non è di un servizio"),
        ({**good, "endpoint": "https://u:p@fcm.googleapis.com/x"}, "https"),
        ({**good, "endpoint": "https://fcm.googleapis.com/" + "a" * 1100}, "1024"),
        ({**good, "keys": {"p256dh": good["keys"]["p256dh"][:40], "auth": good["keys"]["auth"]}}, "65 byte"),
        ({**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "AAAA"}}, "16 byte"),
        ({**good, "keys": {"p256dh": "B" + "A" * 86, "auth": good["keys"]["auth"]}}, "non è una chiave pubblica"),
        ({**good, "keys": {"auth": good["keys"]["auth"]}}, "keys.p256dh"),
        ({"endpoint": good["endpoint"]}, "keys"),
        ([], "oggetto PushSubscription"),
    ]
    allowed = f"{sim.url},{Settings().webpush_services}"
    for body, message in bad:
        with pytest.raises(BadSubscription, match=message):
            check_subscription(body, allowed)


@pytest.fixture
def service(push_town: Town, sqlite_url: str, sim: Any) -> Any:
    from starlette.testclient import TestClient

    from site_tools.service.app import Service

    settings = Settings.from_env(
        {"WEBPUSH_SERVICES": sim.url, "WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v"}
    )
    app = Service(push_town.config, settings, lambda: Store.open(sqlite_url), db_url=sqlite_url)
    with TestClient(app.app(), base_url="https://servizi.valfiorita.example.it") as client:
        yield client


SITE = {"Origin": "https://avvisi.valfiorita.example.it"}


def test_the_service_stores_a_browsers_subscription_sent_from_the_site_and_forgets_it_on_request(
    service: Any, keys: tuple[str, Path], sim: Any, sqlite_url: str
) -> None:
    sub = stand_in_subscription(sim, keys[0])
    preflight = service.options("/push/iscrizione", headers={**SITE, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SITE["Origin"]
    answer = service.post("/push/iscrizione", json=sub, headers=SITE)
    assert answer.status_code == 201 and answer.headers["access-control-allow-origin"] == SITE["Origin"]
    assert service.post("/push/iscrizione", json=sub, headers=SITE).status_code == 200  # the same browser again
    with closing(Store.open(sqlite_url)) as store:
        assert store.push.count() == 1 and store.push.get(sub["endpoint"]) is not None
    gone = service.post("/push/cancella", json={"endpoint": sub["endpoint"]}, headers=SITE)
    assert gone.status_code == 200 and gone.json()["cancellata"] is True
    with closing(Store.open(sqlite_url)) as store:
        assert store.push.count() == 0


def test_the_service_refuses_other_sites_bad_subscriptions_and_floods(
    service: Any, keys: tuple[str, Path], sim: Any, sqlite_url: str
) -> None:
    sub = stand_in_subscription(sim, keys[0])
    other = service.post("/push/iscrizione", json=sub, headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and "sito diverso" in other.json()["errore"]
    bad = service.post("/push/iscrizione", json={**sub, "endpoint": "https://10.0.0.1/x"}, headers=SITE)
    assert bad.status_code == 400 and "«endpoint»" in bad.json()["errore"]
    big = service.post("/push/iscrizione", content=json.dumps({**sub, "x": "a" * 5000}), headers=SITE)
    assert big.status_code == 413
    answers = [service.post("/push/iscrizione", json=sub, headers=SITE).status_code for _ in range(12)]
    assert 429 in answers
    refused = service.post("/push/iscrizione", json=sub, headers=SITE)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "troppe richieste" in refused.json()["errore"]


def test_webpush_goes_where_the_town_routes_it_and_everywhere_when_urgent_only_in_a_town_that_has_it(
    town: Town, keys: tuple[str, Path]
) -> None:
    from site_tools.content.config import Category
    from site_tools.delivery.plan import channels_for

    add(town, URGENT, "2026-11-23-allerta")
    add(town, NORMAL, "2026-11-23-biblioteca")
    by_id = {b.id: b for b in load_content(town.config, check_bodies=False).bulletins}
    assert "webpush" not in channels_for(by_id["2026-11-23-allerta"], town.config)
    with_webpush(town, keys[0])
    config = town.config
    by_id = {b.id: b for b in load_content(config, check_bodies=False).bulletins}
    assert "webpush" in channels_for(by_id["2026-11-23-allerta"], config)
    # The fixture town routes «servizi» to its three channels by name: its own routing is kept.
    assert "webpush" not in channels_for(by_id["2026-11-23-biblioteca"], config)
    # Without a routing of its own, a category goes to the free notifications too.
    assert "webpush" in Category(slug="servizi", label="Servizi").channels


def test_the_pull_requests_preview_shows_the_notification(push_town: Town) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from site_tools.delivery.preview import preview_markdown

    path = push_town.write("2026-11-23-allerta.md", URGENT.format(id="2026-11-23-allerta", date="2026-11-23 12:00"))
    content = load_content(push_town.config, check_bodies=False)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Rome"))
    text = preview_markdown(content, [path], now, 100, Settings())
    section = text.split("**Notifiche del sito**", 1)[1]
    assert section.startswith(" – notifica di ") and "priorità alta, gratuita" in section.splitlines()[0]
    assert "⚠️ Allerta rossa" in section


def test_each_answer_of_a_push_service_is_read_as_the_rfc_says() -> None:
    from datetime import datetime, timedelta
    from email.utils import format_datetime

    from site_tools.channels.errors import Action
    from site_tools.channels.webpush import classify

    assert classify(201, None).ok
    assert classify(410, None).action is Action.PERMANENT and classify(404, None).http_status == 404
    assert classify(413, None).action is Action.STOP_RUN  # the same payload goes to everyone
    assert classify(429, "7").action is Action.THROTTLE and classify(429, "7").retry_after == 7
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 20 < (classify(429, later).retry_after or 0) <= 30  # Retry-After as an HTTP date
    assert classify(406, None).action is Action.THROTTLE  # WNS throttles with 406
    assert classify(503, None).action is Action.RETRY
    assert classify(403, None).action is Action.PERMANENT  # subscribed with another key: this one only


def test_two_runs_at_once_never_claim_the_same_subscription(store_url: str) -> None:
    import threading

    with closing(Store.open(store_url)) as store:
        for i in range(300):
            store.push.subscribe(f"https://fcm.googleapis.com/fcm/send/{i}", "B" * 87, "A" * 22)
    claims: dict[str, list[int]] = {"a": [], "b": []}

    def run(name: str) -> None:
        with closing(Store.open(store_url)) as store:
            while batch := store.push.claim("2026-11-23-allerta", f"run-{name}", limit=7):
                claims[name] += [s.id for s in batch]

    threads = [threading.Thread(target=run, args=(n,)) for n in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not set(claims["a"]) & set(claims["b"])
    assert len(claims["a"]) + len(claims["b"]) == 300


def test_publishing_sends_each_new_bulletin_once_to_the_browsers(
    push_town: Town, keys: tuple[str, Path], sim: Any, sqlite_url: str
) -> None:
    from .test_publisher import publish

    env = {"VAPID_PRIVATE_KEY": str(keys[1]), "VAPID_SUBJECT": SUBJECT, "WEBPUSH_SERVICES": sim.url}
    publish(push_town, sqlite_url, sim, env=env)  # the first run adopts the repository
    browsers(sim, keys[0], sqlite_url, 3)
    add(push_town, URGENT, "2026-11-23-allerta")
    plan, report = publish(push_town, sqlite_url, sim, env=env)
    (result,) = [r for r in report.results if r.channel == "webpush"]
    assert result.state == "done" and result.report is not None and result.report.accepted == 3
    publish(push_town, sqlite_url, sim, env=env, force=True)
    assert len(delivered(sim)) == 3
