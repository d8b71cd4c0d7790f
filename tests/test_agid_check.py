"""scripts/agid-check's own pieces, which run anywhere: the throwaway CA, the summary of a real report, the
message when the checker is missing. The checker itself is not installable in CI (not on npm; GitHub is out
of reach), so its run is documented in docs/reference/agid-checker.md rather than tested here."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from site_tools.devtools import agid_check, agid_report
from site_tools.devtools.throwaway_ca import NSS_NICKNAME, make_ca, serve, trust_in_nss

from .conftest import REPO, Town

FIXTURES = Path(__file__).parent / "fixtures" / "agid"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "privacy").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Avvisi</title><p>Benvenuti</p>", encoding="utf-8")
    (root / "privacy" / "index.html").write_text("<!doctype html><h1>Privacy</h1>", encoding="utf-8")
    return root


def test_a_client_trusting_the_throwaway_ca_reaches_the_site_over_https(tmp_path: Path, site: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    trusting = ssl.create_default_context(cafile=str(ca.ca_cert))
    with serve(site, ca.server_context()) as url:
        assert url.startswith("https://127.0.0.1:")
        for address in (url, url.replace("127.0.0.1", "localhost")):  # the leaf names both
            response = httpx.get(address + "privacy/", verify=trusting)
            assert response.status_code == 200
            assert "<h1>Privacy</h1>" in response.text


def test_without_the_ca_the_handshake_fails(tmp_path: Path, site: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    other = make_ca(tmp_path / "other")  # each run's CA is its own: another run's does not vouch for this leaf
    with serve(site, ca.server_context()) as url:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(url)  # the system's trust store
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(url, verify=ssl.create_default_context(cafile=str(other.ca_cert)))


def test_the_site_is_served_at_the_root_of_a_plain_http_origin(site: Path) -> None:
    with serve(site) as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        assert "Benvenuti" in httpx.get(url).text
        assert httpx.get(url + "missing/").status_code == 404


def test_the_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    assert ca.leaf_key.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(shutil.which("certutil") is None, reason="certutil missing: apt-get install libnss3-tools")
def test_chromiums_nss_database_trusts_the_ca_for_servers(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    nssdb = trust_in_nss(tmp_path / "home", ca.ca_cert)
    assert nssdb == tmp_path / "home" / ".pki" / "nssdb"
    listed = subprocess.run(["certutil", "-L", "-d", f"sql:{nssdb}"], check=True, capture_output=True, text=True).stdout
    line = next(line for line in listed.splitlines() if line.startswith(NSS_NICKNAME))
    assert line.split()[-1] == "C,,"  # trusted to issue server certificates


def test_the_summary_of_a_real_report() -> None:
    results = agid_report.load(FIXTURES / "http.json")
    by_code = {r.code: r for r in results}
    assert [r.code for r in results] == [a.code for a in agid_report.APPLICABLE]
    assert len(results) == 9
    assert "C.SI.5.1" not in by_code  # in the report, but not one of the 9
    assert [r.code for r in results if r.verdict == "pass"] == ["C.SI.2.4"]
    privacy = by_code["C.SI.3.3"]
    assert privacy.verdict == "fail"
    assert privacy.reason.startswith("Il link non è nel footer o non invia a una pagina esistente o sicura.")
    assert "Pagina sicura: No" in privacy.reason
    legal = by_code["C.SI.3.4"]
    assert "Il titolo della sezione è corretto: No; La dicitura è corretta: Sì" in legal.reason
    # the checker leaves no row for these: its verdict sentence, from the HTML, is the reason
    assert by_code["C.SI.2.3"].reason == "Il link non è nel footer o la pagina di destinazione è inesistente."
    assert by_code["C.SI.1.5"].reason.startswith("Meno del 50% degli argomenti")
    assert 'trovare l\'attributo [data-element="management"]' in by_code["C.SI.3.1"].reason
    assert all(len(r.reason) <= agid_report.REASON_LIMIT for r in results)
    # the checker's stand-in address for a page it could not find is left out; its error stays
    assert all(agid_report.PLACEHOLDER not in r.reason for r in results)
    assert "Errori: First level page not available" in by_code["C.SI.2.5"].reason


def test_without_the_html_the_reason_is_the_reports_rows(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "http.json", tmp_path / "http.json")
    by_code = {r.code: r for r in agid_report.load(tmp_path / "http.json")}
    assert by_code["C.SI.3.3"].reason.startswith("Testo del link: Privacy;")
    assert by_code["C.SI.2.3"].reason == "nothing found (no row in the report)"


def test_an_audit_missing_from_the_report_is_not_run() -> None:
    results = agid_report.summarize({"audits": {"x": {"code": "C.SI.2.4", "score": 1, "pagesItems": {}}}})
    assert [r.verdict for r in results].count("not run") == 8
    assert next(r for r in results if r.code == "C.SI.2.4").verdict == "pass"


def test_the_markdown_table() -> None:
    results = agid_report.load(FIXTURES / "http.json")
    text = agid_report.markdown({"HTTP": results, "HTTPS": results})
    lines = text.splitlines()
    assert lines[0] == "| audit | HTTP | HTTP: the checker's reason | HTTPS | HTTPS: the checker's reason |"
    rows = [line for line in lines[2:] if line.startswith("| C.SI.")]
    assert len(rows) == 9
    cells = rows[3].split(" | ")
    assert cells[0] == "| C.SI.2.4 report a problem" and cells[1] == "**pass**" and cells[3] == "**pass**"
    assert all(row.count(" | ") == 4 for row in rows)  # a | in a reason is escaped, not a new column
    assert text.rstrip().endswith("HTTP: 1 of 9 pass, HTTPS: 1 of 9 pass.")


@pytest.mark.parametrize("checker", [None, "not-built"])
def test_the_script_says_what_is_missing(tmp_path: Path, checker: str | None) -> None:
    env = {"PA_WEBSITE_VALIDATOR": None}  # unset, whatever the developer's shell has
    if checker:
        (tmp_path / checker).mkdir()
        env["PA_WEBSITE_VALIDATOR"] = str(tmp_path / checker)
    done = CliRunner().invoke(agid_check.main, ["--out", str(tmp_path / "out")], env=env)
    assert done.exit_code == 1
    assert "docs/reference/agid-checker.md" in done.output
    if checker:
        assert f"AGID's checker is missing at {tmp_path / checker}: no dist/index.js there" in done.output
    else:
        assert "PA_WEBSITE_VALIDATOR" in done.output
    assert not (tmp_path / "out").exists()  # nothing built or written before the check


def test_the_script_itself_stops_with_the_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PA_WEBSITE_VALIDATOR"}
    done = subprocess.run(
        [str(REPO / "scripts" / "agid-check"), "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "AGID's checker is not configured" in done.stderr


# --- the town's main site: a local stand-in the checker walks through -----------------------------------------


#: What the checker's crawl looks for on the town's main site before it audits anything (its
#: storage/municipality/menuItems.ts and gatherers/): section of the main site -> markers on it.
CRAWLED = {
    "amministrazione/": {"management-category-link"},
    "servizi/": {"service-category-link", "service-link", "appointment-booking"},
    "vivere-il-comune/": {"live-button-locations", "live-button-events"},
}


def test_the_standin_main_site_has_what_the_checkers_crawl_follows_on_another_host(tmp_path: Path) -> None:
    from lxml import html as lxml_html

    from site_tools.devtools.main_site_standin import NOTICE, write_standin

    ca = make_ca(tmp_path / "ca")
    trusting = ssl.create_default_context(cafile=str(ca.ca_cert))
    (tmp_path / "main").mkdir()
    with serve(tmp_path / "main", ca.server_context(), host="localhost") as origin:
        # Another host than the site's (127.0.0.1): the checker audits no page of it, it only follows its links.
        assert origin.startswith("https://localhost:")
        write_standin(tmp_path / "main", origin)
        for section, markers in {**CRAWLED, "domande-frequenti/": set()}.items():
            page = httpx.get(origin + section, verify=trusting)
            assert page.status_code == 200, section
            document = lxml_html.fromstring(page.text)
            assert NOTICE in document.text_content()  # says plainly what it is
            links = {a.get("data-element"): a.get("href") for a in document.xpath("//a[@data-element]")}
            assert set(links) == markers, section
            for href in links.values():
                # Absolute: the checker resolves the events button against the checked site's address.
                assert href.startswith(origin)
                assert httpx.get(href, verify=trusting).status_code == 200, href


def test_the_checked_site_points_its_main_site_at_the_standin(
    town: Town, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = town.root / "mkdocs.yml"
    into = tmp_path_factory.mktemp("variant") / "config"
    variant = agid_check.main_site_variant(config, into, "https://localhost:4443/")
    original = config.read_text(encoding="utf-8").splitlines()
    changed = [
        (a, b) for a, b in zip(original, variant.read_text(encoding="utf-8").splitlines(), strict=True) if a != b
    ]
    assert [b for _a, b in changed] == ["    website: https://localhost:4443/"]
    assert (variant.parent / "content").resolve() == town.root / "content"  # relative paths lead to the town's files

    from site_tools.content.config import load_config

    assert load_config(variant).identity.main_site("services_url") == "https://localhost:4443/servizi/"


def test_the_script_refuses_a_configuration_whose_main_site_it_cannot_replace(
    town: Town, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = town.root / "mkdocs.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "    website:", "    services_url: https://www.example.it/s/\n    website:"
        )
    )
    with pytest.raises(agid_check.Missing, match="services_url"):
        agid_check.main_site_variant(config, tmp_path_factory.mktemp("variant") / "config", "https://localhost:4443/")
