"""The search index within its budget: recent bulletins by their text, old ones by their title."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from site_tools.site import search

from .conftest import Town
from .test_site import _Quiet, build_at

N = 40
#: Every bulletin's body has a word of its own: «parolaunica0» … «parolaunica39».
BULLETIN = """
id: avviso-{i}
title: Avviso numero {i} sul {subject}
date: 2026-{month:02d}-{day:02d} 09:00
categories: [servizi]
summary: Un avviso di prova del Comune, il numero {i}, per la ricerca nel sito.
"""


@pytest.fixture(scope="module")
def small_budget_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A town of N bulletins with a budget that gives full text to a few, summaries to some, titles to the rest."""
    root = tmp_path_factory.mktemp("search-town")
    town = Town(root, with_demo=False)
    for i in range(N):
        month, day = 1 + i // 4, 1 + (i % 4) * 7
        subject = "mercato coperto" if i == 0 else f"argomento {i}"
        body = f"Testo dell'avviso con la parolaunica{i} e altre parole comuni.\n" + "Riga di testo. " * 20
        town.write(
            f"2026-{month:02d}-{day:02d}-avviso-{i}.md",
            BULLETIN.format(i=i, month=month, day=day, subject=subject),
            body,
        )
    with pytest.MonkeyPatch.context() as mp:
        # What 1.8 MB is to 10,000 bulletins, a few kB are to 40: the three tiers all appear.
        titles = sum(
            search._size(f"notizie/2026/01/avviso-{i}/", f"Avviso numero {i} sul argomento", "Servizi")
            for i in range(N)
        )
        mp.setattr(search, "BUDGET", titles + 3000)
        return build_at("2026-11-23 12:00", root / "site", root / "mkdocs.yml")


def entries(site: Path) -> dict[str, str]:
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    return {d["title"]: d["text"] for d in index["docs"] if d["location"].startswith("notizie/")}


def test_every_bulletin_is_in_the_index_newest_with_their_text(small_budget_site: Path) -> None:
    found = entries(small_budget_site)
    assert len(found) == N
    newest, oldest = found[f"Avviso numero {N - 1} sul argomento {N - 1}"], found["Avviso numero 0 sul mercato coperto"]
    assert f"parolaunica{N - 1}" in newest and newest.startswith("Un avviso di prova")
    assert "parolaunica0" not in oldest and oldest == "Servizi"
    tiers = [("parolaunica" in t, t.startswith("Un avviso")) for t in found.values()]
    assert (True, True) in tiers and (False, True) in tiers and (False, False) in tiers


@pytest.fixture(scope="module")
def search_server(small_budget_site: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(small_budget_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


@pytest.mark.parametrize(
    "query,expected",
    [("mercato coperto", "Avviso numero 0 sul mercato coperto"), (f"parolaunica{N - 1}", f"Avviso numero {N - 1}")],
    ids=["old-by-title", "recent-by-body"],
)
def test_search_in_the_browser_finds_old_titles_and_recent_text(
    page,  # noqa: F811 - the fixture
    search_server: str,
    query: str,
    expected: str,
) -> None:
    page.goto(search_server)
    page.locator("input.md-search__input").press_sequentially(query, delay=20)
    page.locator(".md-search-result__item").first.wait_for()
    assert expected in page.locator(".md-search-result__list").inner_text()
