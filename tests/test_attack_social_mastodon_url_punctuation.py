"""Mastodon counts a link as 23 characters, but a link ends where twitter-text ends it: not on the «).» or «»» that
follow it in Italian prose. A summary with «(https://…).» at the limit must still fit the server's count."""

from __future__ import annotations

from .conftest import Town
from .services import simulator
from .test_publisher import add, publish
from .test_social_channels import first_run, social_town

ONLY_MASTODON = """telegram: "@valfiorita_avvisi"
    mastodon:
      instance: https://mastodon.example
      account_url: https://mastodon.example/@valfiorita
      max_characters: 200"""

TARI = """
id: {id}
title: Scadenza della TARI
date: {date}
categories: [protezione-civile]
priority: urgent
summary: "Il modulo è sul sito (https://www.comune.example.it/tari). Le istruzioni sono sul portale «https://servizi.example.it/tari»: {tail}"
"""


def test_a_link_followed_by_punctuation_is_counted_as_mastodon_does(town: Town, sqlite_url: str) -> None:
    social_town(town, ONLY_MASTODON)
    with simulator("--latency", "0") as sim:
        sim.configure(mastodon_max_characters=200)
        first_run(town, sqlite_url, sim)
        add(town, TARI.replace("{tail}", "x" * 120), "tari")  # shortened to the very limit
        plan, report = publish(town, sqlite_url, sim)
        (result,) = [r for r in report.results if r.channel == "mastodon"]
        assert result.state == "done", result.detail
        (post,) = sim.messages()["mastodon"]
        assert "(https://www.comune.example.it/tari)." in post["text"] and post["text"].count("x") > 20
