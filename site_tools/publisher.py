"""What to publish now, and publishing it: bulletins × channels, urgent first.

Selection (invariant 2, no backfill blast): a bulletin goes to a channel when
it is visible (not a draft, its date has come), not expired, routed to that
channel (category routing in the config; urgent goes everywhere), and has no
finished publication there. The first run on a store without history marks
every visible bulletin *historical* and sends nothing old; a bulletin dated
more than ``max_age`` ago is refused unless forced.

Validation (invariant 3) runs first: any problem in the configuration or the
bulletins stops the run before a single message leaves.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .bulletin import Bulletin
from .channels.base import ChannelStopped
from .config import CHANNELS, TownConfig
from .content import Content
from .fanout import FanOut, FanOutOptions, FanOutReport
from .problems import InvalidContent, Problem
from .render.channel_post import render_channel_post
from .render.links import Links
from .render.telegram import render_telegram
from .render.whatsapp_template import render_template
from .settings import Settings
from .store import Store

if TYPE_CHECKING:
    from .channels.whatsapp_cloud import WhatsAppCloud

FINAL_STATES = ("done", "historical", "manual")
#: One-post channels first (a request each), then the list fan-out.
CHANNEL_ORDER = ("telegram", "whatsapp_channel", "whatsapp_list")
DEFAULT_MAX_AGE = timedelta(days=3)


def channels_for(bulletin: Bulletin, config: TownConfig) -> tuple[str, ...]:
    """Routing by cost and purpose: the config's per-category channels, all of them when urgent."""
    enabled = config.enabled_channels()
    if bulletin.urgent:
        routed = set(enabled)
    else:
        routed = {c for slug in bulletin.categories if (cat := config.category(slug)) for c in cat.channels}
    return tuple(c for c in CHANNEL_ORDER if c in enabled and c in routed and c in bulletin.channels)


@dataclass
class PlanItem:
    bulletin: Bulletin
    channels: tuple[str, ...]


@dataclass
class Plan:
    items: list[PlanItem] = field(default_factory=list)
    historical: list[Bulletin] = field(default_factory=list)
    refused: list[tuple[Bulletin, str]] = field(default_factory=list)
    uncertain: list[tuple[Bulletin, str]] = field(default_factory=list)
    waiting: list[Bulletin] = field(default_factory=list)


def make_plan(content: Content, store: Store, now: datetime, *, only: str | None = None,
              channel: str | None = None, force: bool = False, new_ids: set[str] | None = None,
              max_age: timedelta = DEFAULT_MAX_AGE, resend_uncertain: bool = False) -> Plan:
    config = content.config
    plan = Plan()
    visible = [b for b in content.bulletins if b.is_visible(now)]
    plan.waiting = sorted((b for b in content.bulletins if not b.draft and b.date > now), key=lambda b: b.date)
    first_run = not store.has_history()
    if first_run:
        plan.historical = [b for b in visible if not (new_ids and b.id in new_ids) and b.id != only]
    historical_ids = {b.id for b in plan.historical}
    states = {(p.bulletin_id, p.channel): p.state for p in store.publications()}
    for b in sorted(visible, key=lambda b: (not b.urgent, b.date)):
        if b.id in historical_ids or (only and b.id != only) or not b.is_active(now):
            continue
        wanted = [c for c in channels_for(b, config) if channel in (None, c)]
        todo = []
        for c in wanted:
            state = states.get((b.id, c))
            if state in FINAL_STATES:
                continue
            if state == "sending" and c != "whatsapp_list":
                # A one-post channel whose run died mid-call: posting again could double it.
                # Only an editor who checked the channel may say "resend" (--resend-uncertain --only ID).
                if not (resend_uncertain and only == b.id):
                    plan.uncertain.append((b, c))
                    continue
                store.release_publication(b.id, c)
            todo.append(c)
        if not todo:
            continue
        started = any((b.id, c) in states for c in CHANNELS)
        if not force and not started and b.date < now - max_age:
            plan.refused.append((b, f"la data ({b.date:%d/%m/%Y}) è di più di {max_age.days} giorni fa"))
            continue
        plan.items.append(PlanItem(b, tuple(todo)))
    return plan


def validate_for_publishing(content: Content, plan: Plan) -> None:
    """Invariant 3: every problem, in everything, before anything is sent."""
    content.check_bodies({item.bulletin.id for item in plan.items})
    if content.problems:
        raise InvalidContent(content.problems)


def missing_secrets(plan: Plan, settings: Settings, config: TownConfig) -> list[Problem]:
    needed = {c for item in plan.items for c in item.channels}
    problems = []
    where = "ambiente (segreti del CI)"
    if "whatsapp_list" in needed and not (settings.whatsapp_token and settings.whatsapp_phone_number_id):
        problems.append(Problem(where, None, "WHATSAPP_TOKEN", "mancano WHATSAPP_TOKEN o WHATSAPP_PHONE_NUMBER_ID.",
                                "aggiungi i due segreti nelle impostazioni del repository (Settings › Secrets)."))
    if "telegram" in needed and not settings.telegram_bot_token:
        problems.append(Problem(where, None, "TELEGRAM_BOT_TOKEN", "manca TELEGRAM_BOT_TOKEN.",
                                "aggiungi il token del bot (da @BotFather) nei segreti del repository."))
    if settings.channel_gateway_url and not (settings.channel_gateway_token and settings.channel_id):
        problems.append(Problem(where, None, "WHATSAPP_CHANNEL_GATEWAY_TOKEN",
                                "il gateway del Canale è configurato ma mancano token o WHATSAPP_CHANNEL_ID.",
                                "aggiungi i segreti, oppure togli WHATSAPP_CHANNEL_GATEWAY_URL per la pubblicazione manuale."))
    return problems


@dataclass
class ChannelResult:
    bulletin_id: str
    channel: str
    state: str  # done, manual, failed, paused, skipped
    detail: str = ""
    report: FanOutReport | None = None
    post: str | None = None  # the text handed to the editor (manual Channel)


@dataclass
class PublishReport:
    results: list[ChannelResult] = field(default_factory=list)
    historical: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    uncertain: list[tuple[str, str]] = field(default_factory=list)
    first_send_at: float | None = None  # monotonic time of the first message accepted, any channel

    @property
    def ok(self) -> bool:
        return not self.refused and not self.uncertain and all(r.state in ("done", "manual") for r in self.results)


class Publisher:
    def __init__(self, config: TownConfig, store: Store, settings: Settings, links: Links,
                 options: FanOutOptions | None = None):
        self.config = config
        self.store = store
        self.settings = settings
        self.links = links
        self.options = options or FanOutOptions(rate=settings.whatsapp_mps)
        self.run_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    async def publish(self, plan: Plan) -> PublishReport:
        report = PublishReport()
        if plan.historical:
            channels = list(CHANNELS)
            self.store.mark_historical([b.id for b in plan.historical], channels)
            report.historical = len(plan.historical)
        report.refused = [(b.id, why) for b, why in plan.refused]
        report.uncertain = [(b.id, c) for b, c in plan.uncertain]
        if not plan.items:
            return report
        self.store.start_run(self.run_id, os.getpid())
        list_stopped: str | None = None
        cloud = None
        if any("whatsapp_list" in item.channels for item in plan.items):
            from .channels.whatsapp_cloud import WhatsAppCloud  # aiohttp: imported only when the lists are used

            cloud = WhatsAppCloud(self.settings.whatsapp_api_url, self.settings.whatsapp_phone_number_id or "",
                                  self.settings.whatsapp_token or "", max_in_flight=self.options.in_flight(),
                                  timeout=self.settings.http_timeout)
            await cloud.__aenter__()
        try:
            for item in plan.items:
                b = item.bulletin
                for channel in item.channels:
                    if channel == "whatsapp_list" and list_stopped:
                        report.results.append(ChannelResult(b.id, channel, "failed", list_stopped))
                        continue
                    result = await self._publish_one(b, channel, cloud, report)
                    report.results.append(result)
                    if channel == "whatsapp_list" and result.state == "failed":
                        list_stopped = result.detail
        finally:
            if cloud is not None:
                await cloud.__aexit__(None, None, None)
        return report

    async def _publish_one(self, b: Bulletin, channel: str, cloud: "WhatsAppCloud | None",
                           report: PublishReport) -> ChannelResult:
        priority = "urgent" if b.urgent else "normal"
        manual = channel == "whatsapp_channel" and not self.settings.channel_gateway_url
        mode = "manual" if manual else ("gateway" if channel == "whatsapp_channel" else "api")
        if not self.store.claim_publication(b.id, channel, mode, priority, shared=channel == "whatsapp_list"):
            return ChannelResult(b.id, channel, "skipped", "già in corso in un'altra esecuzione")
        try:
            if channel == "telegram":
                from .channels.telegram import TelegramBot

                assert self.config.telegram and self.settings.telegram_bot_token
                bot = TelegramBot(self.settings.telegram_api_url, self.settings.telegram_bot_token,
                                  self.config.telegram.chat, timeout=self.settings.http_timeout)
                ids = await bot.post(render_telegram(b, self.config, self.links))
                report.first_send_at = report.first_send_at or time.monotonic()
                self.store.finish_publication(b.id, channel, "done", external_id=",".join(ids), recipients=1)
                return ChannelResult(b.id, channel, "done", f"{len(ids)} messaggio/i nel canale")
            if channel == "whatsapp_channel":
                post = render_channel_post(b, self.config, self.links)
                if manual:
                    self.store.finish_publication(b.id, channel, "manual", "da pubblicare a mano dall'app")
                    return ChannelResult(b.id, channel, "manual", "testo pronto da incollare nel Canale", post=post)
                from .channels.whatsapp_channel import GatewayChannel

                gateway = GatewayChannel(self.settings.channel_gateway_url or "", self.settings.channel_gateway_token or "",
                                         self.settings.channel_id or "")
                message_id = await gateway.post(post)
                report.first_send_at = report.first_send_at or time.monotonic()
                self.store.finish_publication(b.id, channel, "done", external_id=message_id, recipients=1)
                return ChannelResult(b.id, channel, "done", "pubblicato tramite gateway")
            assert cloud is not None
            message = render_template(b, self.config)
            fan = FanOut(self.store, cloud, self.run_id, self.options)
            fan_report = await fan.run(b.id, message.payload, priority)
            if fan_report.first_accept_at and not report.first_send_at:
                report.first_send_at = fan_report.first_accept_at
            if fan_report.state == "done":
                self.store.finish_publication(b.id, channel, "done", recipients=fan_report.accepted)
            else:
                self.store.finish_publication(b.id, channel, fan_report.state, fan_report.reason)
            return ChannelResult(b.id, channel, fan_report.state, fan_report.reason or "", report=fan_report)
        except ChannelStopped as exc:
            detail = self.settings.scrub(exc.explanation)
            self.store.finish_publication(b.id, channel, "failed", detail)
            return ChannelResult(b.id, channel, "failed", detail)

