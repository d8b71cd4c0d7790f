"""The final check of written pages (site/final_check.py): the same verdict in line and in a second process,
and no page that failed, or was not checked, left in the output whichever way the build ends."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Container
from pathlib import Path

import pytest
from properdocs.exceptions import PluginError  # what mkdocs.exceptions is, once site_tools.site aliases it

from site_tools.site.final_check import AHEAD, FinalCheck

# The checks cross to the second process by name: module-level functions of an importable module.


def flag_bad(page: str) -> list[str]:
    return ["onerror"] if "BAD" in page else []


def slow(page: str) -> list[str]:
    time.sleep(0.01)
    return []


def broken(page: str) -> list[str]:
    raise RuntimeError("lexbor could not parse")


def dies(page: str) -> list[str]:
    os._exit(3)


def beside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("site_tools.site.final_check.BESIDE_FROM", 0)


def pages(folder: Path, n: int, bad: Container[int] = ()) -> list[tuple[str, Path, str]]:
    made = []
    for i in range(n):
        path = folder / f"p{i}.html"
        path.write_text("BAD" if i in bad else "ok", encoding="utf-8")
        made.append((f"p{i}/", path, path.read_text(encoding="utf-8")))
    return made


def test_in_line_a_failing_page_is_refused_before_it_is_written(tmp_path: Path) -> None:
    check = FinalCheck(pages=10)
    check.submit("ok/", tmp_path / "ok.html", "ok", flag_bad)
    with pytest.raises(PluginError, match="«bad/» conterrebbe codice eseguibile \\(onerror\\)"):
        check.submit("bad/", tmp_path / "bad.html", "BAD", flag_bad)


def test_beside_every_failing_page_is_named_in_order_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beside(monkeypatch)
    check = FinalCheck(pages=200)
    for name, path, html in pages(tmp_path, 200, bad={3, 150}):
        check.submit(name, path, html, flag_bad)
    with pytest.raises(PluginError) as refused:
        check.verdict()
    assert "«p3/»" in str(refused.value) and "«p150/»" in str(refused.value)
    assert str(refused.value).index("«p3/»") < str(refused.value).index("«p150/»")
    assert not (tmp_path / "p3.html").exists() and not (tmp_path / "p150.html").exists()
    assert len(list(tmp_path.glob("*.html"))) == 198


def test_beside_a_clean_site_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    beside(monkeypatch)
    check = FinalCheck(pages=50)
    for name, path, html in pages(tmp_path, 50):
        check.submit(name, path, html, flag_bad)
    check.verdict()
    assert len(list(tmp_path.glob("*.html"))) == 50


def test_a_build_failing_elsewhere_removes_failed_and_unchecked_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beside(monkeypatch)
    check = FinalCheck(pages=10)
    made = pages(tmp_path, 40, bad={0})
    for name, path, html in made[:-1]:
        check.submit(name, path, html, flag_bad)
    check.submit(*made[-1], slow)  # still being checked when the build fails
    unchecked = {path.name for _, path, _ in check._waiting}
    assert "p39.html" in unchecked
    check.abandon()  # on_build_error
    left = {p.name for p in tmp_path.glob("*.html")}
    # The failed page and every page not checked yet are gone; the pages checked clean stay.
    assert left == {path.name for _, path, _ in made} - {"p0.html"} - unchecked


def test_a_failure_of_the_check_fails_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    beside(monkeypatch)
    check = FinalCheck(pages=10)
    with pytest.raises(RuntimeError, match="lexbor"):
        check.submit("p/", tmp_path / "p.html", "x", broken)
        check.verdict()
    check.abandon()


@pytest.mark.parametrize("when", ["at the verdict", "at the next page"])
def test_the_checking_process_killed_fails_the_build_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    beside(monkeypatch)
    check = FinalCheck(pages=10)
    (tmp_path / "p.html").write_text("ok", encoding="utf-8")
    check.submit("p/", tmp_path / "p.html", "x", dies)
    with pytest.raises(PluginError, match="controllo finale delle pagine si è interrotto"):
        if when == "at the verdict":
            check.verdict()
        else:
            time.sleep(1)  # the process is gone
            for n in range(AHEAD + 2):
                check.submit(f"q{n}/", tmp_path / f"q{n}.html", "x", flag_bad)
    check.abandon()
    assert not (tmp_path / "p.html").exists()  # never checked: removed


@pytest.mark.slow  # waits on a stalled checking process
def test_pages_waiting_for_the_process_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    beside(monkeypatch)
    check = FinalCheck(pages=10)
    most = 0
    for n in range(AHEAD * 3):
        check.submit(f"p{n}/", tmp_path / f"p{n}.html", "x", slow)
        most = max(most, len(check._waiting))
    assert most <= AHEAD  # the build waits for the oldest instead of queueing every page
    check.verdict()


# --- The whole build: the web editor's own page, and a build stopped half way ------------------------------


def _build(root: Path) -> Path:
    from site_tools.site.build import build_site

    return build_site(root / "mkdocs.yml", root / "site")


@pytest.mark.slow  # a site build for each of six cases
@pytest.mark.parametrize("way", ["in-line", "second-process"])
@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (lambda html: html.replace("<noscript>", '<img src="x.png" onerror="alert(1)"><noscript>'), "onerror"),
        (lambda html: html.replace("https://api.github.com", "https://cdn.example.com"), "other than its own"),
        (lambda html: html.replace('<script src="markdown-it.min.js">', "<script>alert(1)</script><script>"), "inline"),
    ],
    ids=["handler", "policy", "inline-script"],
)
def test_the_web_editors_page_is_checked_under_its_own_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str, tamper: Callable[[str], str], said: str
) -> None:
    """``admin/index.html`` is copied as it is, never rendered as a page: it escaped the final check. It is
    checked once written, against the editor's own policy, and removed with the verdict like any page."""
    from site_tools.content.problems import InvalidContent
    from site_tools.site import admin

    from .conftest import Town

    Town(tmp_path, with_demo=False)
    real = admin.index_html
    monkeypatch.setattr(admin, "index_html", lambda *args, **kwargs: tamper(real(*args, **kwargs)))
    if way == "second-process":
        beside(monkeypatch)
    with pytest.raises(InvalidContent, match="admin/index.html") as refused:
        _build(tmp_path)
    assert said in str(refused.value)
    assert not (tmp_path / "site" / "admin" / "index.html").exists()
    assert (tmp_path / "site" / "index.html").exists()  # the rest of the site, as for a page that failed


def test_the_web_editors_page_as_made_passes(tmp_path: Path) -> None:
    from .conftest import Town

    Town(tmp_path, with_demo=False)
    site = _build(tmp_path)
    assert site == tmp_path / "site"
    assert "Content-Security-Policy" in (site / "admin" / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == []


@pytest.mark.e2e  # a real build process, stopped by a signal
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_build_stopped_half_way_leaves_the_previous_site_whole(tmp_path: Path, how: str) -> None:
    """Pages are written while they are checked: a build stopped half way left pages in site/ that were
    written but not checked. The build writes beside site/ and takes its place only once checked; stopped,
    site/ is the previous build, whole (here marked by a file only it has), and the half-built folder is
    removed at once (SIGINT, SIGTERM) or by the next build (SIGKILL)."""
    import signal
    import subprocess

    from .conftest import REPO, Town

    town = Town(tmp_path, with_demo=True)
    _build(tmp_path)
    (tmp_path / "site" / "previous.txt").write_text("the previous build", encoding="utf-8")
    build = subprocess.Popen(
        [str(REPO / ".venv/bin/site-tools"), "--config", str(town.root / "mkdocs.yml"), "build"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a suite in the background ignores it
    )
    try:
        half = tmp_path / f".site.building-{build.pid}"
        deadline = time.monotonic() + 60
        while not (half / "notizie").exists() and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert build.poll() is None, "the build ended before it could be stopped"
        build.send_signal(getattr(signal, how))
        build.wait(60)
    finally:
        build.kill()
    assert (tmp_path / "site" / "previous.txt").exists() and (tmp_path / "site" / "index.html").exists()
    assert half.exists() == (how == "SIGKILL")
    _build(tmp_path)
    assert not half.exists() and not (tmp_path / "site" / "previous.txt").exists()
