"""POST /publish on the service itself: a verified push becomes a job, run here, streamed back to the workflow."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from site_tools.service.publishing import RESULT_PREFIX
from site_tools.store import Store

from .conftest import Town
from .services import phones, simulator
from .test_oidc import SERVICE_BLOCK, runner_token
from .test_parse_cache import URGENT, git

SECRET, VERIFY = "app-secret", "verify-token"


def with_service_block(town: Town) -> Town:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    # Estimated price", SERVICE_BLOCK + "    # Estimated price", 1), encoding="utf-8")
    return town


@dataclass
class Running:
    client: Any
    sim: Any
    db: str
    town: Town

    def trigger(self, token: str | None = None, before: str = "0" * 40, **claims: Any) -> httpx.Response:
        token = token or runner_token(self.sim, **claims)
        return self.client.post("/publish", headers={"Authorization": f"Bearer {token}"}, json={"before": before})

    def commit(self, message: str) -> str:
        """The editor's change merged: committed and pushed to main (the service fetches it)."""
        return push(self.town.root, message)


def push(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    git(root, "push", "-q", "origin", "HEAD:main")
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def repository(town: Town, tmp_path: Path) -> Path:
    """The town's repository as GitHub holds it (a bare remote), the editor's clone in ``town.root`` pushing to
    it, and the service's own checkout cloned from it: what the service serves."""
    remote, service = tmp_path / "remote.git", tmp_path / "service"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(town.root, "init", "-q", ".")
    git(town.root, "remote", "add", "origin", str(remote))
    push(town.root, "il sito")
    subprocess.run(["git", "clone", "-q", str(remote), str(service)], check=True)
    return service


@pytest.fixture
def running(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    from starlette.testclient import TestClient

    from site_tools.cli.inprocess import run_command
    from site_tools.service.app import Service
    from site_tools.settings import Settings

    with_service_block(demo_town)
    elsewhere = tmp_path_factory.mktemp("github")
    service_root = repository(demo_town, elsewhere)
    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-23 12:00")
    with simulator("--latency", "0") as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        env = {**sim.env(), "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY,
               "SITE_TOOLS_OIDC_ISSUER": f"{sim.url}/github-oidc", "SITE_TOOLS_REPOSITORY": "comune-valfiorita/avvisi", "SITE_TOOLS_REPOSITORY_ID": "812345678",
               "SITE_TOOLS_REPOSITORY_URL": str(elsewhere / "remote.git")}  # fmt: skip
        with closing(Store.open(sqlite_url)) as store:
            store.subscribers.bulk_subscribe(phones(5), "test")
        from site_tools.content.config import load_config

        app = Service(load_config(service_root / "mkdocs.yml"), Settings.from_env(env), lambda: Store.open(sqlite_url),
                      db_url=sqlite_url, command=run_command)  # fmt: skip
        with TestClient(app.app(), base_url="https://servizi.valfiorita.example.it") as client:
            yield Running(client, sim, sqlite_url, demo_town)


def result_of(response: httpx.Response) -> tuple[list[str], dict[str, Any]]:
    lines = response.text.splitlines()
    assert lines and lines[-1].startswith(RESULT_PREFIX), lines[-5:]
    return lines[:-1], json.loads(lines[-1][len(RESULT_PREFIX) :])


@pytest.mark.slow
def test_a_push_is_published_and_the_run_streamed_back(running: Running) -> None:
    first = running.commit("adozione")
    adoption = running.trigger(sha=first)
    assert adoption.status_code == 200 and adoption.headers["content-type"].startswith("text/plain")
    lines, result = result_of(adoption)
    assert result["exit"] == 0 and any("segnati come storici" in line for line in lines)
    assert running.sim.stats().get("accepted", 0) == 0  # adopting sends nothing old

    running.town.write("2026-11-23-allerta-rossa.md", URGENT)
    second = running.commit("allerta")
    token = runner_token(running.sim, sha=second, run_id="777", run_attempt="1")
    push = running.trigger(token, before=first)
    lines, result = result_of(push)
    assert lines[0].startswith(f"Pubblicazione di {second[:12]} presa in carico")
    assert result["exit"] == 0, lines
    assert running.sim.stats()["accepted"] == 5 and len(running.sim.messages()["telegram"]) == 1
    assert "allerta-rossa" in result["summary"]
    assert [(p["bulletin"], p["channel"]) for p in result["posts"]] == [("allerta-rossa", "whatsapp_channel")]

    replay = running.trigger(token, before=first)  # the same token again
    assert replay.status_code == 403 and "già usato" in replay.text

    rerun = running.trigger(sha=second, run_id="777", run_attempt="2", before=first)  # "Re-run jobs"
    _, again = result_of(rerun)
    assert again["exit"] == 0 and again["job"] != result["job"]
    assert running.sim.stats()["accepted"] == 5 and len(running.sim.messages()["telegram"]) == 1  # nothing twice


def test_a_refused_token_starts_no_job(running: Running) -> None:
    answer = running.trigger(repository="qualcuno/fork", repository_id="1", repository_owner_id="2")
    assert answer.status_code == 403
    with closing(Store.open(running.db)) as store:
        assert [job for job in store.jobs.recent() if job.kind == "push"] == []


def test_a_body_that_is_not_a_before_commit_is_refused(running: Running) -> None:
    answer = running.trigger(before="HEAD~1; rm -rf /")
    assert answer.status_code == 400 and "before" in answer.text
    with closing(Store.open(running.db)) as store:
        assert [job for job in store.jobs.recent() if job.kind == "push"] == []


def test_a_town_without_the_service_block_does_not_publish_on_request(tmp_path: Path, town: Town) -> None:
    from starlette.testclient import TestClient

    from site_tools.service.app import Service
    from site_tools.settings import Settings

    settings = Settings.from_env({"WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY})
    url = f"sqlite:///{tmp_path / 's.db'}"
    with TestClient(Service(town.config, settings, lambda: Store.open(url)).app()) as client:
        answer = client.post("/publish", headers={"Authorization": "Bearer x.y.z"})
    assert answer.status_code == 404 and "extra.town.service" in answer.text


@pytest.mark.slow
def test_the_workflow_reports_the_issues_it_opened_and_the_ones_editors_closed(running: Running) -> None:
    first = running.commit("adozione")
    result_of(running.trigger(sha=first))
    running.town.write("2026-11-23-allerta-rossa.md", URGENT)
    second = running.commit("allerta")
    _, result = result_of(running.trigger(sha=second, before=first, run_id="900"))
    assert [p["issue"] for p in result["posts"]] == [None]  # no issue yet: CI opens one

    def report(*items: dict[str, Any], run_id: str = "900") -> httpx.Response:
        token = runner_token(running.sim, sha=second, run_id=run_id)
        return running.client.post(
            "/publish/issues", headers={"Authorization": f"Bearer {token}"}, json={"issues": list(items)}
        )

    stranger = report({"bulletin": "allerta-rossa", "channel": "whatsapp_channel", "issue": 1}, run_id="901")
    assert stranger.status_code == 403  # a run that asked for no publish reports on nothing
    opened = report({"bulletin": "allerta-rossa", "channel": "whatsapp_channel", "issue": 12, "closed": None})
    assert opened.status_code == 200 and opened.json()["recorded"] == 1
    _, later = result_of(running.trigger(sha=second, before=second, run_id="778"))
    assert later["posts"] == [
        {"bulletin": "allerta-rossa", "channel": "whatsapp_channel", "issue": 12, "waiting": True}
    ]

    bad = report({"bulletin": "allerta-rossa", "channel": "whatsapp_channel", "issue": "12; DROP TABLE"})
    assert bad.status_code == 400 and "issues[0]" in bad.text
    closed = report({"bulletin": "allerta-rossa", "channel": "whatsapp_channel", "issue": 12, "closed": "completed"})
    assert closed.status_code == 200
    with closing(Store.open(running.db)) as store:
        assert store.ledger.publication("allerta-rossa", "whatsapp_channel").state == "done"  # type: ignore[union-attr]
    forged = running.client.post("/publish/issues", headers={"Authorization": "Bearer a.b.c"}, json={"issues": []})
    assert forged.status_code in (401, 403)
