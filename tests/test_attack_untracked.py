"""Attack: a pushed commit that adds data/site-tools.db overwrites the service's live store.

The service's SQLite store lives by default at ``data/site-tools.db`` *inside its checkout* (an untracked,
ignored file). ``Checkout.switch`` runs ``git checkout --force --detach <commit>``; ``--force`` throws away
"any untracked files or directories that are in the way" (git-checkout(1)), and the dirty check looks at tracked
files only (``--untracked-files=no``). So one commit that adds a file at ``data/site-tools.db`` (``git add -f``
beats .gitignore; a PR that "adds test data") replaces the subscribers, their consents and the delivery ledger
with whatever the commit holds — or wipes them — the next time the service fetches main (every two minutes).
"""

from __future__ import annotations

from pathlib import Path

from site_tools.service.checkout import Checkout, CheckoutError

from .test_checkout import Remote, git, remote, run  # noqa: F401 - the fixture

__all__ = ["remote"]


def test_attack_a_commit_overwrites_the_untracked_store(remote: Remote, tmp_path: Path) -> None:  # noqa: F811
    served = remote.clone(tmp_path / "served")
    live = served / "data" / "site-tools.db"
    live.parent.mkdir(parents=True, exist_ok=True)
    live.write_bytes(b"SQLite format 3\x00 the town's 4,000 subscribers and their consents")
    checkout = Checkout(served, str(remote.bare))
    run(checkout.sync())

    hostile = remote.editor.root / "data" / "site-tools.db"
    hostile.parent.mkdir(parents=True, exist_ok=True)
    hostile.write_bytes(b"SQLite format 3\x00 the attacker's store")
    git(remote.editor.root, "add", "-f", "data/site-tools.db")
    remote.push("Dati di prova")

    try:
        run(checkout.sync())
    except CheckoutError:
        pass  # refusing would be the fix
    assert live.read_bytes().endswith(b"subscribers and their consents"), live.read_bytes()
