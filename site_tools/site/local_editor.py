"""Offline editing: Decap's local backend (npm ``decap-server``) on the working copy.

``site-tools serve`` starts it beside the site preview; the editor at
``http://127.0.0.1:8000/admin/`` then reads and writes ``content/`` directly
(decap-server's ``fs`` mode: no branches, a save is a file written), and the
preview rebuilds the site on every save.

decap-server answers any web page (it sends ``Access-Control-Allow-Origin: *``)
and has no login: it is bound to 127.0.0.1 only, on a port of its own, and
lives only as long as ``site-tools serve``. A page on the internet that tried
to reach it would also meet the browser's own guard against public sites
calling local addresses (Chromium's Local Network Access).

The editor does not talk to decap-server directly but to a small proxy of
ours in front of it (:class:`SaveCheck`): every save of a file in content/
is checked as ``site-tools validate`` checks it, and a file it would refuse
(a ``<script>``, an ``on…=`` handler, a ``javascript:`` link, a wrong field)
is put back as it was, the editor showing validate's own Italian message
instead of «Voce salvata».
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from site_tools.content.config import TownConfig, load_config
from site_tools.content.problems import InvalidContent, Problem
from site_tools.site.admin import find_node_package

STARTUP_TIMEOUT = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the process that started it dies, however it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _missing() -> InvalidContent:
    return InvalidContent(
        [
            Problem(
                "package.json",
                None,
                "decap-server",
                "manca il server locale dell'editor web (il pacchetto npm decap-server).",
                "esegui «npm ci» nella cartella del repository, oppure avvia l'anteprima senza editor con --no-cms.",
            )
        ]
    )


def _answers(url: str) -> bool:
    request = urllib.request.Request(
        url, data=json.dumps({"action": "info"}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - our own local server
            return "publish_modes" in json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


@contextmanager
def local_backend(town: TownConfig, host: str = "127.0.0.1", port: int = 0, log: Path | None = None) -> Iterator[str]:
    """Run decap-server on the town's working copy behind :class:`SaveCheck`; yield the API URL; stop both on exit."""
    with _decap_server(town, host, log) as inner:
        server = SaveCheck((host, port), town, inner)
        thread = threading.Thread(target=server.serve_forever, name="site-tools-save-check", daemon=True)
        thread.start()
        try:
            yield f"http://{host}:{server.server_address[1]}/api/v1"
        finally:
            server.shutdown()
            server.server_close()


@contextmanager
def _decap_server(town: TownConfig, host: str, log: Path | None) -> Iterator[str]:
    """decap-server on a port of its own; yield its API URL."""
    package = find_node_package("decap-server", town)
    if package is None or not (package / "dist" / "index.js").is_file():
        raise _missing()
    port = free_port(host)
    env = {
        **os.environ,
        "PORT": str(port),
        "BIND_HOST": host,
        "MODE": "fs",
        "GIT_REPO_DIRECTORY": str(town.root),
        "LOG_LEVEL": "warn",
    }
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        ["node", str(package / "dist" / "index.js")],
        env=env,
        cwd=town.root,
        stdout=out,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl
    )
    url = f"http://{host}:{port}/api/v1"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise InvalidContent(
                    [
                        Problem(
                            "package.json",
                            None,
                            "decap-server",
                            f"il server locale dell'editor non si è avviato (porta {port}).",
                            "controlla che Node.js sia installato e che la porta sia libera, poi riprova.",
                        )
                    ]
                )
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


# -- the save check -------------------------------------------------------------------------
#: What decap-server's answers carry that the browser needs (CORS, the type of the body).
_PASSED_HEADERS = ("content-type", "access-control-allow-origin", "access-control-allow-methods",
                   "access-control-allow-headers", "vary")  # fmt: skip


class SaveCheck(ThreadingHTTPServer):
    """A proxy in front of decap-server that refuses a save ``site-tools validate`` would refuse.

    A save (``persistEntry``) is passed on, then the files it wrote are checked with the project's own
    validation; if any problem is found, every file the save touched is put back as it was and the
    editor gets the problems, in Italian, as the reason the save failed.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], town: TownConfig, backend: str):
        self.town, self.backend = town, backend
        self.lock = threading.Lock()  # one save at a time: a check sees the files as one save left them
        super().__init__(address, _Handler)

    def forward(self, method: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.backend, data=body or None, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own local server
                status, answer, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, answer, data = exc.code, exc.headers, exc.read()
        return status, {k: v for k, v in answer.items() if k.lower() in _PASSED_HEADERS}, data

    def persist(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Pass a save on; put its files back and answer 422 with the problems if validate refuses it."""
        try:
            params = json.loads(body).get("params") or {}
            files = params.get("dataFiles") or [params["entry"]]
            written = [self.town.root / f["newPath" if f.get("newPath") else "path"] for f in files]
            touched = [self.town.root / p for f in files for p in (f.get("path"), f.get("newPath")) if p]
            touched += [self.town.root / a["path"] for a in params.get("assets") or []]
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.forward("POST", body, headers)  # decap-server answers what is malformed
        with self.lock:
            before = {path: _read(path) for path in touched}
            status, answer, data = self.forward("POST", body, headers)
            if status != 200:
                return status, answer, data
            problems = check_saved(self.town, [p for p in written if p.suffix == ".md"])
            if not problems:
                return status, answer, data
            for path, old in before.items():
                _restore(path, old)
        message = save_refused(problems)
        return 422, answer | {"Content-Type": "application/json"}, json.dumps({"error": message}).encode()


def check_saved(town: TownConfig, paths: list[Path]) -> list[Problem]:
    """What ``site-tools validate PATH…`` reports for these files (the rest of the content as context)."""
    if not paths:
        return []
    from site_tools.content.loading import load_content

    config = load_config(town.path)  # re-read: the configuration may have changed while the editor was open
    content = load_content(config)
    content.check_site_files()
    return content.problems_for(paths)


#: The first words of a refused save, as Decap shows them after its own «Salvataggio della voce non riuscito».
SAVE_REFUSED = "il file non è stato scritto: la pubblicazione lo rifiuterebbe."


def save_refused(problems: list[Problem]) -> str:
    """The reason a save is refused, as the editor shows it (Decap prefixes its own «could not save»)."""
    lines = [f"{_where(p)}: {p.message} Come correggere: {p.fix}" for p in problems[:5]]
    more = len(problems) - len(lines)
    if more:
        lines.append(f"…e altri {more} problemi (li elenca «site-tools validate»).")
    return f"{SAVE_REFUSED} " + " ".join(lines)


def _where(problem: Problem) -> str:
    where = f"Riga {problem.line}" if problem.line else "Nel file"
    return f"{where} ({problem.field})" if problem.field else where


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _restore(path: Path, old: bytes | None) -> None:
    if old is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(old)


class _Handler(BaseHTTPRequestHandler):
    server: SaveCheck

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's name
        pass  # decap-server keeps its own log

    def _headers(self) -> dict[str, str]:
        wanted = ("content-type", "origin", "access-control-request-method", "access-control-request-headers")
        return {k: v for k, v in self.headers.items() if k.lower() in wanted}

    def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self) -> None:  # noqa: N802 - the standard library's name
        self._answer(*self.server.forward("OPTIONS", b"", self._headers()))

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if b'"persistEntry"' in body:
            self._answer(*self.server.persist(body, self._headers()))
        else:
            self._answer(*self.server.forward("POST", body, self._headers()))
