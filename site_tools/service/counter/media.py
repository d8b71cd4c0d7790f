"""Media citizens send: fetched through the Cloud API's media endpoint into the store (private).

An inbound image or document carries only an id. ``GET /{version}/{media-id}``
(bearer token) answers a short-lived URL, which is fetched with the same
``Authorization`` header. Done here, in a background loop, never in the
webhook's path: a slow or failing media server must not delay an opt-out.
Files are checked against the size cap and Meta's sha256, then kept in the
store (``media_blobs``): never on the public site, deleted with the
conversation (retention, ``subscribers forget``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from site_tools.content import limits
from site_tools.settings import Settings, reveal
from site_tools.store import Store
from site_tools.store.conversations import MEDIA_FAILED, MEDIA_TOO_BIG, MediaJob
from site_tools.store.database import store_bug

log = logging.getLogger("site_tools.counter.media")

#: Error codes that mean "this medium will never be there" (unknown id, expired, not ours).
PERMANENT = {100, 131009, 131052, 131053}
MAX_ATTEMPTS = 6

Run = Callable[[Callable[[Store], Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Fetched:
    data: bytes
    mime: str | None


class MediaError(Exception):
    def __init__(self, reason: str, permanent: bool = False, final_state: str = MEDIA_FAILED):
        super().__init__(reason)
        self.permanent = permanent
        self.final_state = final_state


def sha256_matches(expected: str | None, data: bytes) -> bool:
    """Meta's ``sha256`` (hex, or base64 in some payloads): either spelling of the digest is accepted."""
    if not expected:
        return True
    digest = hashlib.sha256(data).digest()
    return expected.strip().lower() == digest.hex() or expected.strip() == base64.b64encode(digest).decode()


class MediaFetcher:
    def __init__(self, settings: Settings, client: httpx.AsyncClient, max_bytes: int = limits.COUNTER_MEDIA_MAX):
        self.settings = settings
        self.client = client
        self.max_bytes = max_bytes
        self.api = urlsplit(settings.whatsapp_api_url)

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {reveal(self.settings.whatsapp_token)}"}

    async def fetch(self, job: MediaJob) -> Fetched:
        info = await self.client.get(f"{self.settings.whatsapp_api_url}/{job.media_id}", headers=self._auth)
        if info.status_code != 200:
            raise _api_error(info)
        meta = info.json()
        url = str(meta.get("url") or "")
        size = meta.get("file_size")
        if isinstance(size, int) and size > self.max_bytes:
            raise MediaError(f"file of {size} bytes over the cap", permanent=True, final_state=MEDIA_TOO_BIG)
        if not self._trusted(url):
            raise MediaError("media URL not https", permanent=True)
        chunks, total = [], 0
        async with self.client.stream("GET", url, headers=self._auth) as response:
            if response.status_code != 200:
                raise MediaError(f"download answered HTTP {response.status_code}")  # expired URL: ask again
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > self.max_bytes:
                    raise MediaError("file over the cap", permanent=True, final_state=MEDIA_TOO_BIG)
                chunks.append(chunk)
        data = b"".join(chunks)
        if not sha256_matches(meta.get("sha256") or job.sha256, data):
            raise MediaError("sha256 does not match")
        return Fetched(data, str(meta.get("mime_type") or job.mime or "") or None)

    def _trusted(self, url: str) -> bool:
        """Only https, or the API's own origin (the local simulator): a token is sent along."""
        parts = urlsplit(url)
        return parts.scheme == "https" or (parts.scheme, parts.netloc) == (self.api.scheme, self.api.netloc)


def _api_error(response: httpx.Response) -> MediaError:
    code = None
    try:
        error = response.json().get("error") or {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
    except ValueError:
        pass
    permanent = code in PERMANENT or response.status_code == 404
    return MediaError(f"media endpoint answered HTTP {response.status_code}, code {code}", permanent=permanent)


async def fetch_pending(fetcher: MediaFetcher, run: Run, batch: int = 8) -> int:
    """Fetch what is due; returns how many jobs were handled (stored or rescheduled)."""
    jobs: list[MediaJob] = await run(lambda store: store.conversations.media_due(batch))
    for job in jobs:
        try:
            fetched = await fetcher.fetch(job)
        except (MediaError, httpx.HTTPError, ValueError) as exc:
            permanent = isinstance(exc, MediaError) and exc.permanent
            final = exc.final_state if isinstance(exc, MediaError) else MEDIA_FAILED
            attempt = job.attempts + 1
            retry_at = None if permanent or attempt >= MAX_ATTEMPTS else time.time() + 5 * 4 ** (attempt - 1)
            log.warning("medium of message %s not fetched (attempt %s): %s", job.message_id, attempt, exc)
            await run(_retry(job.message_id, retry_at, final))
            continue
        await run(_stored(job.message_id, fetched))
    return len(jobs)


def _retry(message_id: int, retry_at: float | None, final: str) -> Callable[[Store], None]:
    return lambda store: store.conversations.media_retry(message_id, retry_at, final)


def _stored(message_id: int, fetched: Fetched) -> Callable[[Store], None]:
    return lambda store: store.conversations.media_stored(message_id, fetched.data, fetched.mime)


async def media_loop(settings: Settings, run: Run, idle: float = 1.0) -> None:
    """Forever: fetch pending media. Without a token they wait (and the log says so once)."""
    if not (settings.whatsapp_token and settings.whatsapp_api_url):
        log.warning("WHATSAPP_TOKEN not set: citizens' media stay unfetched")
        return
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the short-lived download URLs
    async with httpx.AsyncClient(timeout=settings.http_timeout, follow_redirects=False) as client:
        fetcher = MediaFetcher(settings, client)
        while True:
            try:
                handled = await fetch_pending(fetcher, run)
            except Exception as exc:  # noqa: BLE001 - the store may be briefly unavailable; try again
                if store_bug(exc):
                    raise  # a bug in the SQL: the supervisor stops the service and says so
                log.exception("media loop: cannot read the store")
                handled = 0
            if not handled:
                await asyncio.sleep(idle)
