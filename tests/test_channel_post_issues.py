"""The Channel post handed to a person as a GitHub issue, when GitHub fails, answers oddly or the issue goes away.

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
    state,
    write,
)

pytestmark = pytest.mark.slow  # whole publishing runs with a GitHub API served by the test


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
