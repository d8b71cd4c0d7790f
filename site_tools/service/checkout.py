"""The service's checkout of the town's repository: it follows ``main``.

The service reads the town's settings (``mkdocs.yml``), the counter's answers and the bulletins from a Git
checkout of the town's repository. :class:`Checkout` keeps it at ``main``'s head:

* ``git fetch`` of the branch (and of a wanted commit that is not there yet: the one a publish names), into a
  ref of its own (``refs/remotes/site-tools/<branch>``), then a detached checkout of that head;
* a checkout whose tracked files were changed by hand is **refused** (:class:`DirtyCheckout`), never
  overwritten: someone is editing the server's copy, and a person must decide;
* one sync at a time (a lock); every git command has a timeout and never prompts;
* a private repository is fetched over SSH with a read-only deploy key (``GIT_SSH_COMMAND`` with
  ``-i key -o IdentitiesOnly=yes``; the host key is still checked against ``known_hosts``); a public one
  anonymously over HTTPS.

Untracked files (the SQLite store under ``data/``, a built ``site/``) are not local changes: they stay.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from site_tools.delivery.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger("site_tools.service")

#: Seconds any one git command may take (a fetch of a town's repository takes a second or two).
GIT_TIMEOUT = 120.0
#: The ref the fetched branch is kept in: the service's own, never a branch someone works on.
FETCHED = "refs/remotes/site-tools/{branch}"
SHA = re.compile(r"[0-9a-f]{40}")
#: A commit a publish names that main does not hold yet: main fetched again this many times, this far apart.
WANT_ATTEMPTS, WANT_PAUSE = 4, 1.0
#: Paths a commit may never bring into the service's checkout: the service's own files live there (its store
#: under data/, a built site, an environment someone installed in the checkout against the advice): a commit
#: adding data/site-tools.db would replace the store, one adding .venv/…/x.pth would run code at the next start.
FORBIDDEN = (".venv/", "venv/", "data/", "site/", "node_modules/", ".git/", ".site.building")


class CheckoutError(Exception):
    """git failed or timed out: the checkout stays where it was."""


class DirtyCheckout(CheckoutError):
    """Tracked files of the checkout were changed by hand: the service will not overwrite them."""


@dataclass(frozen=True)
class Synced:
    """What a sync did: the commit now checked out and the one before."""

    commit: str
    previous: str | None
    committed_at: float  # the commit's committer date (seconds since the epoch)
    fetched_at: float

    @property
    def moved(self) -> bool:
        return self.commit != self.previous


def hide_credentials(text: str) -> str:
    """A remote's URL may carry a user and a token (``https://x:token@host/…``): never in a log."""
    return re.sub(r"//[^/@\s]+@", "//•••@", text)


class Checkout:
    def __init__(
        self,
        root: Path,
        remote: str,
        branch: str = "main",
        deploy_key: Path | None = None,
        timeout: float = GIT_TIMEOUT,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.root = root
        self.remote = remote
        self.branch = branch
        self.deploy_key = deploy_key
        self.timeout = timeout
        self.clock = clock
        self.commit: str | None = None
        self.committed_at: float | None = None
        self.fetched_at: float | None = None  # the last successful fetch
        self._lock = asyncio.Lock()  # the working tree: one sync at a time
        self._fetching = asyncio.Lock()  # the refs: one fetch at a time (a fetch never touches the tree)

    @property
    def fetched_ref(self) -> str:
        return FETCHED.format(branch=self.branch)

    def env(self) -> dict[str, str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        if self.deploy_key is not None:
            # BatchMode: a key that needs a passphrase, or an unknown host key, fails instead of waiting.
            env["GIT_SSH_COMMAND"] = (
                f"ssh -i {shlex.quote(str(self.deploy_key))} -o IdentitiesOnly=yes -o BatchMode=yes"
            )
        return env

    async def git(self, *args: str) -> str:
        """Run ``git -C root args…``; its standard output, or :class:`CheckoutError` (failed, timed out)."""
        return await self._run(None, (0,), *args)

    async def git_input(self, text: str, *args: str) -> str:
        """``git`` reading ``text`` on its standard input (``check-ignore --stdin``: exit 1 means "none")."""
        return await self._run(text.encode(), (0, 1), *args)

    async def _run(self, given: bytes | None, ok: tuple[int, ...], *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            "git",
            "-C",
            str(self.root),
            "-c",
            "credential.helper=",
            *args,
            stdin=asyncio.subprocess.DEVNULL if given is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env(),
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(given), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise CheckoutError(f"git {args[0]} took more than {self.timeout:g} s: stopped") from None
        except asyncio.CancelledError:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        if proc.returncode not in ok:
            lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
            raise CheckoutError(hide_credentials(f"git {args[0]} failed: {lines[-1] if lines else proc.returncode}"))
        return out.decode(errors="replace").rstrip()  # not lstrip: «git status --porcelain» starts with a space

    async def _has(self, commit: str) -> bool:
        try:
            await self.git("cat-file", "-e", f"{commit}^{{commit}}")
            return True
        except CheckoutError:
            return False

    async def _ready(self) -> None:
        """A first start on an empty folder: make it a repository (the fetch fills it)."""
        if (self.root / ".git").exists():
            return
        if self.root.exists() and any(self.root.iterdir()):
            raise CheckoutError(f"{self.root} is not a Git checkout (and not empty): clone the town's repository there")
        self.root.mkdir(parents=True, exist_ok=True)
        await self.git("init", "--quiet")

    async def fetch(self, want: str | None = None) -> str:
        """Fetch the branch (and ``want``, a commit, when it is not here yet); the commit to serve: the branch's
        head, or ``want`` when it is newer than the head just fetched (GitHub answered the fetch from a replica
        that had not seen the push yet)."""
        if want is not None and not SHA.fullmatch(want):
            raise CheckoutError(f"not a commit: {want[:50]!r}")
        async with self._fetching:
            return await self._fetch(want)

    async def _fetch(self, want: str | None) -> str:
        """Main's head, fetched. A wanted commit is served only through main: when it is main's head or one of its
        ancestors, main's head (which holds it) is served; when main does not hold it yet (GitHub answered from a
        replica that had not seen the push), main is fetched again a few times; a commit main no longer holds (a
        force push took it away, and the run is re-run) is never served on its own."""
        await self._ready()
        for attempt in range(WANT_ATTEMPTS):
            await self.git(
                "fetch", "--quiet", "--no-tags", self.remote, f"+refs/heads/{self.branch}:{self.fetched_ref}"
            )
            self.fetched_at = self.clock.time()
            head = await self.git("rev-parse", "--verify", f"{self.fetched_ref}^{{commit}}")
            if want is None or want == head or await self._holds(head, want):
                return head
            if attempt < WANT_ATTEMPTS - 1:
                await self.clock.sleep(WANT_PAUSE)
        log.warning("commit %s is not on %s (%s): serving main's head", (want or "")[:12], self.branch, head[:12])
        return head

    async def _holds(self, head: str, want: str) -> bool:
        """``want`` is ``head`` or one of its ancestors (a commit this checkout does not have is not)."""
        if not await self._has(want):
            return False
        try:
            await self.git("merge-base", "--is-ancestor", want, head)
        except CheckoutError:
            return False
        return True

    async def holds(self, want: str) -> bool:
        """The commit checked out now holds ``want`` (it is that commit or a descendant of it)."""
        return self.commit is not None and SHA.fullmatch(want) is not None and await self._holds(self.commit, want)

    async def current(self) -> str | None:
        try:
            return await self.git("rev-parse", "--verify", "HEAD^{commit}")
        except CheckoutError:
            return None  # a new repository: nothing checked out yet

    async def look(self) -> str | None:
        """What is checked out now (before any fetch: ``/health`` tells it even while the remote is away)."""
        commit = await self.current()
        if commit is not None and self.commit is None:
            self.commit = commit
            self.committed_at = float(await self.git("show", "-s", "--format=%ct", commit))
        return commit

    async def _refuse_forbidden(self, previous: str | None, commit: str) -> None:
        """:class:`CheckoutError` when the commit brings a path the service keeps for itself (:data:`FORBIDDEN`),
        or one this checkout's ``.gitignore`` ignores (added with ``git add -f``: ignored paths are the service's)."""
        if previous is not None:
            listed = await self.git("diff", "--name-only", "--no-renames", "--diff-filter=d", previous, commit)
        else:
            listed = await self.git("ls-tree", "-r", "--name-only", commit)
        paths = [p for p in listed.splitlines() if p]
        bad = [p for p in paths if any(p.startswith(f) or f"/{f}" in f"/{p}" for f in FORBIDDEN)]
        if paths and not bad:
            ignored = await self.git_input("\n".join(paths) + "\n", "check-ignore", "--no-index", "--stdin")
            bad = [p for p in ignored.splitlines() if p]
        if bad:
            raise CheckoutError(
                f"commit {commit[:12]} brings paths the service keeps for itself ({', '.join(bad[:5])}): not checked "
                "out. Remove them from the repository (git rm --cached) and push again."
            )

    async def changes(self) -> str:
        """Tracked files changed by hand (``git status``: it reads every file's metadata, tens of milliseconds at
        10,000 bulletins, so :class:`~.follower.Follower` asks for it while the fetch runs)."""
        try:
            return await self.git("status", "--porcelain", "--untracked-files=no")
        except CheckoutError:
            return ""  # nothing checked out yet: nothing to lose

    async def switch(self, commit: str, changed: str | None = None) -> Synced:
        """Check ``commit`` (already fetched) out, detached; :class:`DirtyCheckout` if tracked files were changed
        (``changed``: what :meth:`changes` said, when it was asked before)."""
        previous = await self.current()
        if commit != previous:
            if previous is not None:
                changed = await self.changes() if changed is None else changed
                if changed:
                    files = ", ".join(line[3:] for line in changed.splitlines()[:5])
                    raise DirtyCheckout(
                        f"the checkout in {self.root} has local changes ({files}): not updated to {commit[:12]}; "
                        "commit them elsewhere or discard them (git checkout -- .)"
                    )
            await self._refuse_forbidden(previous, commit)
            # Not --force: a file the commit brings that is already here untracked (the store, a key) is refused by
            # git, never overwritten.
            await self.git("checkout", "--quiet", "--detach", commit)
        self.commit = commit
        self.committed_at = float(await self.git("show", "-s", "--format=%ct", commit))
        return Synced(commit, previous, self.committed_at, self.fetched_at or self.clock.time())

    async def sync(self, want: str | None = None) -> Synced:
        """Fetch, then check out the branch's head (or ``want``, see :meth:`fetch`). One at a time."""
        async with self._lock:
            target = await self.fetch(want)
            synced = await self.switch(target)
        if synced.moved:
            log.info("checkout: %s → %s", (synced.previous or "nothing")[:12], synced.commit[:12])
        return synced
