"""The signup page's QR codes for the Facebook Page, Mastodon and Bluesky, as Chromium draws them, open the accounts."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from lxml import etree
from lxml import html as lxml_html
from PIL import Image

from site_tools.site.build import build_site

from .conftest import Town
from .test_social_channels import social_town

LINKS = {
    "Pagina Facebook": "https://www.facebook.com/ComuneDiValfiorita",
    "Mastodon": "https://mastodon.example/@valfiorita",
    "Bluesky": "https://bsky.app/profile/valfiorita.bsky.social",
}


@pytest.mark.slow  # a site build of its own
def test_each_networks_qr_code_on_the_signup_page_decodes_to_its_account(town: Town, page) -> None:  # type: ignore[no-untyped-def]
    social_town(town)
    out = build_site(town.root / "mkdocs.yml", town.root / "site")
    signup = lxml_html.fromstring((out / "iscriviti/index.html").read_text(encoding="utf-8"))
    codes = {svg.get("aria-label"): svg for svg in signup.iter("{http://www.w3.org/2000/svg}svg", "svg")}
    for name, link in LINKS.items():
        svg = codes[f"Codice QR: {name} del Comune di Valfiorita"]
        page.set_content(f'<body style="margin:0;background:#fff">{etree.tostring(svg, encoding="unicode")}</body>')
        page.locator("svg").evaluate("svg => { svg.style.width = '300px'; svg.style.height = '300px'; }")
        shot = Image.open(io.BytesIO(page.locator("svg").screenshot()))
        assert [r.text for r in zxingcpp.read_barcodes(shot)] == [link], name
        assert signup.xpath(f'//a[contains(@class, "md-button")][@href="{link}"]'), name
