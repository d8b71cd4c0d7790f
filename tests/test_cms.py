"""The web editor (Decap CMS at /admin/): its form agrees with validate, its previews with the renderers."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from site_tools.content import limits, yamlio
from site_tools.content.bulletin import TYPES, Priority
from site_tools.content.config import CHANNELS, load_config
from site_tools.content.dates import parse_datetime
from site_tools.content.frontmatter import _HANDLER, parse_bulletin
from site_tools.content.loading import load_content
from site_tools.content.model import BY_NAME, FIELDS
from site_tools.content.schema import DATETIME_FORMAT, identifier_for
from site_tools.delivery.plan import channels_for
from site_tools.render.channel_post import render_channel_post
from site_tools.render.links import Links
from site_tools.render.telegram import render_telegram
from site_tools.render.whatsapp_template import BUTTON_LABEL, render_template
from site_tools.site.admin import DECAP_DATETIME, config_yaml, decap_config, town_data

from .conftest import FIXTURE_TOWN, REPO, Town, good

CONFIG = load_config(FIXTURE_TOWN / "mkdocs.yml")
NODE_MODULES = REPO / "node_modules"


def node(script: str, payload: Any) -> Any:
    """Run JavaScript under Node with a JSON payload on stdin; its JSON answer."""
    if not (NODE_MODULES / "markdown-it").is_dir():
        pytest.fail("npm packages are missing: scripts/test runs npm ci")
    result = subprocess.run(
        ["node", "-e", script], input=json.dumps(payload), capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def generated() -> dict[str, Any]:
    """config.yml as the editor reads it (parsed from the YAML text, not the dict)."""
    return yaml.safe_load(config_yaml(CONFIG))


def bulletin_fields() -> dict[str, dict[str, Any]]:
    collection = next(c for c in generated()["collections"] if c["name"] == "notizie")
    return {f["name"]: f for f in collection["fields"]}


# -- the form and validate agree ------------------------------------------------------
def test_every_frontmatter_key_has_a_widget_and_nothing_else() -> None:
    fields = bulletin_fields()
    assert set(fields) - {"body"} == set(BY_NAME)
    assert fields["body"]["widget"] == "markdown"


def test_required_fields_are_validates_required_fields() -> None:
    fields = bulletin_fields()
    required = {name for name, f in fields.items() if f.get("required", True)}
    # The id is required by validate and never typed: hidden, filled in by the save hook.
    # «date» is not required: validate dates a bulletin without it when it is merged.
    assert required == {f.name for f in FIELDS if f.required} - {"id"}
    assert "date" not in required
    assert fields["id"]["widget"] == "hidden"
    hook = (REPO / "site_tools/site/cms/site-tools-editor.js").read_text(encoding="utf-8")
    assert "data.set('id', cms.newId(" in hook


def test_choices_are_the_towns_categories_and_the_models_vocabularies() -> None:
    fields = bulletin_fields()

    def values(name: str) -> list[str]:
        return [o["value"] for o in fields[name]["options"]]

    assert values("categories") == list(CONFIG.category_slugs)
    assert fields["categories"]["multiple"] is True and fields["categories"]["min"] == 1
    assert values("type") == list(TYPES)
    assert values("priority") == [p.value for p in Priority]
    assert values("channels") == list(CHANNELS)
    assert [f["name"] for f in fields["event"]["fields"]] == ["start", "end", "location"]
    for name in ("updates", "cancels"):
        assert fields[name]["widget"] == "relation" and fields[name]["value_field"] == "id"
        assert fields[name]["collection"] == "notizie"


def test_dates_are_written_in_a_format_validate_reads_as_the_towns_time() -> None:
    fields = bulletin_fields()
    for name in ("date", "expires"):
        assert fields[name]["widget"] == "datetime" and fields[name]["format"] == DECAP_DATETIME
    assert DECAP_DATETIME == "YYYY-MM-DD HH:mm"
    moment = parse_datetime("2026-03-29 02:30", CONFIG.timezone)  # the night clocks change in Rome
    assert moment.tzinfo is CONFIG.timezone and (moment.hour, moment.minute) == (2, 30)
    assert "Europe/Rome" in fields["date"]["hint"]
    assert "default" not in fields["date"]  # Decap's «{{now}}» is the browser's clock: the save hook fills it


def test_a_date_left_empty_is_the_towns_clock_not_the_browsers() -> None:
    # Around the night clocks change in Rome, and at a UTC midnight that is already the next day in Rome.
    moments = [datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    moments += [datetime(2026, 12, 31, 23, 30, tzinfo=UTC), datetime(2026, 7, 1, 12, 0, tzinfo=UTC)]
    nows = node(PORT, {"town": town_data(CONFIG), "bulletins": [], "moments": [m.timestamp() * 1000 for m in moments]})
    assert nows["nows"] == [m.astimezone(CONFIG.timezone).strftime(DATETIME_FORMAT) for m in moments]
    assert nows["nows"][:3] == ["2026-03-29 01:59", "2026-03-29 03:00", "2027-01-01 00:30"]
    hook = (REPO / "site_tools/site/cms/site-tools-editor.js").read_text(encoding="utf-8")
    assert "data.set('date', cms.nowText(Date.now(), town.timezone))" in hook


def test_the_local_editor_says_saves_go_to_the_working_copy_not_to_a_pull_request() -> None:
    def description(local: str | None) -> str:
        return str(decap_config(CONFIG, local)["collections"][0]["description"])

    assert "pull request" in description(None)
    local = description("http://127.0.0.1:8081/api/v1")
    assert "pull request" not in local and "content/" in local and "site-tools validate" in local


def test_bulletins_are_saved_where_validate_looks_with_media_beside_them() -> None:
    config = generated()
    collection = config["collections"][0]
    assert collection["folder"] == f"content/{CONFIG.bulletins_dir}"
    assert collection["path"] == "{{year}}/{{slug}}" and collection["identifier_field"] == "id"
    assert collection["media_folder"] == "" and collection["public_folder"] == ""
    image = bulletin_fields()["image"]
    assert image["media_library"]["config"]["max_file_size"] == limits.IMAGE_MAX_BYTES
    assert image["choose_url"] is False  # validate refuses images from other sites
    assert config["publish_mode"] == "editorial_workflow" and config["backend"]["open_authoring"] is True
    assert config["locale"] == "it"
    pages = {f["file"] for f in config["collections"][1]["files"]}
    assert pages == {"content/index.md", "content/privacy.md", "content/accessibilita.md"}


def title_file(tmp: Path, title: str) -> Path:
    path = tmp / "notizie" / "2026" / "2026-11-20-prova.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "id": "2026-11-20-prova",
        "title": title,
        "date": "2026-11-20 08:30",
        "categories": ["viabilita"],
        "summary": "Una sintesi che basta per il controllo della lunghezza.",
    }
    path.write_text(f"---\n{yaml.safe_dump(meta, allow_unicode=True)}---\n\nTesto.\n", encoding="utf-8")
    return path


def validate_accepts(town: Town, title: str) -> bool:
    _, problems = parse_bulletin(title_file(town.root / "content", title), town.config)
    return not [p for p in problems if p.field == "title"]


def form_accepts(pattern: str, values: list[str]) -> list[bool]:
    # Exactly Decap's check (Widget.validatePattern): RegExp(pattern).test(value), no flags.
    script = (
        "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const {pattern,values}=JSON.parse(s);"
        "process.stdout.write(JSON.stringify(values.map(v=>RegExp(pattern).test(v))))})"
    )
    return node(script, {"pattern": pattern, "values": values})


TITLES = [
    "A" * limits.TITLE_MIN,
    "A" * (limits.TITLE_MIN - 1),
    "Città: " + "è" * (limits.TITLE_MAX - 7),  # exactly the maximum, accented, with a colon
    "Città: " + "è" * (limits.TITLE_MAX - 6),  # one over
    "🔴 Allerta: " + "x" * (limits.TITLE_MAX - 12),  # an emoji counts one, as in Python
    "🔴 Allerta: " + "x" * (limits.TITLE_MAX - 11),
    "  spazi ai lati  ",
    "due  spazi  dentro",
    "Titolo\ncon a capo",
    "Sottopasso di via Marconi chiuso per allagamento",
]


def test_title_lengths_the_form_accepts_are_the_ones_validate_accepts(town: Town) -> None:
    pattern = bulletin_fields()["title"]["pattern"][0]
    form = form_accepts(pattern, TITLES)
    for title, accepted in zip(TITLES, form, strict=True):
        normalized = " ".join(title.split()) == title.strip()
        if normalized:
            assert accepted == validate_accepts(town, title), title
        else:  # white space validate would squeeze: the form asks for it to be removed, never lets more through
            assert not accepted or validate_accepts(town, title), title
        assert bool(re.search(pattern, title)) == accepted  # the same expression in Python's re


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("aè à:'’🔴x \n\t"), min_size=0, max_size=110))
def test_any_title_the_form_accepts_validate_accepts(tmp_path_factory: pytest.TempPathFactory, title: str) -> None:
    town = Town(tmp_path_factory.mktemp("town"), with_demo=False)
    pattern = bulletin_fields()["title"]["pattern"][0]
    accepted = bool(re.search(pattern, title))
    if accepted:
        assert validate_accepts(town, title), repr(title)
    if " ".join(title.split()) == title:  # as validate counts it: both must agree
        assert accepted == validate_accepts(town, title), repr(title)


@pytest.mark.parametrize(
    "name,minimum,maximum",
    [
        ("title", limits.TITLE_MIN, limits.TITLE_MAX),
        ("summary", limits.SUMMARY_MIN, limits.SUMMARY_MAX),
        ("area", 1, limits.AREA_MAX),
        ("office", 1, limits.OFFICE_MAX),
    ],
)
def test_every_length_limit_is_the_one_in_limits_py(name: str, minimum: int, maximum: int) -> None:
    field = bulletin_fields()[name]
    pattern = field["pattern"][0]
    values = ["x" * (minimum - 1), "x" * minimum, "x" * maximum, "x" * (maximum + 1)]
    assert form_accepts(pattern, values) == [False, True, True, False]
    assert f"da {minimum} a {maximum} caratteri" in field["pattern"][1]


def test_the_town_without_an_editor_block_is_told_what_to_add(town: Town) -> None:
    text = (town.root / "mkdocs.yml").read_text(encoding="utf-8")
    text = re.sub(r"\n    editor:\n(      .*\n)+", "\n", text)
    (town.root / "mkdocs.yml").write_text(text, encoding="utf-8")
    from site_tools.content.problems import InvalidContent

    with pytest.raises(InvalidContent) as raised:
        decap_config(town.config)
    assert "extra.town.editor" in str(raised.value) and "repo" in str(raised.value)


def test_cms_config_command_prints_what_the_build_publishes(tmp_path: Path) -> None:
    out = tmp_path / "config.yml"
    cli = Path(__import__("sys").executable).parent / "site-tools"
    result = subprocess.run([str(cli), "cms-config", "-o", str(out)], capture_output=True, text=True, cwd=FIXTURE_TOWN)
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == config_yaml(CONFIG)


# -- the previews say what the renderers will send -------------------------------------
PORT = """
const path = require('path');
const cms = require(path.resolve('site_tools/site/cms/site-tools-cms.js'));
cms.setMarkdownIt(require(path.resolve('node_modules/markdown-it')));
let s = '';
process.stdin.on('data', d => (s += d)).on('end', () => {
  const { town, bulletins, titles, moments } = JSON.parse(s);
  process.stdout.write(JSON.stringify({
    texts: bulletins.map(b => cms.phoneTexts(b.data, town, b.path)),
    ids: (titles || []).map(t => cms.newId(t[0], t[1], town)),
    nows: (moments || []).map(ms => cms.nowText(ms, town.timezone)),
  }));
});
"""


def as_form_data(path: Path) -> dict[str, Any]:
    """A bulletin file as the editor holds it: the frontmatter's raw values and the body."""
    fm, body = _HANDLER.split(path.read_text(encoding="utf-8"))
    data = yamlio.load(fm)
    data["body"] = body
    return data


def compare_with_python(town_config: Any) -> int:
    content = load_content(town_config)
    assert not content.problems
    links = Links.for_bulletins(town_config, content.bulletins)
    payload = {
        "town": town_data(town_config, content.bulletins),
        "bulletins": [
            {"path": b.path.relative_to(town_config.content_dir).as_posix(), "data": as_form_data(b.path)}
            for b in content.bulletins
        ],
    }
    texts = node(PORT, payload)["texts"]
    for b, js in zip(content.bulletins, texts, strict=True):
        template = render_template(b, town_config)
        assert js["whatsapp_list"] == {
            "text": template.text,
            "footer": template.footer,
            "button": BUTTON_LABEL,
            "url": template.url,
        }, b.id
        assert js["whatsapp_channel"] == render_channel_post(b, town_config, links), b.id
        assert js["telegram"] == render_telegram(b, town_config, links), b.id
        assert sorted(js["routed"]) == sorted(channels_for(b, town_config)), b.id
    return len(texts)


def test_phone_previews_match_the_python_renderers_on_every_demo_bulletin() -> None:
    assert compare_with_python(CONFIG) == len(list((FIXTURE_TOWN / "content" / "notizie").rglob("*.md")))


HARD_BODY = """## Cosa fare

1. Resta in casa, **non** usare l'auto.
2. Segui [il piano](../2026/2026-11-21-allerta-arancione-idrogeologica.md#cosa-fare) e la [mappa](https://example.org/m?a=1&b=2).
   - punto di raccolta: *piazza Dante*
   - ~~scuola Verdi~~ `palestra`

> Citazione con <b>HTML</b> & simboli < >

```
codice 1 < 2
```

![La mappa](mappa.png)
"""


def test_phone_previews_match_on_hard_bulletins(demo_town: Town) -> None:
    demo_town.write(
        "2026-11-24-prova-difficile.md",
        """
        id: 2026-11-24-prova-difficile
        title: "Allerta: cosa fare 🔴 oggi – è urgente"
        date: 2026-11-24T07:05+00:00
        priority: urgent
        categories: [protezione-civile, meteo]
        summary: "Piogge forti:   resta  in casa\tfino a domani sera, segui le indicazioni della protezione civile."
        expires: 2026-11-25
        area: Frazione Colle, via dei Mulini
        cancels: 2026-11-22-sottopasso-via-marconi-chiuso
        event: {start: 24/11/2026 ore 09.30, end: 2026-11-26, location: "Piazza Dante *centro*"}
        channels: [telegram, whatsapp_list]
        """,
        HARD_BODY,
    )
    (demo_town.bulletins / "2026" / "mappa.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    long_body = "\n\n".join(f"Paragrafo {i}: " + "parola " * 120 for i in range(12))
    demo_town.write(
        "2026-11-24-lungo.md",
        """
        id: 2026-11-24-lungo
        title: Un avviso molto lungo per Telegram
        date: 2026-11-24 08:00
        categories: [servizi]
        summary: Un testo lungo che Telegram deve dividere in più messaggi senza tagliare i tag.
        updates: 2026-11-12-lavori-acquedotto-via-roma-proroga
        """,
        long_body,
    )
    (demo_town.bulletins / "2026" / "ordinanza.pdf").write_bytes(b"%PDF-1.4\n")
    demo_town.write(
        "2026-11-24-ogni-campo.md",
        """
        id: 2026-11-24-ogni-campo
        title: Un avviso con ogni campo del modello
        date: 2026-11-24 09:00
        type: bando
        categories: [servizi]
        summary: Un avviso che usa ogni campo, perché l'anteprima li mostri tutti come la pubblicazione.
        slug: ogni-campo
        pin: true
        draft: true
        office: Ufficio tecnico
        image: mappa.png
        updated: 2026-11-24 12:00
        attachments: [{file: ordinanza.pdf, title: Ordinanza n. 45}, ordinanza.pdf]
        urgency: Expected
        severity: Moderate
        certainty: Likely
        """,
        "Testo con la [mappa](mappa.png).",
    )
    assert compare_with_python(demo_town.config) == 32
    written: set[str] = set()
    for path in demo_town.bulletins.rglob("*.md"):
        data = as_form_data(path)
        written.update(data)
        written.update(f"event.{k}" for k in data.get("event") or {})
        items = data.get("attachments") or []
        written.update(f"attachments.{k}" for item in items if isinstance(item, dict) for k in item)
    every = {f.name for f in FIELDS} | {f"{f.name}.{sub.name}" for f in FIELDS for sub in f.fields}
    assert every <= written, every - written  # the previews are compared on every field of the model


def test_a_new_bulletins_id_is_what_site_tools_new_would_name_it() -> None:
    titles = [
        ["2026-11-24 10:00", "Viabilità: chiusura di via Città di Castello"],
        ["2026-11-24 10:00", "Sull'acquedotto: lavori all'incrocio (più lunghi)"],
        ["2026-01-02 00:00", "Perché è così? Cosa succederà nei prossimi giorni alla viabilità della frazione"],
        ["2026-01-02 00:00", "!!!"],
    ]
    ids = node(PORT, {"town": town_data(CONFIG), "bulletins": [], "titles": titles})["ids"]
    assert ids == [identifier_for(d, t) for d, t in titles]
    assert ids[0] == "2026-11-24-viabilita-chiusura-di-via-citta-di-castello"


def test_validate_refuses_an_image_over_the_editors_upload_limit(demo_town: Town) -> None:
    folder = demo_town.bulletins / "2026"
    (folder / "foto.jpg").write_bytes(b"\xff\xd8" + b"0" * (limits.IMAGE_MAX_BYTES - 2))  # exactly the limit
    (folder / "grande.jpg").write_bytes(b"\xff\xd8" + b"0" * limits.IMAGE_MAX_BYTES)  # one byte over
    demo_town.write("2026-11-20-con-foto.md", good("2026-11-20-con-foto", image="foto.jpg"), "![Mappa](foto.jpg)\n")
    demo_town.write(
        "2026-11-20-foto-grande.md", good("2026-11-20-foto-grande", image="grande.jpg"), "![Mappa](grande.jpg)\n"
    )
    content = load_content(demo_town.config)
    problems = [p for p in content.problems if "grande" in p.file or "con-foto" in p.file]
    assert {(p.file.rsplit("/", 1)[-1], p.field) for p in problems} == {
        ("2026-11-20-foto-grande.md", "image"),  # where the editor used it
        ("2026-11-20-foto-grande.md", "testo"),
        ("grande.jpg", None),  # and the file itself (every file in content/ has a ceiling)
    }
    assert all("2,0 MB" in p.message and "1600 pixel" in p.fix for p in problems)


def test_a_build_without_the_editors_npm_package_says_how_to_fix_it(demo_town: Town, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from site_tools.content.problems import InvalidContent
    from site_tools.site import admin

    monkeypatch.setattr(admin, "find_node_package", lambda name, town: None)
    with pytest.raises(InvalidContent) as raised:
        admin.admin_files(demo_town.config, [], [])
    assert "npm ci" in str(raised.value) and "decap-cms" in str(raised.value)
