"""What a page says about itself in ``<head>``: link previews (Open Graph, Twitter cards) and its feeds.

A bulletin's link pasted in WhatsApp, Telegram or Facebook (and the channels
send exactly such links) shows its title, summary and image: the bulletin's
``image``, the town's ``share_image``, or the preview drawn at build time.
Values are plain text here; the template escapes each one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from site_tools.content.bulletin import Bulletin
from site_tools.site.branding import SHARE_IMAGE, SHARE_SIZE
from site_tools.site.model import SiteModel


@dataclass(frozen=True)
class Feed:
    title: str
    path: str  # from the site root: "feed.xml"


@dataclass(frozen=True)
class PageMeta:
    type: str  # og:type: "article" for a bulletin, else "website"
    title: str
    description: str
    url: str  # canonical, absolute
    image: str  # absolute
    image_alt: str
    image_width: int | None = None
    image_height: int | None = None
    published: str | None = None  # ISO 8601, bulletins only
    modified: str | None = None
    feeds: list[Feed] = field(default_factory=list)


def page_meta(model: SiteModel, url: str, title: str, description: str, b: Bulletin | None) -> PageMeta:
    """``url`` is the page's path from the site root (``notizie/2026/11/x/``, ``""`` for the home)."""
    config = model.config
    feeds = [Feed(f"Avvisi – {config.name}", "feed.xml")]
    parts = url.strip("/").split("/")
    if parts[0] == "categorie" and len(parts) >= 2 and (category := config.category(parts[1])):
        feeds.append(Feed(f"{category.label} – {config.name}", f"categorie/{category.slug}/feed.xml"))
    image, alt, size = _default_image(model)
    if b is not None and b.image:
        image, alt, size = config.site_url + model.site_file(b, b.image), b.title, None
    return PageMeta(
        type="article" if b is not None else "website",
        title=b.title if b is not None else title,
        description=b.summary if b is not None else description,
        url=config.site_url + url,
        image=image,
        image_alt=alt,
        image_width=size[0] if size else None,
        image_height=size[1] if size else None,
        published=b.date.isoformat() if b is not None else None,
        modified=model.last_updated(b).isoformat() if b is not None else None,
        feeds=feeds,
    )


def _default_image(model: SiteModel) -> tuple[str, str, tuple[int, int] | None]:
    config = model.config
    alt = f"{config.name}: avvisi, allerte e notizie"
    if config.identity.share_image:
        return config.site_url + config.identity.share_image, alt, None
    return config.site_url + SHARE_IMAGE, alt, SHARE_SIZE
