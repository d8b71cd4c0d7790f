"""A small stand-in, over real HTTP, for the two ends the ``Pubblica`` job talks to where the real ones are not the
point: the runner's OIDC token endpoint and the town's service (``POST /publish``, ``POST /publish/issues``).

What each ``/publish`` answers is the test's choice (:attr:`FakeService.publish`): a refusal, a stream, a stream
cut before its result. Tokens are opaque here (``t.<n>.sig``): their checks are the service's, tested with a
real OIDC issuer elsewhere; this records what the job sent (the audience asked, the bearer, the body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .services import serving

REQUEST_TOKEN = "runner-request-token"
RESULT = "@@site-tools-result "


class Handler(BaseHTTPRequestHandler):
    server: FakeService
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def answer(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, status: int, reason: str, **headers: str) -> None:
        self.answer(status, (reason + "\n").encode(), **headers)

    def stream(self, lines: list[str], *, cut: bool = False, before_last: threading.Event | None = None) -> None:
        """A chunked 200 whose chunks are lines, sent as they are written; ``cut`` drops the connection before
        the last line (no final chunk); ``before_last`` waits (at most 30 s) before the last line."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, line in enumerate(lines):
            if i == len(lines) - 1:
                if before_last is not None:
                    before_last.wait(30)
                if cut:
                    self.wfile.flush()
                    self.close_connection = True
                    return
            data = (line + "\n").encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/token":
            self.refuse(404, "non trovato")
            return
        if self.headers.get("Authorization") != f"bearer {REQUEST_TOKEN}":
            self.refuse(401, "bad request token")
            return
        query = parse_qs(url.query)
        with self.server.lock:
            self.server.audiences.append(query.get("audience", [""])[0])
            self.server.minted += 1
            token = f"t.{self.server.minted}.sig"
        self.answer(200, json.dumps({"count": 1, "value": token}).encode(), "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        path = urlsplit(self.path).path
        with self.server.lock:
            self.server.requests.append((path, self.headers.get("Authorization", ""), body))
        if path == "/publish":
            self.server.publish(self)
        elif path == "/publish/issues":
            status, answer = self.server.issues(json.loads(body))
            self.answer(status, json.dumps(answer).encode(), "application/json")
        else:
            self.refuse(404, "non trovato")


def result_line(exit: int = 0, summary: str = "## Pubblicazione degli avvisi\n", posts: list | None = None) -> str:
    return RESULT + json.dumps({"exit": exit, "job": 1, "commit": "c" * 40, "summary": summary, "posts": posts or []})


class FakeService(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.audiences: list[str] = []
        self.minted = 0
        self.requests: list[tuple[str, str, bytes]] = []
        self.publish: Callable[[Handler], None] = lambda h: h.stream(["Niente da pubblicare adesso.", result_line()])
        self.issues: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]] = lambda body: (
            200,
            {"recorded": len(body["issues"])},
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def calls(self, path: str) -> list[tuple[str, bytes]]:
        with self.lock:
            return [(auth, body) for p, auth, body in self.requests if p == path]

    def runner_env(self) -> dict[str, str]:
        """What GitHub's runner gives a job with ``id-token: write``."""
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}/token?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        }


@contextmanager
def running() -> Iterator[FakeService]:
    """A :class:`FakeService` answering on a thread for the block (polling for shutdown every 20 ms, not 0.5 s:
    many short tests start one)."""
    with serving(FakeService(), poll_interval=0.02) as server:
        yield server
