"""Review of issue 12, tried as a failing GitHub, a hurried editor and a hostile title would.

Same harness as tests/test_no_bulletin_lost.py: the ``site-tools`` command in this
process, the API simulator over real HTTP, a real store, and a small GitHub
API over real HTTP (here it can also answer 500).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from site_tools.content.bulletin import Bulletin
from site_tools.delivery.channel_issues import ManualPost, issue_body

from .conftest import Town
from .services import serving, simulator
from .test_no_bulletin_lost import (
    URGENT,
    FakeGitHub,
    _GitHubHandler,
    cli,
    sent,
    set_cost_ceiling,
    state,
    subscribe,
    write,
)


class _FlakyHandler(_GitHubHandler):
    server: FlakyGitHub

    def do_POST(self) -> None:
        if self.server.html:  # a proxy or an outage page: 200, but not JSON
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "15")
            self.end_headers()
            self.wfile.write(b"<html>ok</html>")
            return
        if self.server.failures > 0:
            self.server.failures -= 1
            data = json.dumps({"message": "Server Error"}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_POST()

    def do_GET(self) -> None:
        _, number = self._route()
        if number is not None and number not in self.server.issues:  # deleted or transferred
            data = b'{"message": "Not Found"}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()


class FlakyGitHub(FakeGitHub):
    """The fake GitHub, whose next ``failures`` issue openings answer 500."""

    def __init__(self) -> None:
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _FlakyHandler)
        self.issues: dict[int, dict[str, Any]] = {}
        self.failures = 0
        self.html = False


@pytest.fixture
def flaky_github() -> Iterator[FlakyGitHub]:
    with serving(FlakyGitHub()) as server:
        yield server


def _env(sim: Any, url: str, github: FakeGitHub) -> dict[str, str]:
    return {
        **sim.env(),
        "SITE_TOOLS_DB": url,
        "GITHUB_TOKEN": "gh-test-token",
        "GITHUB_REPOSITORY": "comune/avvisi",
        "GITHUB_API_URL": github.url,
    }


def test_a_channel_issue_github_refused_is_opened_by_the_next_run(
    town: Town, sqlite_url: str, flaky_github: FlakyGitHub
) -> None:
    """GitHub answered 500 when opening the issue: the post must reach a person on a later run, not only a log."""
    with simulator("--latency", "0.01") as sim:
        env = _env(sim, sqlite_url, flaky_github)
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        flaky_github.failures = 1
        first = cli(town, "publish", env=env)
        assert first.returncode == 0, first.stderr  # the send itself did not fail
        assert "ATTENZIONE" in first.stderr and not flaky_github.issues
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "manual"

        later = cli(town, "publish", env=env)
        assert later.returncode == 0, later.stderr
        (issue,) = flaky_github.issues.values()
        assert "*Fuga di gas in via Garibaldi, stare lontani*" in issue["body"]
        assert "issue #1 aperta" in later.stdout

        again = cli(town, "publish", env=env)  # and only once
        assert again.returncode == 0 and len(flaky_github.issues) == 1


def test_a_channel_issue_closed_as_not_planned_is_not_recorded_as_posted(
    town: Town, sqlite_url: str, flaky_github: FlakyGitHub
) -> None:
    with simulator("--latency", "0.01") as sim:
        env = _env(sim, sqlite_url, flaky_github)
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        assert cli(town, "publish", env=env).returncode == 0
        (issue,) = flaky_github.issues.values()
        issue.update(state="closed", state_reason="not_planned")  # closed without posting
        closed = cli(town, "publish", env=env)
        assert closed.returncode == 0, closed.stderr
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") != "done"
        assert "non pubblicato" in closed.stdout
        shown = cli(town, "deliveries", "fuga-di-gas", env=env)
        assert "non pubblicato" in shown.stdout


def test_a_hostile_title_does_not_ping_people_nor_break_the_issue_body() -> None:
    from datetime import datetime

    b = Bulletin(
        id="avviso",
        title="Chiuso @sindaco @comune/giunta **grassetto** <img src=x> [qui](https://x.example) altro/repo#1",
        path=Path("content/notizie/2026/avviso.md"),
        date=datetime(2026, 11, 23, 11, 30),
        summary="Sintesi.",
        categories=("servizi",),
        body="Testo.",
    )
    body = issue_body(ManualPost(b, "whatsapp_channel", "testo", "https://avvisi.example.it/a/"))
    head = body.split("Testo pronto")[0]
    assert "@sindaco" not in head and "@comune/giunta" not in head  # no mention: nobody is pinged
    assert "altro/repo#1" not in head  # no cross-reference in another repository's timeline
    assert "<img" not in head and "\\[qui\\]" in head and "\\*\\*grassetto" in head
    assert "sindaco" in head and "grassetto" in head  # the title is still readable


def test_a_scheduled_run_never_adopts_over_a_push_run_that_failed(town: Town, sqlite_url: str) -> None:
    """A new town that skipped «site-tools adopt»: the push run dies before adopting (PostgreSQL down), then
    the scheduled run (no --since) would mark the just-merged bulletin historical and exit 0: lost."""
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
        workflow = (Path(__file__).parents[1] / ".github/workflows/scheduled.yml").read_text(encoding="utf-8")
        assert "site-tools publish --no-adopt" in workflow


@pytest.mark.e2e  # the workflow's own shell script, as the runner runs it
@pytest.mark.parametrize("workflow", ["publish.yml", "scheduled.yml"])
def test_a_missing_store_secret_stops_the_workflow_instead_of_a_throwaway_store(
    town: Town, workflow: str, tmp_path: Path
) -> None:
    """Without the SITE_TOOLS_DB secret the runner's own data/site-tools.db (gone after the job) was used: every
    run a "first run", a re-run of a push sending the list again to every citizen."""
    import os
    import subprocess

    from .test_workflows import VENV_BIN, publish_script

    with simulator("--latency", "0.01") as sim:
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        env = {**os.environ, **sim.env(), "SITE_TOOLS_DB": "", "BEFORE": "", "SITE_TOOLS_NOW": "2026-11-23 12:00"}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"
        run = subprocess.run(
            ["bash", "-e", "-c", publish_script(workflow)], cwd=town.root, env=env, capture_output=True, text=True
        )
        assert run.returncode == 1 and "SITE_TOOLS_DB" in run.stdout + run.stderr
        assert not (town.root / "data").exists() and sim.stats().get("requests", 0) == 0


def test_new_takes_a_priority_typed_in_capitals(town: Town) -> None:
    """A hurried editor types «URGENT» (caps lock): click answered in English and asked again."""
    from .command import site_tools

    answers = "Strada chiusa per lavori in via Roma\n" + (
        "Da lunedì via Roma è chiusa al traffico per lavori alla rete idrica, per due settimane.\n1\nURGENT\n\n"
    )
    run = site_tools("new", cwd=town.root, input=answers, env={"SITE_TOOLS_NOW": "2026-11-23 12:00"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is not one of" not in run.stderr
    (written,) = town.bulletins.rglob("*strada-chiusa*.md")
    assert "priority: urgent" in written.read_text(encoding="utf-8")


def test_a_github_answer_that_is_not_json_does_not_fail_the_run(
    town: Town, sqlite_url: str, flaky_github: FlakyGitHub
) -> None:
    with simulator("--latency", "0.01") as sim:
        env = _env(sim, sqlite_url, flaky_github)
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        flaky_github.html = True
        run = cli(town, "publish", env=env)
        assert run.returncode == 0, run.stderr  # the messages went: the run did not fail
        assert "ATTENZIONE" in run.stderr and "Errore imprevisto" not in run.stderr
        assert "*Fuga di gas" in run.stdout  # the text is in the log, and the next run tries the issue again


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


def test_a_deleted_channel_issue_is_opened_again(town: Town, sqlite_url: str, flaky_github: FlakyGitHub) -> None:
    """Someone deleted (or transferred) the issue before posting: every run warned about a 404, nobody was told."""
    with simulator("--latency", "0.01") as sim:
        env = _env(sim, sqlite_url, flaky_github)
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        assert cli(town, "publish", env=env).returncode == 0
        del flaky_github.issues[1]
        noticed = cli(town, "publish", env=env)
        assert noticed.returncode == 0, noticed.stderr
        assert "non esiste più" in noticed.stdout + noticed.stderr
        reopened = cli(town, "publish", env=env)
        assert reopened.returncode == 0, reopened.stderr
        assert len(flaky_github.issues) == 1 and "aperta" in reopened.stdout
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "manual"


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
