"""The web editor's page preview shows each field as the site's page does.

The preview (``pageHtml`` in ``site-tools-editor.js``) is a JavaScript copy of the page's structure; the
site's page is ``site/bulletin_page.py``. Both are run on the fixture town's bulletins and on one that uses
every field: each field the preview shows (title, summary, the urgent notice, what a bulletin updates or
cancels, the event's when and where, the details: published, type, categories, zone, office, expiry) must read
exactly as on the site's page.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from typing import Any

from site_tools.content.loading import load_content
from site_tools.site.admin import town_data
from site_tools.site.bulletin_page import page_markdown
from site_tools.site.model import SiteModel

from .conftest import Town
from .test_cms import as_form_data, node

#: The editor's script, run under Node with the smallest stand-ins for Decap CMS and the page it lives in.
PREVIEW = """
const path = require('path');
const fs = require('fs');
const cms = require(path.resolve('site_tools/site/cms/site-tools-cms.js'));
let s = '';
process.stdin.on('data', d => (s += d)).on('end', () => {
  const { town, bulletins, now } = JSON.parse(s);
  Date.now = () => now;  // the preview says «Scaduto» or «Valido fino a» against this moment, as the page does
  let Preview = null;
  const window = {
    CMS: {
      getLocale: () => null, registerEventListener() {}, registerPreviewStyle() {},
      registerPreviewTemplate(_, cls) { Preview = cls; }, init() {},
    },
    SiteToolsCms: cms,
    SITE_TOOLS_TOWN: town,
    markdownit: require(path.resolve('node_modules/markdown-it')),
    h: (_tag, props) => props.dangerouslySetInnerHTML.__html,
    createClass: spec => spec,
    // The phones' part after the page (compared with the renderers in test_cms.py) parses HTML: an empty one.
    DOMParser: function () { this.parseFromString = () => ({ body: { firstChild: { nodeType: 1, childNodes: [] } } }); },
    console,
  };
  global.document = { body: { getAttribute: () => '[]' } };
  new Function('window', fs.readFileSync('site_tools/site/cms/site-tools-editor.js', 'utf8'))(window);
  const pages = bulletins.map(b => Preview.render.call({
    props: { entry: { get: k => (k === 'data' ? b.data : b.path) }, fields: null, getAsset: () => null },
  }));
  process.stdout.write(JSON.stringify({ pages }));
});
"""

NOW = datetime(2026, 11, 24, 12, 0)


def shown(html: str) -> dict[str, str]:
    """What a reader sees of each field: the title, the lead, notices, and each «<strong>Label:</strong> value»."""
    text = lambda fragment: re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", fragment))).strip()  # noqa: E731
    fields = {label: text(value) for label, value in re.findall(r"<li><strong>([^<:]+):</strong>(.*?)</li>", html)}
    lead = re.search(r'<p class="st-lead">(.*?)</p>', html, re.S)
    fields["lead"] = text(lead.group(1)) if lead else ""
    notices = re.findall(r'<p class="admonition-title">(.*?)</p>', html)
    fields["notices"] = " | ".join(text(n) for n in notices)
    return fields


def site_page(model: SiteModel, b: Any) -> dict[str, str]:
    markdown = page_markdown(model, b, "")
    fields = shown(markdown)
    title = re.search(r"^# (.+)$", markdown, re.M)
    fields["title"] = title.group(1).replace("\\", "") if title else ""
    notices = re.findall(r'^!!! \w+ "(.*?)"', markdown, re.M)
    fields["notices"] = " | ".join(notices)
    return fields


def compare(town: Town) -> list[str]:
    config = town.config
    content = load_content(config)
    assert not content.problems, content.problems
    now = NOW.replace(tzinfo=config.timezone)
    model = SiteModel(config, now, content.bulletins)
    payload = {
        "town": town_data(config, content.bulletins),
        "now": now.timestamp() * 1000,
        "bulletins": [
            {"path": b.path.relative_to(config.content_dir).as_posix(), "data": as_form_data(b.path)}
            for b in content.bulletins
        ],
    }
    pages = node(PREVIEW, payload)["pages"]
    compared = []
    for b, html in zip(content.bulletins, pages, strict=True):
        preview, page = shown(html), site_page(model, b)
        preview["title"] = shown_title(html)
        for label, value in preview.items():
            if label == "notices":
                # The page also says what later bulletins did to this one (updated, withdrawn), which the
                # preview of a bulletin being written cannot know: the preview's notices are among the page's.
                missing = set(filter(None, value.split(" | "))) - set(page[label].split(" | "))
                assert not missing, f"{b.id}: the preview shows the notices {missing}, the page does not"
                compared.extend(f"notice: {n}" for n in filter(None, value.split(" | ")))
                continue
            assert label in page, f"{b.id}: the preview shows «{label}», the page does not"
            assert value == page[label], f"{b.id}, {label}: preview «{value}», page «{page[label]}»"
            compared.append(label)
    return compared


def shown_title(html: str) -> str:
    title = re.search(r"<h1>(.*?)</h1>", html)
    return unescape(title.group(1)) if title else ""


def test_the_page_preview_shows_every_field_as_the_site_on_the_fixture_town(demo_town: Town) -> None:
    compared = compare(demo_town)
    for label in (
        "title",
        "lead",
        "Pubblicato",
        "Tipo",
        "Categorie",
        "Zona",
        "A cura di",
        "Quando",
        "Dove",
        "notice: Avviso urgente",
        "notice: Aggiornamento",
    ):
        assert label in compared, f"no bulletin of the fixture town shows «{label}»: the comparison proves nothing"


def test_the_page_preview_shows_expiry_and_event_as_the_site(town: Town) -> None:
    town.write(
        "2026-11-20-mercatino.md",
        """
        id: 2026-11-20-mercatino
        title: Mercatino di Natale in piazza
        date: 2026-11-20 08:30
        type: notizia
        categories: [eventi]
        summary: Il mercatino di Natale torna in piazza del Comune con trenta espositori e la banda.
        area: Piazza del Comune & via Roma <centro>
        office: Ufficio cultura
        expires: 2026-12-16
        event: {start: 2026-12-08 17:00, end: 2026-12-08 19:30, location: Piazza del Comune}
        """,
    )
    town.write(
        "2026-11-21-chiuso.md",
        """
        id: 2026-11-21-chiuso
        title: Sportello anagrafe chiuso
        date: 2026-11-21 08:30
        categories: [servizi]
        summary: Lo sportello anagrafe resta chiuso per un guasto alla rete, riapre domani mattina.
        expires: 2026-11-22 18:00
        """,
    )
    compared = compare(town)
    for label in ("Valido fino a", "Scaduto", "Quando", "Dove", "Zona", "A cura di"):
        assert label in compared, label
