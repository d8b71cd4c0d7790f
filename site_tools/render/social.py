"""Bulletin → a post on the social networks: the Facebook Page, Mastodon and Bluesky.

Plain text (none of them reads WhatsApp's ``*bold*`` or Markdown): the status labels, the title, the summary,
when and where, and the link to the page. Each network measures a post its own way, and the text is fitted to
it here, once, for the preview and for the send alike:

* Facebook: ``message`` up to 63,206 characters (never reached); the link goes apart (``link``) and Facebook
  draws its preview from the page's OpenGraph tags, so the text does not repeat it;
* Mastodon: the instance's ``max_characters`` (500 by default), counted in graphemes, every URL as 23;
* Bluesky: 300 graphemes (and 3,000 bytes); the link is a *facet* whose offsets count UTF-8 bytes, and a link
  card (``app.bsky.embed.external``) with the bulletin's share image.

When a text is too long the summary is shortened (with «…»), then the details dropped, then the title
shortened: never the link.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.dates import format_until
from site_tools.render.common import event_when, status_labels
from site_tools.render.links import Links

if TYPE_CHECKING:
    import regex

ELLIPSIS = "…"
#: A link shown in a Bluesky post's text (the facet opens the whole address).
BLUESKY_LINK_SHOWN = 40


@functools.cache
def _patterns() -> tuple[regex.Pattern[str], regex.Pattern[str]]:
    # ``regex`` (locked, through textstat) implements Unicode's extended grapheme clusters (UAX #29) as ``\X``:
    # «🇮🇹», «👨‍👩‍👧» and «è» written as e + a combining accent are one each, as the networks count them.
    import regex

    # A link ends as Mastodon's extractor (twitter-text) ends it: on a letter, a digit or one of ``/=#+-_``, never
    # on the «).», «»» or «,» after it, which the server counts as text (a link's own «)» counted too: never short).
    return regex.compile(r"\X"), regex.compile(r"https?://\S*[\w/=#+\-]")


def graphemes(text: str) -> list[str]:
    """The text's user-perceived characters (extended grapheme clusters)."""
    return _patterns()[0].findall(text)


def grapheme_count(text: str) -> int:
    return len(graphemes(text))


def mastodon_length(text: str) -> int:
    """As Mastodon counts a status: graphemes, with every http(s) URL counted as 23 characters."""
    url = _patterns()[1]
    return grapheme_count(url.sub("", text)) + limits.MASTODON_URL_CHARACTERS * len(url.findall(text))


def bluesky_fits(text: str) -> bool:
    return grapheme_count(text) <= limits.BLUESKY_POST_GRAPHEMES and len(text.encode()) <= limits.BLUESKY_POST_BYTES


def details(b: Bulletin, config: TownConfig) -> list[str]:
    """When, where, until when: the lines a phone needs, as the Channel post has them."""
    lines = []
    if b.event:
        lines.append(f"🗓 {event_when(b.event, config.timezone)}")
        if b.event.location:
            lines.append(f"📍 {b.event.location}")
    if b.area:
        lines.append(f"📍 Zona: {b.area}")
    if b.expires:
        lines.append(f"⏳ Valido fino a {format_until(b.expires, config.timezone)}")
    return lines


def _compose(labels: list[str], title: str, summary: str, more: list[str], tail: str) -> str:
    blocks = ["\n".join([*labels, title])]
    blocks += [summary] if summary else []
    blocks += ["\n".join(more)] if more else []
    blocks += [tail] if tail else []
    return "\n\n".join(blocks)


def _shorten(text: str, fits: Callable[[str], bool]) -> str:
    """The longest beginning of ``text`` (whole graphemes, then «…») that fits; "" if none does."""
    if fits(text):
        return text
    parts = graphemes(text)
    low, high = 0, len(parts)  # the answer keeps ``low`` graphemes: fits(low) holds or low == 0
    while low < high:
        middle = (low + high + 1) // 2
        if fits("".join(parts[:middle]).rstrip() + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return "".join(parts[:low]).rstrip() + ELLIPSIS if low else ""


def fit(b: Bulletin, config: TownConfig, tail: str, fits: Callable[[str], bool]) -> str:
    """The post's text, ending with ``tail`` (the link line), fitted by ``fits``."""
    labels = [f"{emoji} {label}" for emoji, label in status_labels(b)]
    more = details(b, config)
    whole = _compose(labels, b.title, b.summary, more, tail)
    if fits(whole):
        return whole
    for kept in (more, []):
        if fits(_compose(labels, b.title, "", kept, tail)):

            def with_summary(summary: str, kept: list[str] = kept) -> bool:
                return fits(_compose(labels, b.title, summary, kept, tail))

            return _compose(labels, b.title, _shorten(b.summary, with_summary), kept, tail)
    title = _shorten(b.title, lambda t: fits(_compose(labels, t, "", [], tail)))
    return _compose(labels, title, "", [], tail)


# --- Facebook -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacebookPost:
    message: str
    link: str  # Facebook draws the preview from this page's OpenGraph tags


def render_facebook(b: Bulletin, config: TownConfig, links: Links) -> FacebookPost:
    message = fit(b, config, "", lambda text: len(text) <= limits.FACEBOOK_MESSAGE_MAX)
    return FacebookPost(message, links.page(b))


# --- Mastodon -------------------------------------------------------------------------------------------


def mastodon_limit(config: TownConfig) -> int:
    return config.mastodon.max_characters if config.mastodon else limits.MASTODON_DEFAULT_MAX_CHARACTERS


def render_mastodon(b: Bulletin, config: TownConfig, links: Links) -> str:
    limit = mastodon_limit(config)
    return fit(b, config, f"👉 {links.page(b)}", lambda text: mastodon_length(text) <= limit)


# --- Bluesky --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facet:
    """A link over ``text.encode()[byte_start:byte_end]`` (UTF-8 bytes: start included, end excluded)."""

    byte_start: int
    byte_end: int
    uri: str


@dataclass(frozen=True)
class BlueskyPost:
    text: str
    facets: tuple[Facet, ...]
    #: The link card: the page, its title and summary, and the image to upload as its thumbnail (None: the
    #: town's default preview, drawn as the site draws it: render/share_image.py).
    uri: str
    title: str
    description: str
    image: Path | None


def shown_link(url: str) -> str:
    """``comune.example.it/notizie/2026/11/chiusura-…``: no scheme, at most 40 characters (the facet opens it)."""
    parsed = urlparse(url)
    shown = (parsed.netloc + parsed.path).rstrip("/")
    if grapheme_count(shown) <= BLUESKY_LINK_SHOWN:
        return shown
    return "".join(graphemes(shown)[: BLUESKY_LINK_SHOWN - 1]) + ELLIPSIS


def render_bluesky(b: Bulletin, config: TownConfig, links: Links) -> BlueskyPost:
    page = links.page(b)
    shown = shown_link(page)
    text = fit(b, config, f"👉 {shown}", bluesky_fits)
    end = len(text.encode())  # the link is the text's last line
    facet = Facet(end - len(shown.encode()), end, page)
    return BlueskyPost(text, (facet,), page, b.title, b.summary, share_image(b, config))


def share_image(b: Bulletin, config: TownConfig) -> Path | None:
    """The image a link to the bulletin shows (as the site's OpenGraph tags): the bulletin's ``image``, else the
    town's ``share_image``; None when the site draws its own (``render/share_image.py``)."""
    if b.image:
        base = config.content_dir if b.image.startswith("/") else b.path.parent
        path = (base / b.image.lstrip("/")).resolve()
    elif config.identity.share_image:
        path = (config.content_dir / config.identity.share_image).resolve()
    else:
        return None
    return path if path.is_file() and path.is_relative_to(config.content_dir.resolve()) else None
