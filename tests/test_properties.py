"""Whatever an editor (or a cat on the keyboard) writes: a bulletin or a clean list of problems."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import load_config
from site_tools.content.frontmatter import KEYS, parse_bulletin

from .conftest import FIXTURE_TOWN

CONFIG = load_config(FIXTURE_TOWN / "mkdocs.yml")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=300),
    st.sampled_from(
        [
            "2026-11-20",
            "2026-02-31",
            "31/12/2026 23:59",
            "2026-11-20T08:00:00+01:00",
            "viabilita",
            "urgent",
            "normal",
            "meteo",
            "avviso",
            "2026-11-20-x",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)
keys = st.one_of(st.sampled_from(sorted(KEYS) + ["categoria", "titolo", "event"]), st.text(max_size=12))
frontmatters = st.dictionaries(keys, values, max_size=12)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_clean(bulletin: Bulletin | None, problems: list) -> None:
    assert (bulletin is None) != (problems == [])
    for problem in problems:
        assert problem.file and problem.message and problem.fix
        problem.format()


@SETTINGS
@given(meta=frontmatters, body=st.text(max_size=400))
def test_random_frontmatter(tmp_path_factory, meta: dict, body: str) -> None:
    folder = tmp_path_factory.mktemp("b")
    path = folder / "2026-11-20-prova.md"
    try:
        head = yaml.safe_dump(meta, allow_unicode=True)
    except yaml.YAMLError:
        return
    path.write_text(f"---\n{head}---\n{body}", encoding="utf-8")
    assert_clean(*parse_bulletin(path, CONFIG, root=folder))


@SETTINGS
@given(data=st.binary(max_size=600))
def test_random_bytes(tmp_path_factory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("b")
    path = folder / "2026-11-20-prova.md"
    path.write_bytes(data)
    assert_clean(*parse_bulletin(path, CONFIG, root=folder))


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_after_a_valid_header(tmp_path_factory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("b")
    path = folder / "2026-11-20-prova.md"
    head = (
        b"---\nid: prova\ntitle: Titolo di prova\ndate: 2026-11-20\ncategories: [meteo]\n"
        b"summary: Una sintesi abbastanza lunga per il controllo.\n"
    )
    path.write_bytes(head + data + b"\n---\ntesto\n")
    assert_clean(*parse_bulletin(path, CONFIG, root=folder))
