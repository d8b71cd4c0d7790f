"""The bulletin's one model: what is generated from it stays in step, and it refuses what validate refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from site_tools.content import yamlio
from site_tools.content.frontmatter import _HANDLER, parse_bulletin
from site_tools.content.model import BY_NAME, FIELDS, frontmatter_model
from site_tools.content.reference import SCHEMA_FILE, generated_files, schema_text
from site_tools.site.admin import config_yaml

from .conftest import FIXTURE_TOWN, REPO, Town, good


@pytest.mark.parametrize("rel", sorted(generated_files(), key=str))
def test_the_committed_reference_is_what_the_model_generates(rel: Path) -> None:
    committed = (REPO / rel).read_text(encoding="utf-8")
    assert committed == generated_files()[rel], (
        f"{rel} is out of date: run .venv/bin/python -m site_tools.content.reference"
    )


def test_the_fields_table_lists_every_field_and_sub_field_once() -> None:
    table = (REPO / "docs/reference/bulletin-fields.md").read_text(encoding="utf-8")
    names = [line.split("|")[1].strip().strip("`") for line in table.splitlines() if line.startswith("| `")]
    expected = [f.name for f in FIELDS]
    expected += [f"{f.name}.{sub.name}" for f in FIELDS for sub in f.fields]
    assert sorted(names) == sorted(expected)


def _editor_fields(config: Any) -> dict[str, dict[str, Any]]:
    collection = next(c for c in yaml.safe_load(config_yaml(config))["collections"] if c["name"] == "notizie")
    return {f["name"]: f for f in collection["fields"] if f["name"] != "body"}


def test_the_editors_form_is_the_model(town: Town) -> None:
    form = _editor_fields(town.config)
    assert list(form) == [f.name for f in FIELDS]
    for spec in FIELDS:
        field = form[spec.name]
        assert field["label"] == spec.label
        assert field["hint"] == spec.hint.replace("{zone}", "Europe/Rome")
        if spec.name != "id":  # hidden, filled in by the save hook
            assert field["required"] is spec.required, spec.name
        if spec.fields:
            assert [f["name"] for f in field["fields"]] == [f.name for f in spec.fields]
            assert [f["label"] for f in field["fields"]] == [f.label for f in spec.fields]
        if spec.kind.value.startswith("text_"):
            pattern = field["pattern"][0]
            assert pattern in (spec.pattern, spec.length_pattern()), spec.name


def _meta(path: Path) -> dict[str, Any]:
    fm_text, _ = _HANDLER.split(path.read_text(encoding="utf-8"))
    meta = yamlio.load(fm_text)
    assert isinstance(meta, dict)
    return meta


def test_the_model_accepts_every_bulletin_of_the_fixture_town() -> None:
    paths = sorted((FIXTURE_TOWN / "content" / "notizie").rglob("*.md"))
    assert len(paths) > 10
    model = frontmatter_model()
    for path in paths:
        model.model_validate(_meta(path))


@pytest.mark.parametrize(
    ("extra", "field", "suggestion"),
    [
        ("titolo: Un altro titolo", "titolo", "title"),
        ("event: {start: 2026-12-08 17:00, luogo: Piazza}", "event.luogo", "location"),
        ("event: {start: 2026-12-08 17:00, strat: 2026-12-08 18:00}", "event.strat", "start"),
        ("attachments: [{file: a.pdf, titolo: Ordinanza}]", "attachments.titolo", "title"),
    ],
)
def test_an_unknown_key_is_refused_at_every_level_with_a_suggestion(
    town: Town, extra: str, field: str, suggestion: str
) -> None:
    (town.root / "content" / "notizie" / "2026").mkdir(parents=True, exist_ok=True)
    (town.root / "content" / "notizie" / "2026" / "a.pdf").write_bytes(b"%PDF-1.4\n")
    path = town.write("2026-11-20-chiusura-via-roma.md", good() + extra)
    bulletin, problems = parse_bulletin(path, town.config)
    assert bulletin is None
    problem = next(p for p in problems if p.field == field)
    assert f"forse intendevi «{suggestion}»?" in problem.fix
    assert problem.line is not None and problem.line >= 6
    with pytest.raises(ValidationError) as info:
        frontmatter_model().model_validate(_meta(path))
    assert any(e["type"] == "extra_forbidden" for e in info.value.errors())


@pytest.mark.parametrize(
    "extra",
    ["priority: alta", "pin: 'yes'", "type: circolare", "severity: Terrible", "channels: [fax]", "draft: 1"],
)
def test_a_wrong_value_is_refused_by_validate_and_by_the_model(town: Town, extra: str) -> None:
    path = town.write("2026-11-20-chiusura-via-roma.md", good() + extra)
    bulletin, problems = parse_bulletin(path, town.config)
    assert bulletin is None and problems[0].field == extra.split(":")[0]
    with pytest.raises(ValidationError):
        frontmatter_model().model_validate(_meta(path))


@pytest.mark.parametrize(
    "extra",
    ["office: 118", "categories: viabilita", "channels: all", "pin: true", "attachments: documento.pdf", "id: 2026"],
)
def test_what_validate_accepts_the_model_accepts(town: Town, extra: str) -> None:
    (town.bulletins / "2026").mkdir(parents=True, exist_ok=True)
    (town.bulletins / "2026" / "documento.pdf").write_bytes(b"%PDF-1.4\n")
    meta = good() if not extra.startswith(("id:", "categories:")) else good().replace(extra.split(":")[0] + ":", "x:")
    lines = [line for line in meta.splitlines() if not line.startswith("x:")]
    path = town.write("2026-11-20-chiusura-via-roma.md", "\n".join([*lines, extra]))
    bulletin, problems = parse_bulletin(path, town.config)
    assert problems == [] and bulletin is not None
    frontmatter_model().model_validate(_meta(path))


def test_required_fields_are_the_same_for_validate_and_the_schema() -> None:
    schema = json.loads((REPO / SCHEMA_FILE).read_text(encoding="utf-8"))
    assert set(schema["required"]) == {f.name for f in FIELDS if f.required}
    assert "date" not in schema["required"]
    assert schema["additionalProperties"] is False
    assert all(d["additionalProperties"] is False for d in schema["$defs"].values())


def test_the_published_schema_names_the_towns_categories(town: Town) -> None:
    categories = town.config.category_slugs
    schema = json.loads(schema_text(tuple(categories)))
    text = json.dumps(schema["properties"]["categories"])
    assert all(f'"{slug}"' in text for slug in categories)
    assert BY_NAME["categories"].required


def test_the_site_publishes_the_schema_with_the_towns_categories(demo_town: Town) -> None:
    from site_tools.site.build import build_site

    town = demo_town
    site = build_site(town.root / "mkdocs.yml", town.root / "site", strict=True)
    published = json.loads((site / "schema" / "bulletin.json").read_text(encoding="utf-8"))
    assert published == json.loads(schema_text(tuple(town.config.category_slugs)))
    assert published["properties"]["id"]["title"] == BY_NAME["id"].label
