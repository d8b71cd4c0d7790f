"""`site-tools demo`: everyone gets the bulletin exactly once, nothing is left running, Ctrl-C stops everything.

The demo runs once per CI run: `.ci/run` runs `./scripts/demo` (its output kept in data/demo-output.txt) and then
the tests, which check what that run left in data/demo/. Run alone, the suite runs the demo itself, once, with a
small crowd, and checks the same. Ctrl-C is checked on the demo's own steps with its real services, not on a
second demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from site_tools.devtools import demo
from site_tools.devtools.demo_counter import CounterDemo

from .conftest import REPO, Town

pytestmark = pytest.mark.e2e  # the demo's services are processes

#: Where `./scripts/demo` leaves its run (the demo's default data folder) and, in CI, what it printed.
DEMO_DATA = REPO / "data" / "demo"
DEMO_OUTPUT = REPO / "data" / "demo-output.txt"


@dataclass(frozen=True)
class DemoRun:
    data: Path
    printed: str
    summary: dict[str, Any]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes; anything else still runs.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def _newest_source() -> float:
    sources = [*(REPO / "site_tools").rglob("*.py"), *(REPO / "content").rglob("*"), REPO / "mkdocs.yml"]
    return max(path.stat().st_mtime for path in sources)


def _last_run_is_current() -> bool:
    """The run `./scripts/demo` left is of this code and content, and what it printed was kept with it."""
    summary, printed = DEMO_DATA / "summary.json", DEMO_OUTPUT
    if not (summary.is_file() and printed.is_file()):
        return False
    return min(summary.stat().st_mtime, printed.stat().st_mtime) >= _newest_source()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    if _last_run_is_current():
        data, printed = DEMO_DATA, DEMO_OUTPUT.read_text(encoding="utf-8")
    else:
        data = tmp_path_factory.mktemp("demo") / "demo"
        result = subprocess.run(
            [sys.executable, "-m", "site_tools", "demo", "--citizens", "300", "--no-serve", "--data-dir", str(data)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        printed = result.stdout + result.stderr
    return DemoRun(data, printed, json.loads((data / "summary.json").read_text(encoding="utf-8")))


def test_every_citizen_gets_the_bulletin_once_and_its_receipt_comes_back(the_demo: Path, demo_run: DemoRun) -> None:
    summary, citizens = demo_run.summary, demo_run.summary["citizens"]
    assert citizens > 0 and summary["subscribed"] == citizens
    assert summary["received_once"] == citizens and summary["duplicates"] == 0 and summary["missing"] == 0
    assert summary["delivered"] == citizens  # receipts came back through the signed webhook
    assert summary["telegram_posts"] == 1
    assert f"Raggiunti {demo.number(citizens)} cittadini su {demo.number(citizens)}, ognuno una volta sola" in (
        demo_run.printed
    )
    assert (demo_run.data / "site" / "iscriviti" / "index.html").is_file()


def test_the_counter_is_shown_with_its_inbox_and_a_login(the_demo: Path, demo_run: DemoRun) -> None:
    assert demo_run.summary["counter_conversations"] == 4  # citizens asked the one-to-one counter
    assert "/sportello/" in demo_run.printed and "utente «demo», password «" in demo_run.printed
    assert "/_sim/telefono" in demo_run.printed


def test_nothing_is_left_running_and_no_phone_number_is_printed_or_logged(the_demo: Path, demo_run: DemoRun) -> None:
    assert demo_run.summary["pids"] and not any(alive(pid) for pid in demo_run.summary["pids"])
    logs = "".join(path.read_text(encoding="utf-8") for path in demo_run.data.glob("*.log"))
    assert logs and "39333" not in demo_run.printed + logs.replace("+39 333 •••", "")


@pytest.fixture
def interrupted_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The demo's own run with its real services (their process ids, filled in when they start), cut short: the
    steps in between send nothing (other tests check them), and its site is served at once."""
    services: list[int] = []
    start_services = demo.Demo.start_services

    def start(self: demo.Demo) -> None:
        start_services(self)
        services.extend(proc.pid for proc in self.procs.started)

    monkeypatch.setattr(demo.Demo, "start_services", start)
    monkeypatch.setattr(demo.Demo, "build", lambda self: self.data_dir)
    for step in ("subscribe_citizens", "publish_urgent", "take_receipts", "tell"):
        monkeypatch.setattr(demo.Demo, step, lambda self: None)
    monkeypatch.setattr(demo, "ask_the_counter", lambda *args: CounterDemo("", "", "", 0))
    monkeypatch.setattr(CounterDemo, "tell", lambda self: None)
    try:
        yield services
    finally:  # a failed test leaves no service behind (they run in sessions of their own)
        for pid in services:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_or_a_kill_while_serving_stops_every_service(
    interrupted_demo: list[int],
    demo_town: Town,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: int,
) -> None:
    def serve_until_interrupted(site: Path) -> None:
        assert len(interrupted_demo) == 2 and all(alive(pid) for pid in interrupted_demo)  # serving, services up
        signal.raise_signal(how)  # what a terminal's Ctrl-C, or `kill`, does to the demo
        raise AssertionError("the signal did not stop the demo")

    monkeypatch.setattr(demo, "_serve", serve_until_interrupted)
    # Ctrl-C as in a terminal: a suite started in the background (`cmd &` in a script) ignores SIGINT.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        demo.run_demo(demo_town.config, 5, 1000.0, tmp_path / "demo", serve=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert "Interrotto: fermo tutti i processi." in capsys.readouterr().out
    assert not any(alive(pid) for pid in interrupted_demo)
