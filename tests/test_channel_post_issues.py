"""The Channel post handed to a person as a GitHub issue, when GitHub fails, answers oddly or the issue goes away.

Same harness as tests/test_no_bulletin_lost.py: the ``site-tools`` command in this
process, the API simulator over real HTTP, a real store, and a small GitHub
API over real HTTP (here it can also answer 500).

Two paths: ``site-tools publish`` by hand with a ``GITHUB_TOKEN`` (both sides in one process), and trusted
publishing, where the service says which posts need an issue (``posts_payload``), CI opens them without the
store (``site-tools channel-issues``) and reports back to the service (``record_issue_reports``), here a
local server standing in for ``POST /publish/issues`` over the real store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from site_tools.content.bulletin import Bulletin
from site_tools.delivery.channel_issues import (
    BadIssueReport,
    ManualPost,
    issue_body,
    posts_payload,
    record_issue_reports,
)
from site_tools.store import Store

from .command import site_tools
from .conftest import Town
from .fake_service import FakeService, running
from .services import send_json, serving, simulator
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
            send_json(self, 500, {"message": "Server Error"})
            return
        super().do_POST()

    def do_GET(self) -> None:
        _, number = self._route()
        if number is not None and number not in self.server.issues:  # deleted or transferred
            send_json(self, 404, {"message": "Not Found"})
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


# -- Trusted publishing: the service's side and CI's side ---------------------------------------------------------


def payload(town: Town, url: str, sim: Any) -> list[dict[str, Any]]:
    """What the service puts in the result's ``posts`` after a run that made no manual post of its own."""
    from site_tools.content.loading import load_content
    from site_tools.render.links import Links
    from site_tools.settings import Settings

    config = town.config
    content = load_content(config)
    store = Store.open(url)
    try:
        links = Links.for_bulletins(config, content.bulletins)
        return posts_payload(store, [], content.bulletins, links, Settings.from_env(sim.env()))
    finally:
        store.close()


def report(url: str, items: Any) -> list[str]:
    store = Store.open(url)
    try:
        return record_issue_reports(store, items)
    finally:
        store.close()


def test_the_service_says_which_posts_need_an_issue_and_records_what_ci_did(town: Town, sqlite_url: str) -> None:
    with simulator("--latency", "0.01") as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}  # the service holds no GITHUB_TOKEN
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        assert cli(town, "publish", env=env).returncode == 0
        (post,) = payload(town, sqlite_url, sim)
        assert post["bulletin"] == "fuga-di-gas" and post["channel"] == "whatsapp_channel"
        assert post["urgent"] is True and post["issue"] is None and "*Fuga di gas" in post["text"]
        assert post["link"].startswith("https://") and post["title"].startswith("Fuga di gas")

        lines = report(
            sqlite_url, [{"bulletin": "fuga-di-gas", "channel": "whatsapp_channel", "issue": 4, "closed": None}]
        )
        assert lines == ["✍ fuga-di-gas: issue #4 per chi pubblica su Canale WhatsApp."]
        assert payload(town, sqlite_url, sim) == [
            {"bulletin": "fuga-di-gas", "channel": "whatsapp_channel", "issue": 4, "waiting": True}
        ]
        stale = report(
            sqlite_url, [{"bulletin": "fuga-di-gas", "channel": "whatsapp_channel", "issue": 3, "closed": "completed"}]
        )
        assert "non è quella registrata" in stale[0]  # another issue's closing changes nothing
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "manual"
        closed = report(
            sqlite_url,
            [{"bulletin": "fuga-di-gas", "channel": "whatsapp_channel", "issue": 4, "closed": "not_planned"}],
        )
        assert "non pubblicato" in closed[0]
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "declined"
        assert payload(town, sqlite_url, sim) == []  # final: nobody is asked again
        late = report(
            sqlite_url, [{"bulletin": "fuga-di-gas", "channel": "whatsapp_channel", "issue": 4, "closed": "completed"}]
        )
        assert (
            "nessun post a mano in attesa" in late[0]
            and state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "declined"
        )


@pytest.mark.parametrize(
    "items",
    [
        {"issues": []},  # not a list
        ["fuga-di-gas"],
        [{"bulletin": "a", "channel": "whatsapp_channel", "issue": 1, "closed": None, "state": "done"}],  # a field more
        [{"bulletin": "a", "channel": "fax", "issue": 1, "closed": None}],
        [{"bulletin": "a", "channel": "whatsapp_channel", "issue": True, "closed": None}],  # a bool is not a number
        [{"bulletin": "a", "channel": "whatsapp_channel", "issue": "1", "closed": None}],
        [{"bulletin": "a", "channel": "whatsapp_channel", "issue": 0, "closed": None}],
        [{"bulletin": "", "channel": "whatsapp_channel", "issue": 1, "closed": None}],
        [{"bulletin": "a", "channel": "whatsapp_channel", "issue": 1, "closed": "reopened"}],
        [
            {"bulletin": "a", "channel": "whatsapp_channel", "issue": 1, "closed": None},
            None,
        ],  # one bad: nothing written
    ],
)
def test_a_report_that_is_not_what_ci_sends_is_refused_whole(sqlite_url: str, items: Any) -> None:
    store = Store.open(sqlite_url)
    try:
        store.ledger.claim_publication("a", "whatsapp_channel", "manual", "normal", shared=False)
        store.ledger.finish_publication("a", "whatsapp_channel", "manual")
        with pytest.raises(BadIssueReport):
            record_issue_reports(store, items)
        assert store.ledger.publication("a", "whatsapp_channel").external_id is None  # type: ignore[union-attr]
    finally:
        store.close()


@pytest.fixture
def service(sqlite_url: str) -> Iterator[FakeService]:
    """``POST /publish/issues`` recorded in the real store, as the service does."""
    with running() as server:
        server.issues = lambda body: (200, {"recorded": len(report(sqlite_url, body["issues"]))})
        yield server


def ci(tmp_path: Path, result: dict[str, Any], github: FakeGitHub, service: FakeService, **extra: str) -> Any:
    """``site-tools channel-issues`` as the job runs it: in a folder with no town and no store, with the job's
    token and the runner's OIDC endpoint."""
    job = tmp_path / "job"
    job.mkdir(exist_ok=True)
    (job / "result.json").write_text(json.dumps(result), encoding="utf-8")
    env = {
        "GITHUB_TOKEN": "gh-test-token",
        "GITHUB_REPOSITORY": "comune/avvisi",
        "GITHUB_API_URL": github.url,
        "SITE_TOOLS_SERVICE_URL": service.url,
        "SITE_TOOLS_DB": None,
        **service.runner_env(),
        **extra,
    }
    return site_tools("channel-issues", "--result", str(job / "result.json"), cwd=job, env=env)


def test_ci_opens_the_issues_without_the_store_and_the_service_records_them(
    town: Town, sqlite_url: str, flaky_github: FlakyGitHub, service: FakeService, tmp_path: Path
) -> None:
    with simulator("--latency", "0.01") as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        assert cli(town, "publish", env=env).returncode == 0

        first = ci(tmp_path, {"exit": 0, "posts": payload(town, sqlite_url, sim)}, flaky_github, service)
        assert first.returncode == 0, first.stderr
        (issue,) = flaky_github.issues.values()
        assert issue["title"].startswith("🔴 URGENTE – Da pubblicare a mano su Canale WhatsApp: Fuga di gas")
        assert "*Fuga di gas in via Garibaldi, stare lontani*" in issue["body"]
        assert "issue #1 aperta" in first.stdout and "Il servizio ha registrato 1 issue." in first.stdout
        ((auth, body),) = service.calls("/publish/issues")
        assert auth == "Bearer t.1.sig" and service.audiences == [service.url]
        assert json.loads(body) == {
            "issues": [{"bulletin": "fuga-di-gas", "channel": "whatsapp_channel", "issue": 1, "closed": None}]
        }
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "manual"

        again = ci(tmp_path, {"exit": 0, "posts": payload(town, sqlite_url, sim)}, flaky_github, service)
        assert again.returncode == 0 and len(flaky_github.issues) == 1  # waiting, open: nothing to do
        assert len(service.calls("/publish/issues")) == 1

        issue.update(state="closed", state_reason="completed")  # the editor posted it and closed the issue
        done = ci(tmp_path, {"exit": 0, "posts": payload(town, sqlite_url, sim)}, flaky_github, service)
        assert done.returncode == 0, done.stderr
        auth, body = service.calls("/publish/issues")[-1]
        assert auth == "Bearer t.2.sig"  # a fresh token: the service accepts each once
        assert json.loads(body)["issues"][0]["closed"] == "completed"
        assert state(sqlite_url, "fuga-di-gas", "whatsapp_channel") == "done"
        assert payload(town, sqlite_url, sim) == []


def test_ci_finds_an_issue_it_opened_when_the_report_did_not_arrive(
    town: Town, sqlite_url: str, flaky_github: FlakyGitHub, service: FakeService, tmp_path: Path
) -> None:
    """The service refused the report (down, or a token problem): the issue exists, the ledger does not know its
    number; the next run finds it by its marker instead of opening another."""
    with simulator("--latency", "0.01") as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        assert cli(town, "publish", env=env).returncode == 0
        service.issues = lambda body: (403, {"message": "token già usato"})
        refused = ci(
            tmp_path, {"exit": 0, "posts": payload(town, sqlite_url, sim)}, flaky_github, service, GITHUB_ACTIONS="true"
        )
        assert refused.returncode == 1 and len(flaky_github.issues) == 1
        (error,) = [line for line in refused.stdout.splitlines() if line.startswith("::error")]
        assert error.startswith("::error title=Resoconto non consegnato::") and "HTTP 403" in error
        assert "Bearer" not in refused.stdout + refused.stderr and "t.1.sig" not in refused.stdout + refused.stderr

        service.issues = lambda body: (200, {"recorded": len(report(sqlite_url, body["issues"]))})
        later = ci(tmp_path, {"exit": 0, "posts": payload(town, sqlite_url, sim)}, flaky_github, service)
        assert later.returncode == 0, later.stderr
        assert len(flaky_github.issues) == 1 and "issue #1 aggiornata" in later.stdout


def test_ci_says_when_github_refuses_and_the_next_run_opens_it(
    town: Town, sqlite_url: str, flaky_github: FlakyGitHub, service: FakeService, tmp_path: Path
) -> None:
    with simulator("--latency", "0.01") as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-fuga-di-gas.md", URGENT, "fuga-di-gas")
        assert cli(town, "publish", env=env).returncode == 0
        flaky_github.failures = 1
        refused = ci(tmp_path, {"exit": 0, "posts": payload(town, sqlite_url, sim)}, flaky_github, service)
        assert refused.returncode == 1 and "ATTENZIONE" in refused.stderr and "HTTP 500" in refused.stderr
        assert not flaky_github.issues and not service.calls("/publish/issues")  # nothing to report
        later = ci(tmp_path, {"exit": 0, "posts": payload(town, sqlite_url, sim)}, flaky_github, service)
        assert later.returncode == 0 and len(flaky_github.issues) == 1


def test_ci_acts_only_on_a_result_it_understands(
    tmp_path: Path, flaky_github: FlakyGitHub, service: FakeService
) -> None:
    nothing = ci(tmp_path, {"exit": 0, "posts": []}, flaky_github, service)
    assert nothing.returncode == 0 and "Nessun post da pubblicare a mano." in nothing.stdout
    odd = ci(
        tmp_path,
        {"exit": 0, "posts": [{"bulletin": "x", "channel": "whatsapp_channel", "title": "T"}]},
        flaky_github,
        service,
    )
    assert odd.returncode == 2 and not flaky_github.issues and not service.audiences
    garbage = tmp_path / "job" / "result.json"
    garbage.write_text("<html>", encoding="utf-8")
    broken = site_tools("channel-issues", "--result", str(garbage), cwd=tmp_path / "job")
    assert broken.returncode == 2 and "JSON" in broken.stderr
