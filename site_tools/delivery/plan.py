"""What to publish now: bulletins × channels, urgent first, without backfill and without duplicates.

Selection (invariant 2, no backfill blast): a bulletin goes to a channel when
it is visible (not a draft, its date has come), not expired, routed to that
channel (category routing in the config; urgent goes everywhere), and has no
finished publication there. The first run on a store without history marks
every visible bulletin *historical* and sends nothing old; a bulletin dated
more than ``max_age`` ago is refused unless forced.

Validation (invariant 3) runs first: any problem in the configuration or the
bulletins stops the run before a single message leaves. A channel without its
secret does not stop the others: it is set aside for the run (its pairs stay
unpublished, sent by a later run with the secret) and reported at the end.

The ledger knows bulletins by id; it also remembers which file each id stood
for when it first went out (:class:`~site_tools.store.ledger.Origin`: path and
date). A bulletin whose id the ledger knows is the same bulletin when its path
or its date is the same (an edit keeps the path, a renamed file keeps the date);
when both differ, a new bulletin took the id of one already sent, and it is
refused loudly (file, ``id`` field, fix) instead of being taken for an edit.

A bulletin that ``cancels`` another goes only where that one went (a
publication in the ledger, or in this run): «ANNULLATO» about a bulletin a
citizen never received would only confuse. When the cancelled bulletin went
nowhere (refused, never sent), the cancellation is held and reported to the
editors (file, ``cancels`` field, fix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from site_tools import channels
from site_tools.channels.base import Channel
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import CHANNELS, TownConfig
from site_tools.content.dates import DEFAULT_TZ, format_until
from site_tools.content.loading import Content
from site_tools.content.problems import Problem, display_path
from site_tools.store import Store
from site_tools.store.ledger import Origin, Refusal

FINAL_STATES = ("done", "historical", "manual", "declined")  # declined: Channel issue closed unposted
DEFAULT_MAX_AGE = timedelta(days=3)
#: The key prefix of a send held over the town's cost ceiling (``refusals``): ``costo:<bulletin>:<channel>``.
COST_HOLD = "costo:"


def channels_for(bulletin: Bulletin, config: TownConfig) -> tuple[str, ...]:
    """Routing by cost and purpose: the config's per-category channels, all of them when urgent."""
    enabled = config.enabled_channels()
    if bulletin.urgent:
        routed = set(enabled)
    else:
        routed = {c for slug in bulletin.categories if (cat := config.category(slug)) for c in cat.channels}
    return tuple(c for c in channels.names() if c in enabled and c in routed and c in bulletin.channels)


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
    adopting: bool = False  # the store has not adopted the repository yet: this run decides
    problems: list[Problem] = field(default_factory=list)  # bad or clashing bulletins, left out
    #: bulletins the ledger holds back: a new one under the id of one already sent, the cancellation of one
    #: never sent
    held_back: list[Problem] = field(default_factory=list)
    unrecorded: dict[str, Origin] = field(default_factory=dict)  # ids in the ledger whose file it does not know
    #: channels left out of this run for a missing secret (:func:`set_aside_without_secrets`)
    set_aside: tuple[str, ...] = ()

    def drop(self, pairs: set[tuple[str, str]]) -> None:
        """Leave out these (bulletin id, channel) pairs: an earlier part of the run published them, or their channel
        lacks its secret."""
        kept = ((item, tuple(c for c in item.channels if (item.bulletin.id, c) not in pairs)) for item in self.items)
        self.items = [PlanItem(item.bulletin, rest) for item, rest in kept if rest]

    def refusals(self) -> list[Refusal]:
        """What this run would not send, keyed so that a later run knows it was already reported."""
        found = [Refusal(refused_key(b, why), b.id, why) for b, why in self.refused]
        found += [Refusal(problem_key(p), None, p.format()) for p in self.problems]
        return found


def refused_key(b: Bulletin, why: str) -> str:
    return f"rifiutato:{b.id}:{why}"


def problem_key(p: Problem) -> str:
    return f"problema:{p.file}:{p.field}:{p.message}"


def origin_of(b: Bulletin, config: TownConfig) -> Origin:
    """The file this bulletin is now (see :class:`~site_tools.store.ledger.Origin`)."""
    return Origin(display_path(b.path, config.root), b.date.isoformat())


def commit_adoption(plan: Plan, store: Store, how: str = "primo avvio") -> None:
    """The adoption and its historical marks, in one transaction, once the whole plan is decided; the files of
    ids the ledger knew without one."""
    if plan.adopting:
        store.ledger.adopt([b.id for b in plan.historical], list(CHANNELS), how, origins=plan.unrecorded)
        plan.adopting = False
    else:
        store.ledger.record_origins(plan.unrecorded)
    plan.unrecorded = {}


def make_plan(
    content: Content,
    store: Store,
    now: datetime,
    *,
    only: str | None = None,
    channel: str | None = None,
    force: bool = False,
    new_ids: set[str] | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    resend_uncertain: bool = False,
) -> Plan:
    plan = Plan(problems=list(content.problems))
    clashing = content.clashing_ids()
    usable = [b for b in content.bulletins if b.id not in clashing]
    visible = [b for b in usable if b.is_visible(now)]
    plan.waiting = sorted((b for b in usable if not b.draft and b.date > now), key=lambda b: b.date)
    if store.ledger.adoption() is None:
        plan.adopting = True
        plan.historical = [b for b in visible if not (new_ids and b.id in new_ids) and b.id != only]
        plan.unrecorded = {b.id: origin_of(b, content.config) for b in plan.historical}
    historical_ids = {b.id for b in plan.historical}
    # A partial load (the new files only) asks for its own few bulletins; a whole one reads the table at once.
    asked = (
        [*{b.id for b in visible}, *{b.cancels for b in visible if b.cancels}] if content.known is not None else None
    )
    states = store.ledger.states(asked)
    in_ledger = {bid for bid, _ in states}
    origins = store.ledger.origins(asked) if in_ledger else {}
    held = {r.bulletin_id for r in store.ledger.refusals() if r.key.startswith(COST_HOLD)}
    routes: dict[tuple[bool, tuple[str, ...], frozenset[str]], tuple[str, ...]] = {}  # few distinct routings
    for b in sorted(visible, key=lambda b: (not b.urgent, b.date)):
        if b.id in historical_ids or (only and b.id != only):
            continue
        if b.id in in_ledger and _took_a_known_id(plan, content, b, origins.get(b.id)):
            continue
        route = (b.urgent, b.categories, b.channels)
        if route not in routes:
            routes[route] = channels_for(b, content.config)
        wanted = [c for c in routes[route] if channel in (None, c)]
        todo = [
            c
            for c in wanted
            if _still_to_do(plan, store, b, c, states.get((b.id, c)), resend_uncertain and only == b.id)
        ]
        if not todo:
            continue
        started = any((b.id, c) in states for c in channels.names())
        # Held over the cost ceiling, it was on time then: waiting for an approval does not make it «too old».
        why = None if force or started else _refusal(b, now, None if b.id in held else max_age)
        if why:
            plan.refused.append((b, why))
            continue
        if b.is_active(now):
            plan.items.append(PlanItem(b, tuple(todo)))
    _cancel_only_where_it_went(plan, content, states)
    plan.problems += plan.held_back
    return plan


def _cancel_only_where_it_went(plan: Plan, content: Content, states: dict[tuple[str, str], str]) -> None:
    """A cancellation goes to the channels its target reached (in the ledger, or now in this run); one whose
    target reached none is held back and reported."""
    going = {item.bulletin.id: item.channels for item in plan.items}
    kept: list[PlanItem] = []
    for item in plan.items:
        b, target = item.bulletin, item.bulletin.cancels
        if target is None:
            kept.append(item)
            continue
        reached = {c for c in channels.names() if states.get((target, c)) not in (None, "declined")}
        reached.update(going.get(target, ()))
        narrowed = tuple(c for c in item.channels if c in reached)
        if narrowed:
            kept.append(PlanItem(b, narrowed))
        elif not reached:
            plan.held_back.append(_never_sent_target(content, b, target))
    plan.items = kept


def _never_sent_target(content: Content, b: Bulletin, target: str) -> Problem:
    path = display_path(b.path, content.config.root)
    record = next((r for r in content.records if r.shown == path), None)
    return Problem(
        path,
        record.line("cancels") if record else None,
        "cancels",
        f"annulla l'avviso «{target}», che non è mai stato inviato ai cittadini (su nessun canale): "
        "l'annullamento non è stato inviato, perché chi lo ricevesse leggerebbe «ANNULLATO» di un avviso mai "
        "visto. Sul sito compare.",
        f"se «{target}» non deve uscire, correggilo o toglilo: non è mai partito. Se questo avviso ha comunque "
        "qualcosa da dire ai cittadini, togli «cancels:» e pubblicalo come avviso a sé; se invece «"
        f"{target}» va prima inviato, correggilo: questo annullamento partirà dopo di lui.",
    )


def _took_a_known_id(plan: Plan, content: Content, b: Bulletin, recorded: Origin | None) -> bool:
    """True (and the problem added to the plan) when ``b`` is not the bulletin the ledger knows under its id.

    The same path (an edit) or the same date (a renamed file) is the same bulletin. An id the ledger knows
    without its file (a store older than that record) takes this file's, once.
    """
    config = content.config
    path = display_path(b.path, config.root)
    if recorded is None:
        plan.unrecorded[b.id] = Origin(path, b.date.isoformat())
        return False
    if recorded.path == path:
        return False
    try:
        then = datetime.fromisoformat(recorded.date)
    except ValueError:  # not a date: nothing to compare, taken as the same bulletin, as before this record
        return False
    if then == b.date:
        return False
    record = next((r for r in content.records if r.shown == path), None)
    local = then.astimezone(config.timezone)
    then_text, as_written = f"{local:%d/%m/%Y %H:%M}", f"{local:%Y-%m-%d %H:%M}"
    plan.held_back.append(
        Problem(
            path,
            record.line("id") if record else None,
            "id",
            f"l'id «{b.id}» è quello di un avviso già inviato ai cittadini (il file {recorded.path}, "
            f"data {then_text}), che ora non c'è più o ha un altro id: il registro degli invii prenderebbe questo "
            "avviso per una modifica di quello e non lo invierebbe mai. Non è stato inviato.",
            "se è un avviso nuovo, dagli un «id» mai usato prima (l'indirizzo della pagina cambia con l'id) e "
            f"ripubblica. Se invece è proprio quell'avviso, spostato o corretto, rimetti «date: {as_written}» "
            "(la correzione va in «updated:»): non sarà inviato di nuovo.",
        )
    )
    return True


def _refusal(b: Bulletin, now: datetime, max_age: timedelta | None) -> str | None:
    """Why a bulletin never sent anywhere is not sent now (None: it may go)."""
    if b.expires is not None and now >= b.expires:
        until = format_until(
            b.expires, b.expires.tzinfo or DEFAULT_TZ
        )  # the day the editor wrote, not the midnight after
        return f"è già scaduto: valeva fino a {until} (campo «expires»)"
    if max_age is not None and b.date < now - max_age:
        return f"la data ({b.date:%d/%m/%Y}) è di più di {max_age.days} giorni fa"
    return None


def _still_to_do(plan: Plan, store: Store, b: Bulletin, channel: str, state: str | None, resend: bool) -> bool:
    if state in FINAL_STATES:
        return False
    if state == "sending" and not channels.REGISTRY.types[channel].shared:
        # A one-post channel whose run died mid-call: posting again could double it.
        # Only an editor who checked the channel may say "resend" (--resend-uncertain --only ID).
        if not resend:
            plan.uncertain.append((b, channel))
            return False
        store.ledger.release_publication(b.id, channel)
    return True


def confirm_uncertain(store: Store, bulletin_id: str, channel: str) -> bool:
    """The editor found the uncertain post of a one-post channel online: it is done (False: nothing uncertain)."""
    if channels.REGISTRY.types[channel].shared:
        return False  # a shared channel's «sending» is a fan-out under way, resumed by the next run
    return store.ledger.confirm_publication(bulletin_id, channel)


def validate_for_publishing(content: Content, plan: Plan) -> list[Problem]:
    """Invariant 3, bulletin by bulletin: what is about to be sent is checked in full before anything leaves;
    a bulletin with a problem is left out of the plan (and reported), the others still go."""
    content.check_bodies({item.bulletin.id for item in plan.items})
    plan.problems = sorted(dict.fromkeys([*content.problems, *plan.held_back]))
    bad = {p.file for p in plan.problems}
    shown = {r.bulletin.id: r.shown for r in content.records if r.bulletin is not None}
    plan.items = [item for item in plan.items if shown.get(item.bulletin.id) not in bad]
    return plan.problems


def missing_secrets(plan: Plan, by_name: dict[str, Channel]) -> dict[str, list[Problem]]:
    """The channels this plan needs that lack a secret, with their problems (a gateway's always: it is a
    configuration mistake even on a run that does not need it)."""
    needed = {c for item in plan.items for c in item.channels}
    found = {name: channel.missing_secrets() for name, channel in by_name.items()}
    return {
        name: problems
        for name, problems in found.items()
        if problems and (name in needed or by_name[name].mode() == "gateway")
    }


def set_aside_without_secrets(plan: Plan, by_name: dict[str, Channel]) -> list[Problem]:
    """A channel without its secret sits this run out, and only that channel: its (bulletin, channel) pairs leave
    the plan, unpublished, so a later run with the secret sends them (the usual max-age rules apply to a bulletin
    sent nowhere yet); every other channel goes. The problems are returned for the run to report at its end."""
    missing = missing_secrets(plan, by_name)
    plan.set_aside = tuple(name for name in by_name if name in missing)
    plan.drop({(item.bulletin.id, c) for item in plan.items for c in item.channels if c in missing})
    return [problem for problems in missing.values() for problem in problems]
