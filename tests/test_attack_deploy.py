"""The deployment as a brand-new town meets it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .test_deploy import compose


def test_the_backups_start_even_while_meta_keeps_health_failing() -> None:
    # A new town's templates are PENDING at Meta for hours, and /health is 503 until they are APPROVED: a backup
    # waiting for the service to be healthy would never be started by «docker compose up».
    backup = compose()["services"]["backup"]
    assert backup["depends_on"]["site-tools"]["condition"] != "service_healthy"


def test_a_failed_backup_is_tried_again_within_the_hour_not_the_next_day(tmp_path: Path) -> None:
    # The backup loop, run by sh with a site-tools that fails and a sleep that records how long, then stops it.
    (tmp_path / "site-tools").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "sleep").write_text(f'#!/bin/sh\necho "$1" > {tmp_path}/slept\nkill -9 $PPID\n')
    for name in ("site-tools", "sleep"):
        (tmp_path / name).chmod(0o755)
    command = compose()["services"]["backup"]["command"]
    assert command[:2] == ["sh", "-c"]
    script = command[2].replace("$$", "$")
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "BACKUP_KEEP": "3"}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert "backup non riuscito" in done.stderr
    assert int((tmp_path / "slept").read_text()) <= 3600
