"""The town's npm manifest for the web editor: this repository's lock file cut down to what the editor needs.

The town's ``package.json`` names the runtime ``dependencies`` of ours (decap-cms, decap-server, markdown-it:
the editor copied into ``/admin/`` and its previews) and not the test tools; its ``package-lock.json`` is our
lock file keeping only the packages those three reach, found as npm finds them (the nearest ``node_modules``
folder up the tree). Both ship as package data (``town/package.json``, ``town/package-lock.json``);
``python -m site_tools.devtools.scaffold.npm`` writes them again after ``npm install`` changed ours, and a test
finds them equal to what this derives.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

#: The name of the town's npm package (private: never published; the lock's root must carry the same).
NAME = "avvisi-comune"
TOWN = Path(__file__).parent / "town"
DEPENDENCY_KINDS = ("dependencies", "optionalDependencies", "peerDependencies")


def manifest(ours: dict[str, Any]) -> dict[str, Any]:
    """The town's package.json: our runtime dependencies, at the same versions."""
    return {
        "name": NAME,
        "private": True,
        "description": "L'editor web in /admin/ (Decap CMS), copiato nel sito da site-tools: «npm ci» lo installa.",
        "dependencies": dict(ours["dependencies"]),
    }


def _resolve(packages: dict[str, Any], parent: str, name: str) -> str | None:
    """Where npm finds ``name`` required from the package at ``parent``: its own node_modules, then upwards."""
    folder = parent
    while True:
        candidate = posixpath.join(folder, "node_modules", name) if folder else f"node_modules/{name}"
        if candidate in packages:
            return candidate
        if not folder:
            return None
        # "node_modules/a/node_modules/b" -> "node_modules/a"; "node_modules/a" -> "".
        head, _, _ = folder.rpartition("/node_modules/")
        folder = head if head else ""


def lock(ours: dict[str, Any], package: dict[str, Any]) -> dict[str, Any]:
    """Our lock file keeping the root (as the town's ``package``) and what its dependencies reach."""
    packages: dict[str, Any] = ours["packages"]
    keep: set[str] = set()
    todo = [("", name) for name in package["dependencies"]]
    while todo:
        parent, name = todo.pop()
        found = _resolve(packages, parent, name)
        if found is None:
            optional = packages.get(parent, {})
            if name in optional.get("optionalDependencies", {}) or name in optional.get("peerDependenciesMeta", {}):
                continue
            raise LookupError(f"{name} (required by {parent or 'the root'}) is not in package-lock.json")
        if found in keep:
            continue
        keep.add(found)
        entry = packages[found]
        todo.extend((found, dep) for kind in DEPENDENCY_KINDS for dep in entry.get(kind, {}))
    root = {"name": package["name"], "dependencies": package["dependencies"]}
    kept = {path: packages[path] for path in packages if path in keep}
    return {
        "name": package["name"],
        "lockfileVersion": ours["lockfileVersion"],
        "requires": True,
        "packages": {"": root, **kept},
    }


def derived(repo: Path) -> dict[str, str]:
    """The two files' text, from this repository's package.json and package-lock.json."""
    ours = json.loads((repo / "package.json").read_text(encoding="utf-8"))
    package = manifest(ours)
    locked = lock(json.loads((repo / "package-lock.json").read_text(encoding="utf-8")), package)
    return {"package.json": _json(package), "package-lock.json": _json(locked)}


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - a developer's command, checked by tests/test_init.py
    for name, text in derived(Path.cwd()).items():
        (TOWN / name).write_text(text, encoding="utf-8")
        print(f"scritto {TOWN / name}")
