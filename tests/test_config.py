"""The town's configuration: loaded once, validated with every problem listed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from site_tools.content.config import load_config, normalize_keyword
from site_tools.content.problems import InvalidContent

from .conftest import FIXTURE_TOWN, Town


def test_demo_config_loads() -> None:
    config = load_config(FIXTURE_TOWN / "mkdocs.yml")
    assert config.name == "Comune di Valfiorita"
    assert config.site_url == "https://avvisi.valfiorita.example.it/"
    assert config.timezone == ZoneInfo("Europe/Rome")
    assert config.population == 38400
    assert config.category("viabilita").label == "Viabilità"
    assert "whatsapp_list" not in config.category("eventi").channels
    assert config.whatsapp.number == "393330000000"
    assert config.whatsapp.on_message == "VALFIORITA ON"
    assert config.whatsapp.signup_link == "https://wa.me/393330000000?text=VALFIORITA%20ON"
    assert config.telegram.link == "https://t.me/valfiorita_avvisi"
    assert config.channel_url.startswith("https://whatsapp.com/channel/")
    assert config.reports.toll_free == "800 000 000"
    assert config.enabled_channels() == ("whatsapp_list", "whatsapp_channel", "telegram")


def test_office_hours() -> None:
    hours = load_config(FIXTURE_TOWN / "mkdocs.yml").office_hours
    rome = ZoneInfo("Europe/Rome")
    assert hours.is_open(datetime(2026, 11, 24, 16, 0, tzinfo=rome))  # Tuesday afternoon
    assert not hours.is_open(datetime(2026, 11, 25, 16, 0, tzinfo=rome))  # Wednesday afternoon
    assert not hours.is_open(datetime(2026, 11, 29, 10, 0, tzinfo=rome))  # Sunday
    assert "martedì 09:00–13:00, 15:00–17:30" in hours.describe()


def test_keywords_ignore_case_accents_and_punctuation() -> None:
    assert normalize_keyword("  valfiorità   on! ") == "VALFIORITA ON"


def break_config(town: Town, old: str, new: str) -> list:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    return info.value.problems


@pytest.mark.parametrize(
    "old,new,field",
    [
        ('number: "+39 333 000 0000"', 'number: "12"', "extra.town.whatsapp.number"),
        (
            "https://whatsapp.com/channel/0029VaFintoCanaleValfiorita0",
            "https://example.com/x",
            "extra.town.whatsapp_channel",
        ),
        ('telegram: "@valfiorita_avvisi"', 'telegram: "valfiorita avvisi"', "extra.town.telegram"),
        ('martedì: "09:00-13:00, 15:00-17:30"', 'martedì: "13:00-09:00"', "extra.town.office_hours.martedì"),
        ("lunedì:", "lunedii:", "extra.town.office_hours.lunedii"),
        ("population: 38400", "population: tanti", "extra.town.population"),
        ("email: urp@comune.valfiorita.example.it", "email: urp", "extra.town.reports.email"),
        ("timezone: Europe/Rome", "timezone: Europe/Roma", "extra.town.timezone"),
        ("site_url: https://avvisi.valfiorita.example.it/", "site_url: avvisi", "site_url"),
        ("    short_name: Valfiorita", "    nome_breve: Valfiorita", "extra.town.nome_breve"),
    ],
)
def test_bad_config_is_reported_with_field_and_line(town: Town, old: str, new: str, field: str) -> None:
    problems = break_config(town, old, new)
    assert field in [p.field for p in problems]
    problem = next(p for p in problems if p.field == field)
    assert problem.file == "mkdocs.yml" or problem.file.endswith("mkdocs.yml")
    assert problem.fix


def test_every_config_problem_at_once(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('number: "+39 333 000 0000"', 'number: "x"').replace("population: 38400", "population: -1")
    text = text.replace("slug: meteo", "slug: Meteo!")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    fields = {p.field for p in info.value.problems}
    assert {"extra.town.whatsapp.number", "extra.town.population", "extra.town.categories[3]"} <= fields


def test_missing_town_block_and_broken_yaml(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    path.write_text("site_name: x\nsite_url: https://x.example/\n", encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    assert info.value.problems[0].field == "extra.town"
    path.write_text("site_name: [x\n", encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    assert "YAML" in info.value.problems[0].message


def test_mkdocs_tags_do_not_break_loading(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    text += (
        "\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
        "copyright: !ENV [COPYRIGHT, 'Comune']\n"
    )
    text = text.replace("markdown_extensions:\n", "markdown_extensions:\n")
    path.write_text(text, encoding="utf-8")
    assert load_config(path).name == "Comune di Valfiorita"
