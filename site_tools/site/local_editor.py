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
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from site_tools.content.config import TownConfig
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
    """Run decap-server on the town's working copy; yield its API URL; stop it on exit."""
    package = find_node_package("decap-server", town)
    if package is None or not (package / "dist" / "index.js").is_file():
        raise _missing()
    port = port or free_port(host)
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
