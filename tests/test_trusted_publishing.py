"""From a push to the phones: the workflow's own trigger step, the real service, the simulator for everything else.

The step is the bash of ``.github/workflows/publish.yml`` as GitHub runs it; the runner's OIDC token endpoint and
GitHub's keys are the simulator's; the service is ``site-tools webhook`` in a process of its own, following the
town's repository (a bare remote the editor pushes to) and publishing with its own store and tokens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from site_tools.devtools.oidc_issuer import REQUEST_TOKEN
from site_tools.store import Store

from .conftest import Town
from .services import answering, free_port, phones, simulator_process, wait_for
from .test_oidc import AUDIENCE, SERVICE_BLOCK
from .test_parse_cache import URGENT
from .test_publish_endpoint import push, repository
from .test_workflows import Runner

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_a_push_reaches_the_phones_through_the_workflow_step_and_the_service(
    demo_town: Town, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    port = free_port()
    service_url = f"http://127.0.0.1:{port}"
    mkdocs = demo_town.root / "mkdocs.yml"
    block = SERVICE_BLOCK.replace(f"{AUDIENCE}/", service_url)
    mkdocs.write_text(
        mkdocs.read_text(encoding="utf-8").replace("    # Estimated price", block + "    # Estimated price", 1),
        encoding="utf-8",
    )
    github = tmp_path_factory.mktemp("github")
    served = repository(demo_town, github)
    first = _head(demo_town.root)
    db = f"sqlite:///{tmp_path / 'server.db'}"
    with closing(Store.open(db)) as store:
        store.subscribers.bulk_subscribe(phones(12), "test")
    with simulator_process("--latency", "0.01") as sim:
        env = {
            **os.environ,
            **sim.env(),
            "WHATSAPP_APP_SECRET": "app-secret",
            "WHATSAPP_VERIFY_TOKEN": "verify",
            "SITE_TOOLS_DB": db,
            "SITE_TOOLS_NOW": "2026-11-23 12:00",
            "SITE_TOOLS_OIDC_ISSUER": f"{sim.url}/github-oidc",
            "SITE_TOOLS_REPOSITORY": "comune-valfiorita/avvisi",
            "SITE_TOOLS_REPOSITORY_ID": "812345678",
            "SITE_TOOLS_REPOSITORY_URL": str(github / "remote.git"),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
            cwd=served,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for(lambda: answering(service_url), timeout=30)
            (tmp_path / "runner").mkdir()
            job = Runner(
                tmp_path / "runner",
                service_url,
                {
                    "ACTIONS_ID_TOKEN_REQUEST_URL": f"{sim.url}/github-oidc/token?api-version=2.0",
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
                },
            )
            sim.configure(oidc_run={"sha": first, "run_id": "1001"})
            adoption = job.run(BEFORE="0" * 40)
            assert adoption.returncode == 0, adoption.stdout + adoption.stderr
            assert "segnati come storici" in adoption.stdout and sim.stats().get("accepted", 0) == 0

            demo_town.write("2026-11-23-allerta-rossa.md", URGENT)
            second = push(demo_town.root, "allerta rossa")
            sim.configure(oidc_run={"sha": second, "run_id": "1002"})
            alert = job.run(BEFORE=first)
            assert alert.returncode == 0, alert.stdout + alert.stderr
            assert f"Pubblicazione di {second[:12]}" in alert.stdout  # the service published the pushed commit
            assert "allerta-rossa → Lista WhatsApp: inviato" in alert.stdout
            reached = [m["to"] for m in sim.messages()["whatsapp"] if m["callback"] == "allerta-rossa"]
            assert sorted(reached) == sorted(phones(12)) and len(sim.messages()["telegram"]) == 1
            assert "allerta-rossa" in job.read(job.summary)
            result = json.loads(job.read(job.result_file))
            assert result["exit"] == 0 and result["posts"][0]["bulletin"] == "allerta-rossa"
            assert "issues=true" in job.read(job.output)  # the next steps open the editors' issue
            health = httpx.get(f"{service_url}/health").json()
            assert health["commit"] == second  # the service serves what it published

            forged = job.run(BEFORE=first, ACTIONS_ID_TOKEN_REQUEST_TOKEN="not-the-runners")
            assert forged.returncode != 0 and "::error" in forged.stdout
        finally:
            proc.send_signal(signal.SIGTERM)
            log = proc.communicate(timeout=20)[1].decode()
        assert "39333" not in log, "a phone number reached the service's log"


def _head(root: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
