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
