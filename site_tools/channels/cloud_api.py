"""The WhatsApp Cloud API messages endpoint, on the fan-out's hot path.

Why aiohttp here and httpx elsewhere: measured on this kind of machine
(2 cores) against the simulator answering after 150 ms, 3,000 requests:

=================  =========  ==========
client             in flight  messages/s
=================  =========  ==========
httpx AsyncClient   64          183
httpx AsyncClient  256           73
aiohttp             64          419  (64 / 0.15 s = 427: the ceiling)
aiohttp            256        1,542
=================  =========  ==========

httpx (through httpcore) gets *slower* as its pool grows: each request
walks the pool's queue and connections under a lock, so the cost per request
grows with the number of connections, and the event loop saturates before
the network does. aiohttp's connector keeps free connections in a deque and
reaches the latency-bound ceiling; 1,000 messages/s needs ~150 requests in
flight at 150 ms, which only aiohttp sustains. (HTTP/2 in httpx needs TLS
and the ``h2`` package; the simulator and many proxies speak HTTP/1.1.)
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from site_tools.channels.base import Outcome
from site_tools.channels.errors import EXPLAIN, Action, classify_whatsapp


class WhatsAppCloud:
    """The messages (or marketing messages) endpoint of one phone number (a :class:`~site_tools.channels.base.Sender`)."""

    def __init__(
        self,
        base_url: str,
        phone_number_id: str,
        token: str,
        max_in_flight: int = 256,
        timeout: float = 20.0,
        endpoint: str = "messages",
    ):
        # ``marketing_messages`` for a marketing template (the weekly digest): same body, same answers.
        self.url = f"{base_url.rstrip('/')}/{phone_number_id}/{endpoint}"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._max = max_in_flight
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=5)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WhatsAppCloud:
        connector = aiohttp.TCPConnector(limit=self._max, limit_per_host=self._max, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, json_serialize=json.dumps)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session:
            await self._session.close()

    async def send(self, payload: dict[str, Any]) -> Outcome:
        assert self._session is not None, "use 'async with WhatsAppCloud(...)'"
        try:
            async with self._session.post(self.url, data=json.dumps(payload), headers=self._headers) as response:
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
                try:
                    body = await response.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError, UnicodeDecodeError):
                    body = None
        except TimeoutError:
            return Outcome(False, Action.RETRY, detail="timeout", uncertain=True)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError) as exc:
            # The request may or may not have been processed.
            return Outcome(False, Action.RETRY, detail=type(exc).__name__, uncertain=True)
        except aiohttp.ClientConnectionError as exc:  # could not connect: nothing was sent
            return Outcome(False, Action.RETRY, detail=type(exc).__name__)
        if status == 200 and isinstance(body, dict) and body.get("messages"):
            return Outcome(True, message_id=str(body["messages"][0].get("id")), http_status=status)
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        action = classify_whatsapp(code, status)
        detail = (
            EXPLAIN.get(code, str(error.get("message") or f"HTTP {status}")) if code is not None else f"HTTP {status}"
        )
        return Outcome(False, action, code=code, http_status=status, retry_after=retry_after, detail=detail)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
