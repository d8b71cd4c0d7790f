"""YAML loading for frontmatter and ``mkdocs.yml``.

Two deliberate differences from ``yaml.safe_load``:

* timestamps are *not* turned into ``datetime`` objects. PyYAML raises on an
  impossible date such as ``2026-02-31`` and forgets the time zone rules we
  need; :mod:`site_tools.content.dates` parses date strings itself, with errors an
  editor can act on.
* ``mkdocs.yml`` may contain MkDocs' own tags (``!ENV``, ``!relative``,
  ``!!python/name:…``); they load as plain values instead of failing.

libyaml (``CSafeLoader``) is used when available: the publisher parses
thousands of frontmatter blocks before its first send.
"""

from __future__ import annotations

from typing import Any

import yaml

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FrontmatterLoader(_Base):
    """Safe loader that keeps dates as strings."""


FrontmatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ConfigLoader(FrontmatterLoader):
    """Also tolerates MkDocs' custom tags in ``mkdocs.yml``."""


def _tolerate(loader: yaml.Loader, suffix: str, node: yaml.Node | None = None) -> Any:
    # Called as a multi-constructor (loader, tag_suffix, node).
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    return None


ConfigLoader.add_multi_constructor("!", _tolerate)
ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", _tolerate)


def load(text: str, loader: type = FrontmatterLoader) -> Any:
    return yaml.load(text, Loader=loader)  # noqa: S506 - both loaders are safe loaders


def key_lines(text: str, first_line: int = 1) -> dict[str, int]:
    """Line (1-based, offset by ``first_line - 1``) of each mapping key.

    Nested keys are joined with dots (``event.start``). Used only to point
    an editor at the right line, so any YAML error yields an empty map.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    found: dict[str, int] = {}

    def walk(node: yaml.Node | None, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = f"{prefix}{key.value}" if isinstance(key, yaml.ScalarNode) else prefix
                found.setdefault(name, key.start_mark.line + first_line)
                walk(value, name + ".")

    walk(root, "")
    return found


def error_line(exc: yaml.YAMLError, first_line: int = 1) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return None if mark is None else mark.line + first_line


def refused_structure(text: str, max_depth: int) -> tuple[str, int] | None:
    """The first anchor, alias or too-deep nesting in ``text``: (``"anchor"``, ``"alias"`` or ``"depth"``, 0-based line).

    Editors never need them, and aliases nested in aliases make a 600-byte
    header expand to gigabytes wherever the value is walked or printed. One
    pass over libyaml's events, before anything is built.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_Base):
        line = event.start_mark.line if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent):
            return "alias", line
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            return "anchor", line
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                return "depth", line
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


#: PyYAML's problems (its English text) → what an editor reads, and how to fix it.
_REASONS: tuple[tuple[str, str, str], ...] = (
    (
        "mapping values are not allowed",
        "un testo contiene «: » ma non è tra virgolette",
        'metti il valore tra virgolette, per esempio title: "Ordinanza: chiusura di via Roma".',
    ),
    (
        "expected ',' or ']'",
        "un elenco tra parentesi quadre non è chiuso o manca una virgola",
        "chiudi l'elenco con «]» e separa i valori con una virgola, per esempio [viabilita, eventi].",
    ),
    (
        "expected ',' or '}'",
        "un gruppo tra parentesi graffe non è chiuso o manca una virgola",
        "chiudi il gruppo con «}», oppure togli le graffe e scrivi un campo per riga.",
    ),
    (
        "could not find expected ':'",
        "una riga non ha i due punti dopo il nome del campo",
        "scrivi «nome: valore»; se la riga continua il testo di sopra, mettilo tutto su una riga tra virgolette.",
    ),
    (
        "cannot start any token",
        "un valore inizia con un carattere riservato (per esempio «@», «`», «%» o «|»)",
        "metti il valore tra virgolette.",
    ),
    (
        "unknown escape character",
        "tra virgolette doppie c'è una barra rovesciata «\\» non valida",
        "usa le virgolette semplici '…' oppure scrivi la barra due volte «\\\\».",
    ),
)
_QUOTE_OPEN = (
    "una virgoletta aperta non è chiusa",
    "chiudi la virgoletta alla fine del valore (la stessa: ' oppure \").",
)
_INDENT = (
    "i campi non iniziano tutti dallo stesso punto, o dopo un valore tra virgolette c'è altro testo",
    "fai iniziare ogni campo all'inizio della riga (i sotto-campi con due spazi) e metti tutto il valore tra virgolette.",
)
_TAB = (
    "la riga contiene un carattere di tabulazione (TAB): in YAML i rientri si fanno solo con spazi",
    "sostituisci la tabulazione con due spazi.",
)


def explain_error(exc: yaml.YAMLError, text: str, first_line: int = 1) -> tuple[str, str, int | None]:
    """PyYAML's error in Italian: (what is wrong, how to fix it, line), a tab named as the cause when there is one."""
    line = error_line(exc, first_line)
    problem = str(getattr(exc, "problem", "") or "")
    context = str(getattr(exc, "context", "") or "")
    lines = text.split("\n")
    marks = [m.line for m in (getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)) if m is not None]
    tab_line = next((i for i in marks if i < len(lines) and "\t" in lines[i]), None)
    if "tab" in problem or tab_line is not None:
        at = tab_line if tab_line is not None else (marks[0] if marks else None)
        return *_TAB, (None if at is None else at + first_line)
    for english, reason, fix in _REASONS:
        if english in problem:
            return reason, fix, line
    if "end of stream" in problem and "quoted" in context:
        return *_QUOTE_OPEN, line
    if "expected" in problem:
        return *_INDENT, line
    return (
        "la sintassi YAML non è valida",
        "controlla i due punti dopo ogni campo e metti tra virgolette i testi che contengono «:» o «#».",
        line,
    )
