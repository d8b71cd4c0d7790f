"""Attack (critical): whoever can push to main runs code on the town's server.

docs/comune/server.md installs the service *inside its own checkout*: ``WorkingDirectory=/srv/avvisi``,
``ExecStart=/srv/avvisi/.venv/bin/site-tools webhook``, «In /srv/avvisi va una copia del repository del Comune,
installata con uv sync». The checkout now follows main by itself (``git checkout --force --detach``). A commit
that force-adds ``.venv/lib/python3.X/site-packages/<x>.pth`` (ignored paths are still checked out when tracked)
writes it into the service's interpreter; a ``.pth`` line starting with ``import`` runs at every interpreter
start: the next restart (``Restart=always``; the service exits 3 by itself when a loop keeps failing), or the
next ``site-tools`` command a person runs. That process holds the WhatsApp and Telegram tokens, the dispatch
token and every phone number: what "CI holds no secret" was meant to keep from the repository's writers
(editors in the web editor, a merged PR from a fork).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from site_tools.service.checkout import Checkout, CheckoutError

from .test_checkout import Remote, git, remote, run  # noqa: F401 - the fixture

__all__ = ["remote"]

SITE = f".venv/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"


def test_attack_a_pushed_pth_file_runs_in_the_services_interpreter(remote: Remote, tmp_path: Path) -> None:  # noqa: F811
    served = remote.clone(tmp_path / "served")
    (served / SITE).mkdir(parents=True)  # what «uv sync» made in /srv/avvisi (ignored: /.venv/ in .gitignore)
    checkout = Checkout(served, str(remote.bare))
    run(checkout.sync())

    marker = tmp_path / "pwned"
    evil = remote.editor.root / SITE / "zz_contenuti.pth"
    evil.parent.mkdir(parents=True)
    evil.write_text(f"import pathlib; pathlib.Path({str(marker)!r}).write_text('tokens')\n", encoding="utf-8")
    git(remote.editor.root, "add", "-f", SITE)
    remote.push("Aggiornati i contenuti")
    with pytest.raises(CheckoutError, match="keeps for itself"):  # refused, loudly, with the paths
        run(checkout.sync())  # the follower's fetch every two minutes, or any push's publish
    assert not (served / SITE / "zz_contenuti.pth").exists()

    # The service's interpreter starting (its site-packages processed as Python does at start).
    subprocess.run([sys.executable, "-c", f"import site; site.addsitedir({str(served / SITE)!r})"], check=True)
    assert not marker.exists(), "a file pushed to main ran as the service"
