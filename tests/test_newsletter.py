"""The e-mail newsletter: double opt-in through the service, bulletins through a real SMTP session (a local aiosmtpd
sink), once per address, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from selectolax.lexbor import LexborHTMLParser
from starlette.applications import Starlette
from starlette.testclient import TestClient

from site_tools.aio import run_loop
from site_tools.channels import email as email_channel
from site_tools.channels import newsletter_tokens as tokens
from site_tools.channels.email import EmailChannel
from site_tools.content.config import TownConfig, load_config
from site_tools.content.loading import load_content
from site_tools.delivery.fanout import FanOutOptions
from site_tools.delivery.plan import make_plan, validate_for_publishing
from site_tools.delivery.publisher import Publisher
from site_tools.devtools.smtp_sink import SmtpSink, start
from site_tools.render.links import Links
from site_tools.service.newsletter import Limits, NewsletterService
from site_tools.service.ratelimit import RateLimit
from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import Town
from .services import simulator

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=ROME)
SERVICE = "https://servizi.valfiorita.example.it"
SITE_ORIGIN = "https://avvisi.valfiorita.example.it"
SECRET = "una-frase-segreta-lunga-per-firmare-i-link-0123456789"
NEWSLETTER = f"""    newsletter:
      sender: avvisi@valfiorita.example.it
      sender_name: Comune di Valfiorita - Avvisi
      reply_to: urp@valfiorita.example.it
      service_url: {SERVICE}
"""
BULLETIN = """
id: {id}
title: {title}
date: 2026-11-23 11:00
categories: [eventi]
summary: Sabato in piazza del Comune il mercato dei produttori locali, dalle 8 alle 13, con il laboratorio per i bambini.
"""


def with_newsletter(town: Town) -> Town:
    """The fixture town with a newsletter, and the newsletter in every category's channels."""
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8").replace("  town:\n", "  town:\n" + NEWSLETTER, 1)
    path.write_text(re.sub(r"telegram\]\}", "telegram, email]}", text), encoding="utf-8")
    return town


@pytest.fixture
def news_town(town: Town) -> Town:
    return with_newsletter(town)


@pytest.fixture
def sink() -> Iterator[tuple[SmtpSink, int]]:
    box = SmtpSink()
    controller = start(box)
    try:
        yield box, controller.port
    finally:
        controller.stop()


def smtp_env(port: int, pool: int = 4) -> dict[str, str]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "SMTP_POOL": str(pool),
        "NEWSLETTER_SECRET": SECRET,
    }


def service_client(config: TownConfig, port: int, url: str, limits: Limits | None = None) -> Iterator[TestClient]:
    svc = NewsletterService(config, Settings.from_env(smtp_env(port)), lambda: Store.open(url), limits)
    try:
        with TestClient(Starlette(routes=svc.routes()), base_url=SERVICE) as client:
            yield client
    finally:
        svc.close()


def ask(client: TestClient, address: str, **extra: str):
    return client.post(
        "/newsletter/iscrizione",
        data={"email": address, "consenso": "si", **extra},
        headers={"Origin": SITE_ORIGIN},
        follow_redirects=False,
    )


def link_in(text: str, path: str) -> str:
    found = re.search(rf"{re.escape(SERVICE)}{path}\?t=[A-Za-z0-9._-]+", text)
    assert found, text
    return found.group(0)


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def publish(town: Town, url: str, sim, port: int, pool: int = 4):
    config = town.config
    content = load_content(config, check_bodies=False)
    store = Store.open(url)
    try:
        plan = make_plan(content, store, NOW)
        validate_for_publishing(content, plan)
        settings = Settings.from_env({**sim.env(), **smtp_env(port, pool)})
        publisher = Publisher(
            config, store, settings, Links.for_bulletins(config, content.bulletins), FanOutOptions(progress=False)
        )
        return run_loop(publisher.publish(plan))
    finally:
        store.close()


def write(town: Town, id: str, title: str = "Mercato dei produttori in piazza") -> None:
    town.write(f"{id}.md", BULLETIN.format(id=id, title=title))


# -- the whole path a citizen takes ----------------------------------------------------------------------------------


def test_double_opt_in_then_a_bulletin_then_one_click_unsubscribe(news_town: Town, sink, store_url: str) -> None:
    box, port = sink
    with simulator() as sim:
        assert publish(news_town, store_url, sim, port).results == []  # the first run adopts the (empty) archive
        client_gen = service_client(news_town.config, port, store_url)
        client = next(client_gen)
        answer = ask(client, "Mario.Rossi@Esempio.IT")
        assert answer.status_code == 303
        outcome = client.get(answer.headers["location"])
        assert "riceverai a breve un'e-mail con un link per confermare" in outcome.text

        # The confirmation e-mail, as the SMTP server got it: to the address (domain in lower case), with the link.
        [confirmation] = box.received_by("Mario.Rossi@esempio.it")
        message = confirmation.message
        assert message["Subject"] == "Conferma l'iscrizione agli avvisi del Comune di Valfiorita"
        assert confirmation.sender == "avvisi@valfiorita.example.it"
        confirm = link_in(message.get_content(), "/newsletter/conferma")
        store = Store.open(store_url)
        assert store.newsletter.count() == 0  # pending: nothing is sent before the confirmation
        page = client.post(local(confirm))  # the button on the page the link opens (a GET confirms nothing)
        assert page.status_code == 200 and "Iscrizione confermata" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert store.newsletter.count() == 1
        consent_at, source, text = store.newsletter.consent(1)
        assert consent_at and source == "modulo del sito" and "Comune di Valfiorita" in (text or "")

        write(news_town, "2026-11-23-mercato")
        report = publish(news_town, store_url, sim, port)
        assert [(r.channel, r.state) for r in report.results if r.channel == "email"] == [("email", "done")]
        bulletin = box.received_by("Mario.Rossi@esempio.it")[-1].message
        assert bulletin["Subject"] == "Mercato dei produttori in piazza"
        assert bulletin["From"] == "Comune di Valfiorita - Avvisi <avvisi@valfiorita.example.it>"
        assert bulletin["Reply-To"] == "urp@valfiorita.example.it"
        assert bulletin.get_content_type() == "multipart/alternative"
        plain = bulletin.get_body(("plain",))
        rich = bulletin.get_body(("html",))
        assert plain is not None and rich is not None
        assert "Sabato in piazza del Comune il mercato" in plain.get_content()
        tree = LexborHTMLParser(rich.get_content())
        assert tree.css_first("h1").text() == "Mercato dei produttori in piazza"
        # RFC 2369 and RFC 8058: one https link in angle brackets, and the one-click POST key.
        header = bulletin["List-Unsubscribe"]
        assert re.fullmatch(rf"<{re.escape(SERVICE)}/newsletter/cancella\?t=[A-Za-z0-9._-]+>", header)
        assert bulletin["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = header[1:-1]
        assert unsubscribe in plain.get_content()
        assert [a.attributes["href"] for a in tree.css("a") if "cancella" in (a.attributes["href"] or "")] == [
            unsubscribe
        ]

        # The mail client's one-click POST: no page to confirm, unsubscribed at once.
        left = client.post(local(unsubscribe), data={"List-Unsubscribe": "One-Click"})
        assert left.status_code == 200 and "non riceverai più" in left.text
        assert store.newsletter.status(1) == "left"
        write(news_town, "2026-11-23-secondo", "Secondo avviso")
        before = len(box.received_by("Mario.Rossi@esempio.it"))
        publish(news_town, store_url, sim, port)
        assert len(box.received_by("Mario.Rossi@esempio.it")) == before
        store.close()
        client_gen.close()


def test_the_unsubscribe_link_opened_in_a_browser_asks_first(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    store = Store.open(sqlite_url)
    store.newsletter.add_active(["anna@esempio.it"], "test", "test")
    link = email_channel.unsubscribe_url(news_town.config, SECRET, 1)
    for client in service_client(news_town.config, port, sqlite_url):
        page = client.get(local(link))
        assert page.status_code == 200
        form = LexborHTMLParser(page.text).css_first("form")
        assert form.attributes["method"] == "post" and form.attributes["action"] == link
        assert store.newsletter.status(1) == "active"  # a GET (a link scanner, a prefetch) changes nothing
        assert client.post(form.attributes["action"] or "").status_code == 200
    assert store.newsletter.status(1) == "left"
    store.close()


# -- abuse -----------------------------------------------------------------------------------------------------------


def test_the_form_is_rate_limited_per_client_and_per_address(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    for client in service_client(news_town.config, port, sqlite_url):
        # One address asked for four times: three confirmation e-mails, then none, and the same answer every time.
        answers = [ask(client, "vittima@esempio.it") for _ in range(4)]
        assert {(a.status_code, a.headers["location"]) for a in answers} == {
            (303, f"{SERVICE}/newsletter/esito?e=controlla")
        }
        assert len(box.received_by("vittima@esempio.it")) == 3
        # Five requests from one client, then 429 with the wait.
        assert ask(client, "altro@esempio.it").status_code == 303
        refused = ask(client, "terzo@esempio.it")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "Troppe richieste" in refused.text
        assert box.received_by("terzo@esempio.it") == []


def test_the_form_never_tells_who_is_subscribed(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    store = Store.open(sqlite_url)
    store.newsletter.add_active(["iscritto@esempio.it"], "test", "test")
    for client in service_client(news_town.config, port, sqlite_url):
        known, unknown = ask(client, "iscritto@esempio.it"), ask(client, "nuovo@esempio.it")
        assert (known.status_code, known.headers["location"], known.content) == (
            unknown.status_code,
            unknown.headers["location"],
            unknown.content,
        )
    # Already subscribed: nothing to confirm, but an e-mail all the same (saying so), so the time the answer takes
    # does not tell either (tests/test_attack_newsletter_membership.py).
    [note] = box.received_by("iscritto@esempio.it")
    assert "/newsletter/conferma" not in note.message.get_content()
    assert len(box.received_by("nuovo@esempio.it")) == 1
    store.close()


@pytest.mark.parametrize(
    "typed",
    [
        "a@esempio.it\r\nBcc: tutti@altrove.it",
        "a@esempio.it\nBcc: tutti@altrove.it",
        "a@esempio.it, tutti@altrove.it",
        "Mario <a@esempio.it>",
        "a@esempio",
        "",
        "x" * 65 + "@esempio.it",
    ],
)
def test_an_address_that_is_not_one_is_refused_and_nothing_is_sent(
    news_town: Town, sink, sqlite_url: str, typed: str
) -> None:
    box, port = sink
    for client in service_client(news_town.config, port, sqlite_url):
        answer = ask(client, typed)
        assert answer.status_code == 400 and "L'indirizzo e-mail scritto nel modulo non è valido" in answer.text
    assert box.messages == []
    store = Store.open(sqlite_url)
    assert store.newsletter.count("pending") == 0
    store.close()


def test_a_header_injection_never_reaches_the_message(news_town: Town) -> None:
    with pytest.raises(ValueError):
        email_channel.compose(news_town.config, "a@esempio.it\r\nBcc: x@y.it", "Oggetto", "testo", None, "<1@x.it>")
    with pytest.raises(ValueError):  # the email package refuses a line break in any header, the subject's too
        email_channel.compose(news_town.config, "a@esempio.it", "Uno\r\nBcc: x@y.it", "testo", None, "<1@x.it>")
    raw = email_channel.compose(news_town.config, "a@esempio.it", "Uno", "testo\r\nBcc: x@y.it", None, "<1@x.it>")
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^Bcc:", headers, re.M)  # a line break in the body stays in the body


def test_requests_without_consent_or_from_another_site_or_a_robot_send_nothing(
    news_town: Town, sink, sqlite_url: str
) -> None:
    box, port = sink
    for client in service_client(news_town.config, port, sqlite_url):
        no_consent = client.post(
            "/newsletter/iscrizione", data={"email": "a@esempio.it"}, headers={"Origin": SITE_ORIGIN}
        )
        assert no_consent.status_code == 400 and "consenso" in no_consent.text
        foreign = client.post(
            "/newsletter/iscrizione",
            data={"email": "a@esempio.it", "consenso": "si"},
            headers={"Origin": "https://altro.example.com"},
        )
        assert foreign.status_code == 403
        robot = ask(client, "b@esempio.it", sito="https://spam.example.com")
        assert robot.status_code == 303  # answered as usual
    assert box.messages == []


def test_forged_altered_expired_or_misused_tokens_are_refused(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    store = Store.open(sqlite_url)
    asked = store.newsletter.request("c@esempio.it")
    good = tokens.make(SECRET, tokens.CONFIRM, asked.address_id)
    bad = [
        "",
        "c1.1.AAAAAAAAAAAAAAAAAAAAAA",  # forged
        good[:-1] + ("A" if good[-1] != "A" else "B"),  # altered
        good.replace(f"c{asked.address_id}.", "c99."),  # another address, same signature
        tokens.make("un-altro-segreto", tokens.CONFIRM, asked.address_id),  # another secret
        tokens.make(SECRET, tokens.CONFIRM, asked.address_id, now=time.time() - tokens.CONFIRM_MAX_AGE - 10),
        tokens.make(SECRET, tokens.UNSUBSCRIBE, asked.address_id),  # an unsubscribe token used to confirm
    ]
    for client in service_client(news_town.config, port, sqlite_url):
        for token in bad:
            page = client.get("/newsletter/conferma", params={"t": token})
            assert page.status_code == 400 and "non è valido o è scaduto" in page.text, token
        assert store.newsletter.status(asked.address_id) == "pending"
        unsubscribe = client.post("/newsletter/cancella", params={"t": good})  # a confirm token to unsubscribe
        assert unsubscribe.status_code == 400
        assert client.post("/newsletter/conferma", params={"t": good}).status_code == 200
    assert store.newsletter.status(asked.address_id) == "active"
    store.close()


# -- once per address ------------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What the publisher lends the channel (DeliveryContext), for the channel alone."""

    config: TownConfig
    settings: Settings
    links: Links
    run_id: str
    store: Store

    @property
    def newsletter(self):  # type: ignore[no-untyped-def]
        return self.store.newsletter


def deliver(town: Town, url: str, port: int, run_id: str, pool: int = 4, bulletin_id: str = "2026-11-23-mercato"):
    config = town.config
    content = load_content(config, check_bodies=False)
    [bulletin] = [b for b in content.bulletins if b.id == bulletin_id]
    settings = Settings.from_env(smtp_env(port, pool))
    store = Store.open(url)
    try:
        ctx = Context(config, settings, Links.for_bulletins(config, content.bulletins), run_id, store)
        return run_loop(EmailChannel(config, settings).deliver(bulletin, ctx))
    finally:
        store.close()


def addresses(n: int) -> list[str]:
    return [f"cittadino{i:05d}@esempio.it" for i in range(n)]


def test_delivering_twice_sends_nothing_twice(news_town: Town, sink, store_url: str) -> None:
    box, port = sink
    store = Store.open(store_url)
    store.newsletter.add_active(addresses(120), "test", "test")
    store.close()
    write(news_town, "2026-11-23-mercato")
    first = deliver(news_town, store_url, port, "run-1")
    assert first.state == "done" and first.recipients == 120
    second = deliver(news_town, store_url, port, "run-2")
    assert second.state == "done"
    received = Counter(r for m in box.messages for r in m.recipients)
    assert len(received) == 120 and set(received.values()) == {1}


def test_a_crash_mid_send_resumes_the_rest_and_sends_nothing_twice(news_town: Town, sink, store_url: str) -> None:
    box, port = sink
    store = Store.open(store_url)
    store.newsletter.add_active(addresses(300), "test", "test")
    store.close()
    write(news_town, "2026-11-23-mercato")
    config = news_town.config
    content = load_content(config, check_bodies=False)
    settings = Settings.from_env(smtp_env(port, 4))

    async def crash() -> None:
        """The run dies (its task is cancelled, nothing after it is recorded) once 100 messages were taken."""
        box.before_accept = lambda recipients: time.sleep(0.005)  # a server slower than the test
        ctx = Context(
            config, settings, Links.for_bulletins(config, content.bulletins), "run-dies", Store.open(store_url)
        )
        task = asyncio.ensure_future(EmailChannel(config, settings).deliver(content.bulletins[0], ctx))
        while box.counts["accepted"] < 100:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_loop(crash())
    taken = box.counts["accepted"]
    assert 100 <= taken < 300
    resumed = deliver(news_town, store_url, port, "run-resumes")
    received = Counter(r for m in box.messages for r in m.recipients)
    assert set(received.values()) == {1}  # never twice
    store = Store.open(store_url)
    counts = store.newsletter.counts("2026-11-23-mercato")
    store.close()
    # Only the messages in flight when the run died (at most one per connection) are left unsent, never guessed.
    assert counts.get("sending", 0) <= 4
    assert len(received) >= 300 - counts.get("sending", 0)
    assert resumed.state == "done"


def test_a_4xx_is_tried_again_and_a_5xx_stops_writing_to_the_address(
    news_town: Town, sink, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = sink
    monkeypatch.setattr(email_channel, "RETRY_DELAYS", (0.2, 0.2, 0.2, 0.2))
    store = Store.open(store_url)
    store.newsletter.add_active(["grigia@esempio.it", "inesistente@esempio.it", "buona@esempio.it"], "t", "t")
    box.defer("grigia@esempio.it", times=2)
    box.refuse("inesistente@esempio.it")
    write(news_town, "2026-11-23-mercato")
    write(news_town, "2026-11-23-secondo", "Secondo avviso")
    result = deliver(news_town, store_url, port, "run-1")
    assert result.state == "done" and "2 inviate" in result.detail and "1 rifiutate" in result.detail
    assert len(box.received_by("grigia@esempio.it")) == 1  # greylisted twice, then taken
    assert store.newsletter.status(2) == "bouncing"
    deliver(news_town, store_url, port, "run-2", bulletin_id="2026-11-23-secondo")
    assert store.newsletter.counts("2026-11-23-secondo") == {"sent": 2}
    assert box.counts["refused"] == 1  # the bouncing address was not tried again
    store.close()


def test_a_server_that_caps_messages_per_session_gets_a_new_session(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    box.per_session = 7
    store = Store.open(sqlite_url)
    store.newsletter.add_active(addresses(50), "t", "t")
    store.close()
    write(news_town, "2026-11-23-mercato")
    result = deliver(news_town, sqlite_url, port, "run-1", pool=2)
    received = Counter(r for m in box.messages for r in m.recipients)
    assert result.state == "done" and len(received) == 50 and set(received.values()) == {1}
    assert box.counts["closed"] >= 1


def test_an_unreachable_server_stops_the_channel_and_loses_nothing(news_town: Town, sqlite_url: str) -> None:
    from .services import free_port

    store = Store.open(sqlite_url)
    store.newsletter.add_active(addresses(5), "t", "t")
    write(news_town, "2026-11-23-mercato")
    result = deliver(news_town, sqlite_url, free_port(), "run-1", pool=2)
    assert result.state == "failed" and result.channel_down
    assert "server SMTP non raggiungibile" in result.detail
    assert store.newsletter.counts("2026-11-23-mercato") == {"queued": 5}  # all owed, for the next run
    store.close()


# -- the rendering, the town's block ---------------------------------------------------------------------------------


def test_the_render_escapes_what_editors_write_and_keeps_the_subject_one_line(news_town: Town) -> None:
    news_town.write(
        "2026-11-23-x.md",
        BULLETIN.format(id="2026-11-23-x", title='Festa <script>alert(1)</script> & "musica" ' + "lunga " * 9),
        body="Con **la banda** e [il programma](https://esempio.it/p?a=1&b=2).\n\n<b>grassetto scritto a mano</b>\n",
    )
    config = news_town.config
    [bulletin] = load_content(config, check_bodies=False).bulletins
    rendered = EmailChannel(config, Settings.from_env({})).render(bulletin, Links(config))
    assert "testo e HTML" in rendered.facts
    from site_tools.render.email import SUBJECT_MAX, render_email

    parts = render_email(bulletin, config)
    assert len(parts.subject) <= SUBJECT_MAX and "\n" not in parts.subject
    tree = LexborHTMLParser(parts.html)
    assert tree.css("script") == []
    assert [a.attributes["href"] for a in tree.css("a")][0] == "https://esempio.it/p?a=1&b=2"
    assert "la banda (" not in parts.text and "il programma (https://esempio.it/p?a=1&b=2)" in parts.text


def test_a_newsletter_without_the_service_address_is_refused_in_italian(town: Town) -> None:
    from site_tools.content.problems import InvalidContent

    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  town:\n", "  town:\n    newsletter:\n      sender: avvisi@valfiorita.example.it\n", 1)
    )
    with pytest.raises(InvalidContent) as refused:
        load_config(path)
    assert "service_url" in str(refused.value)
    path.write_text(text.replace("  town:\n", "  town:\n    newsletter:\n      sender: non-un-indirizzo\n", 1))
    with pytest.raises(InvalidContent) as refused:
        load_config(path)
    assert "non è un indirizzo e-mail" in str(refused.value)


def test_the_town_with_a_newsletter_has_the_channel(news_town: Town) -> None:
    config = news_town.config
    assert "email" in config.enabled_channels()
    assert config.newsletter_service_url == SERVICE
    channel = EmailChannel(config, Settings.from_env({}))
    assert {p.field for p in channel.missing_secrets()} == {"SMTP_HOST", "NEWSLETTER_SECRET"}


def test_the_limits_are_their_own_per_address(news_town: Town) -> None:
    limits = Limits(by_address=RateLimit(rate=1 / 3600, burst=1, total_rate=1e6, total_burst=1e6))
    assert limits.by_address.check("a") == 0 and limits.by_address.check("a") > 0
    assert limits.by_address.check("b") == 0


# -- the form on the signup page -------------------------------------------------------------------------------------


def test_the_signup_page_has_the_form_and_the_site_allows_only_that_form_target(news_town: Town) -> None:
    from site_tools.site import csp, sanitize
    from site_tools.site.signup import NEWSLETTER_SLOT, newsletter_action, newsletter_form, with_newsletter_form

    config = news_town.config
    action = newsletter_action(config)
    assert action == f"{SERVICE}/newsletter/iscrizione"
    assert NEWSLETTER_SLOT in newsletter_form(config)
    page = with_newsletter_form(f"<html><head></head><body><p>{NEWSLETTER_SLOT}</p></body></html>", config)
    form = LexborHTMLParser(page).css_first("form")
    assert (form.attributes["action"], form.attributes["method"]) == (action, "post")
    names = {i.attributes.get("name") for i in form.css("input")}
    assert names == {"email", "consenso", "sito"}
    assert sanitize.inspect_page(page, set(), config.site_url, newsletter_url=action) == []
    # Any other target is still refused, and on other pages the newsletter's too.
    elsewhere = page.replace(action, "https://altro.example.com/raccolta")
    assert sanitize.inspect_page(elsewhere, set(), config.site_url, newsletter_url=action)
    assert sanitize.inspect_page(page, set(), config.site_url)
    rules = csp.rules_for("", newsletter_url=action)
    assert csp.policy_for("iscriviti/", rules)["form-action"] == (f"{SERVICE}/newsletter/",)
    assert csp.policy_for("notizie/2026/11/x/", rules)["form-action"] == ("'none'",)


def test_without_a_newsletter_the_signup_page_has_no_form(town: Town) -> None:
    from site_tools.site.signup import newsletter_action, newsletter_form

    assert newsletter_action(town.config) is None and newsletter_form(town.config) == ""


@pytest.mark.slow
def test_the_built_signup_page_carries_the_form_past_the_final_check(news_town: Town, tmp_path) -> None:
    from .test_site import build_at

    site = build_at("2026-11-23 12:00", tmp_path / "site", news_town.root / "mkdocs.yml")
    page = (site / "iscriviti" / "index.html").read_text(encoding="utf-8")
    tree = LexborHTMLParser(page)
    form = tree.css_first("form.st-newsletter")
    assert form is not None and form.attributes["action"] == f"{SERVICE}/newsletter/iscrizione"
    policy = tree.css_first('meta[http-equiv="Content-Security-Policy"]').attributes["content"] or ""
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert f"{SERVICE}/newsletter/" in directives["form-action"].split()
    other = (site / "index.html").read_text(encoding="utf-8")
    policy = LexborHTMLParser(other).css_first('meta[http-equiv="Content-Security-Policy"]').attributes["content"]
    assert f"{SERVICE}/newsletter/" not in (policy or "") and "st-newsletter" not in other
