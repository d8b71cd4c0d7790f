"""The configuration reference, generated from the model of ``extra.town`` (``content/town.py``).

``docs/reference/configuration.md`` (every key with its type, default,
whether it is required and its Italian description; each block a section)
and ``docs/reference/town.schema.json`` (the JSON Schema of ``extra.town``,
for editors that check YAML as it is typed) are both committed; a test fails
when they drift from the model. Regenerate them with::

    python -m site_tools.devtools.generated_config
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from site_tools.content.identity import IDENTITY_KEYS
from site_tools.content.town import town_model

REFERENCE = Path("docs") / "reference"
MARKDOWN = REFERENCE / "configuration.md"
SCHEMA = REFERENCE / "town.schema.json"

_TYPES = {
    "string": "testo",
    "integer": "numero intero",
    "number": "numero",
    "boolean": "true / false",
    "array": "elenco",
    "object": "blocco",
    "null": "",
}


def town_schema() -> dict[str, Any]:
    """The JSON Schema of ``extra.town``."""
    schema = _one_line(town_model().model_json_schema())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "extra.town"
    return schema


def _one_line(node: Any) -> Any:
    """Descriptions taken from docstrings without their line breaks and indentation."""
    if isinstance(node, dict):
        return {k: " ".join(v.split()) if k == "description" else _one_line(v) for k, v in node.items()}
    return [_one_line(item) for item in node] if isinstance(node, list) else node


def schema_text() -> str:
    return json.dumps(town_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return schema["$defs"][ref.rsplit("/", 1)[-1]] if isinstance(ref, str) else node


def _options(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The ways a setting may be written (``anyOf``, flattened), without ``null`` (an absent setting)."""
    if "anyOf" in node:
        return [option for part in node["anyOf"] for option in _options(part)]
    return [] if node.get("type") == "null" else [node]


def _block_of(node: dict[str, Any]) -> str | None:
    """The name of the block (a ``$defs`` entry) a setting holds, directly or as list items."""
    for option in _options(node):
        for candidate in (option, option.get("items")):
            if isinstance(candidate, dict) and isinstance(candidate.get("$ref"), str):
                return str(candidate["$ref"]).rsplit("/", 1)[-1]
    return None


def _type(schema: dict[str, Any], node: dict[str, Any]) -> str:
    parts = []
    for option in _options(node):
        option = _resolve(schema, option)
        kind = _TYPES.get(str(option.get("type", "object")), str(option.get("type")))
        if "enum" in option:
            kind = " / ".join(f"`{v}`" for v in option["enum"])
        elif option.get("type") == "array" and isinstance(option.get("items"), dict):
            inner = _type(schema, option["items"])
            kind = "elenco di blocchi" if inner == "blocco" else f"elenco di {inner}"
        if kind not in parts:
            parts.append(kind)
    return " oppure ".join(parts)


def _default(node: dict[str, Any], required: bool) -> str:
    if "default" not in node:
        return "" if required else "—"
    value = node["default"]
    if value is None or value == {}:
        return "—"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return f"{len(value)} voci (vedi la descrizione)"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _example(node: dict[str, Any]) -> str:
    examples = node.get("examples")
    if not examples or isinstance(examples[0], dict | list) and _block_of(node):
        return ""
    value = examples[0]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"`{_cell(text)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(schema: dict[str, Any], block: dict[str, Any], prefix: str, only_site: bool) -> list[str]:
    rows = ["| Campo | Tipo | Obbligatorio | Predefinito | Esempio | Descrizione |", "|---|---|---|---|---|---|"]
    required = set(block.get("required", ()))
    for key, node in block["properties"].items():
        needed = "sì" if key in required else "no"
        if only_site and key in IDENTITY_KEYS and key in required:
            needed = "sì, per il sito"
        nested = _block_of(node)
        description = _cell(node.get("description", ""))
        if nested:
            description += f" Vedi [{prefix}{key}](#{(prefix + key).replace('.', '')})."
        example = _example(node)
        rows.append(
            f"| `{key}` | {_type(schema, node)} | {needed} | {_default(node, key in required)} | {example} "
            f"| {description} |"
        )
    return rows


def configuration_markdown() -> str:
    """The reference page, in Italian (town staff read it)."""
    schema = town_schema()
    lines = [
        "<!-- Generato da site_tools/devtools/generated_config.py: non modificare a mano. -->",
        "# Configurazione del Comune (`extra.town`)",
        "",
        "I dati del Comune stanno nel blocco `extra.town` di `mkdocs.yml`: lo leggono sia il sito sia "
        'l\'invio degli avvisi. Un campo sconosciuto, un tipo sbagliato (`"12"` non è un numero) o un valore '
        "non valido fermano il comando con un messaggio in italiano che indica il campo, la riga e come "
        "correggere. I campi dell'identità del sito (colore, stemma, PEC…) fermano solo la costruzione del "
        "sito, mai l'invio di un avviso urgente.",
        "",
        "Lo schema JSON dello stesso blocco, per gli editor che controllano il YAML mentre si scrive, è "
        "[town.schema.json](town.schema.json).",
        "",
        "## extra.town",
        "",
        _cell(schema.get("description", "")),
        "",
        *_table(schema, schema, "", only_site=True),
    ]
    done: set[str] = set()
    pending = [(key, node) for key, node in schema["properties"].items()]
    while pending:
        key, node = pending.pop(0)
        name = _block_of(node)
        if not name or name in done:
            continue
        done.add(name)
        block = schema["$defs"][name]
        lines += [
            "",
            f"## {key}",
            "",
            _cell(block.get("description", "")),
            "",
            *_table(schema, block, key + ".", False),
        ]
        pending += [(f"{key}.{k}", n) for k, n in block["properties"].items()]
    return "\n".join(lines) + "\n"


def write(root: Path) -> list[Path]:
    """Write both files under ``root``; the ones that changed."""
    changed = []
    for relative, text in ((MARKDOWN, configuration_markdown()), (SCHEMA, schema_text())):
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    for path in write(root):
        print(f"aggiornato {path.relative_to(root)}")
    sys.exit(0)


if __name__ == "__main__":
    main()
