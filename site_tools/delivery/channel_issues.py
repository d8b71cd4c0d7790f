"""A post the publisher cannot make itself reaches a person: one GitHub issue per manual post.

The WhatsApp Channel has no official API, so its post is prepared for an
editor. A log line on a night-time run reaches nobody; an issue does (GitHub
notifies the repository's watchers by e-mail and in the mobile app). The
issue is found again by its number (kept as the publication's external id)
or by a marker in its body, so a re-run updates it instead of opening
another; once an editor closes it, the next run records the post as done.
Only the workflow's own token is used (``GITHUB_TOKEN``, ``issues: write``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import httpx

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import CHANNELS
from site_tools.render.links import Links
from site_tools.settings import Settings, reveal
from site_tools.store import Store

LABEL = "da-pubblicare-a-mano"
URGENT_LABEL = "urgente"
ISSUE_PREFIX = "issue:"


@dataclass(frozen=True)
class ManualPost:
    bulletin: Bulletin
    channel: str
    text: str
    link: str


def marker(bulletin_id: str, channel: str) -> str:
    return f"<!-- site-tools: {bulletin_id} {channel} -->"


def issue_title(post: ManualPost) -> str:
    where = CHANNELS.get(post.channel, post.channel)
    urgent = "🔴 URGENTE – " if post.bulletin.urgent else ""
    return f"{urgent}Da pubblicare a mano su {where}: {post.bulletin.title}"


def inert(text: str) -> str:
    """An editor's title as plain text in an issue body: no Markdown or HTML, no @mention that pings
    someone, no ``owner/repo#1`` that lands in another repository's timeline, on one line."""
    text = html.escape(" ".join(text.split()), quote=False)
    text = re.sub(r"([\\`*_\[\]!|~])", r"\\\1", text)
    return text.replace("@", "@\u2060").replace("#", "#\u2060")


def issue_body(post: ManualPost) -> str:
    where = CHANNELS.get(post.channel, post.channel)
    longest = max((len(run) for run in re.findall(r"`+", post.text)), default=0)
    fence = "`" * max(3, longest + 1)
    return (
        f"{marker(post.bulletin.id, post.channel)}\n"
        f"L'avviso **{inert(post.bulletin.title)}** va pubblicato a mano su **{where}**: non c'è un'API ufficiale.\n\n"
        f"Avviso sul sito: {post.link}\n\n"
        "Testo pronto (copialo e incollalo dall'app, poi attiva la campanella):\n\n"
        f"{fence}text\n{post.text}\n{fence}\n\n"
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

    def find(self, post: ManualPost, number: int | None) -> int | None:
        if number is not None:
            return number
        wanted = marker(post.bulletin.id, post.channel)
        for issue in self.call("GET", "/issues", params={"labels": LABEL, "state": "all", "per_page": 100}):
            if wanted in (issue.get("body") or ""):
                return int(issue["number"])
        return None

    def upsert(self, post: ManualPost, number: int | None) -> tuple[int, bool]:
        """Open the issue, or update the one already there; (number, opened)."""
        labels = [LABEL, *([URGENT_LABEL] if post.bulletin.urgent else [])]
        data = {"title": issue_title(post), "body": issue_body(post), "labels": labels}
        found = self.find(post, number)
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
    """A manual post whose issue an editor closed as completed is done; closed as «not planned» (or as a
    duplicate) it was not posted, and the ledger says so (``declined``, final: nobody is asked again)."""
    lines = []
    for pub in store.ledger.publications():
        number = _number(pub.external_id)
        reason = github.closed(number) if pub.state == "manual" and number is not None else None
        if reason is None:
            continue
        where = CHANNELS.get(pub.channel, pub.channel)
        if reason == "gone":  # forgotten: the next run opens a new one (unannounced)
            store.ledger.set_external_id(pub.bulletin_id, pub.channel, "")
            lines.append(
                f"⚠ ATTENZIONE: {pub.bulletin_id} → {where}: l'issue #{number} non esiste più: il prossimo avvio ne apre una nuova."
            )
            continue
        if reason == "completed":
            store.ledger.finish_publication(
                pub.bulletin_id, pub.channel, "done", f"pubblicato a mano (issue #{number} chiusa)"
            )
            lines.append(f"✔ {pub.bulletin_id} → {where}: issue #{number} chiusa, fatto.")
            continue
        why = f"non pubblicato: issue #{number} chiusa come «{reason}» senza pubblicare"
        store.ledger.finish_publication(pub.bulletin_id, pub.channel, "declined", why)
        lines.append(f"· {pub.bulletin_id} → {where}: {why}. Se va pubblicato, il testo è nell'issue #{number}.")
    return lines
