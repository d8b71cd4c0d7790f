"""The Facebook Page, Mastodon and Bluesky: what each post says within the network's limits, the posts through the
simulator over real HTTP, nothing posted twice, the Bluesky session reused, and the signup page and posters."""

from __future__ import annotations

from dataclasses import replace

import pypdfium2
import pytest
import zxingcpp

from site_tools.aio import run_loop
from site_tools.channels.base import ChannelStopped
from site_tools.channels.bluesky import Account
from site_tools.content.config import load_config
from site_tools.content.loading import load_content
from site_tools.content.problems import InvalidContent
from site_tools.render.links import Links
from site_tools.render.share_image import share_image
from site_tools.render.social import (
    grapheme_count,
    mastodon_length,
    render_bluesky,
    render_facebook,
    render_mastodon,
)
from site_tools.store import Store

from .conftest import Town
from .services import simulator
from .test_publisher import NOW, URGENT, add, publish

SOCIAL = """telegram: "@valfiorita_avvisi"
    facebook:
      page_id: "1234567890"
      page_url: https://www.facebook.com/ComuneDiValfiorita
    mastodon:
      instance: https://mastodon.example
      account_url: https://mastodon.example/@valfiorita
      max_characters: 500
    bluesky:
      handle: valfiorita.bsky.social"""

LONG = """
id: {id}
title: "🇮🇹 Festa della Repubblica: cerimonia in piazza, concerto della banda e mostra 👨‍👩‍👧 per famiglie"
date: {date}
categories: [eventi]
priority: urgent
image: /img/stemma-valfiorita.png
summary: "Il 2 giugno alle 10:00 alzabandiera in piazza della Repubblica, poi il concerto della banda cittadina e la mostra fotografica sulla storia del paese. Ingresso libero, caffè e merenda offerti dalla Pro Loco. Perché è la festa di tutti: partecipate!"
event:
  start: 2026-06-02 10:00
  end: 2026-06-02 18:00
  location: Piazza della Repubblica, davanti al municipio, con il palco della banda e gli stand delle associazioni
"""


def social_town(town: Town, block: str = SOCIAL, **replacements: str) -> Town:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8").replace('telegram: "@valfiorita_avvisi"', block, 1)
    for old, new in replacements.items():
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return town


def first_run(town: Town, url: str, sim) -> None:  # type: ignore[no-untyped-def]
    """The first run adopts what is already there (nothing): only later bulletins are sent."""
    publish(town, url, sim)


def states(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.channel: r.state for r in report.results}


# --- the text within each network's limits ----------------------------------------------------------------


def test_graphemes_are_counted_as_people_see_them() -> None:
    assert grapheme_count("🇮🇹") == 1  # a flag: two code points
    assert grapheme_count("👨‍👩‍👧") == 1  # a family: five code points joined
    assert grapheme_count("e\u0300") == 1  # è as e + a combining accent
    assert grapheme_count("perché") == 6
    # Mastodon: every link is 23 characters, however long.
    assert mastodon_length("Vedi https://avvisi.comune.valfiorita.example.it/notizie/2026/06/festa/") == 5 + 23


def test_each_post_fits_its_network_and_keeps_the_link(town: Town) -> None:
    social_town(town)
    add(town, LONG, "festa-repubblica")
    config = town.config
    content = load_content(config, check_bodies=False)
    (b,) = content.bulletins
    links = Links.for_bulletins(config, content.bulletins)
    page = links.page(b)

    facebook = render_facebook(b, config, links)
    assert facebook.link == page and b.summary in facebook.message  # room enough: nothing shortened
    assert facebook.message.startswith("🔴 URGENTE\n🇮🇹 Festa della Repubblica")

    mastodon = render_mastodon(b, config, links)
    assert mastodon_length(mastodon) <= 500 and mastodon.endswith(f"👉 {page}")
    tight = replace(config, mastodon=config.mastodon.model_copy(update={"max_characters": 200}))
    short = render_mastodon(b, tight, links)
    assert mastodon_length(short) <= 200 and short.endswith(f"👉 {page}") and "…" in short
    assert b.title in short  # the summary and the details give way, not the title

    bluesky = render_bluesky(b, config, links)
    assert grapheme_count(bluesky.text) <= 300 and len(bluesky.text.encode()) <= 3000
    assert "…" in bluesky.text  # the long summary gave way
    (facet,) = bluesky.facets
    shown = bluesky.text.encode()[facet.byte_start : facet.byte_end].decode()
    assert facet.uri == page and page.removeprefix("https://").startswith(shown.rstrip("…"))
    # The emoji before the link are several bytes each: counting characters instead of bytes would miss it.
    assert facet.byte_start != len(bluesky.text[: bluesky.text.rindex(shown)])
    assert bluesky.image == (town.root / "content/img/stemma-valfiorita.png").resolve()


def test_the_configuration_is_refused_in_italian_with_the_fix(town: Town) -> None:
    social_town(town, **{'page_id: "1234567890"': "page_id: ComuneDiValfiorita"})
    with pytest.raises(InvalidContent) as info:
        load_config(town.root / "mkdocs.yml")
    assert "«ComuneDiValfiorita» non è l'identificativo numerico di una Pagina Facebook" in str(info.value)
    assert "facebook.page_id" in str(info.value)


def test_a_mastodon_account_on_another_server_is_refused(town: Town) -> None:
    social_town(town, **{"https://mastodon.example/@valfiorita": "https://mastodon.uno/@valfiorita"})
    with pytest.raises(InvalidContent) as info:
        load_config(town.root / "mkdocs.yml")
    assert "non è sul server «https://mastodon.example»" in str(info.value)


# --- through the simulator ------------------------------------------------------------------------------------


def test_an_urgent_bulletin_reaches_the_three_networks_once(town: Town, sqlite_url: str) -> None:
    social_town(town)
    with simulator("--latency", "0") as sim:
        first_run(town, sqlite_url, sim)
        add(town, LONG, "festa-repubblica")
        add(town, URGENT, "allerta-rossa")
        plan, report = publish(town, sqlite_url, sim)
        assert {(r.bulletin_id, r.channel): r.state for r in report.results if r.channel in SOCIAL_NAMES} == {
            (b, c): "done" for b in ("festa-repubblica", "allerta-rossa") for c in SOCIAL_NAMES
        }
        # One-post channels first; Bluesky (seconds of SDK imports) after the WhatsApp list's fan-out.
        assert [r.channel for r in report.results if r.bulletin_id == "allerta-rossa"] == [
            "telegram", "whatsapp_channel", "facebook", "mastodon", "whatsapp_list", "bluesky"
        ]  # fmt: skip
        posted = sim.messages()
        page = "https://avvisi.valfiorita.example.it/notizie/2026/11/allerta-rossa/"
        (fb,) = [p for p in posted["facebook"] if "Allerta rossa" in p["message"]]
        assert fb["link"].endswith("/allerta-rossa/") and fb["message"].startswith("🔴 URGENTE")
        (toot,) = [p for p in posted["mastodon"] if "Allerta rossa" in p["text"]]
        assert toot["idempotency_key"] == "allerta-rossa:mastodon" and toot["visibility"] == "public"
        (skeet,) = [p["record"] for p in posted["bluesky"] if "festa" in p["record"]["embed"]["external"]["uri"]]
        card = skeet["embed"]["external"]
        assert card["title"].startswith("🇮🇹 Festa della Repubblica") and card["thumb"]["mimeType"] == "image/png"
        assert skeet["langs"] == ["it"]
        (facet,) = skeet["facets"]
        link = facet["features"][0]["uri"]
        assert link == card["uri"] and link.endswith("/festa-repubblica/")
        assert page.split("/notizie/")[0] in link
        # A bulletin without an image: the card shows the town's preview, the very picture of the site's og:image.
        (alert,) = [
            p["record"] for p in posted["bluesky"] if "allerta-rossa" in p["record"]["embed"]["external"]["uri"]
        ]
        thumb = alert["embed"]["external"]["thumb"]
        assert thumb["mimeType"] == "image/png" and thumb["size"] == len(share_image(town.config))
        # Run again: nothing new anywhere.
        before = {k: len(posted[k]) for k in SOCIAL_NAMES}
        again_plan, again = publish(town, sqlite_url, sim)
        assert again.results == []
        assert {k: len(sim.messages()[k]) for k in SOCIAL_NAMES} == before == dict.fromkeys(SOCIAL_NAMES, 2)


SOCIAL_NAMES = ("facebook", "mastodon", "bluesky")
ONLY_BLUESKY = """telegram: "@valfiorita_avvisi"
    bluesky:
      handle: valfiorita.bsky.social"""


def test_the_bluesky_session_is_kept_refreshed_and_created_only_when_refused(town: Town, sqlite_url: str) -> None:
    social_town(town, ONLY_BLUESKY)
    with simulator("--latency", "0") as sim:
        sim.configure(bluesky_access_seconds=600)  # within the SDK's 15 minutes' margin: refreshed before use
        first_run(town, sqlite_url, sim)
        refreshed = 0
        for bulletin in ("uno", "due", "tre"):
            add(town, URGENT, f"allerta-{bulletin}")
            plan, report = publish(town, sqlite_url, sim)
            assert states(report).get("bluesky") == "done", report.results
            stats = sim.stats()
            assert stats.get("bluesky_sessions_created") == 1  # the app password once, in the first run
            # Tokens 10 minutes long: each run refreshes the stored session (the SDK, 15 minutes before expiry).
            assert stats.get("bluesky_sessions_refreshed", 0) > refreshed
            refreshed = stats["bluesky_sessions_refreshed"]
        store = Store.open(sqlite_url)
        stored = store.state.get("secret.bluesky.session.valfiorita.bsky.social")
        store.close()
        assert stored and "sim-bluesky-app-password" not in stored  # the tokens, never the password
        # The app password revoked the tokens (or they expired long ago): a new session, once.
        run_loop(_post("/_sim/bluesky/revoke", sim.url))
        add(town, URGENT, "allerta-quattro")
        plan, report = publish(town, sqlite_url, sim)
        assert states(report).get("bluesky") == "done"
        assert sim.stats().get("bluesky_sessions_created") == 2
        assert len(sim.messages()["bluesky"]) == 4


async def _post(path: str, base: str) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        (await client.post(base + path)).raise_for_status()


class Memory(dict):  # type: ignore[type-arg]
    def put(self, key: str, value: str) -> None:
        self[key] = value


def test_bluesky_logins_beyond_thirty_in_five_minutes_stop_with_the_time_to_retry() -> None:
    async def login_afresh(url: str) -> None:
        account = Account(url, "valfiorita.bsky.social", "sim-bluesky-app-password", Memory())
        try:
            await account.login()
        finally:
            await account.close()

    with simulator("--latency", "0") as sim:
        for _ in range(30):
            run_loop(login_afresh(sim.url))
        with pytest.raises(ChannelStopped) as info:
            run_loop(login_afresh(sim.url))
        assert "Bluesky limita gli accessi con la password per le app (30 ogni 5 minuti" in info.value.explanation
        assert sim.stats()["bluesky_sessions_refused"] == 1 and sim.stats()["bluesky_sessions_created"] == 30


def test_a_wrong_app_password_or_token_stops_the_channel_in_italian(town: Town, sqlite_url: str) -> None:
    social_town(town)
    wrong = {
        "FACEBOOK_PAGE_TOKEN": "EAAG-token-scaduto-0001",
        "MASTODON_ACCESS_TOKEN": "token-revocato-0002",
        "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop",
    }
    with simulator("--latency", "0") as sim:
        first_run(town, sqlite_url, sim)
        add(town, URGENT, "allerta-rossa")
        plan, report = publish(town, sqlite_url, sim, env=wrong)
        failed = {r.channel: r.detail for r in report.results if r.state == "failed"}
        assert "il token della Pagina non è valido o è scaduto" in failed["facebook"]
        assert "il token di Mastodon non è valido" in failed["mastodon"]
        assert "Bluesky rifiuta l'accesso di «valfiorita.bsky.social»" in failed["bluesky"]
        assert all(sim.messages()[k] == [] for k in SOCIAL_NAMES)


def test_a_text_the_server_refuses_is_reported_not_retried(town: Town, sqlite_url: str) -> None:
    social_town(town)  # the town says 500 characters; this server takes 100
    with simulator("--latency", "0") as sim:
        sim.configure(mastodon_max_characters=100)
        first_run(town, sqlite_url, sim)
        add(town, URGENT, "allerta-rossa")
        plan, report = publish(town, sqlite_url, sim)
        (result,) = [r for r in report.results if r.channel == "mastodon"]
        assert result.state == "failed"
        assert (
            "Mastodon ha rifiutato il testo: Validation failed: Text character limit of 100 exceeded" in result.detail
        )
        assert sim.messages()["mastodon"] == []


def test_a_post_answered_too_late_is_never_posted_twice(town: Town, sqlite_url: str) -> None:
    """The post is online but the answer comes after the client's timeout. Facebook and Bluesky have no
    idempotency key: the run stops and the next one does not post again. Mastodon's key makes a retry safe."""
    social_town(town)
    late = {"SITE_TOOLS_HTTP_TIMEOUT": "2"}  # generous: only the delayed answers may time out
    with simulator("--latency", "0") as sim:
        first_run(town, sqlite_url, sim)
        sim.configure(social_answer_delay=4)
        add(town, URGENT, "allerta-rossa")
        plan, report = publish(town, sqlite_url, sim, env=late)
        got = states(report)
        assert {c: got[c] for c in SOCIAL_NAMES} == {
            "facebook": "uncertain",
            "bluesky": "uncertain",
            "mastodon": "done",
        }
        assert sim.stats()["mastodon_idempotent_replays"] >= 1
        sim.configure(social_answer_delay=0)
        plan, again = publish(town, sqlite_url, sim, env=late)
        assert again.results == []
        assert sorted(c for _, c in again.uncertain) == ["bluesky", "facebook"]
        assert {k: len(sim.messages()[k]) for k in SOCIAL_NAMES} == dict.fromkeys(SOCIAL_NAMES, 1)


def test_the_preview_shows_each_network_with_its_count(town: Town) -> None:
    from site_tools.delivery.preview import preview_markdown
    from site_tools.settings import Settings

    social_town(town)
    add(town, LONG, "festa-repubblica")
    content = load_content(town.config, check_bodies=False)
    text = preview_markdown(content, [b.path for b in content.bulletins], NOW, 10, Settings.from_env({}))
    assert "**Pagina Facebook** – un post della Pagina" in text
    assert "**Mastodon** – un post pubblico (" in text and "/500 caratteri, i link contano 23)" in text
    assert "**Bluesky** – un post (" in text and "/300 caratteri) con la scheda del link (immagine" in text


def test_the_plan_routes_the_free_networks_by_default(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    social_town(town)
    text = path.read_text(encoding="utf-8")
    start = text.index("    categories:")
    path.write_text(text[:start] + text[text.index("\nnav:") :], encoding="utf-8")  # no categories: the defaults
    config = town.config
    events = config.category("eventi")
    assert events is not None and {"facebook", "mastodon", "bluesky"} <= set(events.channels)
    assert "whatsapp_list" not in events.channels  # the paid list still gets only what is essential


# --- the signup page and the posters -----------------------------------------------------------------------


def test_signup_offers_each_network_with_a_poster_whose_qr_code_opens_it(town: Town) -> None:
    from site_tools.site.posters import poster_name, poster_pdf
    from site_tools.site.signup import signup_channels

    social_town(town)
    config = town.config
    by_key = {c.key: c for c in signup_channels(config)}
    expected = {
        "facebook": "https://www.facebook.com/ComuneDiValfiorita",
        "mastodon": "https://mastodon.example/@valfiorita",
        "bluesky": "https://bsky.app/profile/valfiorita.bsky.social",
    }
    assert {"whatsapp_channel", "whatsapp_list", "telegram"} <= set(by_key)
    for key, link in expected.items():
        channel = by_key[key]
        assert channel.link == link and len(channel.steps) == 3
        pdf = pypdfium2.PdfDocument(poster_pdf(config, channel, "a4"))
        image = pdf[0].render(scale=150 / 72).to_pil()
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [link]
        assert "Segui il Comune su" in pdf[0].get_textpage().get_text_range()
        assert poster_name(channel, "a4") == f"manifesti/{key}-a4.pdf"


def test_a_town_without_the_networks_sends_nothing_there(town: Town, sqlite_url: str) -> None:
    with simulator("--latency", "0") as sim:
        first_run(town, sqlite_url, sim)
        add(town, URGENT, "allerta-rossa")
        plan, report = publish(town, sqlite_url, sim)
        assert {r.channel for r in report.results} == {"telegram", "whatsapp_channel", "whatsapp_list"}
        assert all(sim.messages()[k] == [] for k in SOCIAL_NAMES)


@pytest.mark.slow  # a site build of its own
def test_the_signup_page_has_a_button_a_qr_code_and_posters_for_each_network(town: Town) -> None:
    from lxml import html as lxml_html

    from site_tools.site.build import build_site

    social_town(town)
    out = build_site(town.root / "mkdocs.yml", town.root / "site")
    page = lxml_html.fromstring((out / "iscriviti/index.html").read_text(encoding="utf-8"))
    links = {
        "Pagina Facebook": "https://www.facebook.com/ComuneDiValfiorita",
        "Mastodon": "https://mastodon.example/@valfiorita",
        "Bluesky": "https://bsky.app/profile/valfiorita.bsky.social",
    }
    labels = [svg.get("aria-label") for svg in page.iter("{http://www.w3.org/2000/svg}svg", "svg")]
    for name, link in links.items():
        assert page.xpath(f'//a[contains(@class, "md-button")][@href="{link}"]'), name
        assert f"Codice QR: {name} del Comune di Valfiorita" in labels
    for key in ("facebook", "mastodon", "bluesky"):
        for size in ("a4", "a3"):
            assert (out / f"manifesti/{key}-{size}.pdf").stat().st_size > 1000
