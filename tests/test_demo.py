"""`site-tools demo` with a small crowd: everyone gets the bulletin exactly once, nothing is left running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.e2e  # the demo as a process


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes; anything else still runs.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_demo_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "site_tools", "demo", "--citizens", "300", "--no-serve", "--data-dir", str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((data / "summary.json").read_text(encoding="utf-8"))
    assert summary["subscribed"] == 300
    assert summary["received_once"] == 300 and summary["duplicates"] == 0 and summary["missing"] == 0
    assert summary["delivered"] == 300  # receipts came back through the signed webhook
    assert summary["telegram_posts"] == 1
    assert "Raggiunti 300 cittadini su 300, ognuno una volta sola" in result.stdout
    assert (data / "site" / "iscriviti" / "index.html").is_file()
    assert not any(alive(pid) for pid in summary["pids"])
    assert "393330000" not in result.stdout + result.stderr  # no phone number printed
    # The one-to-one counter: citizens asked, the inbox and a demo login are printed.
    assert summary["counter_conversations"] == 4
    assert "/sportello/" in result.stdout and "utente «demo», password «" in result.stdout
    assert "/_sim/telefono" in result.stdout


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    import signal
    import time

    data = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "demo", "--citizens", "50", "--serve", "--data-dir", str(data)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Ctrl-C as in a terminal: a suite started in the background (`cmd &` in a script) ignores SIGINT, its
        # children inherit that, and Python then never turns SIGINT into KeyboardInterrupt (seen in a CI run).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        lines = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            if "Apri il sito" in line or not line:
                break
        assert any("Apri il sito" in line for line in lines), "".join(lines)
        summary = json.loads((data / "summary.json").read_text(encoding="utf-8"))
        assert all(alive(pid) for pid in summary["pids"])  # still serving, services up
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert "Interrotto" in out
        assert not any(alive(pid) for pid in summary["pids"])
    finally:  # a failed test leaves no demo behind (its services run in sessions of their own)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if (data / "summary.json").exists():
            for pid in json.loads((data / "summary.json").read_text(encoding="utf-8"))["pids"]:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
