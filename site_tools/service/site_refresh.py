"""The site rebuilt when what it shows changes with time: the service asks GitHub to run the site workflow.

A push rebuilds the site in CI already. What changes without a push — a scheduled bulletin appears, an urgent
banner or a bulletin expires, an event ends — is known here, to the minute (:class:`~.schedule.Agenda`): at each
such moment the service computes a fingerprint of the site's time-dependent state and, when it differs from the
one last asked for, sends

    POST {GITHUB_API_URL}/repos/<owner/name>/actions/workflows/site.yml/dispatches  {"ref": "main"}

with ``SITE_TOOLS_GITHUB_DISPATCH_TOKEN`` (a fine-grained token with «Actions: write» on that one repository).
The fingerprint lives in the store (``service_state``): one rebuild per change, whichever replica saw it first,
across restarts. A failed request is tried again; a token missing or refused is said in the log and in
``/health`` (a warning: the webhook and the publishing go on).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from site_tools.service.follower import Health
from site_tools.service.schedule import Agenda, Dated
from site_tools.settings import Settings, reveal
from site_tools.store import Store

log = logging.getLogger("site_tools.service")
T = TypeVar("T")

WORKFLOW = "site.yml"
#: service_state keys: the fingerprint claimed by a replica, and the one GitHub accepted a rebuild for.
CLAIMED, DISPATCHED = "site.fingerprint", "site.dispatched"

Work = Callable[[Callable[[Store], T]], Awaitable[T]]


class Refused(Exception):
    """GitHub will not run the workflow for this token (missing, wrong, without «Actions: write»)."""


def fingerprint(bulletins: list[Dated], now: float) -> str:
    """What the site shows at ``now`` that changes with time alone: which bulletins are visible, expired, whose
    event is over, which urgent ones make the banner. (A push changes the rest, and CI rebuilds it.)"""
    digest = hashlib.sha256()
    for b in sorted(bulletins):
        visible = b.date <= now
        expired = b.expires is not None and b.expires <= now
        state = (visible, expired, b.event_end is not None and b.event_end <= now, b.urgent and visible and not expired)
        digest.update(f"{b.id}:{''.join('1' if s else '0' for s in state)}\n".encode())
    return digest.hexdigest()


def repository_of(url: str | None) -> str | None:
    """``owner/name`` of a GitHub remote (``https://github.com/o/n.git``, ``git@github.com:o/n.git``)."""
    match = re.search(r"github\.com[/:]([\w.-]+/[\w.-]+?)(?:\.git)?/?$", url or "")
    return match.group(1) if match else None


class Dispatcher:
    """GitHub's workflow dispatch endpoint, for one repository's site workflow."""

    def __init__(self, settings: Settings, repository: str, timeout: float = 20.0):
        self.url = f"{settings.github_api_url}/repos/{repository}/actions/workflows/{WORKFLOW}/dispatches"
        self.token = reveal(settings.github_dispatch_token)
        self.timeout = timeout

    async def dispatch(self) -> None:
        """Ask for a run on main; :class:`Refused` when the token is missing or refused, ``httpx.HTTPError``
        (to try again) for anything else."""
        if not self.token:
            raise Refused("SITE_TOOLS_GITHUB_DISPATCH_TOKEN is not set")
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            answer = await client.post(self.url, json={"ref": "main"}, headers=headers)
        if answer.status_code in (401, 403, 404, 422):
            raise Refused(f"GitHub answered {answer.status_code}: {_message(answer)}")
        answer.raise_for_status()


def _message(answer: httpx.Response) -> str:
    try:
        body: Any = answer.json()
    except ValueError:
        return answer.text[:200]
    return str(body.get("message", ""))[:200] if isinstance(body, dict) else ""


class SiteRefresh:
    """The action the site's :class:`~.schedule.Timer` runs at each moment the site changes by itself."""

    def __init__(self, agenda: Callable[[], Awaitable[Agenda]], work: Work[Any], dispatcher: Dispatcher | None):
        self.agenda = agenda
        self.work = work
        self.dispatcher = dispatcher
        self.refused: str | None = None
        self.dispatched = 0

    async def built_by_push(self, at: float) -> None:
        """The checkout moved: the push's own workflow builds the site as it is now; remember that state."""
        current = fingerprint((await self.agenda()).bulletins, at)
        await self.work(lambda store: store.state.put_many({CLAIMED: current, DISPATCHED: current}))

    async def __call__(self, at: float) -> bool:
        current = fingerprint((await self.agenda()).bulletins, at)
        claimed = await self.work(lambda store: store.state.swap(CLAIMED, current))
        if not claimed and await self.work(lambda store: store.state.get(DISPATCHED)) == current:
            return True  # nothing changed, or another replica has asked already
        if self.dispatcher is None:
            self.refused = "no repository to dispatch to (extra.town.service.repository or SITE_TOOLS_REPOSITORY_URL)"
            log.error("the site must be rebuilt and cannot be: %s", self.refused)
            return True
        try:
            await self.dispatcher.dispatch()
        except Refused as exc:
            self.refused = str(exc)
            log.error("the site must be rebuilt and GitHub refused the request: %s", exc)
            return True  # said in /health; tried again at the next change (a new token is a restart)
        except httpx.HTTPError as exc:
            log.warning("asking GitHub to rebuild the site failed (%s): trying again", type(exc).__name__)
            return False
        self.refused = None
        self.dispatched += 1
        await self.work(lambda store: store.state.put(DISPATCHED, current))
        log.info("site rebuild asked of GitHub (what the site shows changed)")
        return True

    def health(self) -> Health:
        report = Health(details={"site_rebuilds_asked": self.dispatched})
        if self.refused:
            report.warnings.append(f"site rebuild not asked: {self.refused}")
        return report
