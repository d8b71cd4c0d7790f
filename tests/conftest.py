"""Shared fixtures: a throw-away copy of the tests' own fixture town (tests/fixtures/town/) to break at will.

The tests never read the demo's content/ or mkdocs.yml at the repository root: a town that replaced the demo
with its own bulletins keeps a green suite. A test that does fails (see ``DemoReads``), unless it is about the
demo itself and says so by asking for the ``the_demo`` fixture."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from site_tools.content.config import TownConfig, load_config

REPO = Path(__file__).resolve().parents[1]
FIXTURE_TOWN = REPO / "tests" / "fixtures" / "town"  # a frozen town of the tests' own, not the demo


class Town:
    def __init__(self, root: Path, with_demo: bool):
        self.root = root
        shutil.copy(FIXTURE_TOWN / "mkdocs.yml", root / "mkdocs.yml")
        if with_demo:
            shutil.copytree(FIXTURE_TOWN / "content", root / "content")
        else:
            (root / "content" / "notizie").mkdir(parents=True)
            (root / "content" / "index.md").write_text("# Home\n", encoding="utf-8")
            # What mkdocs.yml names for the site (coat of arms, privacy and accessibility pages): it still builds.
            shutil.copytree(FIXTURE_TOWN / "content" / "img", root / "content" / "img")
            for page in ("privacy.md", "accessibilita.md"):
                shutil.copy(FIXTURE_TOWN / "content" / page, root / "content" / page)

    @property
    def config(self) -> TownConfig:
        return load_config(self.root / "mkdocs.yml")

    @property
    def bulletins(self) -> Path:
        return self.root / "content" / "notizie"

    def write(self, name: str, frontmatter: str, body: str = "Testo dell'avviso.\n", folder: str = "2026") -> Path:
        path = self.bulletins / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{textwrap.dedent(frontmatter).strip()}\n---\n\n{body}", encoding="utf-8")
        return path


GOOD = """
id: {id}
title: Chiusura di via Roma per lavori
date: 2026-11-20 08:30
categories: [viabilita]
summary: Dal 21 al 23 novembre via Roma è chiusa per lavori alla rete idrica.
"""


def good(id: str = "2026-11-20-chiusura-via-roma", **extra: str) -> str:
    text = GOOD.format(id=id)
    for key, value in extra.items():
        text += f"{key}: {value}\n"
    return text


@pytest.fixture
def town(tmp_path: Path) -> Town:
    return Town(tmp_path, with_demo=False)


@pytest.fixture
def demo_town(tmp_path: Path) -> Town:
    return Town(tmp_path, with_demo=True)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For end-to-end tests whose SQL is already proven on both stores by test_store.py and the unit tests."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (skipped, with the reason, when no server answers)."""
    from .services import pg_schema_url

    with pg_schema_url() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """The same test on a SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        from .services import pg_schema_url

        with pg_schema_url() as url:
            yield url


# -- the demo is the town's to replace ------------------------------------------------------------------------------
DEMO_FILES = (REPO / "content", REPO / "mkdocs.yml")  # the demo town: a real town replaces both


class DemoReads:
    """Every path of the demo town (``DEMO_FILES``) opened or listed by this process while watching: an audit hook,
    so it sees the tests, the code they call and the threads they start, whatever the path's spelling."""

    EVENTS = frozenset({"open", "os.listdir", "os.scandir"})

    def __init__(self) -> None:
        self.seen: list[str] | None = None
        self.roots = tuple(str(path) for path in DEMO_FILES)

    def __call__(self, event: str, args: Sequence[Any]) -> None:
        if self.seen is None or event not in self.EVENTS or not args or isinstance(args[0], int):
            return
        try:
            path = os.path.abspath(os.fsdecode(args[0] if args[0] is not None else "."))
        except TypeError:
            return
        if any(path == root or path.startswith(root + os.sep) for root in self.roots):
            self.seen.append(path)

    @contextlib.contextmanager
    def watching(self) -> Iterator[list[str]]:
        outer, self.seen = self.seen, []
        try:
            yield self.seen
        finally:
            self.seen = outer


DEMO_READS = DemoReads()
sys.addaudithook(DEMO_READS)


@pytest.fixture
def the_demo() -> Path:
    """The repository's own demo town (content/ and mkdocs.yml), for the few tests about the demo itself."""
    return REPO


@pytest.fixture(autouse=True)
def _only_the_tests_own_town(request: pytest.FixtureRequest) -> Iterator[None]:
    if "the_demo" in request.fixturenames:
        yield
        return
    with DEMO_READS.watching() as seen:
        yield
    assert not seen, (
        f"this test read the demo town ({sorted(set(seen))[:3]}): a town that replaces the demo would fail it; "
        "use the town or demo_town fixture (tests/fixtures/town), or ask for the_demo if the test is about the demo"
    )


# -- staff passwords -----------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest cost in this process: at the service's cost each hash and each check takes a quarter of
    a second of CPU, and the staff inbox's tests make hundreds. The same algorithm and code; the service's own cost
    is checked by test_counter_inbox_under_attack.py and used by every test that starts the service as a process."""
    auth = sys.modules.get("site_tools.service.counter.auth")
    if auth is None:  # not imported by this test's module: nothing to make cheaper
        return
    monkeypatch.setattr(auth, "HASHER", _CHEAP_HASHER)
    monkeypatch.setattr(auth, "_DUMMY", _CHEAP_HASHER.hash("not-a-password"))


def _cheap_hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


_CHEAP_HASHER = _cheap_hasher()


# -- tiers ---------------------------------------------------------------------------------------------------------
# Plain `pytest` runs the fast tier; pyproject.toml deselects these markers, and ./scripts/test runs everything.
# browser and postgres follow from the fixtures a test uses, slow from a property test (below); the other slow and
# e2e tests say so themselves.

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; scripts/test installs it
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by what it uses, and run the modules with browser tests last.

    Last, because Playwright's synchronous API keeps its event loop registered on the main thread while Chromium
    is open, and the one Chromium of the run stays open until the end: an asyncio test after it would fail."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if "browser" in uses:
            item.add_marker(pytest.mark.browser)
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)  # a property test: hundreds of generated examples
        if "pg_url" in uses or (callspec is not None and callspec.params.get("store_url") == "postgresql"):
            item.add_marker(pytest.mark.postgres)
    with_browser = {item.module for item in items if item.get_closest_marker("browser")}  # type: ignore[attr-defined]
    items.sort(key=lambda item: getattr(item, "module", None) in with_browser)  # stable: order kept otherwise


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The run's one Chromium; each test opens a context of its own (see ``page``)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: scripts/test installs it (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in a context of its own: a desktop window, Italian locale."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="it-IT")
    yield context.new_page()
    context.close()
