"""The final check of written pages (site/final_check.py): the same verdict in line and in a second process."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

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


@pytest.fixture(params=[False, True], ids=["in-line", "second-process"])
def beside(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr("site_tools.site.final_check.BESIDE_FROM", 0 if request.param else 10**9)
    return bool(request.param)


def test_every_failing_page_is_named_in_order_and_removed(tmp_path: Path, beside: bool) -> None:
    check = FinalCheck(pages=200)
    for n in range(200):
        page = tmp_path / f"p{n}.html"
        page.write_text("BAD" if n in (3, 150) else "ok", encoding="utf-8")
        check.submit(f"p{n}/", page, page.read_text(encoding="utf-8"), flag_bad)
    assert check.verdict() == [("p3/", ["onerror"]), ("p150/", ["onerror"])]
    assert not (tmp_path / "p3.html").exists() and not (tmp_path / "p150.html").exists()
    assert len(list(tmp_path.glob("*.html"))) == 198


def test_a_failure_of_the_check_fails_the_build(tmp_path: Path, beside: bool) -> None:
    check = FinalCheck(pages=10)
    with pytest.raises(RuntimeError, match="lexbor"):
        check.submit("p/", tmp_path / "p.html", "x", broken)
        check.verdict()
    check.close()


def test_the_checking_process_killed_fails_the_build_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("site_tools.site.final_check.BESIDE_FROM", 0)
    check = FinalCheck(pages=10)
    check.submit("p/", tmp_path / "p.html", "x", dies)
    with pytest.raises(PluginError, match="controllo finale delle pagine si è interrotto"):
        check.verdict()


def test_pages_waiting_for_the_process_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("site_tools.site.final_check.BESIDE_FROM", 0)
    check = FinalCheck(pages=10)
    most = 0
    for n in range(AHEAD * 3):
        check.submit(f"p{n}/", tmp_path / f"p{n}.html", "x", slow)
        most = max(most, len(check._waiting))
    assert most <= AHEAD  # the build waits for the oldest instead of queueing every page
    assert check.verdict() == []
