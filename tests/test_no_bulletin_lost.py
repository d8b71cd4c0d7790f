"""The publishing side: no bulletin is silently lost or held up.

Each test is one way a bulletin could be lost, run as CI runs it: the
``site-tools`` command (in this process), the API simulator over real HTTP,
a real store, and (for the Channel post) a small GitHub API served over real
HTTP by the test.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from site_tools.store import Store

from .command import Ran, site_tools
from .conftest import Town
from .services import phones, send_json, serving, simulator
from .test_social_channels import ONLY_BLUESKY, social_town

pytestmark = pytest.mark.slow  # whole publishing runs, scenario by scenario, against the simulator

NOW = "2026-11-23 12:00"
URGENT = """
id: {id}
title: Fuga di gas in via Garibaldi, stare lontani
date: {date}
categories: [protezione-civile]
priority: urgent
summary: Fuga di gas in via Garibaldi, la strada è chiusa. Chi abita ai numeri 1-30 resti in casa con le finestre chiuse.
"""
NORMAL = """
id: {id}
title: Nuovo orario della biblioteca comunale
date: {date}
categories: [servizi]
summary: Da lunedì la biblioteca comunale è aperta anche il sabato mattina, dalle 9:00 alle 13:00, con il prestito.
"""


def write(town: Town, name: str, template: str, id: str, date: str = "2026-11-23 11:30", extra: str = "") -> Path:
    return town.write(name, template.format(id=id, date=date) + extra)


def cli(town: Town, *args: str, env: dict[str, str], now: str = NOW) -> Ran:
    return site_tools(*args, cwd=town.root, env={"SITE_TOOLS_NOW": now, **env})


def subscribe(url: str, n: int) -> None:
    store = Store.open(url)
    store.subscribers.bulk_subscribe(phones(n), "test")
    store.close()


def sent(sim: Any, bulletin_id: str) -> Counter[str]:
    return Counter(m["to"] for m in sim.messages()["whatsapp"] if m["callback"] == bulletin_id)


def on_telegram(sim: Any, title: str) -> list[str]:
    return [m["text"] for m in sim.messages()["telegram"] if title in m["text"]]


def state(url: str, bulletin_id: str, channel: str) -> str | None:
    store = Store.open(url)
    try:
        pub = store.ledger.publication(bulletin_id, channel)
        return pub.state if pub else None
    finally:
        store.close()


# -- case 1: a new town's first bulletin ----------------------------------------------------------
def test_a_new_towns_first_bulletin_is_sent_after_a_run_that_failed_on_a_missing_secret(
    town: Town, store_url: str
) -> None:
    with simulator("--latency", "0.01") as sim:
        subscribe(store_url, 5)
        env = {**sim.env(), "SITE_TOOLS_DB": store_url}
        dry = cli(town, "publish", "--dry-run", env=env)
        assert dry.returncode == 0 and Store.open(store_url).ledger.adoption() is None  # a dry run decides nothing
        empty = cli(town, "publish", env=env)  # the town's first run: nothing to send yet
        assert empty.returncode == 0, empty.stderr
        assert "Niente da pubblicare adesso" in empty.stdout

        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        write(town, "2026-11-24-biblioteca.md", NORMAL, "biblioteca", date="2026-11-24 08:00")  # scheduled
        no_secret = cli(town, "publish", env={**env, "WHATSAPP_TOKEN": ""})
        assert no_secret.returncode == 1 and "WHATSAPP_TOKEN" in no_secret.stderr
        assert sim.stats().get("requests", 0) == 0  # the list waits for its token…
        assert len(on_telegram(sim, "Fuga di gas")) == 1  # …Telegram needs none of it: it goes at once
        assert state(store_url, "fuga-di-gas", "whatsapp_list") is None  # unpublished, not lost

        after = cli(town, "publish", env=env)
        assert after.returncode == 0, after.stderr
        assert "storici" not in after.stdout
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))
        assert len(on_telegram(sim, "Fuga di gas")) == 1  # not twice

        due = cli(town, "publish", env=env, now="2026-11-24 08:05")
        assert due.returncode == 0, due.stderr
        assert sent(sim, "biblioteca") == Counter(dict.fromkeys(phones(5), 1))


def test_an_urgent_alert_goes_out_although_bluesky_lacks_its_password(town: Town, sqlite_url: str) -> None:
    # The town added «bluesky:» to mkdocs.yml before putting the app password on the server.
    social_town(town, ONLY_BLUESKY)
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 5)
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        no_password = {**env, "BLUESKY_APP_PASSWORD": ""}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        dry = cli(town, "publish", "--dry-run", env=no_password)
        assert dry.returncode == 0, dry.stderr
        assert "⚠ Bluesky: NON sarà inviato finché manca BLUESKY_APP_PASSWORD" in dry.stdout
        assert "⚠ Telegram" not in dry.stdout and sim.stats().get("requests", 0) == 0

        summary = town.root / "summary.md"
        ci = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        run = cli(town, "publish", env={**no_password, **ci})
        assert run.returncode == 1
        assert any(
            line.startswith("::error") and "BLUESKY_APP_PASSWORD" in line for line in run.stdout.splitlines()
        )  # the workflow's annotation
        assert "✗ Bluesky: non inviato, manca un segreto" in summary.read_text(encoding="utf-8")
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))
        assert len(on_telegram(sim, "Fuga di gas")) == 1
        assert sim.messages()["bluesky"] == []
        assert "[BLUESKY_APP_PASSWORD] manca BLUESKY_APP_PASSWORD." in run.stderr
        assert "Password per le app" in run.stderr  # the fix: where to create it
        assert "Su Bluesky non è partito nulla" in run.stderr
        assert state(sqlite_url, "fuga-di-gas", "bluesky") is None

        later = cli(town, "publish", env=env)
        assert later.returncode == 0, later.stderr
        (post,) = sim.messages()["bluesky"]
        assert post["record"]["embed"]["external"]["uri"].endswith("/fuga-di-gas/")
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))  # nothing else twice
        assert len(on_telegram(sim, "Fuga di gas")) == 1
        again = cli(town, "publish", env=env)
        assert again.returncode == 0 and "Niente da pubblicare" in again.stdout
        assert len(sim.messages()["bluesky"]) == 1


def test_adopt_records_what_was_there_and_nothing_after(town: Town, sqlite_url: str) -> None:
    write(town, "2026-11-20-vecchio.md", NORMAL, "vecchio", date="2026-11-20 08:00")
    env = {"SITE_TOOLS_DB": sqlite_url}
    first = cli(town, "adopt", env=env)
    assert first.returncode == 0 and "1 avviso già pubblicato sul sito resta storico (non inviato)" in first.stdout
    again = cli(town, "adopt", env=env)
    assert again.returncode == 0 and "già adottato" in again.stdout
    write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
    dry = cli(town, "publish", "--dry-run", env=env)
    assert "=== fuga-di-gas" in dry.stdout and "=== vecchio" not in dry.stdout and "storici" not in dry.stdout


# -- case 2: two pull requests reuse one id; an urgent bulletin follows --------------------------------
def test_an_id_clash_fails_loudly_but_the_urgent_bulletin_still_goes(town: Town, sqlite_url: str) -> None:
    summary = town.root / "summary.md"
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 5)
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-biblioteca.md", NORMAL, "orario")
        write(town, "2026-11-23-palestra.md", NORMAL.replace("biblioteca", "palestra"), "orario")
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        run = cli(town, "publish", env=env)
        assert run.returncode == 1
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))
        assert not sent(sim, "orario")  # which of the two is meant is not known: neither goes
        assert "::error file=content/notizie/2026/2026-11-23-palestra.md,line=2" in run.stdout
        assert "cambia l'id di quello nuovo" in run.stdout
        assert "Niente da pubblicare" not in run.stdout + run.stderr
        assert "nuovo" in summary.read_text(encoding="utf-8")

        later = cli(town, "publish", env=env)  # reported once: the next runs are green until something new
        assert later.returncode == 0, later.stderr
        assert "già segnalato" in later.stdout and "::error" not in later.stdout


# -- case 3: merged too late, refused once -----------------------------------------------------------
def test_a_late_merge_is_refused_once_and_force_still_sends_it(town: Town, store_url: str) -> None:
    summary = town.root / "summary.md"
    with simulator("--latency", "0.01") as sim:
        subscribe(store_url, 3)
        env = {**sim.env(), "SITE_TOOLS_DB": store_url, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-18-biblioteca.md", NORMAL, "biblioteca", date="2026-11-18 08:00")
        expired = URGENT.replace("Fuga", "Prima fuga")
        write(town, "2026-11-22-gas.md", expired, "gas-ieri", "2026-11-22 08:00", "expires: 2026-11-22 20:00\n")
        refused = cli(town, "publish", env=env)
        assert refused.returncode == 1
        assert "Niente da pubblicare" not in refused.stdout + refused.stderr
        text = summary.read_text(encoding="utf-8")
        assert "di più di 3 giorni fa" in text and "già scaduto" in text
        assert "::error file=content/notizie/2026/2026-11-18-biblioteca.md" in refused.stdout

        for hour in ("12:10", "12:20"):  # the scheduled runs after it
            again = cli(town, "publish", env=env, now=f"2026-11-23 {hour}")
            assert again.returncode == 0, again.stderr
        assert sim.stats().get("requests", 0) == 0

        forced = cli(town, "publish", "--force", "--only", "biblioteca", env=env)
        assert forced.returncode == 0, forced.stderr
        assert sent(sim, "biblioteca") == Counter(dict.fromkeys(phones(3), 1))
        store = Store.open(store_url)
        assert {r.bulletin_id for r in store.ledger.refusals()} == {"biblioteca", "gas-ieri"}
        store.close()


# -- case 5: force-push ------------------------------------------------------------------------------
def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "R", "GIT_AUTHOR_EMAIL": "r@e.it", "GIT_COMMITTER_NAME": "R"}
    env["GIT_COMMITTER_EMAIL"] = "r@e.it"
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def test_a_force_push_falls_back_to_the_ledger(town: Town, sqlite_url: str) -> None:
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 3)
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        git(town.root, "init", "-q", "-b", "main")
        git(town.root, "add", "-A")
        git(town.root, "commit", "-qm", "adozione")
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        git(town.root, "add", "-A")
        git(town.root, "commit", "-qm", "fuga di gas")
        gone = "3" * 40  # the "before" of a force-push: not in the repository any more
        run = cli(town, "publish", "--since", gone, env=env)
        assert run.returncode == 0, run.stderr
        assert "force-push" in run.stdout and "git diff" not in run.stdout + run.stderr
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(3), 1))


# -- case 6: the Channel post reaches a person --------------------------------------------------------
class FakeGitHub(ThreadingHTTPServer):
    """The four issue calls the publisher makes, over real HTTP, with the token checked."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _GitHubHandler)
        self.issues: dict[int, dict[str, Any]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _GitHubHandler(BaseHTTPRequestHandler):
    server: FakeGitHub

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        send_json(self, status, body)

    def _route(self) -> tuple[str, int | None]:
        path = urlsplit(self.path).path
        assert path.startswith("/repos/comune/avvisi/issues"), path
        tail = path.removeprefix("/repos/comune/avvisi/issues").strip("/")
        return path, int(tail) if tail else None

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != "Bearer gh-test-token":
            self._answer(401, {"message": "Bad credentials"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorised():
            return
        _, number = self._route()
        if number is not None:
            self._answer(200, self.server.issues[number])
            return
        labels = parse_qs(urlsplit(self.path).query).get("labels", [""])[0]
        found = [i for i in self.server.issues.values() if labels in {lab["name"] for lab in i["labels"]}]
        self._answer(200, found)

    def do_POST(self) -> None:
        if not self._authorised():
            return
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        number = len(self.server.issues) + 1
        issue = {"number": number, "state": "open", "title": data["title"], "body": data["body"]}
        issue["labels"] = [{"name": name} for name in data.get("labels", [])]
        self.server.issues[number] = issue
        self._answer(201, issue)

    def do_PATCH(self) -> None:
        if not self._authorised():
            return
        _, number = self._route()
        assert number is not None
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        issue = self.server.issues[number]
        issue.update({k: v for k, v in data.items() if k in ("title", "body", "state")})
        if "labels" in data:
            issue["labels"] = [{"name": name} for name in data["labels"]]
        self._answer(200, issue)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with serving(FakeGitHub()) as server:
        yield server


def test_the_channel_post_becomes_an_issue_and_closing_it_records_the_post(
    town: Town, sqlite_url: str, github: FakeGitHub
) -> None:
    summary = town.root / "summary.md"
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 2)
        env = {
            **sim.env(),
            "SITE_TOOLS_DB": sqlite_url,
            "GITHUB_TOKEN": "gh-test-token",
            "GITHUB_REPOSITORY": "comune/avvisi",
            "GITHUB_API_URL": github.url,
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        first = cli(town, "publish", env=env)
        assert first.returncode == 0, first.stderr
        (issue,) = github.issues.values()
        assert issue["title"] == "🔴 URGENTE – Da pubblicare a mano su Canale WhatsApp: " + (
            "Fuga di gas in via Garibaldi, stare lontani"
        )
        assert (
            "```text\n" in issue["body"]
            and "*Fuga di gas in via Garibaldi, stare lontani*\n" in issue["body"]
            and "- [ ] Pubblicato su Canale WhatsApp" in issue["body"]
        )
        assert "https://avvisi.valfiorita.example.it/notizie/2026/11/fuga-di-gas/" in issue["body"]
        assert {lab["name"] for lab in issue["labels"]} == {"da-pubblicare-a-mano", "urgente"}
        assert "issue #1 aperta" in first.stdout and "issue #1 aperta" in summary.read_text(encoding="utf-8")

        rerun = cli(town, "publish", env=env)  # a re-run opens nothing more
        assert rerun.returncode == 0 and len(github.issues) == 1
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "manual"

        issue["state"] = "closed"  # an editor posted it and closed the issue
        closed = cli(town, "publish", env=env)
        assert closed.returncode == 0, closed.stderr
        assert "issue #1 chiusa" in closed.stdout
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "done"


def test_without_a_token_the_channel_post_is_announced_loudly(town: Town, sqlite_url: str) -> None:
    summary = town.root / "summary.md"
    with simulator("--latency", "0.01") as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url, "GITHUB_TOKEN": "", "GITHUB_STEP_SUMMARY": str(summary)}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        run = cli(town, "publish", env=env)
        assert run.returncode == 0, run.stderr
        assert "ATTENZIONE" in run.stderr and "GITHUB_TOKEN" in run.stderr
        assert "ATTENZIONE" in summary.read_text(encoding="utf-8")
        assert "*Fuga di gas" in run.stdout  # the text is still in the log


# -- the cost ceiling and the job's time limit ---------------------------------------------------------
def set_cost_ceiling(town: Town, euro: float) -> None:
    """``extra.town.cost_ceiling_eur`` in the town's mkdocs.yml."""
    config = town.root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  town:\n", f"  town:\n    cost_ceiling_eur: {euro}\n", 1), encoding="utf-8")


def test_over_the_cost_ceiling_the_list_waits_for_approval(town: Town, sqlite_url: str) -> None:
    set_cost_ceiling(town, 0.2)
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 5)  # 5 × € 0,05 = € 0,25
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        held = cli(town, "publish", env=env)
        assert held.returncode == 1
        assert "costo stimato € 0,25" in held.stderr and "tetto di spesa di € 0,20" in held.stderr
        assert not sent(sim, "fuga-di-gas") and len(sim.messages()["telegram"]) == 1  # the free channels went
        approved = cli(town, "publish", "--approve-cost", env=env)
        assert approved.returncode == 0, approved.stderr
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))


def test_a_send_past_the_time_limit_continues_in_the_next_run(town: Town, sqlite_url: str) -> None:
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 5)
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        cut = cli(town, "publish", "--deadline", "0", env=env)
        assert cut.returncode == 0, cut.stderr
        assert "riprende al prossimo avvio" in cut.stdout and not sent(sim, "fuga-di-gas")
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_list") == "waiting"
        resumed = cli(town, "publish", env=env, now="2026-11-23 12:10")
        assert resumed.returncode == 0, resumed.stderr
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))


def test_the_site_still_builds_strictly_without_the_clashing_bulletins(
    town: Town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from site_tools.site.build import build_site

    write(town, "2026-11-23-biblioteca.md", NORMAL, "orario")
    write(town, "2026-11-23-palestra.md", NORMAL.replace("biblioteca", "palestra"), "orario")
    write(town, "2026-11-23-rotto.md", "id: rotto\ntitle: x\n{date}", "rotto")
    write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
    monkeypatch.setenv("SITE_TOOLS_NOW", NOW)
    site = build_site(town.root / "mkdocs.yml", tmp_path / "site", strict=True)
    pages = {p.parent.name: p for p in (site / "notizie").rglob("index.html")}
    assert {"fuga-di-gas", "orario"} <= set(pages)  # addresses come from the id
    kept = pages["orario"].read_text(encoding="utf-8").lower()
    assert "biblioteca" in kept and "palestra" not in kept  # the first of two with one id stays: links sent work
    assert not {"palestra", "rotto", "2026-11-23-rotto"} & set(pages)


def test_the_visible_fingerprint_changes_only_when_the_site_would(town: Town) -> None:
    write(town, "2026-11-24-biblioteca.md", NORMAL, "biblioteca", date="2026-11-24 08:00")  # scheduled
    write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas", extra="expires: 2026-11-23 18:00\n")

    def state_at(now: str) -> str:
        result = cli(town, "visible-state", env={}, now=now)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    before = state_at("2026-11-23 12:00")
    assert state_at("2026-11-23 12:10") == before  # nothing appeared or expired: no redeploy
    expired = state_at("2026-11-23 18:10")  # the urgent banner goes
    appeared = state_at("2026-11-24 08:05")  # the scheduled bulletin appears
    assert len({before, expired, appeared}) == 3


# -- found in review: adoption, the store secret, the cost ceiling, refusals ------------------------------------


def test_a_scheduled_run_never_adopts_over_a_push_run_that_failed(town: Town, sqlite_url: str) -> None:
    """A new town that skipped «site-tools adopt»: the push run dies before adopting (PostgreSQL down), then
    the clock's run (no --since) would mark the just-merged bulletin historical and exit 0: lost."""
    with simulator("--latency", "0.01") as sim:
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        down = cli(
            town, "publish", "--since", "0" * 40, env={**sim.env(), "SITE_TOOLS_DB": "postgresql://x@127.0.0.1:1/x"}
        )
        assert down.returncode != 0
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        scheduled = cli(town, "publish", "--no-adopt", env=env)
        assert scheduled.returncode == 1 and "site-tools adopt" in scheduled.stderr
        assert "storici" not in scheduled.stdout and state(sqlite_url, "fuga-di-gas", "whatsapp_channel") is None
        # the service's clock runs publish exactly so: a tick job never adopts
        from site_tools.service.publishing import publish_arguments
        from site_tools.store.jobs import Job

        tick = Job(1, "tick:2026-11-23T11:05", "tick", {"since": None, "adopt": False}, "running", 1)
        files = {"summary": Path("s"), "posts": Path("p")}
        assert "--no-adopt" in publish_arguments(tick, town.root / "mkdocs.yml", sqlite_url, files)


def test_an_approved_send_cut_by_the_time_limit_continues_without_a_second_approval(
    town: Town, sqlite_url: str
) -> None:
    """The approval was given for this send: the run that resumes it (scheduled, no approval) must not hold it."""
    from collections import Counter

    from .services import phones

    set_cost_ceiling(town, 0.2)
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 5)  # 5 × € 0,05 = € 0,25, over the ceiling
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        cut = cli(town, "publish", "--approve-cost", "--deadline", "0", env=env)
        assert cut.returncode == 0, cut.stderr
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_list") == "waiting"
        resumed = cli(town, "publish", env=env, now="2026-11-23 12:10")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))


def test_a_send_held_over_the_cost_ceiling_does_not_age_into_too_old_while_it_waits(
    town: Town, sqlite_url: str
) -> None:
    """Review: a bulletin for the WhatsApp list only, held over the cost ceiling, approved four days later, was
    refused as «più di 3 giorni fa»: the approval no longer sent it without --force and the production secrets."""
    from collections import Counter

    from .services import phones

    set_cost_ceiling(town, 0.2)
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 5)  # 5 × € 0,05 = € 0,25
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas", extra="channels: [whatsapp_list]\n")
        held = cli(town, "publish", env=env)
        assert held.returncode == 1 and "tetto di spesa" in held.stderr
        assert not sent(sim, "fuga-di-gas")
        approved = cli(town, "publish", "--approve-cost", env=env, now="2026-11-27 12:00")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))


def test_a_mistake_fixed_then_made_again_is_reported_again(town: Town, sqlite_url: str) -> None:
    """Review: refusals were never forgotten, so a file broken the same way months later was «già segnalato» and
    the run exited 0. A run that looks at everything forgets what it no longer refuses."""
    from site_tools.store import Store

    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 3)
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        broken = URGENT.replace("categories: [protezione-civile]", "categories: [inesistente]")
        path = write(town, "2026-11-23-gas.md", broken, "gas")
        assert cli(town, "publish", env=env).returncode == 1  # reported
        assert cli(town, "publish", env=env, now="2026-11-23 12:10").returncode == 0  # already reported
        path.unlink()  # withdrawn: nothing refused any more, the table forgets it
        assert cli(town, "publish", env=env, now="2026-11-23 12:20").returncode == 0
        store = Store.open(sqlite_url)
        assert store.ledger.refusals() == []
        store.close()
        write(town, "2026-11-23-gas.md", broken, "gas")  # the same mistake, again
        again = cli(town, "publish", env=env, now="2026-11-23 12:30")
        assert again.returncode == 1 and "inesistente" in again.stdout + again.stderr
        assert sim.stats().get("requests", 0) == 0


def test_the_services_publish_job_fails_loudly_on_a_missing_secret_and_sends_the_rest(
    town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The service runs the very publish in process for a push (OIDC-triggered): the job's exit code, its log lines
    # (annotations for the workflow) and /health's last job say what the command says.
    import asyncio

    from site_tools.cli.inprocess import run_command
    from site_tools.service.publishing import Runner

    social_town(town, ONLY_BLUESKY)
    with simulator("--latency", "0.01") as sim:
        subscribe(sqlite_url, 5)
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        for name, value in {**env, "SITE_TOOLS_NOW": NOW, "BLUESKY_APP_PASSWORD": ""}.items():
            monkeypatch.setenv(name, value)

        async def job() -> tuple[int | None, list[str], dict[str, Any]]:
            runner = Runner(lambda: town.config, lambda: Store.open(sqlite_url), run_command, db_url=sqlite_url)
            job_id, _ = await runner.db(lambda s: s.jobs.enqueue("push", "push:1:1:1", {"adopt": False}))
            claimed = await runner.db(lambda s: s.jobs.claim(runner.owner, 30.0))
            await runner.execute(claimed)
            done = await runner.db(lambda s: s.jobs.get(job_id))
            lines = [text for _, text in await runner.db(lambda s: s.jobs.lines(job_id))]
            runner.close()
            return done.exit_code, lines, runner.health()

        exit_code, lines, health = asyncio.run(job())
        assert exit_code == 1 and health["last"]["exit"] == 1
        assert any(line.startswith("::error") and "BLUESKY_APP_PASSWORD" in line for line in lines), lines
        assert sent(sim, "fuga-di-gas") == Counter(dict.fromkeys(phones(5), 1))
        assert len(on_telegram(sim, "Fuga di gas")) == 1 and sim.messages()["bluesky"] == []
