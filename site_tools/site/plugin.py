"""The MkDocs plugin (``plugins: [site-tools]``): bulletins → pages, listings, feeds, QR signup, posters.

It replaces mkdocs-material's blog plugin, which took 5× as long as plain
MkDocs at 5,000 posts (plain pages cost 2.6–3.2 ms each, blog posts 13.5–16 ms;
its membership test over the list of posts is quadratic): each bulletin is an
ordinary page, kept out of the navigation, with a URL by date; listing pages
are generated once, paginated; the search index keeps one short entry per
bulletin.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import secrets
import zlib
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from markupsafe import Markup
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from mkdocs.utils.templates import TemplateContext

from site_tools.content.config import load_config
from site_tools.content.files import escapes
from site_tools.content.loading import Content, load_content
from site_tools.content.problems import NOTHING_PUBLISHED, InvalidContent, format_report
from site_tools.content.validation import explain
from site_tools.markdown.html import Sanitizer
from site_tools.render.cap import CapFeed
from site_tools.render.ical import event_ics, events_calendar
from site_tools.render.rss import rss
from site_tools.settings import current
from site_tools.site import admin, csp, final_check, pages, sanitize, search, webpush
from site_tools.site.branding import SHARE_IMAGE, minify_css, share_image, town_css
from site_tools.site.bulletin_page import calendar_src, page_markdown
from site_tools.site.digest_pages import digest_pages
from site_tools.site.final_check import FinalCheck
from site_tools.site.fonts import font_css, font_files
from site_tools.site.meta import page_meta
from site_tools.site.model import SiteModel
from site_tools.site.one_markdown import OneMarkdown
from site_tools.site.posters import SIZES, poster_name, poster_pdf
from site_tools.site.signup import newsletter_action, signup_channels, with_newsletter_form
from site_tools.site.staging import Staging
from site_tools.site.stash import HtmlStash
from site_tools.site.town_pages import TOPICS_PAGE, footer, footer_key, menu, town_pages
from site_tools.site.translate import translator

THEME = Path(__file__).parent / "theme"
ASSETS = Path(__file__).parent / "assets"
log = logging.getLogger("mkdocs.plugins.site_tools")


def site_now(config: Any) -> Any:
    from site_tools.content.dates import now

    return now(config.timezone, current().now)


def leave_out_bad_bulletins(content: Content) -> list[str]:
    """A bad bulletin (or the second of two with one id) is left off the site, loudly; the site still deploys.

    Problems anywhere else (a page, the configuration) still stop the build. Returns the files left out,
    relative to ``content/``. The warning goes to stderr (and a GitHub annotation), not to MkDocs' log,
    where ``--strict`` would turn it back into a failed build.
    """
    import sys

    if not content.problems:
        return []
    bulletins = {r.shown: r for r in content.records}
    if any(p.file not in bulletins for p in content.problems):
        raise PluginError("\n" + format_report(content.problems, NOTHING_PUBLISHED))
    # Of two files with one id, the first (by name: usually the older, already published) stays online,
    # so that links already sent to phones keep working; the publisher sends neither.
    bad = {p.file for p in content.problems}
    bad_paths = {bulletins[f].path for f in bad}
    content.bulletins = [b for b in content.bulletins if b.path not in bad_paths]
    print("ATTENZIONE: avvisi lasciati fuori dal sito finché non sono corretti:", file=sys.stderr)
    for problem in content.problems:
        print(problem.format(), file=sys.stderr)
        if current().github_actions:
            print(problem.github_annotation().replace("::error ", "::warning ", 1))
    root = content.config.content_dir
    return sorted(Path(bulletins[f].path).relative_to(root).as_posix() for f in bad)


def symlinked_files(files: Files, docs: Path) -> list[str]:
    """The files of ``docs`` (content/) that a symlink on the way would take elsewhere, by ``src_uri``.

    Only files at or under a symlink found in ``docs`` (one ``scandir`` pass: no ``stat`` a file) are asked
    :func:`~site_tools.content.files.escapes`, which resolves every folder of the path (10,000 ``realpath``
    calls, profiled); if ``docs`` cannot be listed, every file is asked.
    """
    inside = os.path.join(os.path.abspath(docs), "")
    try:
        links: set[str] | None = _symlinks(inside.rstrip(os.sep))
    except OSError:
        links = None
    under = tuple(os.path.join(link, "") for link in links or ())
    return [
        f.src_uri
        for f in files
        if (path := f.abs_src_path or "").startswith(inside)
        and (links is None or path in links or path.startswith(under))
        and escapes(Path(path), docs) == "symlink"
    ]


def _symlinks(root: str) -> set[str]:
    """Every symlink under ``root`` (files and folders; none followed), by absolute path."""
    found: set[str] = set()
    folders = [root]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    found.add(entry.path)
                elif entry.is_dir():
                    folders.append(entry.path)
    return found


class TitledPage:
    """A page as the header template sees it, with a placeholder title: the header is rendered once per
    memo key and the page's own (escaped) title replaces the placeholder (main.html, block header)."""

    def __init__(self, page: Page, title: Markup) -> None:
        self._page = page
        self.meta = {**page.meta, "title": title}
        self.title = title

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)


class TownPlugin(BasePlugin):
    #: Build beside the site folder, moved into place once the final check's verdict is in (staging.py); not
    #: for the preview server (its own temporary folder, rebuilt at every change) nor a "dirty" build.
    staged = True
    staging: Staging | None = None

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.staged = command != "serve" and not dirty

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        # The address this build is for: the town's, or the preview server's (`site-tools serve` sets its own).
        self.build_url = config.site_url or ""
        try:
            town = load_config(Path(config.config_file_path))
        except InvalidContent as exc:
            raise PluginError("\n" + format_report(exc.problems, NOTHING_PUBLISHED)) from exc
        if town.site_problems:
            raise PluginError("\n" + format_report(list(town.site_problems), NOTHING_PUBLISHED))
        content = load_content(town)
        left_out = set(leave_out_bad_bulletins(content))
        self.town = town
        self.model = SiteModel(town, site_now(town), content.bulletins)
        self.by_src = {self.model.src_uri(b): b for b in self.model.bulletins}
        self.hidden = {self.model.src_uri(b) for b in content.bulletins} - set(self.by_src) | left_out
        self.sanitizer = Sanitizer(town.site_url)
        # base_url → the theme's inline scripts (csp.py); frozen: each page's final check takes them to its process
        self.script_hashes: dict[str, frozenset[str]] = {}
        self.one_markdown = OneMarkdown()  # one_markdown.py
        self.stash = HtmlStash()  # generated HTML skips Python-Markdown's HTML parser (stash.py)
        self.generated_pages: set[str] = set()
        self.final_check = FinalCheck(len(content.bulletins))  # every written page (final_check.py)
        # Sanitised HTML of our pages, compressed between on_page_content and the page's rendering: ProperDocs
        # converts every page before it renders the first, so every page's HTML is in memory at once (peak RSS).
        self.packed: dict[str, bytes] = {}
        self.title_placeholder = Markup(f"st-title-{secrets.token_hex(8)}")  # the memoised header's (main.html)
        self.search_tiers = search.tiers(self.model)
        self.search_bodies: dict[str, str] = {}  # url_path → body text, for the newest bulletins (search.py)
        self._nav_pages: set[int] | None = None  # pages in the nav (by id), known at the first page
        self._nav_shallow = False
        config.theme.dirs.insert(0, str(THEME))
        config.extra_css.append("assets/site-tools.css")
        config.extra_javascript.append("assets/site-tools.js")
        if town.webpush:
            config.extra_javascript.append(webpush.SCRIPT)  # the signup page's button (it acts only there)
        config.theme["logo"] = config.theme["favicon"] = town.identity.coat_of_arms
        config.extra["site_tools"] = {
            "urgent": [
                {"title": b.title, "url": b.url_path, "expires": b.expires.isoformat() if b.expires else ""}
                for b in self.model.urgent_active()
            ],
            "town": town.name,
            "footer": footer(town),
            "feedback": town.identity.page_feedback,
        }
        self.mkdocs_config = config
        if self.staged:
            self.staging = Staging(Path(config.site_dir))
            config.site_dir = str(self.staging.start())
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        model = self.model
        docs = Path(config.docs_dir)
        # Files read from content/ (the theme's own are elsewhere) must not reach outside it through a symlink.
        refused = symlinked_files(files, docs)
        if refused:  # validation refuses them first (on_config): this is the last line, never a silent copy
            raise PluginError(f"collegamenti simbolici in {docs.name}/: {', '.join(refused[:10])}")
        answers = f"{self.town.counter.answers_dir}/" if self.town.counter else None
        for file in list(files):
            if answers and file.src_uri.startswith(answers):
                files.remove(file)  # the counter's canned answers: reviewed in Git, never published
                continue
            if file.src_uri in self.hidden:
                files.remove(file)  # drafts and future-dated: off the site until their time
                continue
            b = self.by_src.get(file.src_uri)
            if b is not None:
                file.dest_uri = b.url_path + "index.html"
                file.url = b.url_path
                file.abs_dest_path = os.path.normpath(os.path.join(config.site_dir, file.dest_uri))
                # Read and its frontmatter parsed in on_config already: ProperDocs would read the file and parse
                # the YAML again (pure overhead, 10,000 times); the page's meta is set in on_page_markdown.
                file.content_string = ""
        generated: dict[str, str | bytes] = {}
        generated.update(pages.novita(model))
        generated.update(pages.categories(model))
        generated.update(pages.topics(model))
        generated.update(pages.archive(model))
        generated["iscriviti.md"] = pages.signup(model)
        generated.update(digest_pages(model))  # the weekly digests, with extra.town.digest
        if self.town.webpush:
            generated[webpush.SERVICE_WORKER_PATH] = webpush.service_worker(self.town)  # at the root: scope = site
            generated[webpush.SCRIPT] = webpush.script(self.town)
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
        cap = CapFeed(town, model.now, model.bulletins)
        generated.update(cap.files())
        generated.update(town_pages(model, cap))
        if not town.identity.share_image:
            generated[SHARE_IMAGE] = share_image(town)
        for channel in signup_channels(town):
            for size in SIZES:
                generated[poster_name(channel, size)] = poster_pdf(town, channel, size)
        # The frontmatter's JSON Schema, with the town's categories (for editors' tools; pydantic is loaded here only).
        from site_tools.content.reference import SITE_SCHEMA, schema_text

        generated[SITE_SCHEMA] = schema_text(tuple(town.category_slugs))
        for asset in ASSETS.iterdir():
            if asset.is_file():
                generated[f"assets/{asset.name}"] = asset.read_text(encoding="utf-8")
        generated.update(font_files())
        generated["assets/site-tools.css"] = town_css(town.identity.color) + minify_css(
            font_css() + str(generated["assets/site-tools.css"])
        )
        self.generated_pages = {src for src in generated if src.endswith(".md")}
        for src_uri, data in generated.items():
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            files.append(File.generated(config, src_uri, content=data))
        # The model's menu: «Argomenti» once the site has that page (generated or the town's own), never a dead link.
        config.extra["site_tools"]["menu"] = menu(town, topics=files.get_file_from_path(TOPICS_PAGE) is not None)
        admin.add_to_site(files, config, town, model.all_bulletins)  # the web editor at /admin/
        # HTML copied as it is, never rendered as a page: checked once written (on_post_build).
        self.own_files = [f.dest_uri for f in files if f.is_static_page() and f.dest_uri.endswith((".html", ".htm"))]
        return files

    def on_pre_page(self, page: Page, /, *, config: MkDocsConfig, files: Files) -> Page:
        setattr(page, "render", partial(self.one_markdown.render, page))  # noqa: B010  # one Markdown a build
        return page

    def on_page_markdown(self, markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        b = self.by_src.get(page.file.src_uri)
        if b is not None:
            # What the theme reads of a page's meta, from the bulletin (its source is not read again: on_files).
            # The search plugin would parse the whole page only for us to keep the summary:
            # bulletins get one short entry each in on_post_build instead.
            page.meta = {"title": b.title, "description": b.summary, "search": {"exclude": True}}
            return page_markdown(self.model, b, b.body, self.stash.put)
        if page.file.src_uri == "index.md":
            return markdown + "\n" + self.stash.hide(pages.home_sections(self.model))
        if page.file.src_uri in self.generated_pages:
            return self.stash.hide(markdown)
        return markdown

    def _page_context(
        self, context: TemplateContext, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> TemplateContext:
        """Link previews and feeds for ``<head>`` (partials/st-head.html)."""
        b = self.by_src.get(page.file.src_uri)
        description = (page.meta or {}).get("description") or config.site_description or ""
        title = config.site_name if page.is_homepage else str(page.title or config.site_name)
        meta = page_meta(self.model, page.url, title, str(description), b)
        context["site_tools_page"] = meta  # type: ignore[typeddict-unknown-key]  # our own key, read by st-head.html
        memo = self._memo_key(page, nav)
        context["st_memo"] = memo  # type: ignore[typeddict-unknown-key]  # read by main.html
        titled = memo is not None and isinstance((page.meta or {}).get("title"), Markup)
        context["st_header_page"] = TitledPage(page, self.title_placeholder) if titled else None  # type: ignore[typeddict-unknown-key]
        self._remember_scripts(context)
        return context

    def _memo_key(self, page: Page, nav: Navigation) -> str | None:
        """Pages not in the nav share its rendering by depth and first folder (main.html), if every nav
        address is at the top: links from ``a/b/c/`` to ``x/`` depend on nothing else."""
        if self._nav_pages is None:
            self._nav_pages = {id(p) for p in nav.pages}
            self._nav_shallow = all((p.url or "").rstrip("/").count("/") == 0 for p in nav.pages)
        if id(page) in self._nav_pages or not self._nav_shallow:
            return None
        url = page.url or ""
        return f"{url.count('/')}:{url.split('/', 1)[0]}"

    def on_env(self, env: Any, config: MkDocsConfig, files: Files) -> Any:
        self.env = env
        env.auto_reload = False  # one build, one environment: no stat() of each template at every include
        memo: dict[str, str] = {}
        env.globals["st_memo_get"] = memo.get
        env.globals["st_memo_put"] = lambda key, html: memo.setdefault(key, html)
        env.globals["st_url_placeholder"] = f"st-url-{secrets.token_hex(8)}"  # the page rating's (main.html)
        env.globals["st_footer_key"] = footer_key(config.extra["site_tools"]["footer"])  # main.html, block footer
        env.globals["st_translate"] = translator(env, config.theme["language"])  # partials/language.html
        self._nav_pages = None
        self.theme_scripts = csp.theme_scripts(env)
        return env

    @event_priority(-100)  # last: whatever another plugin added to the content is cleaned too
    def on_page_content(self, content: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        b = self.by_src.get(page.file.src_uri)
        if b is not None and self.search_tiers.get(b.url_path) == search.FULL:
            self.search_bodies[b.url_path] = search.body_text(content, self.stash.nonce)
        content, ids = self.stash.restore(content)  # before the sanitiser: what was stashed is checked like the rest
        if ids and page.present_anchor_ids is not None:
            page.present_anchor_ids |= ids
        if self.stash.nonce in content:  # a placeholder Markdown did not leave as a paragraph of its own: a bug
            raise PluginError(f"{page.file.src_uri}: un segnaposto interno è rimasto nella pagina.")
        checked = sanitize.clean_content(self.sanitizer, content, page.toc)
        for finding in checked.findings:  # validate refuses these in content/: here, a generated page's bug
            log.warning(f"{page.file.src_uri}: {explain(finding)[0]}")
        sanitize.escape_meta(page)
        if page.file.src_uri == "iscriviti.md":  # the newsletter's form, after the sanitiser (it allows no form)
            checked = replace(checked, clean=with_newsletter_form(checked.clean, self.town))
        if b is not None or page.file.src_uri in self.generated_pages:
            # The page is HTML now; its Markdown (ours, generated) would stay in memory until the end of the
            # build for nothing: 10,000 bulletins, tens of MB (peak memory).
            page.markdown = ""
            # Its HTML (already sanitised) waits compressed until on_page_context, a fifth of the size.
            self.packed[page.file.src_uri] = zlib.compress(checked.clean.encode("utf-8"), 1)
            return ""
        return checked.clean

    @event_priority(100)  # first: every other plugin's on_page_context sees the page's HTML
    def on_page_context(
        self, context: TemplateContext, /, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> TemplateContext:
        packed = self.packed.pop(page.file.src_uri, None)
        if packed is not None:
            page.content = zlib.decompress(packed).decode("utf-8")
        return self._page_context(context, page, config, nav)

    def on_template_context(self, context: Any, template_name: str, config: MkDocsConfig) -> Any:
        self._remember_scripts(context)
        return context

    def _remember_scripts(self, context: Any) -> None:
        base = str(context.get("base_url", ""))
        if base not in self.script_hashes:
            self.script_hashes[base] = frozenset(csp.theme_script_hashes(self.env, self.theme_scripts, context))
        self._base = base

    @event_priority(-100)  # last: the policy and the final check see the page as it is written
    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        output = self._guard(output, page.url or "", Path(page.file.abs_dest_path))
        if page.file.src_uri in self.by_src or page.file.src_uri in self.generated_pages:
            page.content = None  # written: nothing reads it again (anchors are checked against present_anchor_ids)
        return output

    def on_post_template(self, output: str, template_name: str, config: MkDocsConfig) -> str:
        if not template_name.endswith(".html"):
            return output
        return self._guard(output, template_name, Path(config.site_dir) / template_name)

    def _guard(self, output: str, path: str, written_to: Path) -> str:
        """The page with its security policy, handed to the final check (its verdict: on_post_build)."""
        hashes = self.script_hashes[self._base]
        feedback = self.town.identity.page_feedback
        push = webpush.service_origin(self.town) if self.town.webpush else ""
        newsletter = newsletter_action(self.town) or ""
        policy = csp.policy_for(path, csp.rules_for(feedback, push_service=push, newsletter_url=newsletter))
        output = csp.with_meta(output, csp.render(policy, hashes))
        site_url = self.build_url or self.town.site_url
        check = partial(
            sanitize.inspect_page,
            script_hashes=hashes,
            site_url=site_url,
            feedback_url=feedback,
            newsletter_url=newsletter if fnmatch.fnmatchcase(path, "iscriviti*") else "",
        )
        self.final_check.submit(path, written_to, output, check)
        return output

    def _check_own_files(self, site_dir: Path) -> None:
        """The final check of the HTML files copied as they are: under ``admin/``, the editor's own policy."""
        editor_policy = admin.content_security_policy(self.town, admin.local_backend_url())
        site_url = self.build_url or self.town.site_url
        for dest in self.own_files:
            written_to = site_dir / dest
            try:
                page_html = written_to.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PluginError(f"{dest}: il file non si può rileggere per il controllo finale ({exc}).") from exc
            policy = editor_policy if dest.startswith("admin/") else None
            check = partial(
                final_check.inspect_own_file,
                policy=policy,
                site_url=site_url,
                feedback_url=self.town.identity.page_feedback,
            )
            self.final_check.submit(dest, written_to, page_html, check, written=True)

    def on_build_error(self, error: Exception) -> None:
        if hasattr(self, "final_check"):
            self.final_check.abandon()  # no page that failed, or was not checked yet, stays in the output
        if self.staging is not None and hasattr(self, "final_check") and self.final_check.decided:
            self._put_in_place()  # refused by the final check: the site, without the pages that failed
        elif self.staging is not None:  # failed before the verdict: the site folder keeps the previous build
            self.staging.discard()
            self._unstage()

    @event_priority(-100)  # last: every plugin has written its files (the search index: search.add_bulletins)
    def on_post_build(self, config: MkDocsConfig) -> None:
        self._check_own_files(Path(config.site_dir))
        self.final_check.verdict()  # refuses the build if a page failed (final_check.py; then on_build_error)
        search.add_bulletins(Path(config.site_dir), self.model, self.search_tiers, self.search_bodies)
        self._put_in_place()

    def _put_in_place(self) -> None:
        if self.staging is not None:
            self.staging.put_in_place()
            self._unstage()

    def _unstage(self) -> None:
        if self.staging is not None:
            self.mkdocs_config.site_dir = str(self.staging.site_dir)
            self.staging = None
