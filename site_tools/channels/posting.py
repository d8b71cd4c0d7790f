"""One post to one API, tried again while that is safe: what the one-post channels (Facebook, Mastodon) share.

The policy, from each API's documented errors (the channel classifies them into an :class:`Outcome`):

* accepted → done;
* throttled → wait what the API says (``retry_after``), unless that is longer than a run should wait;
* a transient error (5xx) → try again, with backoff, a bounded number of times;
* an uncertain outcome (a timeout, a dropped connection: the post may be online) → tried again only when the
  request carries an idempotency key the server honours (Mastodon); otherwise the run stops on this channel and
  the ledger keeps it uncertain: never a second post on a guess;
* anything else (credentials, permissions, a refused text) → stop this channel for the run.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from site_tools.channels import https
from site_tools.channels.base import ChannelStopped, Delivered, Outcome
from site_tools.channels.errors import Action
from site_tools.formatting import duration

MAX_ATTEMPTS = 5
#: A throttled post waits at most this long within a run; longer, and the next run sends it.
MAX_WAIT = 60.0


async def post_with_retries(
    channel: str, once: Callable[[], Awaitable[Outcome]], *, idempotent: bool, where: str
) -> Outcome:
    """Call ``once`` until the post is accepted; raise :class:`ChannelStopped` otherwise. ``where``: what the
    editor checks before posting again by hand (``la Pagina Facebook``)."""
    outcome = Outcome(False, Action.RETRY, detail="nessun tentativo")
    for attempt in range(MAX_ATTEMPTS):
        outcome = await once()
        if outcome.ok:
            return outcome
        if outcome.uncertain and not idempotent:
            raise ChannelStopped(
                channel, outcome, f"esito incerto ({outcome.detail}): controlla {where} prima di ripubblicare"
            )
        if outcome.action is Action.THROTTLE:
            wait = outcome.retry_after if outcome.retry_after is not None else float(2**attempt)
            if wait > MAX_WAIT:
                raise ChannelStopped(
                    channel, outcome, f"limite di richieste raggiunto: si riprova tra circa {duration(wait)}"
                )
            await asyncio.sleep(wait)
        elif outcome.action is Action.RETRY:
            await asyncio.sleep(min(30, 2**attempt) * random.uniform(0.5, 1.5))
        else:
            raise ChannelStopped(channel, outcome, outcome.detail)
    raise ChannelStopped(channel, outcome, f"troppi tentativi falliti: {outcome.detail}")


async def publish_post(
    channel: str,
    send: Callable[[Any], Awaitable[Outcome]],
    *,
    timeout: float,
    idempotent: bool,
    where: str,
    done: str,
) -> Delivered:
    """One post through a client of its own (``send(client)`` makes one request), tried again while that is safe
    (:func:`post_with_retries`); ``done``: what the publication records (``post pubblicato sulla Pagina``)."""
    import httpx

    async with httpx.AsyncClient(timeout=timeout, verify=https.context()) as client:
        outcome = await post_with_retries(channel, lambda: send(client), idempotent=idempotent, where=where)
    return Delivered("done", done, external_id=outcome.message_id, recipients=1, first_send_at=time.monotonic())
