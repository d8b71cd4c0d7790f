"""A town that sends no weekly digest (no ``extra.town.digest``: every new town, as scaffolded) must not offer the
«settimanale» choice: a citizen who took it would get the urgent bulletins only, and never the digest it promises.
The signup page, the confirmations and the keywords offer «tutto» and «solo urgenti» only; with a digest, all three."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from site_tools.service.keywords import choice
from site_tools.site.build import build_site
from site_tools.store.choices import CHOICES, EVERYTHING, WEEKLY, offered

from .conftest import FIXTURE_TOWN
from .services import phones
from .test_choices import WA, _send
from .test_subscriptions import Service
from .test_subscriptions import service as service  # noqa: F401 (the fixture: the fixture town has no digest)


def test_the_signup_page_of_a_town_without_digest_does_not_offer_the_weekly_choice(tmp_path: Path) -> None:
    build_site(FIXTURE_TOWN / "mkdocs.yml", tmp_path / "site", strict=False)
    page = LexborHTMLParser((tmp_path / "site" / "iscriviti" / "index.html").read_text(encoding="utf-8"))
    links = [a.text().strip() for a in page.css("a.st-choice")]
    assert links == ["Tutti gli avvisi", "Solo gli avvisi urgenti"]
    assert "SETTIMANALE" not in page.html


def test_the_weekly_keyword_is_not_a_choice_without_a_digest() -> None:
    assert offered(False) == (EVERYTHING, "urgenti") and offered(True) == CHOICES
    assert choice("VALFIORITA SETTIMANALE", WA, offered(False)) is None
    assert choice("VALFIORITA SETTIMANALE", WA, offered(True)) == WEEKLY


def test_a_subscriber_of_a_town_without_digest_is_not_moved_to_a_digest_that_never_comes(service: Service) -> None:
    (citizen,) = phones(1)
    _send(service, citizen, "VALFIORITA ON", "wamid.d1")
    service.settle()
    _send(service, citizen, "VALFIORITA SETTIMANALE", "wamid.d2")
    service.drained()
    with closing(service.store()) as store:
        assert store.subscribers.get(citizen).choice == EVERYTHING  # type: ignore[union-attr]
    texts = service.texts_to(citizen)
    assert "Iscrizione confermata" in texts[0]
    assert all("riepilogo" not in t and "SETTIMANALE" not in t for t in texts), texts
