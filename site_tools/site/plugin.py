"""The MkDocs plugin (``plugins: [site-tools]``): bulletins → pages, listings, feeds, QR signup, posters.

It replaces mkdocs-material's blog plugin, which took 5× as long as plain
MkDocs at 5,000 posts (shared/spec/site-build.md): each bulletin is an
ordinary page, kept out of the navigation, with a URL by date; listing pages
are generated once, paginated; the search index keeps one short entry per
bulletin.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from site_tools.content.config import load_config
from site_tools.content.loading import load_content
from site_tools.content.problems import InvalidContent, format_report
from site_tools.render.cap import cap_bulletins, cap_xml
from site_tools.render.ical import event_ics, events_calendar
from site_tools.render.rss import rss
from site_tools.site import admin, pages
from site_tools.site.bulletin_page import calendar_src, page_markdown
from site_tools.site.model import SiteModel
from site_tools.site.posters import SIZES, poster_name, poster_pdf
from site_tools.site.signup import signup_channels

THEME = Path(__file__).parent / "theme"
ASSETS = Path(__file__).parent / "assets"


def site_now(config: Any) -> Any:
    from site_tools.content.dates import now

    return now(config.timezone, os.environ.get("SITE_TOOLS_NOW"))


class TownPlugin(BasePlugin):
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        try:
            town = load_config(Path(config.config_file_path))
        except InvalidContent as exc:
            raise PluginError("\n" + format_report(exc.problems)) from exc
        content = load_content(town)
        if content.problems:
            raise PluginError("\n" + format_report(content.problems))
        self.town = town
        self.model = SiteModel(town, site_now(town), content.bulletins)
        self.by_src = {self.model.src_uri(b): b for b in self.model.bulletins}
        self.hidden = {self.model.src_uri(b) for b in content.bulletins} - set(self.by_src)
        config.theme.dirs.insert(0, str(THEME))
        config.extra_css.append("assets/site-tools.css")
        config.extra_javascript.append("assets/site-tools.js")
        config.extra["site_tools"] = {
            "urgent": [
                {"title": b.title, "url": b.url_path, "expires": b.expires.isoformat() if b.expires else ""}
                for b in self.model.urgent_active()
            ],
            "town": town.name,
        }
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        model = self.model
        for file in list(files):
            if file.src_uri in self.hidden:
                files.remove(file)  # drafts and future-dated: off the site until their time
                continue
            b = self.by_src.get(file.src_uri)
            if b is not None:
                file.dest_uri = b.url_path + "index.html"
                file.url = b.url_path
                file.abs_dest_path = os.path.normpath(os.path.join(config.site_dir, file.dest_uri))
        generated: dict[str, str | bytes] = {}
        generated.update(pages.novita(model))
        generated.update(pages.categories(model))
        generated.update(pages.archive(model))
        generated["iscriviti.md"] = pages.signup(model)
        town = self.town
        generated["feed.xml"] = rss(town, model.bulletins, f"Avvisi – {town.name}", "feed.xml")
        for category in town.categories:
            generated[f"categorie/{category.slug}/feed.xml"] = rss(
                town,
                model.in_category(category.slug),
                f"{category.label} – {town.name}",
                f"categorie/{category.slug}/feed.xml",
                f"categorie/{category.slug}/",
            )
        cancelled = set(model.cancelled)
        generated["eventi.ics"] = events_calendar(town, model.bulletins, cancelled)
        for b in model.bulletins:
            if b.event:
                generated[calendar_src(b)] = event_ics(town, b, b.id in cancelled)
        alerts = cap_bulletins(model.bulletins, model.now)
        for b in alerts:
            generated[f"cap/{b.id}.xml"] = cap_xml(town, b, model.by_id)
        generated["cap/index.json"] = json.dumps(
            {"alerts": [f"{town.site_url}cap/{b.id}.xml" for b in alerts]}, indent=1
        )
        for channel in signup_channels(town):
            for size in SIZES:
                generated[poster_name(channel, size)] = poster_pdf(town, channel, size)
        for asset in ASSETS.iterdir():
            generated[f"assets/{asset.name}"] = asset.read_text(encoding="utf-8")
        for src_uri, data in generated.items():
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            files.append(File.generated(config, src_uri, content=data))
        admin.add_to_site(files, config, town, model.all_bulletins)  # the web editor at /admin/
        return files

    def on_page_markdown(self, markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        b = self.by_src.get(page.file.src_uri)
        if b is not None:
            page.meta.setdefault("description", b.summary)
            # The search plugin would parse the whole page only for us to keep the summary:
            # bulletins get one short entry each in on_post_build instead.
            page.meta["search"] = {"exclude": True}
            return page_markdown(self.model, b, b.body)
        if page.file.src_uri == "index.md":
            return markdown + "\n" + pages.home_sections(self.model)
        return markdown

    def on_post_build(self, config: MkDocsConfig) -> None:
        shrink_search_index(Path(config.site_dir), self.model)


def shrink_search_index(site_dir: Path, model: SiteModel) -> None:
    """One short entry per bulletin (title, summary, categories) instead of every section's full text.

    A visitor who searches downloads the whole index: at 5,000 bulletins the
    default is 13 MB, too heavy for a phone. Bulletin pages are excluded from
    the search plugin (see on_page_markdown) and added here.
    """
    path = site_dir / "search" / "search_index.json"
    if not path.is_file():
        return
    index = json.loads(path.read_text(encoding="utf-8"))
    for b in model.bulletins:
        labels = " ".join(c.label for slug in b.categories if (c := model.config.category(slug)))
        index["docs"].append({"location": b.url_path, "title": b.title, "text": f"{b.summary} {labels}"})
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
