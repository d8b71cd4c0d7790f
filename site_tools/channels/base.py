"""The one interface every channel implements, and what it returns.

A :class:`Channel` knows four things about its medium: its ``name``, how a
bulletin looks there (:meth:`~Channel.render`), what sending it costs
(:meth:`~Channel.estimate`) and how to send it (:meth:`~Channel.deliver`).
Publishing, the dry run and the pull-request preview only ever talk to this
interface; the registry in :mod:`site_tools.channels` finds the channels.

Channels sit below the delivery layer: a channel that reaches many people
(the WhatsApp list) asks its :class:`DeliveryContext` for a fan-out instead
of importing one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from site_tools.channels.errors import Action
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import CHANNELS, TownConfig
from site_tools.content.problems import Problem
from site_tools.formatting import duration, euro, number
from site_tools.render.links import Links
from site_tools.settings import Settings


@dataclass(frozen=True)
class Outcome:
    """One API call's result, already classified."""

    ok: bool
    action: Action | None = None  # what to do when not ok
    message_id: str | None = None
    code: int | None = None
    http_status: int | None = None
    retry_after: float | None = None
    detail: str = ""
    #: The request may have reached the server (timeout, dropped connection):
    #: resending could duplicate, so wait for a receipt first.
    uncertain: bool = False


class ChannelStopped(Exception):
    """The whole run must stop on this channel (credentials, template, permissions, an uncertain post)."""

    def __init__(self, channel: str, outcome: Outcome, explanation: str):
        self.channel = channel
        self.outcome = outcome
        self.explanation = explanation
        super().__init__(f"{channel}: {explanation} (code {outcome.code}, HTTP {outcome.http_status})")


class Sender(Protocol):
    """One request to an API that takes a message per recipient."""

    async def send(self, payload: dict[str, Any]) -> Outcome: ...


@dataclass(frozen=True)
class Rendered:
    """What a channel will send for one bulletin, as an editor checks it."""

    parts: tuple[str, ...]  # the messages, in order
    facts: str  # a short line: template, lengths, how many messages
    markup: str = "text"  # "text" (WhatsApp formatting) or "html" (Telegram)
    manual: bool = False  # a person must post it (the WhatsApp Channel without a gateway)


@dataclass(frozen=True)
class Estimate:
    recipients: int
    seconds: float
    cost: float
    rate: float | None = None  # messages per second, for a fan-out

    def describe(self, who: str | None = None) -> str:
        """``25 destinatari, circa 0 s a 80 messaggi/s, costo stimato € 1,25``."""
        if self.rate is None:
            return f"un messaggio per tutti, {'gratuito' if not self.cost else 'costo stimato ' + euro(self.cost)}"
        return (
            f"{who or f'{number(self.recipients)} destinatari'}, circa {duration(self.seconds)} a "
            f"{self.rate:g} messaggi/s, costo stimato {euro(self.cost)}"
        )


@dataclass
class FanOutReport:
    """What a fan-out to every subscriber achieved (the delivery layer runs it for a channel)."""

    bulletin_id: str
    recipients: int = 0  # active subscribers when the run started
    accepted: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    skipped: int = 0  # opted out during the run
    retries: int = 0
    throttled: int = 0
    reconciled: int = 0  # unknown outcomes from a dead run, put back to retry
    state: str = "done"  # done, waiting (some owed it later), or a Stop value
    reason: str | None = None
    seconds: float = 0.0
    first_accept_at: float | None = None  # clock.monotonic() of the first accepted message

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


@dataclass
class Delivered:
    """What became of one bulletin on one channel."""

    state: str  # done, manual, failed, paused
    detail: str = ""
    external_id: str | None = None
    recipients: int | None = None
    report: FanOutReport | None = None
    post: str | None = None  # the text handed to a person (manual Channel)
    first_send_at: float | None = None  # monotonic time of the first message accepted
    #: The channel cannot take anything more in this run (credentials, template…).
    channel_down: bool = False


class KeyValue(Protocol):
    """Small values a channel keeps between runs and replicas (the store's ``service_state``)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


class NewsletterLedger(Protocol):
    """The newsletter's addresses and what each was sent, as the store keeps them (``store.newsletter``)."""

    def enqueue(self, bulletin_id: str) -> int: ...
    def claim(self, bulletin_id: str, run_id: str) -> tuple[int, str] | None: ...
    def attempts(self, bulletin_id: str, address_id: int) -> int: ...
    def finish(
        self, bulletin_id: str, address_id: int, state: str, code: int | None, retry_at: float | None = None
    ) -> None: ...
    def bounce(self, address_id: int, code: int) -> None: ...
    def release(self, bulletin_id: str, address_id: int) -> None: ...
    def next_retry(self, bulletin_id: str) -> float | None: ...
    def counts(self, bulletin_id: str) -> dict[str, int]: ...
    def count(self) -> int: ...


class DeliveryContext(Protocol):
    """What the delivery layer lends a channel while it sends."""

    config: TownConfig
    settings: Settings
    links: Links
    run_id: str

    @property
    def newsletter(self) -> NewsletterLedger:
        """The newsletter's ledger, for a channel that writes to each address (the e-mail newsletter)."""
        ...

    @property
    def state(self) -> KeyValue:
        """What a channel remembers between runs (Bluesky: its session, so that it logs in only when it must)."""
        ...

    async def fan_out(
        self, bulletin: Bulletin, channel: str, build_payload: Callable[[str], dict[str, Any]], sender: Sender
    ) -> FanOutReport: ...

    async def push_fan_out(
        self,
        bulletin: Bulletin,
        channel: str,
        send: Callable[[dict[str, Any]], Awaitable[Outcome]],
        concurrency: int,
    ) -> FanOutReport:
        """One request per stored browser subscription (Web Push), once each: ``send`` gets the subscription."""
        ...


class Channel:
    """Base of every channel: one file in :mod:`site_tools.channels` each, registered with ``@register``.

    ``shared``: several publisher runs may work on one publication at once
    (a fan-out, whose claims on recipients are disjoint); otherwise one run
    owns it, and a run that died mid-call leaves its outcome uncertain.
    """

    name: ClassVar[str]
    #: Order of sending: one-post channels (a request each) before the long fan-out.
    order: ClassVar[int] = 50
    shared: ClassVar[bool] = False

    def __init__(self, config: TownConfig, settings: Settings):
        self.config = config
        self.settings = settings

    @property
    def label(self) -> str:
        return CHANNELS[self.name]

    def mode(self) -> str:
        """How it is sent: ``api``, ``gateway`` or ``manual`` (recorded with the publication)."""
        return "api"

    #: What the channel needs on the server before it can send (declared once; :meth:`missing_secrets` reads it).
    secrets: ClassVar[tuple[Secret, ...]] = ()

    def missing_secrets(self) -> list[Problem]:
        return [
            secret_problem(s.variable, f"manca {s.variable}{': ' + s.why if s.why else ''}.", s.fix)
            for s in self.secrets
            if not getattr(self.settings, s.variable.lower())
        ]

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        raise NotImplementedError

    def estimate(self, bulletin: Bulletin, audience: int, rate: float) -> Estimate:
        return Estimate(recipients=1, seconds=0.0, cost=0.0)

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        raise NotImplementedError

    async def open(self) -> None:
        """Before the first delivery of a run (connections, sessions)."""

    async def close(self) -> None:
        """After the last delivery of a run, even when it failed."""


@dataclass(frozen=True)
class Secret:
    """A setting a channel cannot send without (``settings.py``: the variable's name, lower case, is the field)."""

    variable: str
    fix: str
    why: str = ""  # what goes wrong without it, when the name does not say


def secret_problem(variable: str, message: str, fix: str) -> Problem:
    return Problem("ambiente (segreti sul server del servizio)", None, variable, message, fix)


@dataclass
class Registry:
    """The channels, by name, in sending order."""

    types: dict[str, type[Channel]] = field(default_factory=dict)

    def register(self, cls: type[Channel]) -> type[Channel]:
        if cls.name not in CHANNELS:
            raise ValueError(f"channel {cls.name!r} is not in the editors' vocabulary (content.config.CHANNELS)")
        for secret in cls.secrets:
            if secret.variable.lower() not in Settings.model_fields:
                raise ValueError(f"channel {cls.name!r}: {secret.variable} is not a setting (settings.py)")
        if cls.name in self.types:
            raise ValueError(f"channel {cls.name!r} registered twice")
        self.types[cls.name] = cls
        return cls

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.types, key=lambda n: (self.types[n].order, n)))

    def create(self, config: TownConfig, settings: Settings) -> dict[str, Channel]:
        return {name: self.types[name](config, settings) for name in self.names()}


REGISTRY = Registry()
register = REGISTRY.register
