"""``site-tools publish`` and ``site-tools deliveries``: the text people read."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from site_tools.channels.base import Channel
from site_tools.cli.common import (
    ANNOTATE,
    EXIT_PROBLEMS,
    Context,
    annotating,
    db_option,
    friendly,
    now_option,
    pass_ctx,
    store_for,
)
from site_tools.cli.common import report as report_problems
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import CHANNELS, TownConfig
from site_tools.content.loading import Content, load_content
from site_tools.content.problems import NOTHING_PUBLISHED, InvalidContent, Problem
from site_tools.delivery.audience import describe as describe_audience
from site_tools.delivery.audience import reached
from site_tools.delivery.fanout import FanOutReport
from site_tools.delivery.plan import Plan
from site_tools.delivery.publisher import PublishReport
from site_tools.formatting import count, euro, log_safe, number, plural
from site_tools.render.links import Links
from site_tools.settings import current
from site_tools.store import Store
from site_tools.store.ledger import Refusal

if TYPE_CHECKING:
    from site_tools.delivery.channel_issues import ManualPost
    from site_tools.settings import Settings


def changed_ids(content: Content, rev: str, root: Path) -> set[str] | None:
    """Ids of the bulletins added or modified since ``rev`` (the push's "before" commit).

    None when that commit is not there (a force-push rewrote it, a new branch, a shallow clone): the
    store's ledger then decides what is new, which is all it ever decides once the store has adopted.
    """
    if not rev.strip("0"):
        click.echo("Nessuna revisione precedente (primo push): decide il registro degli invii.")
        return None
    try:
        out = subprocess.run(
            ["git", "diff", "--name-only", "--diff-filter=AMR", rev, "HEAD", "--", str(content.config.bulletins_path)],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        click.echo(
            f"La revisione precedente al push ({rev[:12]}) non c'è più (forse un force-push): "
            "uso il registro degli invii per sapere cosa è già stato pubblicato. Nessun avviso va perso "
            "e nessuno è inviato due volte."
        )
        return None
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    paths = {(Path(top) / line).resolve() for line in out.splitlines() if line.strip()}
    return {r.id for r in content.records if r.id and r.path.resolve() in paths}


#: What adopting does to what was already there, in the singular and the plural.
HISTORICAL_WOULD = (
    "avviso già presente verrebbe segnato come storico (non inviato)",
    "avvisi già presenti verrebbero segnati come storici (non inviati)",
)
HISTORICAL = ("avviso già presente segnato come storico", "avvisi già presenti segnati come storici")
KEPT_HISTORICAL = (
    "avviso già pubblicato sul sito resta storico (non inviato)",
    "avvisi già pubblicati sul sito restano storici (non inviati)",
)


def print_dry_run(plan: Plan, by_name: dict[str, Channel], links: Links, store: Store, rate: float) -> None:
    from site_tools.delivery.plan import missing_secrets

    missing = missing_secrets(plan, by_name)
    if plan.historical:
        click.echo(f"Primo avvio: {count(len(plan.historical), HISTORICAL_WOULD[0], HISTORICAL_WOULD[1])}.")
    by_choice = store.subscribers.count_by_choice()
    for item in plan.items:
        b = item.bulletin
        click.echo(f"\n=== {b.id} {'(URGENTE) ' if b.urgent else ''}→ {', '.join(CHANNELS[c] for c in item.channels)}")
        audience, who = reached(by_choice, b.urgent), describe_audience(by_choice, b.urgent)
        for name in item.channels:
            channel = by_name[name]
            rendered = channel.render(b, links)
            click.echo(f"--- {channel.label}: {rendered.facts}; {channel.estimate(b, audience, rate).describe(who)}")
            if name in missing:
                click.echo(not_until_secret(channel.label, missing[name]))
            click.echo("\n\n[…]\n\n".join(rendered.parts))
    _print_plan_notes(plan)
    if not plan.items:
        click.echo("Niente da pubblicare adesso.")


def not_until_secret(label: str, problems: list[Problem]) -> str:
    """A channel of the plan without its secret, in a dry run: the others go, this one waits."""
    fields = ", ".join(dict.fromkeys(p.field for p in problems if p.field))
    return (
        f"⚠ {label}: NON sarà inviato finché manca {fields} sul server del servizio; gli altri canali partono "
        "lo stesso, e questo partirà con la prima pubblicazione dopo che il segreto è stato aggiunto."
    )


def _print_plan_notes(plan: Plan, fresh: set[str] | None = None) -> None:
    from site_tools.delivery.plan import refused_key

    for b, why in plan.refused:
        if fresh is not None and refused_key(b, why) not in fresh:
            click.echo(f"(già segnalato) {b.id}: non inviato, {why}.")
            continue
        click.echo(f"✗ {b.id}: non inviato, {why}. Se va davvero inviato usa --force --only {b.id}.", err=True)
    for b, channel in plan.uncertain:
        click.echo(
            f"? {b.id} su {CHANNELS[channel]}: un invio precedente si è interrotto e l'esito è incerto. "
            "Controlla il canale: se il messaggio non c'è, ripubblica con "
            f"«site-tools publish --only {b.id} --channel {channel} --resend-uncertain»; se c'è, segnalo come "
            f"pubblicato con «site-tools publish --only {b.id} --channel {channel} --confirm-uncertain».",
            err=True,
        )
    if plan.waiting:
        first = plan.waiting[0]
        click.echo(
            f"In attesa: {count(len(plan.waiting), 'avviso programmato', 'avvisi programmati')}; il prossimo è {first.id} "
            f"({first.date:%d/%m/%Y %H:%M})."
        )


def print_report(report: PublishReport, plan: Plan, config: TownConfig, fresh: set[str] | None = None) -> None:
    if report.historical:
        click.echo(f"Primo avvio: {count(report.historical, HISTORICAL[0], HISTORICAL[1])}, nessuno inviato.")
    for result in report.results:
        mark = {"done": "✔", "manual": "✍", "skipped": "·", "paused": "‖", "waiting": "…", "held": "€"}.get(
            result.state, "✗"
        )
        line = f"{mark} {result.bulletin_id} → {CHANNELS[result.channel]}: {STATES.get(result.state, result.state)}"
        if result.report:
            line += " — " + fanout_summary(result.report, config)
        elif result.detail:
            line += f" — {result.detail}"
        click.echo(line, err=result.state not in ("done", "manual", "skipped", "waiting"))
        if result.post:
            click.echo("  Testo per il Canale WhatsApp (copialo e incollalo dall'app, poi attiva la campanella):")
            click.echo("  " + log_safe(result.post).replace("\n", "\n  "))
    _print_plan_notes(plan, fresh)


#: Result states as an editor reads them.
STATES = {
    "done": "inviato",
    "manual": "da pubblicare a mano",
    "failed": "non riuscito",
    "paused": "sospeso",
    "waiting": "in corso, riprende al prossimo avvio",
    "skipped": "già in corso altrove",
    "held": "fermo, serve l'approvazione della spesa",
    "uncertain": "esito incerto: controlla il canale; se il post non c'è, «--resend-uncertain --only ID»",
}


def fanout_summary(r: FanOutReport, config: TownConfig) -> str:
    failed = sum(r.failed.values())
    parts = [
        f"{number(r.accepted)} {plural(r.accepted, 'accettato', 'accettati')} su {number(r.recipients)}",
        f"{r.seconds:.1f} s",
        f"{r.rate:.0f} msg/s",
    ]
    if failed:
        reasons = ", ".join(f"{code}: {n}" for code, n in r.failed.most_common())
        parts.append(f"{number(failed)} non {plural(failed, 'recapitabile', 'recapitabili')} ({reasons})")
    if r.skipped:
        parts.append(f"{count(r.skipped, 'disiscritto', 'disiscritti')} durante l'invio")
    if r.reconciled:
        parts.append(f"{number(r.reconciled)} con esito incerto {plural(r.reconciled, 'ripreso', 'ripresi')}")
    if r.reason:
        parts.append(r.reason)
    parts.append(f"costo stimato {euro(r.accepted * config.price_per_template)}")
    return "; ".join(parts)


def print_deliveries(store: Store, bulletin_id: str) -> bool:
    pubs = store.ledger.publications(bulletin_id)
    counts = store.ledger.delivery_counts(bulletin_id)
    if not pubs and not counts:
        return False
    for pub in pubs:
        click.echo(
            f"{CHANNELS.get(pub.channel, pub.channel)}: {pub.state} ({pub.mode})"
            + (f" — {pub.detail}" if pub.detail else "")
        )
        for state, n in sorted(counts.get(pub.channel, {}).items()):
            click.echo(f"  {state:>14}: {n}")
    for channel in sorted(set(counts) - {pub.channel for pub in pubs}):  # a send of no bulletin (invito-canale)
        click.echo(f"{CHANNELS.get(channel, channel)}:")
        for state, n in sorted(counts[channel].items()):
            click.echo(f"  {state:>14}: {n}")
    return True


def _uncertain_options(command: Any) -> Any:
    """The two ways out of a post whose outcome is uncertain, after an editor checked the channel."""
    command = click.option(
        "--confirm-uncertain",
        is_flag=True,
        help="Con --only e --channel: il post dall'esito incerto c'è sul canale (l'hai controllato): segnalo come "
        "pubblicato, senza ripubblicarlo.",
    )(command)
    return click.option(
        "--resend-uncertain",
        is_flag=True,
        help="Con --only e --channel: pubblica di nuovo un post dall'esito incerto (un avvio interrotto, una "
        "risposta mai arrivata) che hai controllato non esserci sul canale.",
    )(command)


@click.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Mostra cosa sarebbe inviato, a chi, in quanto tempo e con che costo; non invia nulla.",
)
@click.option("--only", "only", metavar="ID", help="Pubblica solo questo avviso.")
@click.option("--channel", type=click.Choice(list(CHANNELS)), help="Pubblica solo su questo canale.")
@click.option(
    "--since",
    "since",
    metavar="REVISIONE",
    help="La revisione Git prima del push: gli avvisi cambiati da allora sono nuovi.",
)
@click.option("--force", is_flag=True, help="Invia anche un avviso con data più vecchia di --max-age-days giorni.")
@click.option(
    "--max-age-days",
    type=int,
    default=3,
    show_default=True,
    help="Oltre quanti giorni un avviso è troppo vecchio da inviare.",
)
@click.option(
    "--rate", type=float, default=None, help="Messaggi al secondo alla lista (se manca: WHATSAPP_MPS oppure 80)."
)
@now_option
@db_option
@click.option("--progress/--no-progress", default=None, help="Barra di avanzamento (se manca: solo in un terminale).")
@click.option(
    "--stale-after",
    type=float,
    default=15.0,
    show_default=True,
    help="Dopo un arresto: secondi di silenzio prima di riprovare gli invii non confermati di un avvio interrotto.",
)
@click.option(
    "--receipt-grace",
    type=float,
    default=30.0,
    show_default=True,
    help="Secondi di attesa della ricevuta prima di rinviare dopo un tempo scaduto.",
)
@_uncertain_options
@click.option(
    "--approve-cost",
    is_flag=True,
    envvar="SITE_TOOLS_APPROVE_COST",
    help="Invia anche oltre il tetto di spesa del Comune (extra.town.cost_ceiling_eur).",
)
@click.option(
    "--deadline",
    type=float,
    envvar="SITE_TOOLS_DEADLINE",
    help="Secondi da ora dopo i quali non si invia più nulla di nuovo (il limite del job meno un margine): "
    "il resto resta in attesa e lo riprende l'avvio successivo.",
)
@click.option(
    "--adopt/--no-adopt",
    "adopt_store",
    default=True,
    help="Su un archivio che non ha mai adottato il repository: adottalo ora (avvii da push) o fermati (invii all'orario).",
)
# For a run streamed to a GitHub workflow's log by the service (site_tools/service/publishing.py): hidden.
@click.option("--annotations", is_flag=True, hidden=True, help="Problemi anche come annotazioni di GitHub.")
@click.option("--summary-file", type=click.Path(path_type=Path), hidden=True, help="Dove scrivere il riepilogo.")
@click.option("--posts-file", type=click.Path(path_type=Path), hidden=True, help="Dove scrivere i post a mano (JSON).")
@pass_ctx
@friendly(outcome=NOTHING_PUBLISHED)
def publish(ctx: Context, **options: Any) -> None:
    """Invia gli avvisi nuovi su ogni canale, una volta sola; prima gli urgenti."""
    if options["annotations"]:
        ANNOTATE.set(True)
    run_publish(ctx.config, PublishOptions(**options))


@dataclass(frozen=True)
class PublishOptions:
    dry_run: bool
    only: str | None
    channel: str | None
    since: str | None
    force: bool
    max_age_days: int
    rate: float | None
    now_text: str | None
    db_url: str | None
    progress: bool | None
    stale_after: float
    receipt_grace: float
    resend_uncertain: bool
    approve_cost: bool = False
    deadline: float | None = None
    adopt_store: bool = True
    annotations: bool = False
    summary_file: Path | None = None
    posts_file: Path | None = None
    confirm_uncertain: bool = False


#: A run of the service's clock knows nothing of the last push: adopting there would mark a just-merged bulletin
#: historical.
NOT_ADOPTED = Problem(
    "ambiente (SITE_TOOLS_DB)",
    None,
    "adozione",
    "il registro degli invii non ha ancora adottato il sito e un invio all'orario (l'orologio del servizio) non lo "
    "fa da solo: "
    "segnerebbe come già pubblicato anche un avviso appena unito il cui invio non è riuscito.",
    "rilancia l'ultimo avvio non riuscito del workflow «Pubblica» (Re-run jobs): adotta il sito e invia i nuovi "
    "avvisi. Se nessun avviso nuovo aspetta, basta «site-tools adopt» sul server del servizio.",
)


def run_publish(config: TownConfig, o: PublishOptions) -> None:
    import time

    from site_tools import channels
    from site_tools.channels import https
    from site_tools.content.dates import now as current_time
    from site_tools.delivery.plan import commit_adoption, make_plan, set_aside_without_secrets, validate_for_publishing
    from site_tools.settings import Settings

    for flag, given in (("--resend-uncertain", o.resend_uncertain), ("--confirm-uncertain", o.confirm_uncertain)):
        # One post checked by hand: without --channel, every uncertain post of the bulletin would be resent.
        if given and not (o.only and o.channel):
            raise click.UsageError(f"{flag} vale per un post alla volta: aggiungi --only ID --channel CANALE.")
    if o.confirm_uncertain:
        _confirm_uncertain(config, o)
        return
    if not o.dry_run:
        https.prepare()  # the TLS context of the first post, built while the run starts
    settings = Settings.from_env()
    rate = config.whatsapp_rate(o.rate or settings.whatsapp_mps)
    now = current_time(config.timezone, o.now_text)
    deadline_at = None if o.deadline is None else time.time() + o.deadline
    with store_for(config, o.db_url) as store:
        early = None if o.dry_run else send_urgent_first(config, store, settings, o, rate, now, deadline_at)
        # Only new or changed bulletins are parsed: the rest comes from the store, by content hash.
        content = load_content(config, check_bodies=False, cache=store.parsed)
        new_ids = changed_ids(content, o.since, config.root) if o.since else None
        plan = make_plan(
            content,
            store,
            now,
            only=o.only,
            channel=o.channel,
            force=o.force,
            new_ids=new_ids,
            max_age=timedelta(days=o.max_age_days),
            resend_uncertain=o.resend_uncertain and not o.dry_run,
        )
        problems = validate_for_publishing(content, plan)
        links = Links.for_bulletins(config, content.bulletins)
        by_name = channels.create(config, settings)
        if o.dry_run:
            print_dry_run(plan, by_name, links, store, rate)
            if problems:
                raise InvalidContent(problems)
            return
        if plan.adopting and not o.adopt_store:
            raise InvalidContent([NOT_ADOPTED])
        commit_adoption(plan, store)  # decided: a run that fails from here on has swallowed nothing
        if early:
            plan.drop({(r.bulletin_id, r.channel) for r in early.results})
        secrets = set_aside_without_secrets(plan, by_name)  # reported at the end, once everything else went
        report = _send(config, store, settings, links, plan, o, rate, deadline_at)
        if early:
            report = early.followed_by(report)
        failed = _conclude(content, store, settings, plan, report, links, o)
        failed = _weekly_digest(config, store, settings, content.bulletins, now, o, rate, deadline_at) or failed
    if secrets:
        report_problems(secrets, set_aside_outcome(plan.set_aside))
    if failed or secrets:
        sys.exit(EXIT_PROBLEMS)


def set_aside_outcome(names: tuple[str, ...]) -> str:
    """What a run without some secrets did not do, and when it will (after the problems, in the log)."""
    if not names:
        return ""
    which = ", ".join(CHANNELS[n] for n in names)
    return (
        f"Su {which} non è partito nulla (gli altri canali non aspettano, il loro esito è qui sopra): "
        "partirà con la prossima pubblicazione dopo che il segreto è stato aggiunto."
    )


def _confirm_uncertain(config: TownConfig, o: PublishOptions) -> None:
    from site_tools.delivery.plan import confirm_uncertain

    assert o.only and o.channel
    with store_for(config, o.db_url) as store:
        if not confirm_uncertain(store, o.only, o.channel):
            raise click.ClickException(
                f"{o.only} su {CHANNELS[o.channel]} non ha un post dall'esito incerto: nulla è cambiato "
                "(«site-tools deliveries» mostra lo stato degli invii)."
            )
    click.echo(f"✔ {o.only} su {CHANNELS[o.channel]}: segnato come pubblicato, non verrà ripubblicato.")


def _weekly_digest(
    config: TownConfig,
    store: Store,
    settings: Settings,
    bulletins: list[Bulletin],
    now: datetime,
    o: PublishOptions,
    rate: float,
    deadline_at: float | None,
) -> bool:
    """The weekly digest due now (``extra.town.digest``), sent once by whichever run comes first after its moment
    (the service's clock wakes for it); True if it failed. Not in a run limited to one bulletin or one channel."""
    from site_tools.aio import run_loop
    from site_tools.cli.digest import PROBLEMS, say
    from site_tools.delivery.digest import send_due
    from site_tools.delivery.fanout import FanOutOptions

    if config.digest is None or o.only or o.channel:
        return False
    if not (settings.whatsapp_token and settings.whatsapp_phone_number_id):
        return False  # the list's own secrets are reported by the bulletins' run
    options = FanOutOptions(
        rate=rate, progress=False, stale_after=o.stale_after, deadline_at=deadline_at,
        number_id=settings.whatsapp_phone_number_id,
    )  # fmt: skip
    outcome = run_loop(send_due(store, config, settings, bulletins, now, options, o.approve_cost))
    if outcome is None:
        return False
    line = say(outcome)
    click.echo(line, err=outcome.state in PROBLEMS)
    write_summary(f"- {line}\n", o.summary_file)
    # Held over the cost ceiling: said in every run's log and summary until approved, without failing the runs
    # of the week's bulletins.
    return outcome.state in ("failed", "paused")


def send_urgent_first(
    config: TownConfig,
    store: Store,
    settings: Settings,
    o: PublishOptions,
    rate: float,
    now: datetime,
    deadline_at: float | None,
) -> PublishReport | None:
    """An urgent bulletin new in this push goes out before the archive is read (the first urgent message
    within half a second, at any size of archive).

    Only the new or changed files are parsed and checked in full, against what the store's cache knows of the
    others (ids, addresses, dates). Nothing else is decided here: the whole run that follows reads every
    bulletin, reports every problem and sends the rest; what this sent is in the ledger and not sent again.
    None when there is nothing to send early (or no early path: a store not adopted yet, a cold cache).
    """
    from site_tools import channels
    from site_tools.content.loading import load_changed
    from site_tools.delivery.plan import make_plan, set_aside_without_secrets, validate_for_publishing

    if o.resend_uncertain or store.ledger.adoption() is None:
        return None
    partial = load_changed(config, store.parsed)
    if partial is None or partial.known is None:
        return None
    max_age = timedelta(days=o.max_age_days)
    plan = make_plan(partial, store, now, only=o.only, channel=o.channel, force=o.force, max_age=max_age)
    plan.items = [item for item in plan.items if item.bulletin.urgent]
    if not plan.items:
        return None
    validate_for_publishing(partial, plan)  # a problem keeps the bulletin out; the whole run reports it
    set_aside_without_secrets(plan, channels.create(config, settings))  # the whole run reports them
    if not plan.items:
        return None
    links = Links(config, partial.bulletins, {shown: url for url, shown in partial.known.urls.items()})
    return _send(config, store, settings, links, plan, o, rate, deadline_at)


def _send(
    config: TownConfig,
    store: Store,
    settings: Settings,
    links: Links,
    plan: Plan,
    o: PublishOptions,
    rate: float,
    deadline_at: float | None,
) -> PublishReport:
    from site_tools.aio import run_loop
    from site_tools.delivery.fanout import FanOutOptions
    from site_tools.delivery.publisher import Publisher

    show = sys.stderr.isatty() if o.progress is None else o.progress
    options = FanOutOptions(
        rate=rate,
        progress=show,
        stale_after=o.stale_after,
        unknown_grace=o.receipt_grace,
        deadline_at=deadline_at,
    )
    publisher = Publisher(config, store, settings, links, options, approve_cost=o.approve_cost)
    return run_loop(publisher.publish(plan))


def _conclude(
    content: Content,
    store: Store,
    settings: Settings,
    plan: Plan,
    report: PublishReport,
    links: Links,
    o: PublishOptions,
) -> bool:
    """Say what happened (log, annotations, job summary), remember what was refused; True if the run failed."""
    from site_tools.delivery.channel_issues import notify, posts_payload, unannounced
    from site_tools.delivery.plan import COST_HOLD

    refusals = plan.refusals() + [
        Refusal(f"{COST_HOLD}{r.bulletin_id}:{r.channel}", r.bulletin_id, r.detail)
        for r in report.results
        if r.state == "held"
    ]
    fresh = store.ledger.record_refusals(refusals, prune=not (o.only or o.channel))
    print_report(report, plan, content.config, fresh)
    posts = manual_posts(report, content.by_id(), links)
    if o.posts_file:  # the service's run: the workflow opens the issues with its own token
        handover = posts_payload(store, posts, content.bulletins, links, settings)
        o.posts_file.write_text(json.dumps(handover, ensure_ascii=False), encoding="utf-8")
        issue_lines = (
            [f"✍ {count(len(handover), 'post a mano passato', 'post a mano passati')} al workflow."] if handover else []
        )
    else:
        earlier = unannounced(store, content.bulletins, links, settings) if settings.github_token else []
        issue_lines = notify(settings, store, posts, earlier)
    for line in issue_lines:
        click.echo(line, err=line.startswith("⚠"))
    annotate(content, plan, fresh)
    failed = (
        bool(plan.set_aside)
        or bool(fresh)
        or bool(report.uncertain)
        or any(r.state in ("failed", "paused", "uncertain") for r in report.results)
    )
    if not report.results and not report.historical and not failed:
        click.echo("Niente da pubblicare adesso.")
    write_summary(job_summary(report, plan, refusals, fresh, issue_lines), o.summary_file)
    return failed


def manual_posts(report: PublishReport, by_id: dict[str, Bulletin], links: Links) -> list[ManualPost]:
    from site_tools.delivery.channel_issues import ManualPost

    return [
        ManualPost(by_id[r.bulletin_id], r.channel, r.post, links.page(by_id[r.bulletin_id]))
        for r in report.results
        if r.state == "manual" and r.post and r.bulletin_id in by_id
    ]


def annotate(content: Content, plan: Plan, fresh: set[str]) -> None:
    """What this run found goes to the log as errors (GitHub annotations); what an earlier one found, as a note."""
    from site_tools.delivery.plan import problem_key, refused_key

    files = {r.id: r.shown for r in content.records if r.id}
    in_actions = annotating()
    for problem in plan.problems:
        if problem_key(problem) in fresh:
            click.echo(problem.format() + "\n    (questo avviso non è stato inviato; gli altri sì)", err=True)
            if in_actions:
                click.echo(problem.github_annotation())
        else:
            click.echo(f"(già segnalato) {problem.file}: {problem.message}")
    for b, why in plan.refused:
        if refused_key(b, why) in fresh and in_actions:
            fix = f"se va davvero inviato, lancia «site-tools publish --force --only {b.id}»."
            click.echo(Problem(files.get(b.id, b.id), None, "date", f"non inviato: {why}.", fix).github_annotation())


def job_summary(
    report: PublishReport, plan: Plan, refusals: list[Refusal], fresh: set[str], issue_lines: list[str]
) -> str:
    lines = ["## Pubblicazione degli avvisi", ""]
    for r in report.results:
        lines.append(f"- **{r.bulletin_id}** → {CHANNELS[r.channel]}: {STATES.get(r.state, r.state)}")
    for refusal in refusals:
        when = "**nuovo**" if refusal.key in fresh else "già segnalato"
        lines.append(f"- ✗ {when}: {refusal.reason.splitlines()[0]}")
    lines += [f"- {line}" for line in issue_lines]
    lines += [
        f"- ✗ {CHANNELS[name]}: non inviato, manca un segreto (il log dice quale): partirà con la prossima "
        "pubblicazione dopo che è stato aggiunto."
        for name in plan.set_aside
    ]
    if len(lines) == 2:
        lines.append("Niente da pubblicare adesso.")
    return "\n".join(lines) + "\n"


def write_summary(text: str, path: Path | None = None) -> None:
    """Append to the job summary GitHub shows on the run's page ($GITHUB_STEP_SUMMARY), when there is one."""
    path = path or current().github_step_summary
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(text)


@click.command()
@db_option
@now_option
@pass_ctx
@friendly
def adopt(ctx: Context, db_url: str | None, now_text: str | None) -> None:
    """Registra che l'archivio adotta ora il repository: ciò che è già pubblicato non sarà mai inviato."""
    from datetime import datetime

    from site_tools.content.dates import now as current_time

    config = ctx.config
    content = load_content(config, check_bodies=False)
    moment = current_time(config.timezone, now_text)
    with store_for(config, db_url) as store:
        known = store.ledger.adoption()
        if known is not None:
            when = datetime.fromtimestamp(known.adopted_at, config.timezone)
            click.echo(
                f"Il registro ha già adottato il sito il {when:%d/%m/%Y alle %H:%M} ({known.how}): nulla da fare."
            )
            return
        from site_tools.delivery.plan import origin_of

        shown = [b for b in content.bulletins if b.is_visible(moment)]
        visible = [b.id for b in shown]
        origins = {b.id: origin_of(b, config) for b in shown}
        store.ledger.adopt(visible, list(CHANNELS), "site-tools adopt", at=moment.timestamp(), origins=origins)
    click.echo(
        f"Adozione registrata il {moment:%d/%m/%Y alle %H:%M}: "
        f"{count(len(visible), KEPT_HISTORICAL[0], KEPT_HISTORICAL[1])}. Ogni avviso aggiunto da ora in poi sarà inviato, anche se il suo primo "
        "invio non riesce."
    )


def visible_state(config: TownConfig, now_text: str | None) -> str:
    """A fingerprint of what the site shows now: its sources, and each bulletin's time-dependent state
    (published, expired, event over, urgent banner). Same fingerprint, same site: no need to redeploy."""
    import hashlib

    from site_tools.content.dates import now as current_time
    from site_tools.site.model import SiteModel

    digest = hashlib.sha256()
    sources = [config.root / "mkdocs.yml", *sorted(p for p in config.content_dir.rglob("*") if p.is_file())]
    for path in sources:
        digest.update(path.relative_to(config.root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    content = load_content(config, check_bodies=False)
    model = SiteModel(config, current_time(config.timezone, now_text), content.bulletins)
    for b in model.bulletins:
        digest.update(f"{b.id}:{','.join(model.status(b))}\n".encode())
    digest.update(" ".join(b.id for b in model.urgent_active()).encode())
    return digest.hexdigest()


@click.command("visible-state")
@now_option
@pass_ctx
@friendly
def visible_state_command(ctx: Context, now_text: str | None) -> None:
    """Stampa un'impronta di ciò che il sito mostra ora (il servizio fa ricostruire il sito solo se cambia)."""
    click.echo(visible_state(ctx.config, now_text))


@click.command()
@click.argument("bulletin_id", metavar="ID_AVVISO")
@db_option
@pass_ctx
@friendly
def deliveries(ctx: Context, bulletin_id: str, db_url: str | None) -> None:
    """I conteggi di un avviso per canale: inviati, consegnati, letti, non riusciti per motivo."""
    with store_for(ctx.config, db_url) as store:
        if not print_deliveries(store, bulletin_id):
            raise click.ClickException(f"nessuna pubblicazione registrata per «{bulletin_id}».")
