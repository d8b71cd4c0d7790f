"""The local editor (``site-tools serve``) refuses to save what ``site-tools validate`` refuses, with its message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from site_tools.site.local_editor import SAVE_REFUSED, local_backend

from .conftest import Town, good

NEW = "content/notizie/2026/2026-11-20-chiusura-via-roma.md"


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Town]]:
    root = tmp_path_factory.mktemp("save-check")
    town = Town(root, with_demo=True)
    with local_backend(town.config) as api:
        yield api, town


def save(api: str, path: str, raw: str, assets: list[dict[str, str]] | None = None) -> httpx.Response:
    entry = {"slug": Path(path).stem, "path": path, "raw": raw}
    options = {"collectionName": "notizie", "commitMessage": "Nuovo avviso", "useWorkflow": False, "status": "draft"}
    params = {"branch": "main", "entry": entry, "assets": assets or [], "options": options}
    payload = {"action": "persistEntry", "params": params}
    return httpx.post(api, json=payload, headers={"Origin": "http://127.0.0.1:8000"}, timeout=60)


def bulletin(body: str, **extra: str) -> str:
    return f"---\n{good(**extra).strip()}\n---\n\n{body}\n"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("Testo. <script>alert(1)</script>", "il tag «<script>»"),
        ('Testo. <img src="x.png" onerror="alert(1)">', "«onerror»"),
        ("Testo con [un link](javascript:alert(1)).", "esegue codice"),
    ],
)
def test_a_bulletin_validate_refuses_is_not_saved_and_the_editor_says_why(
    editor: tuple[str, Town], body: str, said: str
) -> None:
    api, town = editor
    answer = save(api, NEW, bulletin(body))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error.startswith(SAVE_REFUSED) and said in error and "Come correggere:" in error
    assert not (town.root / NEW).exists()
    assert answer.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"  # the browser may read it


def test_a_wrong_field_is_refused_with_validates_suggestion(editor: tuple[str, Town]) -> None:
    api, town = editor
    answer = save(api, NEW, bulletin("Testo dell'avviso.", titolo="Un altro titolo"))
    assert answer.status_code == 422
    assert "campo sconosciuto «titolo»" in answer.json()["error"]
    assert "forse intendevi «title»?" in answer.json()["error"]


def test_an_edit_that_validate_refuses_leaves_the_file_as_it_was(editor: tuple[str, Town]) -> None:
    api, town = editor
    existing = next(p for p in sorted((town.root / "content/notizie").rglob("*.md")))
    before = existing.read_bytes()
    text = before.decode("utf-8") + '\n<button onclick="alert(1)">Premi</button>\n'
    answer = save(api, existing.relative_to(town.root).as_posix(), text)
    assert answer.status_code == 422
    assert existing.read_bytes() == before


def test_a_page_of_the_site_is_checked_too(editor: tuple[str, Town]) -> None:
    api, town = editor
    page = town.root / "content/privacy.md"
    before = page.read_bytes()
    answer = save(
        api, "content/privacy.md", before.decode("utf-8") + '\n<iframe src="https://example.org/"></iframe>\n'
    )
    assert answer.status_code == 422 and "«<iframe>»" in answer.json()["error"]
    assert page.read_bytes() == before


def test_a_good_bulletin_and_its_image_are_saved(editor: tuple[str, Town]) -> None:
    api, town = editor
    image = {"path": "content/notizie/2026/via-roma.png", "content": "iVBORw0KGgo=", "encoding": "base64"}
    answer = save(api, NEW, bulletin("Testo dell'avviso.\n\n![La via](via-roma.png)"), [image])
    assert answer.status_code == 200, answer.text
    assert (town.root / NEW).read_text(encoding="utf-8").startswith("---\nid: 2026-11-20-chiusura-via-roma")
    assert (town.root / "content/notizie/2026/via-roma.png").is_file()
    assert httpx.post(api, json={"action": "info"}).json()["type"] == "local_fs"  # everything else passes through
