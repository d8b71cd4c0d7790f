"""The files of a new town's repository, from the templates in ``town/`` and the workflows in ``workflows/``.

A template's name says where its file goes: ``.j2`` is rendered with the answers (Jinja2) and loses the suffix,
``dot-`` becomes ``.`` (package data keeps no hidden file), ``content/notizie/esempio.md.j2`` is the example
bulletin, dated so that it is never sent (:func:`example_bulletin`).
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from site_tools.devtools.scaffold import workflows
from site_tools.devtools.scaffold.questions import COAT_OF_ARMS, town_block

TOWN = Path(__file__).parent / "town"
EXAMPLE_TEMPLATE = "content/notizie/esempio.md.j2"


@dataclass(frozen=True)
class Example:
    """The example bulletin: dated the day before the repository was made, and expired that same day, so no
    publish ever sends it (the plan skips an expired bulletin; the first publish also adopts what it finds)."""

    id: str
    date: str
    expires: str
    path: str


def example_bulletin(now: datetime) -> Example:
    day = (now - timedelta(days=1)).date()
    name = f"{day:%Y-%m-%d}-esempio-da-cancellare"
    return Example(name, f"{day:%Y-%m-%d} 09:00", f"{day:%Y-%m-%d} 18:00", f"content/notizie/{day:%Y}/{name}.md")


def _quoted(value: Any) -> str:
    """A YAML scalar that stays text (JSON's double-quoted string is YAML)."""
    return json.dumps(str(value), ensure_ascii=False)


def render(answers: dict[str, str], version: str, now: datetime) -> dict[str, bytes]:
    """Every file of the new repository, by its path, from the answers."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TOWN), keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    env.filters["q"] = _quoted
    example = example_bulletin(now)
    town = town_block(answers)
    values = {
        "town": town,
        "keyword": town["whatsapp"]["keyword"],
        "site_name": f"{town['name']} – Avvisi",
        "site_url": answers["site_url"].rstrip("/") + "/",
        "version": version,
        "example": example,
    }
    files: dict[str, bytes] = {}
    for template in sorted(p for p in TOWN.rglob("*") if p.is_file()):
        name = template.relative_to(TOWN).as_posix()
        target = "/".join(part.replace("dot-", ".", 1) if part.startswith("dot-") else part for part in name.split("/"))
        if name == EXAMPLE_TEMPLATE:
            target = example.path
        if name.endswith(".j2"):
            files[target.removesuffix(".j2")] = env.get_template(name).render(values).encode("utf-8")
        else:
            files[target] = template.read_bytes()
    for name, text in workflows.sources().items():
        files[f".github/workflows/{name}"] = text.encode("utf-8")
    files[f"content/{COAT_OF_ARMS}"] = placeholder_coat_of_arms(town["color"], town["short_name"] or town["name"])
    return files


def placeholder_coat_of_arms(color: str, name: str) -> bytes:
    """A provisional coat of arms (the town's initial on its colour) until the town puts its own."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(8, 8), (120, 8), (120, 72), (64, 122), (8, 72)], fill=color if color.startswith("#") else "#0066cc")
    initial = (name.strip()[:1] or "C").upper()
    draw.text((64, 60), initial, fill="white", anchor="mm", font_size=64)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def write(target: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file under ``target``, or none: never over an existing one (exclusive creation), and what was
    written is taken away again when one cannot be (a name taken by a folder, a full disk)."""
    written: list[Path] = []
    made: list[Path] = []
    try:
        for name, data in files.items():
            path = target / name
            missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            made += reversed(missing)
            with path.open("xb") as out:
                written.append(path)
                out.write(data)
    except BaseException:
        for path in reversed(written):
            path.unlink(missing_ok=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return written
