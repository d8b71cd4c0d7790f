"""A post the publisher cannot make itself reaches a person: one GitHub issue per manual post.

The WhatsApp Channel has no official API, so its post is prepared for an
editor. A log line on a night-time run reaches nobody; an issue does (GitHub
notifies the repository's watchers by e-mail and in the mobile app). The
issue is found again by its number (kept as the publication's external id)
or by a marker in its body, so a re-run updates it instead of opening
another; once an editor closes it, the next run records the post as done.
Only the workflow's own token is used (``GITHUB_TOKEN``, ``issues: write``).

Two sides, kept apart so that CI never needs the store:

- the store side runs where the ledger is (the town's service, or ``site-tools publish`` by hand):
  :func:`posts_payload` says which posts need an issue (the ``posts`` of the publish result) and
  :func:`record_issue_reports` records what CI did with them;
- the GitHub side runs in CI with ``GITHUB_TOKEN``: :func:`sync_issues` opens or updates the issues and
  reads which ones editors closed, from the payload alone.

:func:`notify` does both in one process, for a run by hand with a ``GITHUB_TOKEN``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from site_tools.content.config import CHANNELS
from site_tools.delivery.service_client import why_failed
from site_tools.settings import Settings, reveal

if TYPE_CHECKING:
    from site_tools.content.bulletin import Bulletin
    from site_tools.render.links import Links
    from site_tools.store import Store
    from site_tools.store.ledger import Publication

LABEL = "da-pubblicare-a-mano"
URGENT_LABEL = "urgente"
ISSUE_PREFIX = "issue:"
#: How GitHub says an issue was closed (``state_reason``), plus ``gone`` (deleted or transferred).
CLOSED = ("completed", "not_planned", "duplicate", "gone")
#: Bounds of a payload item: a bulletin id, a title, a post's text (the Channel's limit is far below).
MAX_ID, MAX_TITLE, MAX_TEXT, MAX_LINK = 200, 500, 20_000, 2_000


@dataclass(frozen=True)
class ChannelPost:
    """A manual post as its issue needs it, and as the publish result's ``posts`` carries it to CI: plain data,
    no :class:`Bulletin` and no store. ``issue`` is the number already known for it, if any."""

    bulletin: str
    channel: str
    title: str
    urgent: bool
    text: str
    link: str
    issue: int | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "bulletin": self.bulletin,
            "channel": self.channel,
            "title": self.title,
            "urgent": self.urgent,
            "text": self.text,
            "link": self.link,
            "issue": self.issue,
        }


@dataclass(frozen=True)
class ManualPost:
    bulletin: Bulletin
    channel: str
    text: str
    link: str

    def post(self, issue: int | None = None) -> ChannelPost:
        b = self.bulletin
        return ChannelPost(b.id, self.channel, b.title, b.urgent, self.text, self.link, issue)


def _plain(post: ManualPost | ChannelPost) -> ChannelPost:
    return post.post() if isinstance(post, ManualPost) else post


def marker(bulletin_id: str, channel: str) -> str:
    return f"<!-- site-tools: {bulletin_id} {channel} -->"


def issue_title(post: ManualPost | ChannelPost) -> str:
    p = _plain(post)
    where = CHANNELS.get(p.channel, p.channel)
    urgent = "🔴 URGENTE – " if p.urgent else ""
    return f"{urgent}Da pubblicare a mano su {where}: {' '.join(p.title.split())}"


def inert(text: str) -> str:
    """An editor's title as plain text in an issue body: no Markdown or HTML, no @mention that pings
    someone, no ``owner/repo#1`` that lands in another repository's timeline, on one line."""
    text = html.escape(" ".join(text.split()), quote=False)
    text = re.sub(r"([\\`*_\[\]!|~])", r"\\\1", text)
    return text.replace("@", "@\u2060").replace("#", "#\u2060")


def issue_body(post: ManualPost | ChannelPost) -> str:
    p = _plain(post)
    where = CHANNELS.get(p.channel, p.channel)
    longest = max((len(run) for run in re.findall(r"`+", p.text)), default=0)
    fence = "`" * max(3, longest + 1)
    return (
        f"{marker(p.bulletin, p.channel)}\n"
        f"L'avviso **{inert(p.title)}** va pubblicato a mano su **{where}**: non c'è un'API ufficiale.\n\n"
        f"Avviso sul sito: {p.link}\n\n"
        "Testo pronto (copialo e incollalo dall'app, poi attiva la campanella):\n\n"
        f"{fence}text\n{p.text}\n{fence}\n\n"
        f"- [ ] Pubblicato su {where}\n\n"
        "Quando l'hai pubblicato, chiudi questa issue: il prossimo avvio del workflow lo registra come fatto."
    )


class GitHubIssues:
    """The few REST calls needed, with the workflow's token (httpx, synchronous: a handful per run)."""

    def __init__(self, settings: Settings):
        self.repo = settings.github_repository or ""
        self.client = httpx.Client(
            base_url=f"{settings.github_api_url}/repos/{self.repo}",
            headers={
                "Authorization": f"Bearer {reveal(settings.github_token)}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            timeout=settings.http_timeout,
        )

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def find(self, post: ManualPost | ChannelPost, number: int | None) -> int | None:
        if number is not None:
            return number
        p = _plain(post)
        wanted = marker(p.bulletin, p.channel)
        for issue in self.call("GET", "/issues", params={"labels": LABEL, "state": "all", "per_page": 100}):
            if wanted in (issue.get("body") or ""):
                return int(issue["number"])
        return None

    def upsert(self, post: ManualPost | ChannelPost, number: int | None) -> tuple[int, bool]:
        """Open the issue, or update the one already there; (number, opened)."""
        p = _plain(post)
        labels = [LABEL, *([URGENT_LABEL] if p.urgent else [])]
        data = {"title": issue_title(p), "body": issue_body(p), "labels": labels}
        found = self.find(p, number)
        if found is None:
            return int(self.call("POST", "/issues", json=data)["number"]), True
        self.call("PATCH", f"/issues/{found}", json=data)
        return found, False

    def closed(self, number: int) -> str | None:
        """None while open; else why it was closed ("completed", "not_planned", "duplicate"), or "gone"."""
        response = self.client.request("GET", f"/issues/{number}")
        if response.status_code in (404, 410):
            return "gone"  # deleted, or transferred to another repository
        response.raise_for_status()
        issue = response.json()
        return None if issue.get("state") != "closed" else str(issue.get("state_reason") or "completed")


def _number(external_id: str | None) -> int | None:
    if external_id and external_id.startswith(ISSUE_PREFIX) and external_id[len(ISSUE_PREFIX) :].isdigit():
        return int(external_id[len(ISSUE_PREFIX) :])
    return None


# -- The store side: where the ledger is ------------------------------------------------------------------------


def unannounced(store: Store, bulletins: list[Bulletin], links: Links, settings: Settings) -> list[ManualPost]:
    """Manual posts recorded without an issue (GitHub refused it on an earlier run): handed over again.

    The publication is final once it is ``manual``, so without this the post would live only in that
    run's log: the next run with a token opens the issue it could not open then."""
    by_id = {b.id: b for b in bulletins}
    pubs = [p for p in store.ledger.publications() if p.state == "manual" and _number(p.external_id) is None]
    if not pubs:
        return []
    from site_tools import channels

    by_name = channels.create(links.config, settings)
    return [
        ManualPost(b, p.channel, "\n\n".join(by_name[p.channel].render(b, links).parts), links.page(b))
        for p in pubs
        if (b := by_id.get(p.bulletin_id)) is not None and p.channel in by_name
    ]


def posts_payload(
    store: Store, posts: Sequence[ManualPost], bulletins: list[Bulletin], links: Links, settings: Settings
) -> list[dict[str, Any]]:
    """The ``posts`` of a publish result: what CI turns into GitHub issues with its own token.

    This run's manual posts, then earlier ones still without an issue (:func:`unannounced`), each with the
    issue number the ledger already knows (so a re-run updates that issue); then, for every manual post whose
    issue is open, ``{"bulletin", "channel", "issue", "waiting": true}`` so that CI says when an editor
    closed it (:func:`record_issue_reports` records that)."""
    earlier = unannounced(store, bulletins, links, settings)
    seen: set[tuple[str, str]] = set()
    items: list[dict[str, Any]] = []
    for manual in [*posts, *earlier]:
        key = (manual.bulletin.id, manual.channel)
        if key in seen:
            continue
        seen.add(key)
        known = store.ledger.publication(*key)
        items.append(manual.post(_number(known.external_id) if known else None).payload())
    for pub in store.ledger.publications():
        number = _number(pub.external_id)
        if pub.state == "manual" and number is not None and (pub.bulletin_id, pub.channel) not in seen:
            items.append({"bulletin": pub.bulletin_id, "channel": pub.channel, "issue": number, "waiting": True})
    return items


class BadIssueReport(ValueError):
    """An item of ``POST /publish/issues`` that is not what CI sends; the message is one Italian line."""


def _report_item(item: object, index: int) -> tuple[str, str, int, str | None]:
    where = f"issues[{index}]"
    if not isinstance(item, Mapping):
        raise BadIssueReport(f"{where}: serve un oggetto JSON.")
    unknown = set(item) - {"bulletin", "channel", "issue", "closed"}
    if unknown:
        raise BadIssueReport(f"{where}: campi sconosciuti: {', '.join(sorted(map(str, unknown)))}.")
    bulletin, channel, issue, closed = (item.get(k) for k in ("bulletin", "channel", "issue", "closed"))
    if not isinstance(bulletin, str) or not 0 < len(bulletin) <= MAX_ID:
        raise BadIssueReport(f"{where}.bulletin: serve l'id di un avviso.")
    if channel not in CHANNELS:
        raise BadIssueReport(f"{where}.channel: canale sconosciuto.")
    if isinstance(issue, bool) or not isinstance(issue, int) or not 0 < issue < 2**31:
        raise BadIssueReport(f"{where}.issue: serve il numero dell'issue (un intero positivo).")
    if closed is not None and closed not in CLOSED:
        raise BadIssueReport(f"{where}.closed: serve null oppure uno di {', '.join(CLOSED)}.")
    return bulletin, str(channel), issue, closed


def record_issue_reports(store: Store, reports: object) -> list[str]:
    """Record what CI did with the posts (``POST /publish/issues``): each issue's number, and a closed issue as
    done or declined exactly as :func:`record_closed` does. Lines to show (Italian).

    Every item is checked before anything is written (:class:`BadIssueReport` names the first bad one); an
    item about a publication that is not a manual post waiting for an editor changes nothing."""
    if not isinstance(reports, list) or len(reports) > 1000:
        raise BadIssueReport("issues: serve una lista (al massimo 1000 elementi).")
    items = [_report_item(item, i) for i, item in enumerate(reports)]
    lines: list[str] = []
    for bulletin, channel, number, closed in items:
        pub = store.ledger.publication(bulletin, channel)
        if pub is None or pub.state != "manual":
            lines.append(f"· {bulletin} → {CHANNELS[channel]}: nessun post a mano in attesa, issue #{number} ignorata.")
            continue
        known = _number(pub.external_id)
        if closed is not None and known not in (None, number):
            lines.append(f"· {bulletin} → {CHANNELS[channel]}: l'issue #{number} non è quella registrata (#{known}).")
            continue
        if closed is None:
            if known != number:
                store.ledger.set_external_id(bulletin, channel, f"{ISSUE_PREFIX}{number}")
                lines.append(f"✍ {bulletin}: issue #{number} per chi pubblica su {CHANNELS[channel]}.")
            continue
        lines.append(_apply_closed(store, pub, number, closed))
    return lines


def _apply_closed(store: Store, pub: Publication, number: int, reason: str) -> str:
    """A manual post whose issue an editor closed as completed is done; closed as «not planned» (or as a
    duplicate) it was not posted, and the ledger says so (``declined``, final: nobody is asked again); an
    issue gone (deleted, transferred) is forgotten, and the next run opens a new one (:func:`unannounced`)."""
    where = CHANNELS.get(pub.channel, pub.channel)
    if reason == "gone":
        store.ledger.set_external_id(pub.bulletin_id, pub.channel, "")
        return (
            f"⚠ ATTENZIONE: {pub.bulletin_id} → {where}: l'issue #{number} non esiste più: "
            "il prossimo avvio ne apre una nuova."
        )
    if reason == "completed":
        store.ledger.finish_publication(
            pub.bulletin_id, pub.channel, "done", f"pubblicato a mano (issue #{number} chiusa)"
        )
        return f"✔ {pub.bulletin_id} → {where}: issue #{number} chiusa, fatto."
    why = f"non pubblicato: issue #{number} chiusa come «{reason}» senza pubblicare"
    store.ledger.finish_publication(pub.bulletin_id, pub.channel, "declined", why)
    return f"· {pub.bulletin_id} → {where}: {why}. Se va pubblicato, il testo è nell'issue #{number}."


# -- The GitHub side: CI, with GITHUB_TOKEN and without the store ------------------------------------------------


def parse_posts(posts: object) -> tuple[list[ChannelPost], list[tuple[str, str, int]]]:
    """The result's ``posts``, checked: the posts to open or update, and the (bulletin, channel, issue) waiting
    for an editor. :class:`ValueError` (Italian) on anything else: CI acts only on what it understands."""
    if not isinstance(posts, list):
        raise ValueError("«posts» non è una lista.")
    fresh: list[ChannelPost] = []
    waiting: list[tuple[str, str, int]] = []
    for i, item in enumerate(posts):
        where = f"posts[{i}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: non è un oggetto.")
        bulletin, channel, issue = item.get("bulletin"), item.get("channel"), item.get("issue")
        if not isinstance(bulletin, str) or not 0 < len(bulletin) <= MAX_ID or channel not in CHANNELS:
            raise ValueError(f"{where}: avviso o canale non validi.")
        if issue is not None and (isinstance(issue, bool) or not isinstance(issue, int) or issue <= 0):
            raise ValueError(f"{where}.issue: serve un intero positivo o null.")
        if item.get("waiting") is True:
            if issue is None:
                raise ValueError(f"{where}: in attesa, ma senza il numero dell'issue.")
            waiting.append((bulletin, str(channel), issue))
            continue
        title, urgent, text, link = (item.get(k) for k in ("title", "urgent", "text", "link"))
        if not (
            isinstance(title, str)
            and 0 < len(title) <= MAX_TITLE
            and isinstance(urgent, bool)
            and isinstance(text, str)
            and 0 < len(text) <= MAX_TEXT
            and isinstance(link, str)
            and link.startswith(("https://", "http://"))
            and len(link) <= MAX_LINK
        ):
            raise ValueError(f"{where}: titolo, testo o link mancanti o non validi.")
        fresh.append(ChannelPost(bulletin, str(channel), title, urgent, text, link, issue))
    return fresh, waiting


@dataclass
class IssueSync:
    """What :func:`sync_issues` did: the items for ``POST /publish/issues``, lines to show, and whether GitHub
    refused anything (the posts it refused are handed over again by the next run)."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    failed: bool = False


def sync_issues(
    github: GitHubIssues, posts: Sequence[ChannelPost], waiting: Sequence[tuple[str, str, int]]
) -> IssueSync:
    """Open or update an issue per post, then read which issues (these and the waiting ones) editors closed.
    One post GitHub refuses does not stop the others."""
    done = IssueSync()
    numbers: list[tuple[str, str, int]] = []
    for post in posts:
        where = CHANNELS[post.channel]
        try:
            number, opened = github.upsert(post, post.issue)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:  # refused, or not GitHub's JSON
            done.failed = True
            done.lines.append(
                f"⚠ ATTENZIONE: {post.bulletin} → {where}: GitHub non ha accettato l'issue ({why_failed(exc)}): "
                "il testo è nel registro qui sopra e il prossimo avvio riprova."
            )
            continue
        numbers.append((post.bulletin, post.channel, number))
        verb = "aperta" if opened else "aggiornata"
        done.lines.append(f"✍ {post.bulletin}: issue #{number} {verb} per chi pubblica su {where}.")
    for bulletin, channel, number in [*numbers, *waiting]:
        try:
            closed = github.closed(number)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            done.failed = True
            done.lines.append(f"⚠ ATTENZIONE: non riesco a leggere l'issue #{number} ({why_failed(exc)}).")
            closed = None
        if closed is None and (bulletin, channel, number) not in numbers:
            continue  # still open and already recorded: nothing to report
        done.reports.append({"bulletin": bulletin, "channel": channel, "issue": number, "closed": closed})
        if closed is not None:
            done.lines.append(f"· {bulletin} → {CHANNELS[channel]}: issue #{number} chiusa ({closed}).")
    return done


# -- Both sides in one process: site-tools publish by hand with a GITHUB_TOKEN ----------------------------------


def notify(
    settings: Settings, store: Store, posts: list[ManualPost], earlier: list[ManualPost] | None = None
) -> list[str]:
    """Open or update an issue per manual post (this run's, then ``earlier`` ones still without an issue),
    then record the closed ones as done; lines to show."""
    waiting = [p for p in store.ledger.publications() if p.state == "manual" and _number(p.external_id)]
    if not (settings.github_token and settings.github_repository):
        if not posts:
            return []
        return [
            f"⚠ ATTENZIONE: {len(posts)} post da pubblicare a mano, ma senza GITHUB_TOKEN e "
            "GITHUB_REPOSITORY non apro l'issue che avvisa la redazione: copia il testo da questo log "
            "e dai a questo job il permesso «issues: write»."
        ]
    seen = {(p.bulletin.id, p.channel) for p in posts}
    posts = posts + [p for p in earlier or [] if (p.bulletin.id, p.channel) not in seen]
    if not posts and not waiting:
        return []
    github = GitHubIssues(settings)
    lines: list[str] = []
    try:
        for post in posts:
            known = store.ledger.publication(post.bulletin.id, post.channel)
            number, opened = github.upsert(post, _number(known.external_id if known else None))
            store.ledger.set_external_id(post.bulletin.id, post.channel, f"{ISSUE_PREFIX}{number}")
            verb = "aperta" if opened else "aggiornata"
            lines.append(f"✍ {post.bulletin.id}: issue #{number} {verb} per chi pubblica su {CHANNELS[post.channel]}.")
        lines += record_closed(github, store)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:  # refused, or not GitHub's JSON
        lines.append(
            f"⚠ ATTENZIONE: GitHub non ha accettato l'issue per il post a mano ({settings.scrub(str(exc))}): "
            "copia il testo da questo log e controlla che il job abbia «permissions: issues: write»."
        )
    finally:
        github.close()
    return lines


def record_closed(github: GitHubIssues, store: Store) -> list[str]:
    """Ask GitHub about every manual post with an issue, and record the closed ones (:func:`_apply_closed`)."""
    lines = []
    for pub in store.ledger.publications():
        number = _number(pub.external_id)
        reason = github.closed(number) if pub.state == "manual" and number is not None else None
        if reason is not None and number is not None:
            lines.append(_apply_closed(store, pub, number, reason))
    return lines
