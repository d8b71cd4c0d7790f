"""Attack (hurried IT person): a push whose mkdocs.yml does not load publishes *the previous commit* and the job is
green.

The town's IT person fixes a typo in mkdocs.yml on GitHub's web page in the same commit as an urgent bulletin
(or an editor's urgent bulletin lands right after a broken mkdocs.yml). The follower keeps the broken head out and
goes back to the last commit that works — right for the settings — but the publish job that asked for *that*
commit then runs on the old checkout, prints no error, and ends with the publish's exit code (0: «Niente da
pubblicare adesso»). The workflow is green; /health only *warns* (200). The urgent bulletin is never sent, and
nothing tells the editors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from site_tools.content.config import load_config
from site_tools.service.checkout import Checkout
from site_tools.service.follower import Follower
from site_tools.service.publishing import Runner
from site_tools.store import Store

from .test_checkout import Remote, git, remote  # noqa: F401 - the fixture

__all__ = ["remote"]


def test_attack_a_broken_mkdocs_push_publishes_the_old_commit_green(remote: Remote, tmp_path: Path) -> None:  # noqa: F811
    served = remote.clone(tmp_path / "served")
    follower = Follower(Checkout(served, str(remote.bare)), load_config(served / "mkdocs.yml"))
    remote.editor.write(
        "2026-12-07-allerta.md", "id: 2026-12-07-allerta\ntitle: Allerta meteo\ndate: 2026-12-07 08:00\nurgent: true"
    )
    remote.edit_config("population: 38400", "population: [")
    pushed = remote.push("Allerta meteo (e un errore di battitura nel mkdocs.yml)")
    store_path = tmp_path / "store.db"
    seen: list[str] = []

    def command(args: list[str], emit: Callable[[str], None]) -> int:
        seen.append(git(served, "rev-parse", "HEAD"))
        emit("Niente da pubblicare adesso.")
        return 0

    @asynccontextmanager
    async def pin(job):  # type: ignore[no-untyped-def]
        async with follower.pinned(job.args.get("sha")) as synced:  # as Service._pin does
            yield synced.commit

    async def go() -> tuple[int, dict]:  # type: ignore[type-arg]
        runner = Runner(lambda: follower.config, lambda: Store.open(f"sqlite:///{store_path}"), command, pin=pin)
        job_id, _ = await runner.db(lambda s: s.jobs.enqueue("push", "push:1:1:1", {"sha": pushed, "adopt": True}))
        job = await runner.db(lambda s: s.jobs.claim(runner.owner, 30.0))
        await runner.execute(job)
        done = await runner.db(lambda s: s.jobs.get(job_id))
        lines = await runner.db(lambda s: s.jobs.lines(job_id))
        runner.close()
        return done.exit_code, {"lines": [t for _, t in lines], "commit": done.result["commit"]}

    exit_code, result = asyncio.run(go())
    assert seen == []  # nothing published from the previous commit as if it were the push
    assert exit_code != 0, result  # the job fails loudly, naming the mkdocs.yml that does not load
    assert any(line.startswith("::error") and "mkdocs.yml" in line for line in result["lines"]), result
