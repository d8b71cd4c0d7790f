"""Attack: the webhook of a number in coexistence reads up to 32 MB (Meta's history chunks) before it can check the
signature. An unsigned sender opening many connections at once must not make the service hold 32 MB for each:
only a couple of bodies over the ordinary 1 MB are read at a time, one more is refused with 503 (Meta retries),
and the slots come back once those bodies are read (or refused).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from site_tools.service.guard import BIG_BODIES_AT_ONCE, HISTORY_MAX_BODY, MAX_BODY, Rejected, read_body

MB = 1_000_000


def stalling(size: int, go: asyncio.Event | None) -> Request:
    """A POST that sends ``size`` bytes in 500 kB pieces, then waits for ``go`` before its last piece."""
    scope = {"type": "http", "method": "POST", "path": "/webhook", "headers": [], "query_string": b""}
    parts = [b"x" * 500_000] * (size // 500_000)

    async def receive() -> dict[str, Any]:
        if len(parts) == 1 and go is not None:
            await go.wait()
        body = parts.pop(0) if parts else b""
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    return Request(scope, receive)


async def attack() -> list[int | bytes]:
    go = asyncio.Event()
    held = [
        asyncio.create_task(read_body(stalling(3 * MB, go), limit=HISTORY_MAX_BODY)) for _ in range(BIG_BODIES_AT_ONCE)
    ]
    await asyncio.sleep(0.05)  # both are past 1 MB and waiting
    outcomes: list[int | bytes] = []
    try:
        await read_body(stalling(3 * MB, None), limit=HISTORY_MAX_BODY)
        outcomes.append(b"read")
    except Rejected as exc:
        outcomes.append(exc.status)
    outcomes.append(len(await read_body(stalling(MAX_BODY, None), limit=HISTORY_MAX_BODY)))  # a small one: read
    go.set()
    outcomes += [len(body) for body in await asyncio.gather(*held)]
    outcomes.append(len(await read_body(stalling(3 * MB, None), limit=HISTORY_MAX_BODY)))  # slots free again
    return outcomes


def test_only_a_few_bodies_over_1_mb_are_read_at_once() -> None:
    third, small, *rest = asyncio.run(attack())
    assert third == 503
    assert small == MAX_BODY
    assert rest == [3 * MB] * (BIG_BODIES_AT_ONCE + 1)


def test_a_refused_big_body_gives_its_slot_back() -> None:
    for _ in range(BIG_BODIES_AT_ONCE + 1):
        with pytest.raises(Rejected):
            asyncio.run(read_body(stalling(4 * MB, None), limit=3 * MB))  # 413 after taking a slot
    assert len(asyncio.run(read_body(stalling(2 * MB, None), limit=HISTORY_MAX_BODY))) == 2 * MB
