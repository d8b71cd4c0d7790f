"""The subscriptions service: an ASGI app (Starlette) for Meta's WhatsApp webhooks.

* ``GET /webhook`` — the verification handshake (``hub.*``).
* ``POST /webhook`` — ``X-Hub-Signature-256`` checked against the raw body
  with the app secret (constant time); the body is stored, then
  acknowledged with 200; a worker processes stored events in order, so a
  valid event is never lost because the process stopped or another was bad.
* Replies go out through the outbox, rate-limited, as free-form text (the
  citizen just wrote to us: the 24-hour service window is open).
* ``GET /health`` — counts, for monitoring.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from site_tools.channels.errors import Action
from site_tools.content.config import TownConfig
from site_tools.delivery.pacer import Pacer
from site_tools.phones import mask_all
from site_tools.service.events import process_event
from site_tools.service.oauth import editor_login_routes
from site_tools.service.signature import valid_signature
from site_tools.settings import Settings
from site_tools.store import Store

log = logging.getLogger("site_tools.webhook")
MAX_BODY = 1_000_000  # Meta batches up to 1,000 updates; 1 MB is ample


class Service:
    def __init__(self, config: TownConfig, settings: Settings, store_factory: Callable[[], Store]):
        if not settings.app_secret or not settings.verify_token:
            raise ValueError("WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN must be set")
        self.config = config
        self.settings = settings
        self.store_factory = store_factory
        # One connection per thread: the request thread writes the inbox, the worker thread the rest.
        self._inbox_pool = ThreadPoolExecutor(1, thread_name_prefix="inbox")
        self._work_pool = ThreadPoolExecutor(1, thread_name_prefix="worker")
        self._inbox_store: Store | None = None
        self._work_store: Store | None = None
        self._wake = asyncio.Event()
        self.processed = 0
        self.failed = 0

    def _inbox(self) -> Store:
        if self._inbox_store is None:
            self._inbox_store = self.store_factory()
        return self._inbox_store

    def _worker_store(self) -> Store:
        if self._work_store is None:
            self._work_store = self.store_factory()
        return self._work_store

    async def inbox(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._inbox_pool, lambda: fn(self._inbox(), *args))

    async def work(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(
            self._work_pool, lambda: fn(self._worker_store(), *args)
        )

    # -- HTTP ----------------------------------------------------------------
    async def verify(self, request: Request) -> Response:
        q = request.query_params
        token = q.get("hub.verify_token") or ""
        if q.get("hub.mode") == "subscribe" and hmac.compare_digest(token, self.settings.verify_token or ""):
            return PlainTextResponse(q.get("hub.challenge", ""))
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return PlainTextResponse("payload too large", status_code=413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                return PlainTextResponse("payload too large", status_code=413)
            chunks.append(chunk)
        body = b"".join(chunks)
        if not valid_signature(self.settings.app_secret or "", body, request.headers.get("x-hub-signature-256")):
            return PlainTextResponse("invalid signature", status_code=403)
        try:
            text = body.decode("utf-8")
            payload = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return PlainTextResponse("malformed JSON", status_code=400)
        if not isinstance(payload, dict):
            return PlainTextResponse("not an event", status_code=400)
        await self.inbox(lambda store: store.inbox.add(text))
        self._wake.set()
        return PlainTextResponse("ok")

    async def health(self, request: Request) -> Response:
        pending = await self.inbox(lambda store: store.inbox.pending())
        return JSONResponse({"pending_events": pending, "processed": self.processed, "failed": self.failed})

    # -- background work -------------------------------------------------------
    async def process_loop(self) -> None:
        while True:
            try:
                events = await self.work(lambda store: store.inbox.new(200))
            except Exception:  # noqa: BLE001 - the store may be briefly locked; try again
                log.exception("cannot read the inbox")
                await asyncio.sleep(1)
                continue
            if not events:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                except TimeoutError:
                    pass
                continue
            for event_id, body in events:
                try:
                    await self.work(lambda store, b=body: process_event(store, self.config, b))
                    await self.work(lambda store, i=event_id: store.inbox.done(i))
                    self.processed += 1
                except Exception as exc:  # noqa: BLE001 - one bad event must not stop the others
                    self.failed += 1
                    detail = mask_all(f"{type(exc).__name__}: {exc}")[:500]
                    log.warning("event %s not processed: %s", event_id, detail)
                    await self.work(lambda store, i=event_id, d=detail: store.inbox.failed(i, d))

    async def reply_loop(self) -> None:
        """The outbox, through the same rate-limited sender as the publisher.

        Like the fan-out: enough requests in flight to fill the rate despite
        the API's latency, outcomes written back in batches.
        """
        if not (self.settings.whatsapp_token and self.settings.whatsapp_phone_number_id):
            log.warning("WHATSAPP_TOKEN not set: replies stay in the outbox")
            return
        from site_tools.channels.cloud_api import WhatsAppCloud

        rate = self.settings.whatsapp_mps
        in_flight = max(8, min(256, int(rate * 0.6)))
        pacer = Pacer(rate)
        queue: asyncio.Queue[tuple[int, str, str, int]] = asyncio.Queue()
        done: list[tuple[int, str, str | None, str | None, float | None]] = []

        async def sender(cloud: Any) -> None:
            while True:
                reply_id, phone, body, attempts = await queue.get()
                await pacer.wait()
                outcome = await cloud.send(
                    {
                        "messaging_product": "whatsapp",
                        "recipient_type": "individual",
                        "to": phone,
                        "type": "text",
                        "text": {"preview_url": True, "body": body},
                    }
                )
                if outcome.ok:
                    done.append((reply_id, "sent", outcome.message_id, None, None))
                elif (
                    outcome.action in (Action.RETRY, Action.THROTTLE, Action.MAINTENANCE, Action.RETRY_LATER)
                    and attempts < 5
                ):
                    if outcome.action is Action.THROTTLE:
                        pacer.throttled(outcome.retry_after or 1.0)
                    done.append((reply_id, "pending", None, outcome.detail, time.time() + 2**attempts))
                else:
                    done.append((reply_id, "failed", None, outcome.detail, None))
                queue.task_done()

        async with WhatsAppCloud(
            self.settings.whatsapp_api_url,
            self.settings.whatsapp_phone_number_id,
            self.settings.whatsapp_token,
            max_in_flight=in_flight,
            timeout=self.settings.http_timeout,
        ) as cloud:
            workers = [asyncio.create_task(sender(cloud)) for _ in range(in_flight)]
            try:
                while True:
                    if done:
                        batch, done[:] = done[:], []
                        await self.work(lambda store, b=batch: store.outbox.done(b))
                    if queue.qsize() < in_flight:
                        for row in await self.work(lambda store: store.outbox.due(in_flight * 2)):
                            queue.put_nowait(row)
                    await asyncio.sleep(0.1)
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                if done:
                    await self.work(lambda store, b=list(done): store.outbox.done(b))

    def app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            tasks = [asyncio.create_task(self.process_loop()), asyncio.create_task(self.reply_loop())]
            yield
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for pool in (self._inbox_pool, self._work_pool):
                pool.shutdown(wait=True)

        return Starlette(
            routes=[
                Route("/webhook", self.verify, methods=["GET"]),
                Route("/webhook", self.receive, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
                *editor_login_routes(self.config),  # GitHub login for the web editor, when configured
            ],
            lifespan=lifespan,
        )
