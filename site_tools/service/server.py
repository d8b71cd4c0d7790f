"""uvicorn, set up for the open internet: bounded connections, slow senders cut off.

* ``limit_concurrency``: beyond this many connections and requests in flight
  a new one is answered 503 at once (Meta retries) instead of held in memory.
* A header timeout (uvicorn has none of its own): a connection that has not
  sent its request headers within ``SITE_TOOLS_HEADER_TIMEOUT`` seconds (10 by default) is closed —
  200 slow connections no longer pin memory. The body has its own timeout in
  :func:`~site_tools.service.guard.read_body`.
* ``timeout_keep_alive``: idle keep-alive connections are closed after 5 s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn

log = logging.getLogger("site_tools.service")

MAX_CONNECTIONS = 512


def http_protocol(header_timeout: float) -> Any:
    """uvicorn's httptools protocol with a header timeout; plain "auto" where httptools is missing."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - no httptools on this platform
        log.warning("httptools is missing: no header timeout (put the service behind a proxy that has one)")
        return "auto"

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol


def serve(app: Any, host: str, port: int, header_timeout: float = 10.0) -> None:
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        loop="auto",
        http=http_protocol(header_timeout),
        backlog=4096,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )
