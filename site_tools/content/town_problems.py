"""The model's refusals as the problems editors read: Italian, with the field, the line and a suggestion.

A refusal written in the model (``town_base.refuse``) carries its own
message and fix. Pydantic's own (a missing key, a wrong type, a number out of
range, an unknown key) are said here once for every setting, with the
setting's example from the model. Lines come from composing ``mkdocs.yml``
again, only when there is something to point at.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from site_tools.content.problems import Problem, shown
from site_tools.content.town_base import REFUSED, OrAlso

Loc = tuple[str | int, ...]


def node_lines(text: str) -> dict[Loc, int]:
    """Line (1-based) of every key and list item of a YAML document, by its path (``("extra", "town", "name")``)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    found: dict[Loc, int] = {}

    def walk(node: yaml.Node | None, path: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    found.setdefault((*path, key.value), key.start_mark.line + 1)
                    walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                found.setdefault((*path, index), item.start_mark.line + 1)
                walk(item, (*path, index))

    walk(root, ())
    return found


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models a field's type holds (``Telegram | None``, ``tuple[Category, ...]``, ``Annotated[…]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif get_origin(annotation) is Annotated:
        yield from _models(get_args(annotation)[0])
    elif get_origin(annotation) in (Union, types.UnionType, tuple, list):
        for arg in get_args(annotation):
            yield from _models(arg)


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A block's fields by the key a town writes (``on``, not ``on_word``)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _walk(model: type[BaseModel], keys: list[str]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The block holding the last key, and that key's field (None: the key is not in the model)."""
    block: type[BaseModel] | None = model
    info: FieldInfo | None = None
    for depth, key in enumerate(keys):
        info = _fields(block).get(key) if block else None
        if info is None:
            return block, None
        if depth < len(keys) - 1:
            block = next(_models(info.annotation), None)
    return block, info


def _is_scalar(raw: Any, loc: Loc) -> bool:
    """Whether the town wrote a plain value where ``loc`` would need a block (``telegram: "@name"``)."""
    value = raw
    for part in loc:
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return False
    return not isinstance(value, dict | list)


def _example(info: FieldInfo | None) -> str:
    examples = info.examples if info is not None else None
    if not examples:
        return ""
    example = examples[0]
    return str(example).lower() if isinstance(example, bool) else str(example)


def _say(error: ErrorDetails, key: str, info: FieldInfo | None, allowed: list[str]) -> tuple[str, str]:
    """What is wrong and how to fix it, for one of pydantic's own error types."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, shown(error.get("input"))
    example = _example(info)
    write = f"scrivi per esempio «{key}: {example}»." if example else "correggi il valore."
    if kind in ("extra_forbidden", "invalid_key"):  # a key that is not a text (``2026:``) is no setting either
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            return f"campo sconosciuto «{key}».", f"forse intendevi «{close[0]}»? Rinomina il campo."
        return f"campo sconosciuto «{key}».", f"togli il campo; quelli ammessi qui sono: {', '.join(allowed)}."
    if kind == "missing":
        text = " ".join((info.description or "").split()) if info is not None else ""
        what = f" ({text[:1].lower()}{text[1:].rstrip('.')})" if text else ""
        return f"manca «{key}»{what}.", f"aggiungi il campo: {write}"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"«{key}» deve essere un numero intero, senza virgolette né punti: «{value}» non lo è.", write
    if kind in ("float_type", "float_parsing"):
        return f"«{key}» deve essere un numero: «{value}» non lo è.", write
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": "maggiore di", "greater_than_equal": "almeno", "less_than": "minore di"}
        limit = next(iter(ctx.values()), "")
        return f"«{key}» deve essere {bound.get(kind, 'al massimo')} {limit}: «{value}» non va bene.", write
    if kind == "bool_type":
        return f"«{key}» deve essere true o false, non «{value}».", "scrivi true oppure false, senza virgolette."
    if kind == "string_type":
        return f"«{key}» deve essere un testo, non «{value}».", f"metti il valore tra virgolette. {write}"
    if kind in ("list_type", "tuple_type"):
        return f"«{key}» deve essere un elenco.", "scrivi un elemento per riga, ognuno con «- » davanti."
    if kind in ("too_short",):
        return f"l'elenco «{key}» è vuoto.", "scrivi almeno un elemento, oppure togli la riga per il predefinito."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        also = next((m.alternative for m in (info.metadata if info else []) if isinstance(m, OrAlso)), {})
        alternative = {"boolean": "true, false oppure ", "string": "un nome oppure "}.get(also.get("type", ""), "")
        return (
            f"«{key}» deve essere {alternative}un blocco di campi, non «{value}».",
            f"scrivi i campi sotto «{key}:», uno per riga, rientrati di due spazi.",
        )
    if kind == "literal_error":
        choices = [c.strip(" '") for c in str(ctx.get("expected", "")).replace(" or ", ",").split(",")]
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f"forse intendevi «{close[0]}»? Altrimenti u" if close else "U"
        return f"«{value}» non è un valore ammesso per «{key}».", f"{hint}sa uno tra: {', '.join(choices)}."
    return f"il valore «{value}» di «{key}» non è valido.", write


def problems_from(
    exc: ValidationError,
    model: type[BaseModel],
    raw: dict[str, Any],
    prefix: Loc,
    file: str,
    lines: Callable[[], dict[Loc, int]],
) -> list[Problem]:
    """Every error of ``exc`` (validating ``raw`` at ``prefix`` in the file) as a problem."""
    problems = []
    for error in exc.errors(include_url=False):
        # A key YAML read as a boolean (``yes:``) is named as a key, not taken for a list's place.
        loc: Loc = tuple(str(p).lower() if isinstance(p, bool) else p for p in error["loc"] if p != "[key]")
        while loc and _is_scalar(raw, loc[:-1]):
            loc = loc[:-1]  # ``telegram: "@x"`` refused: the problem is at ``telegram``, not at ``telegram.chat``
        field, named = ".".join(map(str, prefix)), False
        value: Any = raw
        keys: list[str] = []
        where: list[str | int] = list(prefix)
        for part in loc:  # a key is named by its text, an item of a list by its place: «categories[3]»
            if isinstance(value, list) and isinstance(part, int):
                field += "" if named else f"[{part + 1}]"
                named, where, value = True, [*where, part], value[part] if part < len(value) else None
            else:
                field += "" if named else f".{part}"
                keys, where = [*keys, str(part)], [*where, str(part)]
                value = value.get(part) if isinstance(value, dict) else None
        block, info = _walk(model, keys)
        if error["type"] == REFUSED:
            ctx = error.get("ctx") or {}
            message, fix = str(ctx["message"]), str(ctx["fix"])
        else:
            key = keys[-1] if keys else str(prefix[-1])
            message, fix = _say(error, key, info, list(_fields(block)) if block else [])
        spots = lines()
        line = next((spots[tuple(where[:n])] for n in range(len(where), 0, -1) if tuple(where[:n]) in spots), None)
        problems.append(Problem(file, line, field, message, fix))
    return problems
