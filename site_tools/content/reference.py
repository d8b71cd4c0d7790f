"""What is generated from the bulletin's model (:mod:`site_tools.content.model`) for people and tools.

* ``docs/reference/bulletin-fields.md``: the table of fields the documentation includes;
* ``docs/reference/bulletin.schema.json``: the frontmatter's JSON Schema (any town's categories);
* ``docs/reference/topics.md``: the model's topics (:mod:`site_tools.content.topics`), label and slug;
* ``/schema/bulletin.json`` on each town's site: the same schema, with the town's categories.

The files are committed; a test fails when they differ from the model. Regenerate them with::

    .venv/bin/python -m site_tools.content.reference
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from site_tools.content.model import FIELDS, TOWN_CATEGORIES, ZONE, FieldSpec, Kind, json_schema
from site_tools.content.topics import TOPICS

#: Where the generated files live in the repository, and the site path of the published schema.
FIELDS_TABLE = Path("docs/reference/bulletin-fields.md")
SCHEMA_FILE = Path("docs/reference/bulletin.schema.json")
TOPICS_TABLE = Path("docs/reference/topics.md")
SITE_SCHEMA = "schema/bulletin.json"

_KIND_WORDS = {
    Kind.TEXT_LINE: "testo",
    Kind.TEXT_AREA: "testo",
    Kind.DATETIME: "data, o data e ora",
    Kind.CHOICE: "uno dei valori",
    Kind.CHOICES: "elenco",
    Kind.FLAG: "true o false",
    Kind.IMAGE: "percorso di un'immagine in content/",
    Kind.FILE: "percorso di un PDF in content/",
    Kind.BULLETIN: "id di un altro avviso",
    Kind.EVENT: "gruppo di campi",
    Kind.IDENTIFIER: "identificativo",
    Kind.ATTACHMENTS: "elenco di allegati",
}


def schema_text(categories: tuple[str, ...] = ()) -> str:
    """The JSON Schema as a file's text (stable: sorted keys are not used, the model's order is kept)."""
    return json.dumps(json_schema(categories), ensure_ascii=False, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _values(spec: FieldSpec) -> str:
    parts = []
    if spec.choices == ((TOWN_CATEGORIES, ""),):
        parts.append("le categorie del Comune (`extra.town.categories`)")
    elif spec.choices:
        parts.append(", ".join(f"`{value}`" for value, _ in spec.choices))
    if spec.min_length is not None or spec.max_length is not None:
        parts.append(f"da {spec.min_length or 1} a {spec.max_length} caratteri")
    if spec.default not in (None, ""):
        default = str(spec.default).lower() if isinstance(spec.default, bool) else spec.default
        parts.append(f"predefinito `{default}`")
    return "; ".join(parts)


def _rows(specs: tuple[FieldSpec, ...], prefix: str = "") -> list[str]:
    rows = []
    for spec in specs:
        aliases = ", ".join(f"`{a}`" for a in spec.aliases)
        row = (
            f"`{prefix}{spec.name}`",
            spec.label,
            "sì" if spec.required else "no",
            _KIND_WORDS[spec.kind],
            _values(spec),
            spec.hint.replace(ZONE, "Europe/Rome"),
            f"`{spec.example}`" if spec.example else "",
            aliases,
        )
        rows.append("| " + " | ".join(_cell(c) for c in row) + " |")
        rows.extend(_rows(spec.fields, f"{prefix}{spec.name}."))
    return rows


def fields_table() -> str:
    """The Markdown table of every field (sub-fields as ``event.start``), in the order the editor shows them."""
    head = [
        "<!-- Generated from site_tools/content/model.py: do not edit, run "
        "`.venv/bin/python -m site_tools.content.reference`. -->",
        "",
        "| Campo | Nome nell'editor | Obbligatorio | Tipo | Valori | Cosa indica | Esempio | Nomi segnalati come errore |",
        "|---|---|---|---|---|---|---|---|",
    ]
    note = [
        "",
        "Un campo che non è in questa tabella fa fallire il controllo, con un suggerimento "
        "(«forse intendevi …?») per i nomi dell'ultima colonna. Le date senza fuso orario sono ora di Europe/Rome.",
    ]
    return "\n".join(head + _rows(FIELDS) + note) + "\n"


def topics_table() -> str:
    """The model's topics as editors pick them: the label the site shows, the slug the file holds."""
    head = [
        "<!-- Generated from site_tools/content/topics.py: do not edit, run "
        "`.venv/bin/python -m site_tools.content.reference`. -->",
        "",
        "| Argomento | Nel file (`topics:`) |",
        "|---|---|",
    ]
    return "\n".join(head + [f"| {label} | `{slug}` |" for slug, label in TOPICS.items()]) + "\n"


def generated_files() -> dict[Path, str]:
    """Each generated file (relative to the repository) and the text it must hold."""
    return {FIELDS_TABLE: fields_table(), SCHEMA_FILE: schema_text(), TOPICS_TABLE: topics_table()}


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0] if argv else ".").resolve()
    for rel, text in generated_files().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        if old != text:
            path.write_text(text, encoding="utf-8")
            print(f"written {rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
