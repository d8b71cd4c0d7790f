"""Publishing a plan: each bulletin, urgent first, to each of its channels, once.

The publisher owns the run (its id, its liveness in the store) and lends each
channel what it needs to send (:class:`~site_tools.channels.base.DeliveryContext`):
the configuration, the links, and a fan-out for channels that reach every
subscriber. It never branches on a channel's name.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from site_tools import channels
from site_tools.channels.base import Channel, ChannelStopped, Delivered, Outcome, Sender
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.delivery.fanout import FanOut, FanOutOptions, FanOutReport
from site_tools.delivery.plan import Plan, commit_adoption, origin_of
from site_tools.formatting import euro
from site_tools.render.links import Links
from site_tools.settings import Settings
from site_tools.store import Store
from site_tools.store.choices import kind_of, receives

#: A result whose post may or may not be on the channel (kept «sending» in the ledger).
UNCERTAIN = "uncertain"


@dataclass
class ChannelResult:
    bulletin_id: str
    channel: str
    state: str  # done, manual, failed, paused, waiting, skipped, held (over the cost ceiling)
    detail: str = ""
    report: FanOutReport | None = None
    post: str | None = None  # the text handed to the editor (manual Channel)
    channel_down: bool = False  # nothing more goes to this channel in this run


@dataclass
class PublishReport:
    results: list[ChannelResult] = field(default_factory=list)
    historical: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    uncertain: list[tuple[str, str]] = field(default_factory=list)
    first_send_at: float | None = None  # monotonic time of the first message accepted, any channel

    def followed_by(self, later: PublishReport) -> PublishReport:
        """This (early) part of a run and the rest of it, as one report: the later part decided the rest."""
        return PublishReport(
            self.results + later.results,
            later.historical,
            later.refused,
            later.uncertain,
            self.first_send_at or later.first_send_at,
        )

    @property
    def ok(self) -> bool:
        return (
            not self.refused
            and not self.uncertain
            and all(r.state in ("done", "manual", "waiting") for r in self.results)
        )


class Publisher:
    def __init__(
        self,
        config: TownConfig,
        store: Store,
        settings: Settings,
        links: Links,
        options: FanOutOptions | None = None,
        *,
        approve_cost: bool = False,
    ):
        self.config = config
        self.approve_cost = approve_cost
        self.store = store
        self.state = store.state  # lent to channels (DeliveryContext.state)
        self.settings = settings
        self.links = links
        self.options = options or FanOutOptions(rate=config.whatsapp_rate(settings.whatsapp_mps))
        if self.options.number_id is None and settings.whatsapp_phone_number_id:
            self.options = replace(self.options, number_id=settings.whatsapp_phone_number_id)
        self.run_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.channels = channels.create(config, settings)
        self._audience: dict[tuple[str, ...], int] = {}  # active subscribers, by the choices a bulletin reaches
        self.newsletter = store.newsletter  # lent to the e-mail newsletter (DeliveryContext)

    async def fan_out(
        self, bulletin: Bulletin, channel: str, build_payload: Callable[[str], dict[str, Any]], sender: Sender
    ) -> FanOutReport:
        """Lent to channels that send one message per subscriber (DeliveryContext)."""
        fan = FanOut(self.store, sender, self.run_id, self.options)
        choices = receives(kind_of(bulletin.urgent))  # what each subscriber chose (store/choices.py)
        return await fan.run(bulletin.id, build_payload, "urgent" if bulletin.urgent else "normal", channel, choices)

    async def push_fan_out(
        self,
        bulletin: Bulletin,
        channel: str,
        send: Callable[[dict[str, Any]], Awaitable[Outcome]],
        concurrency: int,
    ) -> FanOutReport:
        """Lent to the Web Push channel: every stored browser subscription, once (DeliveryContext)."""
        from site_tools.delivery.push_fanout import push_fan_out

        return await push_fan_out(self.store, bulletin.id, self.run_id, send, concurrency)

    async def publish(self, plan: Plan) -> PublishReport:
        report = PublishReport()
        commit_adoption(plan, self.store)  # already done by the command line, before its secret check
        report.historical = len(plan.historical)
        report.refused = [(b.id, why) for b, why in plan.refused]
        report.uncertain = [(b.id, c) for b, c in plan.uncertain]
        if not plan.items:
            return report
        self.store.ledger.start_run(self.run_id, os.getpid())
        down: dict[str, str] = {}  # channel → why it takes nothing more in this run
        try:
            for item in plan.items:
                for name in item.channels:
                    if name in down:
                        report.results.append(ChannelResult(item.bulletin.id, name, "failed", down[name]))
                        continue
                    over = self.over_ceiling(item.bulletin, self.channels[name])
                    if over:
                        report.results.append(ChannelResult(item.bulletin.id, name, "held", over))
                        continue
                    result = await self._publish_one(item.bulletin, self.channels[name], report)
                    report.results.append(result)
                    if result.channel_down:
                        down[name] = result.detail
        finally:
            for channel in self.channels.values():
                await channel.close()
        return report

    def over_ceiling(self, b: Bulletin, channel: Channel) -> str | None:
        """The town's cost ceiling per send (``extra.town.cost_ceiling_eur``): above it, only with approval.
        A send already started (approved then, or under the ceiling) is resumed: it was decided."""
        ceiling = self.config.cost_ceiling_eur
        if ceiling is None or self.approve_cost or self.store.ledger.publication(b.id, channel.name):
            return None
        choices = receives(kind_of(b.urgent))
        if choices not in self._audience:
            self._audience[choices] = self.store.subscribers.count_active(choices)
        estimate = channel.estimate(b, self._audience[choices], self.options.rate)
        if estimate.cost <= ceiling:
            return None
        return (
            f"non inviato: {estimate.describe()}, oltre il tetto di spesa di {euro(ceiling)} "
            "(extra.town.cost_ceiling_eur). Se va inviato, approva la spesa: sul server del servizio, "
            f"«site-tools publish --approve-cost --only {b.id}»"
        )

    async def _publish_one(self, b: Bulletin, channel: Channel, report: PublishReport) -> ChannelResult:
        priority = "urgent" if b.urgent else "normal"
        origin = origin_of(b, self.config)
        if not self.store.ledger.claim_publication(
            b.id, channel.name, channel.mode(), priority, shared=channel.shared, origin=origin
        ):
            return ChannelResult(b.id, channel.name, "skipped", "già in corso in un'altra esecuzione")
        try:
            delivered = await channel.deliver(b, self)
        except ChannelStopped as exc:
            # An uncertain post (a timeout: it may be on the channel already) is left «sending», as a run that died
            # mid-call leaves it: the next run does not post it again on a guess (--resend-uncertain --only ID).
            delivered = Delivered(
                UNCERTAIN if exc.outcome.uncertain else "failed",
                self.settings.scrub(exc.explanation),
                channel_down=exc.outcome.action is not None and not exc.outcome.uncertain,
            )
        if delivered.first_send_at and not report.first_send_at:
            report.first_send_at = delivered.first_send_at
        self.store.ledger.finish_publication(
            b.id,
            channel.name,
            "sending" if delivered.state == UNCERTAIN else delivered.state,
            delivered.detail or None,
            external_id=delivered.external_id,
            recipients=delivered.recipients,
        )
        return ChannelResult(
            b.id,
            channel.name,
            delivered.state,
            delivered.detail,
            report=delivered.report,
            post=delivered.post,
            channel_down=delivered.channel_down,
        )
