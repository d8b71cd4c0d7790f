"""The documentation: a short README, and a docs site that builds strictly with no broken link.

The README is the front door (what it is, the two commands, the picture, links); everything else is in
``docs/``, built by the same engine as the town's site from ``docs.yml``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from site_tools.devtools.linkcheck import check_site

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README = REPO / "README.md"
README_MAX_LINES = 200

FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
SNIPPET = re.compile(r"^-{1,3}8<-{1,3}\s+\"([^\"]+)\"", re.MULTILINE)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def relative_links(text: str) -> list[str]:
    """Link and image targets of a Markdown text that point at files, outside code blocks and code spans."""
    prose = CODE_SPAN.sub("", FENCE.sub("", text))
    targets = INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def missing_targets(file: Path) -> list[str]:
    """Each relative link of ``file`` whose file does not exist, or that leaves the repository."""
    text = file.read_text(encoding="utf-8")
    problems = []
    for target in relative_links(text):
        path = target.split("#", 1)[0].split("?", 1)[0]
        resolved = (file.parent / path).resolve()
        if not resolved.is_relative_to(REPO):
            problems.append(f"{file.relative_to(REPO)}: {target} (outside the repository)")
        elif not resolved.exists():
            problems.append(f"{file.relative_to(REPO)}: {target} (no such file)")
    for snippet in SNIPPET.findall(text):  # pymdownx.snippets paths are from the repository's root
        if not (REPO / snippet).is_file():
            problems.append(f"{file.relative_to(REPO)}: --8<-- {snippet} (no such file)")
    return problems


def test_the_readme_is_at_most_200_lines_and_keeps_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    assert "```sh\n./scripts/demo\n./scripts/test\n```" in text
    assert "](docs/img/" in text, "the README shows the picture"


def test_every_relative_link_of_the_readme_and_the_docs_names_a_file_that_exists() -> None:
    files = markdown_files()
    assert len(files) > 20, "the docs pages were found"
    problems = [problem for file in files for problem in missing_targets(file)]
    assert problems == []


def test_the_link_finder_sees_links_and_images_but_not_code(tmp_path: Path) -> None:
    """The check above would pass on anything if the finder found nothing: it must see what a reader clicks."""
    page = tmp_path / "page.md"
    page.write_text(
        "See [setup](comune/index.md#cosa-preparare) and ![a picture](img/x.png).\n"
        "[ref]: ../README.md\n"
        "Code is not a link: `[x](nowhere.md)`.\n"
        "```markdown\n[y](also-nowhere.md)\n```\n"
        "[site](https://example.org/) [mail](mailto:a@example.org) [top](#top)\n",
        encoding="utf-8",
    )
    found = relative_links(page.read_text(encoding="utf-8"))
    assert found == ["comune/index.md#cosa-preparare", "img/x.png", "../README.md"]


#: First folders of the repository's paths as the docs write them (``store/budget.py`` means ``site_tools/store/…``).
SOURCE_ROOTS = {"site_tools", "tests", "bench", "scripts", "content", "docs", ".github", ".ci"} | {
    p.name for p in (REPO / "site_tools").iterdir() if p.is_dir() and not p.name.startswith("_")
}
SOURCE_PATH = re.compile(r"`([\w.-]+(?:/[\w.-]+)+/?)`")


def test_every_source_path_the_docs_name_exists() -> None:
    """A page that names ``channels/whatsapp_cloud.py`` when the file is ``cloud_api.py`` sends a newcomer nowhere."""
    named = [
        (file, path)
        for file in markdown_files()
        for path in SOURCE_PATH.findall(file.read_text(encoding="utf-8"))
        if path.split("/")[0] in SOURCE_ROOTS
    ]
    assert len(named) > 30, "the docs name source files"
    missing = [
        f"{file.relative_to(REPO)}: {path}"
        for file, path in named
        if not any((base / path).exists() for base in (REPO, REPO / "site_tools"))
    ]
    assert missing == []


def test_the_readme_and_the_docs_never_point_outside_the_repository() -> None:
    outside = ("shared" + "/spec", "../" + "shared")  # spelt in two pieces so that this file does not match itself
    for file in markdown_files():
        text = file.read_text(encoding="utf-8")
        assert not any(place in text for place in outside), file.relative_to(REPO)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_docs_site_builds_strictly_and_every_internal_link_resolves(tmp_path: Path) -> None:
    site = tmp_path / "docs-site"
    build = subprocess.run(
        [sys.executable, "-m", "properdocs", "build", "-f", "docs.yml", "--strict", "-d", str(site)],
        cwd=REPO,  # the snippets' paths are from the repository's root
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    # Every page of docs/ was built: none left out of the navigation or skipped.
    pages = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")}
    for page in pages:
        built = site / (page.removesuffix("index") if page.endswith("index") else page + "/") / "index.html"
        assert built.is_file(), page
    report = check_site(site, "https://docs.invalid/")
    assert report.broken == [], "\n".join(map(str, report.broken))
    assert report.pages >= len(pages)
    # The editors' guide carries the bulletin field table, included from the generated reference.
    guide = (site / "redazione" / "guida" / "index.html").read_text(encoding="utf-8")
    assert "<code>summary</code>" in guide and "<table>" in guide
