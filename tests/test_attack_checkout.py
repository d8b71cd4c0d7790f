"""Attack: a commit taken off main by a force push is published again when its old run is re-run.

The token of a *re-run* (run_attempt 2) carries the push's original ``sha``. The town's IT person reverted a
mistaken bulletin with a force push (main back to its parent). The checkout's ``fetch(want)`` accepts any
``want`` that *descends from* main's head ("GitHub answered from a replica that had not seen the push yet"),
so the removed commit is checked out and published, and the service even tells editors to «Re-run jobs».
"""

from __future__ import annotations

from pathlib import Path

from site_tools.service.checkout import Checkout

from .test_checkout import Remote, git, remote, run  # noqa: F401 - the fixture

__all__ = ["remote"]


def test_attack_a_force_pushed_away_commit_is_served_on_rerun(remote: Remote, tmp_path: Path) -> None:  # noqa: F811
    served = remote.clone(tmp_path / "served")
    checkout = Checkout(served, str(remote.bare))
    good = git(remote.bare, "rev-parse", "main")
    remote.editor.write("2026-12-10-sbagliato.md", "id: 2026-12-10-sbagliato\ntitle: Sbagliato\ndate: 2026-12-10 08:00")
    mistaken = remote.push("Un avviso pubblicato per errore")
    run(checkout.sync())  # the service saw the push (its run failed, or not: the commit is here now)
    # The IT person reverts with a force push: main is back at the good commit, the mistaken one is off main.
    git(remote.editor.root, "push", "--quiet", "--force", "origin", f"{good}:main")
    assert git(remote.bare, "rev-parse", "main") == good
    # Someone clicks «Re-run jobs» on the old run: its token says sha=mistaken, ref=main, event=push.
    synced = run(checkout.sync(want=mistaken))
    # EXPECTED (secure): main's head is served. ACTUAL: the commit removed from main is checked out.
    assert synced.commit == good, f"served {synced.commit[:12]}, a commit no longer on main"
