"""The service's checkout follows main: a bare repository in tmp_path is the remote, pushes move main.

What a town's IT person would check: after a merge the server serves the new commit and its settings; a copy
edited by hand on the server is never overwritten; a broken mkdocs.yml does not take the settings that work
away, and /health says which commit serves and what is wrong.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from site_tools.content.config import TownConfig, load_config
from site_tools.service.checkout import Checkout, CheckoutError, DirtyCheckout
from site_tools.service.follower import Follower
from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import Town
from .services import wait_for


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), "-c", "user.name=Redazione", "-c", "user.email=redazione@example.org", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


class Remote:
    """The town's repository: a bare remote, and an editor's clone that pushes to its main."""

    def __init__(self, tmp_path: Path):
        self.bare = tmp_path / "remote.git"
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare)], check=True)
        (tmp_path / "editor").mkdir()
        self.editor = Town(tmp_path / "editor", with_demo=False)
        git(self.editor.root, "init", "--quiet", "--initial-branch=main")
        git(self.editor.root, "remote", "add", "origin", str(self.bare))
        self.push("Primo commit")

    def push(self, message: str) -> str:
        git(self.editor.root, "add", "-A")
        git(self.editor.root, "commit", "--quiet", "--allow-empty", "-m", message)
        git(self.editor.root, "push", "--quiet", "origin", "HEAD:main")
        return git(self.editor.root, "rev-parse", "HEAD")

    def clone(self, where: Path) -> Path:
        subprocess.run(["git", "clone", "--quiet", str(self.bare), str(where)], check=True)
        return where

    def edit_config(self, old: str, new: str) -> None:
        path = self.editor.root / "mkdocs.yml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote(tmp_path)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_the_checkout_follows_main(remote: Remote, tmp_path: Path) -> None:
    served = remote.clone(tmp_path / "served")
    first = git(served, "rev-parse", "HEAD")
    checkout = Checkout(served, str(remote.bare))

    same = run(checkout.sync())
    assert same.commit == first and not same.moved

    remote.editor.write("2026-12-10-nuovo.md", "id: 2026-12-10-nuovo\ntitle: Nuovo\ndate: 2026-12-10 08:00")
    second = remote.push("Un avviso nuovo")
    synced = run(checkout.sync())
    assert synced.moved and synced.previous == first and synced.commit == second
    assert (served / "content" / "notizie" / "2026" / "2026-12-10-nuovo.md").is_file()
    assert git(served, "rev-parse", "HEAD") == second
    assert checkout.commit == second and checkout.fetched_at is not None
    assert checkout.committed_at == float(git(served, "show", "-s", "--format=%ct", "HEAD"))


def test_an_empty_folder_becomes_the_checkout(remote: Remote, tmp_path: Path) -> None:
    head = git(remote.bare, "rev-parse", "main")
    synced = run(Checkout(tmp_path / "new", str(remote.bare)).sync())
    assert synced.commit == head and synced.previous is None
    assert (tmp_path / "new" / "mkdocs.yml").is_file()


def test_a_folder_that_is_not_a_checkout_is_left_alone(remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "appunti.txt").write_text("da non perdere", encoding="utf-8")
    with pytest.raises(CheckoutError, match="not a Git checkout"):
        run(Checkout(tmp_path / "other", str(remote.bare)).sync())
    assert (tmp_path / "other" / "appunti.txt").read_text(encoding="utf-8") == "da non perdere"


def test_a_checkout_edited_by_hand_is_refused_not_overwritten(remote: Remote, tmp_path: Path) -> None:
    served = remote.clone(tmp_path / "served")
    first = git(served, "rev-parse", "HEAD")
    (served / "content" / "index.md").write_text("# Modificato sul server\n", encoding="utf-8")
    remote.edit_config("population: 38400", "population: 38500")
    remote.push("Popolazione aggiornata")
    follower = Follower(Checkout(served, str(remote.bare)), load_config(served / "mkdocs.yml"), every=60)

    with pytest.raises(DirtyCheckout, match="content/index.md"):
        run(follower.sync())
    assert (served / "content" / "index.md").read_text(encoding="utf-8") == "# Modificato sul server\n"
    assert git(served, "rev-parse", "HEAD") == first
    assert any("checkout refused" in p and "content/index.md" in p for p in follower.health().problems)

    git(served, "checkout", "--", ".")  # the person decided: the change goes
    assert run(follower.sync()).moved
    assert follower.health().problems == [] and follower.config.population == 38500


def test_a_wanted_commit_is_fetched_and_main_head_served(remote: Remote, tmp_path: Path) -> None:
    served = remote.clone(tmp_path / "served")
    git(remote.editor.root, "checkout", "--quiet", "-b", "prova")
    other = remote.push("Su un altro ramo")
    git(remote.editor.root, "push", "--quiet", "origin", "prova")
    git(remote.bare, "config", "uploadpack.allowAnySHA1InWant", "true")
    checkout = Checkout(served, str(remote.bare))
    synced = run(checkout.sync(want=other))
    assert git(served, "cat-file", "-t", other) == "commit"  # fetched
    assert synced.commit == git(remote.bare, "rev-parse", "main")  # not on main: main's head is served
    with pytest.raises(CheckoutError, match="not a commit"):
        run(checkout.sync(want="--upload-pack=touch /tmp/x"))


def test_a_remote_that_fails_is_said_without_its_credentials(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path / "x", "http://comune:segretissimo@127.0.0.1:9/avvisi.git", timeout=20)
    with pytest.raises(CheckoutError) as failed:
        run(checkout.sync())
    assert "segretissimo" not in str(failed.value) and "git fetch failed" in str(failed.value)


def test_the_deploy_key_goes_through_ssh_with_host_keys_checked(tmp_path: Path) -> None:
    command = Checkout(tmp_path, "git@github.com:comune/avvisi.git", deploy_key=Path("/etc/avvisi/chiave")).env()[
        "GIT_SSH_COMMAND"
    ]
    assert command.startswith("ssh -i /etc/avvisi/chiave -o IdentitiesOnly=yes")
    assert "StrictHostKeyChecking" not in command and "UserKnownHostsFile" not in command
    assert "GIT_SSH_COMMAND" not in Checkout(tmp_path, "https://github.com/comune/avvisi.git").env()


def test_the_settings_are_reloaded_and_a_broken_mkdocs_is_kept_out(remote: Remote, tmp_path: Path) -> None:
    served = remote.clone(tmp_path / "served")
    first = git(served, "rev-parse", "HEAD")
    seen: list[TownConfig] = []
    follower = Follower(Checkout(served, str(remote.bare)), load_config(served / "mkdocs.yml"), on_config=[seen.append])

    remote.edit_config("population: 38400", "population: 40000")
    good = remote.push("Popolazione aggiornata")
    assert run(follower.sync()).commit == good
    assert [c.population for c in seen] == [40000] and follower.config.population == 40000

    remote.edit_config("population: 40000", "population: [")
    broken = remote.push("Un errore di battitura")
    synced = run(follower.sync())
    assert synced.commit == good and not synced.moved  # the checkout went back to the commit that works
    assert git(served, "rev-parse", "HEAD") == good and "population: 40000" in (served / "mkdocs.yml").read_text()
    assert follower.config.population == 40000 and len(seen) == 1
    (warning,) = follower.health().warnings
    assert broken[:12] in warning and "mkdocs.yml" in warning and good[:12] in warning
    assert follower.health().problems == []
    assert not run(follower.sync()).moved  # the broken head is not tried again

    remote.edit_config("population: [", "population: 41000")
    fixed = remote.push("Corretto")
    assert run(follower.sync()).commit == fixed
    assert follower.config.population == 41000 and follower.health().warnings == []
    assert first != good


def test_the_service_follows_main_and_health_says_what_it_serves(remote: Remote, tmp_path: Path) -> None:
    from site_tools.service.app import Service

    served = remote.clone(tmp_path / "served")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings.from_env(
        {
            "WHATSAPP_APP_SECRET": "s",
            "WHATSAPP_VERIFY_TOKEN": "v",
            "SITE_TOOLS_REPOSITORY_URL": str(remote.bare),
            "SITE_TOOLS_FETCH_EVERY": "0.2",
        }
    )
    Store.open(url).close()
    app = Service(load_config(served / "mkdocs.yml"), settings, lambda: Store.open(url))
    with TestClient(app.app()) as client:
        wait_for(lambda: client.get("/health").json()["fetched_age_seconds"] is not None, timeout=20)
        health = client.get("/health").json()
        assert health["commit"] == git(served, "rev-parse", "HEAD") and health["commit_age_seconds"] >= 0
        assert health["loops"]["checkout"] == "running"

        remote.edit_config("population: 38400", "population: 39000")
        answers = remote.editor.root / "content" / "risposte"
        answers.mkdir(parents=True, exist_ok=True)
        (answers / "passaporto.md").write_text(
            "---\ntitle: Passaporto\nkeywords: [passaporto]\n---\nIl passaporto si chiede in questura.\n",
            encoding="utf-8",
        )
        good = remote.push("Popolazione aggiornata, una risposta nuova allo sportello")
        wait_for(lambda: client.get("/health").json()["commit"] == good, timeout=20)
        assert app.config.population == 39000 and app.worker.config.population == 39000
        assert app.counter is not None
        wait_for(lambda: app.counter is not None and app.counter.library.answer("passaporto") is not None)

        remote.edit_config("population: 39000", "population: [")
        broken = remote.push("Un errore")
        wait_for(lambda: any("mkdocs.yml" in w for w in client.get("/health").json()["warnings"]), timeout=20)
        answer = client.get("/health")
        assert answer.status_code == 200, answer.json()  # the webhook goes on with the settings that work
        (warning,) = [w for w in answer.json()["warnings"] if "mkdocs.yml" in w]
        assert answer.json()["commit"] == good and broken[:12] in warning
        assert app.config.population == 39000


class StoppedClock:
    def __init__(self, t: float):
        self.t = t

    def time(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_health_says_when_main_is_no_longer_followed(remote: Remote, tmp_path: Path) -> None:
    served = remote.clone(tmp_path / "served")
    clock = StoppedClock(1_800_000_000.0)
    checkout = Checkout(served, str(remote.bare), clock=clock)
    follower = Follower(checkout, load_config(served / "mkdocs.yml"), every=120, clock=clock)
    run(follower.sync())
    assert follower.health().problems == [] and follower.health().details["fetched_age_seconds"] == 0

    checkout.remote = str(tmp_path / "gone.git")  # the remote is away (GitHub down, a key revoked)
    clock.t += 4 * 120
    with pytest.raises(CheckoutError):
        run(follower.sync())
    assert follower.health().problems == []  # a few failed fetches are not yet a problem
    clock.t += 2 * 120
    (problem,) = follower.health().problems
    assert "last successful fetch 720 s ago" in problem and "git fetch failed" in problem


@pytest.mark.e2e
def test_site_tools_webhook_follows_main_and_says_so(remote: Remote, tmp_path: Path) -> None:
    """The command as a town's server runs it, in its checkout: a push is served within a fetch interval."""
    import os
    import sys

    import httpx

    from .test_subscriptions import free_port

    served = remote.clone(tmp_path / "served")
    port = free_port()
    env = {
        **os.environ,
        "SITE_TOOLS_DB": f"sqlite:///{tmp_path / 'store.db'}",
        "WHATSAPP_APP_SECRET": "s",
        "WHATSAPP_VERIFY_TOKEN": "v",
        "SITE_TOOLS_REPOSITORY_URL": str(remote.bare),
        "SITE_TOOLS_FETCH_EVERY": "0.5",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
        cwd=served,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/health"

    def health() -> dict:
        try:
            return httpx.get(url).json()
        except httpx.HTTPError:
            return {}

    try:
        wait_for(lambda: health().get("fetched_age_seconds") is not None, timeout=30)
        remote.editor.write("2026-12-10-nuovo.md", "id: 2026-12-10-nuovo\ntitle: Nuovo\ndate: 2026-12-10 08:00")
        pushed = remote.push("Un avviso nuovo")
        wait_for(lambda: health().get("commit") == pushed, timeout=30)
        assert (served / "content" / "notizie" / "2026" / "2026-12-10-nuovo.md").is_file()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode()
    assert f"{pushed[:12]}" in out  # the log says the checkout moved


def test_a_pinned_checkout_does_not_move_under_a_publish(remote: Remote, tmp_path: Path) -> None:
    """While a publish reads the checkout it stays at one commit; the fallback still fetches (so /health does not
    call a long send a stale checkout) and checks the new head out once the publish is over."""
    served = remote.clone(tmp_path / "served")
    checkout = Checkout(served, str(remote.bare))
    follower = Follower(checkout, load_config(served / "mkdocs.yml"), every=0.05)

    async def eventually(predicate) -> None:  # type: ignore[no-untyped-def]
        for _ in range(400):
            if predicate():
                return
            await asyncio.sleep(0.025)
        raise AssertionError("condition not met in time")

    async def scenario() -> None:
        loop = asyncio.create_task(follower.run())
        try:
            async with follower.pinned() as synced:
                pushed = remote.push("Un commit durante l'invio")
                fetched = checkout.fetched_at or 0.0
                await eventually(
                    lambda: (
                        (checkout.fetched_at or 0) > fetched
                        and git(served, "rev-parse", checkout.fetched_ref) == pushed
                    )
                )
                assert git(served, "rev-parse", "HEAD") == synced.commit != pushed
            await eventually(lambda: follower.serving == pushed)
            assert git(served, "rev-parse", "HEAD") == pushed
        finally:
            loop.cancel()

    asyncio.run(scenario())
