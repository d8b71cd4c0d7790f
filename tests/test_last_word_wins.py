"""A citizen's last keyword wins: «ON» then «OFF» leaves them unsubscribed, however the events arrive."""

from __future__ import annotations

import threading
import time
from contextlib import closing
from typing import Any

import pytest

from .services import phones, simulator

pytestmark = pytest.mark.slow  # the worker racing keywords, with waits


def _on_then_off(phone: str, batch: bool) -> list[dict[str, Any]]:
    from .test_subscriptions import inbound

    now = int(time.time())
    on, off = inbound(phone, "VALFIORITA ON", "wamid.on1"), inbound(phone, "VALFIORITA OFF", "wamid.off1")
    for payload, sent in ((on, now - 30), (off, now - 10)):
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(sent)
    if not batch:
        return [on, off]
    on["entry"][0]["changes"][0]["value"]["messages"].append(off["entry"][0]["changes"][0]["value"]["messages"][0])
    return [on]


def test_a_citizens_last_word_off_wins_when_on_and_off_come_in_one_batch(sqlite_url: str) -> None:
    """A citizen writes «VALFIORITA ON», then «VALFIORITA OFF»; Meta delivers both in one POST (it batches).
    The request's fast path applies the OFF first (nobody to unsubscribe yet) and marks it seen; the worker
    then applies the ON and skips the OFF as already seen: the citizen stays subscribed against their last
    word, and gets bulletins after saying STOP (invariant 7; events.py: "in any order")."""
    from .test_service_faults import running

    phone = phones(1, 8900)[0]
    with simulator("--latency", "0") as sim, running(sqlite_url, sim) as (service, _):
        for payload in _on_then_off(phone, batch=True):
            assert service.post(payload).status_code == 200
        service.drained()
        with closing(service.store()) as store:
            assert store.subscribers.get(phone).status != "active", "subscribed after saying OFF"


def test_a_citizens_last_word_off_wins_when_the_worker_is_behind(sqlite_url: str) -> None:
    """The same in two POSTs, in order, while the worker is behind (a poster campaign, an opt-in burst): the OFF
    is applied in its request before the worker has applied the earlier ON, so it finds nobody to unsubscribe;
    the ON then subscribes the citizen for good."""
    import asyncio

    from .test_service_faults import running

    phone = phones(1, 8910)[0]
    with simulator("--latency", "0") as sim, running(sqlite_url, sim) as (service, app):
        real, gate = app.worker.pass_once, threading.Event()

        async def behind() -> bool:
            while not gate.is_set():  # the worker is busy with the burst's earlier events
                await asyncio.sleep(0.01)
            return await real()

        app.worker.pass_once = behind  # type: ignore[method-assign]
        for payload in _on_then_off(phone, batch=False):
            assert service.post(payload).status_code == 200
        gate.set()
        service.drained()
        with closing(service.store()) as store:
            assert store.subscribers.get(phone).status != "active", "subscribed after saying OFF"
