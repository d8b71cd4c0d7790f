"""Every internal link, image, script and stylesheet of the built site works: the demo and 1,000 bulletins."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from site_tools.devtools.generated import generate_town
from site_tools.devtools.linkcheck import check_site

from .conftest import FIXTURE_TOWN
from .test_site import CONFIG, NOW, build_at

SITE_URL = CONFIG.site_url


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_at(NOW, tmp_path_factory.mktemp("demo-site"))


@pytest.mark.slow  # a site build
def test_every_internal_reference_of_the_demo_site_resolves(demo_site: Path) -> None:
    report = check_site(demo_site, SITE_URL)
    assert report.broken == [], "\n".join(map(str, report.broken))
    assert report.pages >= 50 and report.checked > 2000  # it walked the whole site, not an empty folder
    # The references that were broken before are among those checked, from a bulletin's page.
    page = (demo_site / "notizie/2026/11/festa-degli-alberi/index.html").read_text(encoding="utf-8")
    assert 'href="../../../../categorie/ambiente/"' in page or 'href="../../../../categorie/eventi/"' in page
    assert 'href="../../../../iscriviti/"' in page


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_internal_reference_of_a_1000_bulletin_site_resolves(tmp_path: Path) -> None:
    config = generate_town(FIXTURE_TOWN, tmp_path, 1000)
    site = build_at(NOW, tmp_path / "site", config)
    report = check_site(site, SITE_URL)
    assert report.broken == [], "\n".join(map(str, report.broken[:50]))
    assert report.pages > 1000
    # The features that make links are all there to be checked.
    pages = list((site / "notizie").rglob("index.html"))
    texts = [p.read_text(encoding="utf-8") for p in pages[::7]]
    assert any('id="allegati"' in t for t in texts)
    assert any("Aggiungi al calendario" in t for t in texts) or list((site / "calendario").glob("*.ics"))
    assert any('og:image" content="https://avvisi.valfiorita.example.it/img/foto.png"' in t for t in texts)
    assert len(list((site / "cap").glob("*.xml"))) > 10
    assert (site / "categorie/meteo/2/index.html").is_file()  # paginated listings, one folder deeper


@pytest.mark.slow  # a site build of its own
def test_the_checker_reports_what_a_visitor_would_find_broken(demo_site: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(demo_site, site)
    page = site / "notizie/2026/11/festa-degli-alberi/index.html"
    text = page.read_text(encoding="utf-8")
    text = text.replace(
        "</article>",
        '<a href="../../nowhere/">x</a><a href="../../../../privacy/#nessuna">y</a>'
        '<img src="/assets/mancante.png" alt=""><a href="../../../../../../etc/passwd">z</a>'
        '<a href="https://example.org/altrove/">esterno</a></article>',
        1,
    )
    page.write_text(text, encoding="utf-8")
    (site / "assets/site-tools.js").unlink()  # every page's script
    report = check_site(site, SITE_URL)
    reasons = {(b.page, b.reference): b.reason for b in report.broken}
    rel = "notizie/2026/11/festa-degli-alberi/index.html"
    assert reasons[(rel, "../../nowhere/")] == "il file non esiste"
    assert reasons[(rel, "../../../../privacy/#nessuna")].startswith("nessun elemento con id")
    assert reasons[(rel, "/assets/mancante.png")] == "il file non esiste"
    assert reasons[(rel, "../../../../../../etc/passwd")] == "il file non esiste"  # as a browser: /etc/passwd
    assert not any(ref.startswith("https://example.org") for _, ref in reasons)
    missing_script = [b for b in report.broken if b.reference.endswith("assets/site-tools.js")]
    editor = len(list((site / "admin").rglob("*.html")))  # /admin/ loads only the editor's own scripts
    assert len(missing_script) == report.pages - editor  # one per page: every public page loads it


@pytest.mark.slow  # a site build
def test_a_strict_build_names_the_broken_link_of_a_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from site_tools.content.problems import InvalidContent
    from site_tools.site.build import build_site

    from .conftest import Town

    town = Town(tmp_path, with_demo=False)
    (town.root / "content" / "privacy.md").write_text(
        "# Privacy\n\nVedi [il regolamento](regolamento.md).\n", encoding="utf-8"
    )
    monkeypatch.setenv("SITE_TOOLS_NOW", NOW)
    with pytest.raises(InvalidContent) as refused:
        build_site(town.root / "mkdocs.yml", tmp_path / "site", strict=True)
    assert "modalità rigorosa" in str(refused.value) and "regolamento.md" in str(refused.value)
