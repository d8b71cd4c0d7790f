"""Editors' slips that are valid YAML and Markdown but would publish the wrong text.

* the body ``site-tools new`` writes, left as it is (it would reach the phones);
* « #» inside an unquoted value: YAML reads the rest of the line as a comment,
  so ``title: Avviso #3 via Sant'Anna chiusa`` silently becomes «Avviso».
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from site_tools.content.problems import ProblemList, shown

#: The body ``site-tools new`` writes: the editor replaces it with the full text.
NEW_BODY = "Scrivi qui il testo completo dell'avviso: cosa succede, dove, quando, chi contattare."
#: What is recognised of it, even if the editor added text around it or changed its end.
_PLACEHOLDER = re.compile(r"scrivi qui il testo completo", re.IGNORECASE)
_COMMENT_AFTER = re.compile(r"[ \t]+#")


def check_slips(fm_text: str, body: str, body_line: int, shown_file: str, problems: ProblemList) -> None:
    """Add a problem for the template's placeholder and for every value cut by a « #» comment."""
    placeholder = _PLACEHOLDER.search(body)
    if placeholder:
        problems.add(
            shown_file,
            "testo",
            "c'è ancora il testo di esempio «Scrivi qui il testo completo…» messo da «site-tools new»: "
            "arriverebbe così sul sito e sui telefoni.",
            "sostituiscilo con il testo completo dell'avviso: cosa succede, dove, quando, chi contattare.",
            body_line + body.count("\n", 0, placeholder.start()),
        )
    for key, line, value, meant in cut_by_comment(fm_text):
        problems.add(
            shown_file,
            key,
            f"in «{key}» il carattere «#» dopo uno spazio inizia un commento: il valore letto è «{shown(value)}» "
            f"e non «{shown(meant)}».",
            f"metti il valore tra virgolette: {key.rsplit('.', 1)[-1]}: {quoted(meant)}",
            line + 1,
        )


def quoted(text: str) -> str:
    """``text`` as a YAML double-quoted string (what an editor can paste)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cut_by_comment(fm_text: str) -> list[tuple[str, int, str, str]]:
    """Plain (unquoted) values followed by « #» on their line: (key, 0-based line, value read, value meant)."""
    if not _COMMENT_AFTER.search(fm_text):
        return []
    try:
        root = yaml.compose(fm_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []  # the YAML error itself is reported by the frontmatter reader
    lines = fm_text.split("\n")
    found: list[tuple[str, int, str, str]] = []

    def visit(node: Any, key: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                visit(v, f"{key}.{k.value}" if key else str(k.value))
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                visit(item, key)
        elif isinstance(node, yaml.ScalarNode) and node.style is None and node.value:
            end = node.end_mark
            rest = lines[end.line][end.column :] if end.line < len(lines) else ""
            if _COMMENT_AFTER.match(rest):
                found.append((key, end.line, node.value, (node.value + rest).strip()))

    visit(root, "")
    return found
