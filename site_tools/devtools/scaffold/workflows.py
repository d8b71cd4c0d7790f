"""The GitHub workflows, declared once: ``workflows/`` is their source, for this repository and for every town.

This repository's ``.github/workflows/{publish,pull-request,site}.yml`` are copies of these files, and so are a
new town's (``site-tools init``). The one difference between the two is the composite action the workflows
call, ``./.github/actions/install``: here it installs site-tools from ``uv.lock``; a town's (from
``town/dot-github/actions/install/action.yml``) installs the release that ``requirements.txt`` pins.
``python -m site_tools.devtools.scaffold.workflows`` writes this repository's copies again after an edit here;
a test finds them identical.
"""

from __future__ import annotations

from pathlib import Path

SOURCE = Path(__file__).parent / "workflows"
NAMES = ("publish.yml", "pull-request.yml", "site.yml")


def sources() -> dict[str, str]:
    """Each workflow's text, by its file name."""
    return {name: (SOURCE / name).read_text(encoding="utf-8") for name in NAMES}


def differences(repo: Path) -> list[str]:
    """The workflows of the checkout at ``repo`` that are not their source's copy."""
    folder = repo / ".github" / "workflows"
    return [
        name
        for name, text in sources().items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]


if __name__ == "__main__":  # pragma: no cover - a developer's command, checked by tests/test_init.py
    for name, text in sources().items():
        (Path.cwd() / ".github" / "workflows" / name).write_text(text, encoding="utf-8")
        print(f"scritto .github/workflows/{name}")
