"""The town's configuration: loaded once, validated with every problem listed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from site_tools.content.config import load_config, normalize_keyword
from site_tools.content.problems import InvalidContent

from .conftest import FIXTURE_TOWN, REPO, Town


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


# --- the model: unknown keys at every level, strict types, generated reference -------------------


def line_of(town: Town, text: str) -> int:
    lines = (town.root / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize(
    "old,new,field,key,suggested",
    [
        ('      off: "OFF"', '      of: "OFF"', "extra.town.whatsapp.of", "of", "off"),
        ("      email: urp@", "      emial: urp@", "extra.town.reports.emial", "emial", "email"),
        ("      branch: main", "      brnach: main", "extra.town.editor.brnach", "brnach", "branch"),
        (
            "      answers_dir: risposte",
            "      answer_dir: risposte",
            "extra.town.counter.answer_dir",
            "answer_dir",
            "answers_dir",
        ),
        ("{slug: meteo, label: Meteo,", "{slug: meteo, lable: Meteo,", "extra.town.categories[3]", "lable", "label"),
        ("    pec: protocollo@", "    pecc: protocollo@", "extra.town.pecc", "pecc", "pec"),
        ("    population: 38400", "    populaton: 38400", "extra.town.populaton", "populaton", "population"),
    ],
)
def test_a_misspelt_key_at_any_level_is_named_with_its_line_and_the_right_key(
    town: Town, old: str, new: str, field: str, key: str, suggested: str
) -> None:
    problems = break_config(town, old, new)
    (problem,) = [p for p in problems if p.field == field and "sconosciuto" in p.message]
    assert problem.message == f"campo sconosciuto «{key}»."
    assert problem.line == line_of(town, new.strip())
    assert problem.fix == f"forse intendevi «{suggested}»? Rinomina il campo."
    assert f"mkdocs.yml:{problem.line}: [{field}] campo sconosciuto «{key}»." in problem.format()


def test_a_misspelt_day_and_an_impossible_span_point_at_their_lines(town: Town) -> None:
    problems = break_config(
        town, '      giovedì: "09:00-13:00, 15:00-17:30"', '      giovedi: "09:00-13:00, 17:30-15:00"'
    )
    (problem,) = problems
    assert problem.field == "extra.town.office_hours.giovedi"  # the day is understood without its accent
    assert problem.message == "orario «17:30-15:00» impossibile." and problem.line == line_of(town, "giovedi:")


def test_a_missing_key_points_at_its_block_and_says_what_to_write(town: Town) -> None:
    (problem,) = break_config(town, "      keyword: VALFIORITA\n", "")
    assert problem.field == "extra.town.whatsapp.keyword" and problem.line == line_of(town, "whatsapp:")
    assert problem.message.startswith("manca «keyword» (la parola chiave che i cittadini scrivono")
    assert problem.fix == "aggiungi il campo: scrivi per esempio «keyword: VALFIORITA»."


def test_values_are_not_coerced(town: Town) -> None:
    (problem,) = break_config(town, "population: 38400", 'population: "38.400"')
    assert problem.field == "extra.town.population" and problem.line == line_of(town, "population:")
    assert problem.message == "«population» deve essere un numero intero, senza virgolette né punti: «38.400» non lo è."
    assert problem.fix == "scrivi per esempio «population: 38400»."


def test_a_number_out_of_range_says_the_bound(town: Town) -> None:
    (problem,) = break_config(town, "    retention_days: 30", "    retention_days: 0")
    assert problem.field == "extra.town.retention_days"
    assert problem.message == "«retention_days» deve essere almeno 1: «0» non va bene."


def test_a_wrong_channel_in_a_category_gets_a_suggestion(town: Town) -> None:
    (problem,) = break_config(
        town,
        "{slug: eventi, label: Eventi, template: avviso_comunale,\n         channels: [whatsapp_channel, telegram]}",
        "{slug: eventi, label: Eventi, template: avviso_comunale,\n         channels: [whatsapp_channel, telgram]}",
    )
    assert problem.field == "extra.town.categories[7]" and "«telgram»" in problem.message
    assert problem.fix.startswith("forse intendevi «telegram»?")


def test_an_unquoted_tax_code_is_refused_for_the_site_only(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    path.write_text(path.read_text(encoding="utf-8").replace('tax_code: "12345670017"', "tax_code: 12345670017"))
    config = load_config(path)  # the publisher still loads it
    (problem,) = config.site_problems
    assert problem.field == "extra.town.tax_code" and "tra virgolette" in problem.fix


def test_the_words_to_join_and_leave_are_read_although_yaml_takes_on_and_off_for_booleans(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8").replace('on: "ON"', 'on: "SÌ"').replace('off: "OFF"', "off: basta")
    path.write_text(text, encoding="utf-8")
    whatsapp = load_config(path).whatsapp
    assert (whatsapp.on_message, whatsapp.off_message) == ("VALFIORITA SI", "VALFIORITA BASTA")


def test_what_is_left_out_takes_its_default(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    text = text[: text.index("    categories:")] + "\nnav:" + text.split("\nnav:", 1)[1]  # no categories
    block = "    counter:\n      answers_dir: risposte\n      retention_days: 90\n      template: sportello_risposta\n"
    path.write_text(text.replace(block, "    counter: true\n"), encoding="utf-8")
    config = load_config(path)
    assert config.category_slugs[:3] == ("emergenza", "protezione-civile", "meteo") and len(config.categories) == 10
    assert "whatsapp_list" not in config.category("eventi").channels
    assert (config.counter.answers_dir, config.counter.retention_days) == ("risposte", 90)


def _blocks() -> list[type]:
    from site_tools.content.town import town_model
    from site_tools.content.town_problems import _models

    found, pending = [], [town_model()]
    while pending:
        model = pending.pop()
        if model not in found:
            found.append(model)
            pending += [m for info in model.model_fields.values() for m in _models(info.annotation)]
    return found


def test_every_setting_is_described_in_italian_with_an_example() -> None:
    from site_tools.content.town_problems import _models

    blocks = _blocks()
    assert {b.__name__ for b in blocks} >= {
        "Town",
        "Category",
        "WhatsAppList",
        "Telegram",
        "Counter",
        "Reports",
        "Editor",
    }
    for block in blocks:
        assert block.__doc__ and len(block.__doc__) > 40, block
        for name, info in block.model_fields.items():
            assert info.description and len(info.description) > 20, f"{block.__name__}.{name}"
            assert info.examples or any(_models(info.annotation)), f"{block.__name__}.{name} has no example"


def test_the_reference_page_lists_every_setting_of_every_block() -> None:
    from site_tools.devtools.generated_config import configuration_markdown

    page = configuration_markdown()
    for block in _blocks():
        for name, info in block.model_fields.items():
            key = info.alias or name
            assert f"| `{key}` |" in page, key
            assert " ".join((info.description or "").split()) in page, key


@pytest.mark.parametrize("name", ["configuration.md", "town.schema.json"])
def test_the_committed_reference_is_the_one_the_model_generates(name: str) -> None:
    from site_tools.devtools.generated_config import REFERENCE, configuration_markdown, schema_text

    committed = (REPO / REFERENCE / name).read_text(encoding="utf-8")
    generated = configuration_markdown() if name.endswith(".md") else schema_text()
    assert committed == generated, "run: python -m site_tools.devtools.generated_config"


def test_the_schema_refuses_unknown_keys_at_every_level() -> None:
    import json

    schema = json.loads((REPO / "docs/reference/town.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert all(block["additionalProperties"] is False for block in schema["$defs"].values())
    assert {"name", "population"} <= set(schema["required"]) and "pec" in schema["required"]


def test_a_key_that_is_a_number_is_named_as_a_key(town: Town) -> None:
    (problem,) = break_config(town, "    population: 38400\n", "    population: 38400\n    2026: si\n")
    assert problem.field == "extra.town.2026" and problem.message == "campo sconosciuto «2026»."
