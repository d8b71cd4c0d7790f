"""Cheap rejection of what is not Meta's: bounded reading, signatures that never raise, bounded nesting."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from starlette.requests import Request

#: Meta batches up to 1,000 updates in one POST; 1 MB is ample.
MAX_BODY = 1_000_000
#: A number in coexistence also receives ``history`` webhooks: one chunk of the chats of 180 days may hold
#: thousands of messages (Meta: «store first, process after»), several megabytes. Its webhook reads up to this.
HISTORY_MAX_BODY = 32_000_000
#: How many bodies over :data:`MAX_BODY` are read at once. Each may reach :data:`HISTORY_MAX_BODY` before its
#: signature can be checked: without a bound, an unsigned sender opening many connections would hold gigabytes.
#: One more is answered 503 (Meta retries).
BIG_BODIES_AT_ONCE = 2
_big_bodies = threading.BoundedSemaphore(BIG_BODIES_AT_ONCE)  # every server of the process (tests run several)
#: A sender that trickles its body this slowly is not Meta.
BODY_TIMEOUT = 10.0
#: Meta's envelope is 8 levels deep; nothing legitimate comes near this.
MAX_DEPTH = 32


class Rejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(request: Request, limit: int = MAX_BODY, timeout: float = BODY_TIMEOUT) -> bytes:
    """The raw body, read up to ``limit`` bytes within ``timeout`` seconds, or :class:`Rejected`."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise Rejected(413, "payload too large")
    chunks: list[bytes] = []
    size = 0
    big = False
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Rejected(413, "payload too large")
                if size > MAX_BODY and not big:
                    if not _big_bodies.acquire(blocking=False):
                        raise Rejected(503, "too many large bodies at once, retry later")
                    big = True
                chunks.append(chunk)
    except TimeoutError as exc:
        raise Rejected(408, "body too slow") from exc
    finally:
        if big:
            _big_bodies.release()
    return b"".join(chunks)


def header_bytes(request: Request, name: str) -> bytes | None:
    """A header exactly as it arrived (any byte value), never decoded into something that can raise."""
    wanted = name.lower().encode("latin-1")
    for key, value in request.scope.get("headers", []):
        if key.lower() == wanted:
            return bytes(value)
    return None


def load_json(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parsed JSON no deeper than ``max_depth``, or :class:`Rejected` (400)."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(400, "malformed JSON") from exc
    except RecursionError as exc:
        raise Rejected(400, "JSON nested too deeply") from exc
    if depth(value) > max_depth:
        raise Rejected(400, "JSON nested too deeply")
    return value


def depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest
