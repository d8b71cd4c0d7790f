"""The ``site-tools`` command as editors and CI run it: its exit codes, and what it prints, in Italian."""

from __future__ import annotations

from pathlib import Path

from .command import Ran, site_tools
from .conftest import FIXTURE_TOWN, REPO, Town

BROKEN = REPO / "tests" / "fixtures" / "broken"


def run(*args: str, cwd: Path = FIXTURE_TOWN, input: str | None = None, env: dict[str, str] | None = None) -> Ran:
    return site_tools(*args, cwd=cwd, input=input, env=env)


def test_validate_passes_on_the_demo_town(the_demo: Path) -> None:
    result = run("validate", cwd=REPO)  # about the demo itself: the repository's own content/
    assert result.returncode == 0, result.stderr
    assert "nessun problema" in result.stdout


def test_validate_lists_every_problem_of_a_broken_folder_in_one_run() -> None:
    result = run("validate", str(BROKEN))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    expected = [
        ("2026-11-20-chiusura.md:4: [date]", "31 febbraio"),
        ("2026-11-20-chiusura.md:5: [categoria]", "«categories»"),
        ("2026-11-20-chiusura.md:6: [summary]", "troppo corto"),
        ("2026-11-20-chiusura.md:7: [priority]", "urgent"),
        ("2026-11-20-chiusura.md:10: [testo]", "<script>"),
        ("2026-11-20-chiusura.md:10: [testo]", "non-esiste.md"),
        ("2026-11-20-evento.md:2: [id]", "già usato"),
        ("2026-11-20-evento.md:5: [categories]", "feste"),
        ("2026-11-20-evento.md:9: [event.end]", "prima di cominciare"),
        ("2026-11-20-evento.md:10: [expires]", "scadenza"),
        ("2026-11-20-evento.md:11: [cancels]", "avviso-che-non-esiste"),
        ("2026-11-20-evento.md:14: [testo]", "<iframe>"),
        ("2026-11-20-evento.md:16: [testo]", "img/mappa.png"),
        ("2026-11-21-latin1.md:3:", "UTF-8"),
        ("2026-11-22-senza-intestazione.md:1:", "intestazione"),
        ("2026-11-23-yaml-rotto.md:4:", "YAML"),
    ]
    raw = result.stderr.splitlines()
    lines = [raw[i] + raw[i + 1] for i in range(len(raw) - 1) if "➜" in raw[i + 1]]  # problem + its fix
    for where, what in expected:
        assert any(where in line and what in line for line in lines), (where, what, result.stderr)
    assert "Come correggere" in result.stderr
    assert "Trovati 17 problemi in 5 file" in result.stderr


def test_validate_writes_github_annotations_in_ci() -> None:
    result = run("validate", str(BROKEN / "2026-11-20-chiusura.md"), env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1
    assert "::error file=../broken/2026-11-20-chiusura.md,line=4,title=Campo date::" in result.stdout


def test_a_bad_config_is_reported_not_a_traceback(town: Town) -> None:
    (town.root / "mkdocs.yml").write_text("site_name: x\nextra: {town: {name: 3}}\n", encoding="utf-8")
    result = run("validate", cwd=town.root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "mkdocs.yml" in result.stderr


def test_no_config_anywhere(tmp_path: Path) -> None:
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 1 and "mkdocs.yml" in result.stderr and "Traceback" not in result.stderr


def test_new_asks_and_writes_a_valid_bulletin(town: Town) -> None:
    answers = "Chiusura del ponte Vecchio per verifiche\nIl ponte Vecchio è chiuso da domani per le verifiche dopo la piena.\nviabilita\nurgent\n"
    result = run("new", "--date", "2026-11-24 07:00", cwd=town.root, input=answers)
    assert result.returncode == 0, result.stderr
    path = town.bulletins / "2026" / "2026-11-24-chiusura-del-ponte-vecchio-per-verifiche.md"
    assert path.is_file()
    unfinished = run("validate", str(path), cwd=town.root)  # the template's placeholder must not reach the phones
    assert unfinished.returncode == 1 and "Scrivi qui il testo completo" in unfinished.stderr
    path.write_text(
        path.read_text(encoding="utf-8").split("---\n\n")[0] + "---\n\nIl ponte è chiuso.\n", encoding="utf-8"
    )
    assert run("validate", str(path), cwd=town.root).returncode == 0
    from site_tools.content.frontmatter import parse_bulletin

    bulletin, problems = parse_bulletin(path, town.config)
    assert problems == [] and bulletin.urgent and bulletin.categories == ("viabilita",)
    assert bulletin.id == path.stem
    # The same title and date again: refused, the first file untouched.
    before = path.read_bytes()
    again = run("new", "--date", "2026-11-24 07:00", cwd=town.root, input=answers)
    assert again.returncode == 1 and path.read_bytes() == before


def test_new_with_bad_input_writes_nothing(town: Town) -> None:
    result = run(
        "new",
        "--title",
        "Ok titolo",
        "--summary",
        "corta",
        "--category",
        "feste",
        "--priority",
        "normal",
        "--date",
        "2026-11-24",
        cwd=town.root,
    )
    assert result.returncode == 1
    assert "feste" in result.stderr and "summary" in result.stderr
    assert list(town.bulletins.rglob("*.md")) == []


def test_new_refuses_an_impossible_date(town: Town) -> None:
    result = run(
        "new",
        "--title",
        "Ok titolo",
        "--summary",
        "x" * 30,
        "--category",
        "meteo",
        "--priority",
        "normal",
        "--date",
        "2026-02-30",
        cwd=town.root,
    )
    assert result.returncode == 1 and "30 febbraio" in result.stderr  # a problem in Italian, as for the file
    assert list(town.bulletins.rglob("*.md")) == []


def test_new_interrupted_says_so_in_italian_and_keeps_the_answers_as_options(town: Town) -> None:
    """Review: Ctrl-D before any mistake printed click's English «Aborted!» and the answers typed were lost."""
    result = run("new", cwd=town.root, input="Chiusura del ponte sul Fiora\n")
    assert result.returncode == 1
    assert "Aborted" not in result.stderr and "nessun avviso è stato scritto" in result.stderr
    assert "--title 'Chiusura del ponte sul Fiora'" in result.stderr
    assert list(town.bulletins.rglob("*.md")) == []


def test_new_takes_a_priority_typed_in_capitals(town: Town) -> None:
    """A hurried editor types «URGENT» (caps lock): click answered in English and asked again."""
    from .command import site_tools

    answers = "Strada chiusa per lavori in via Roma\n" + (
        "Da lunedì via Roma è chiusa al traffico per lavori alla rete idrica, per due settimane.\n1\nURGENT\n"
        + "\n" * 6  # the optional questions (date, expiry, event), skipped with Enter
    )
    run = site_tools("new", cwd=town.root, input=answers, env={"SITE_TOOLS_NOW": "2026-11-23 12:00"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is not one of" not in run.stderr
    (written,) = town.bulletins.rglob("*strada-chiusa*.md")
    assert "priority: urgent" in written.read_text(encoding="utf-8")
