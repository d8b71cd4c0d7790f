"""``python -m site_tools.service.healthcheck``: the container's HEALTHCHECK (the image has no curl).

Against a real HTTP server that answers as the service does: 200 is healthy (exit 0), a 503 is not and its
problems are printed, a port nobody listens on is not either."""

from __future__ import annotations

import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from site_tools.service import healthcheck

from .services import free_port, send_json, serving


class Health(BaseHTTPRequestHandler):
    answer: tuple[int, dict[str, object]] = (200, {"status": "ok", "problems": []})

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        send_json(self, *self.answer)

    def log_message(self, *args: object) -> None:
        pass


def _server(status: int, body: dict[str, object]) -> ThreadingHTTPServer:
    handler = type("Answer", (Health,), {"answer": (status, body)})
    return ThreadingHTTPServer(("127.0.0.1", 0), handler)


def _run(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "site_tools.service.healthcheck", url], capture_output=True, text=True, timeout=30
    )


def test_a_healthy_service_exits_0_and_prints_nothing() -> None:
    with serving(_server(200, {"status": "ok", "problems": []}), poll_interval=0.05) as server:
        done = _run(f"http://127.0.0.1:{server.server_address[1]}/health")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_a_failing_service_exits_1_with_its_problems() -> None:
    body = {"status": "failing", "problems": ["database unreachable: connection refused", "checkout refused"]}
    with serving(_server(503, body), poll_interval=0.05) as server:
        done = _run(f"http://127.0.0.1:{server.server_address[1]}/health")
    assert done.returncode == 1
    assert "answered 503" in done.stderr
    assert "database unreachable: connection refused" in done.stderr and "checkout refused" in done.stderr


def test_a_service_that_is_not_there_exits_1_and_says_so() -> None:
    done = _run(f"http://127.0.0.1:{free_port()}/health")
    assert done.returncode == 1 and "unreachable" in done.stderr


def test_an_answer_that_is_not_the_services_still_fails_with_its_status() -> None:
    with serving(_server(502, {"unexpected": True}), poll_interval=0.05) as server:
        problems = healthcheck.check(f"http://127.0.0.1:{server.server_address[1]}/health")
    assert problems == [f"http://127.0.0.1:{server.server_address[1]}/health answered 502"]


def test_it_imports_nothing_of_the_package_but_itself() -> None:
    """It runs every 30 s in the container: no pydantic, starlette or store to import."""
    code = (
        "import sys, site_tools.service.healthcheck; "
        "print(sorted(m for m in sys.modules if m.startswith('site_tools') or m in ('pydantic', 'starlette')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported = set(eval(done.stdout)) - {"site_tools._version"}  # written at install time, when it is
    assert imported == {"site_tools", "site_tools.service", "site_tools.service.healthcheck"}
