"""The editors' side: a new town's tests, slips caught by validate, stable addresses, `new`, the preview."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from site_tools.content.config import CHANNELS
from site_tools.content.loading import load_content
from site_tools.content.problems import NOTHING_PUBLISHED, Problem, format_report
from site_tools.content.slips import NEW_BODY
from site_tools.content.validation import GENERATED_PAGES, page_path

from .conftest import FIXTURE_TOWN, REPO, Town, good

# The only tests about the demo itself (its content/ and mkdocs.yml at the repository root), and the watch that
# fails any other test reading them (conftest.py) with its own tests.
DEMO_TESTS = {"test_demo.py", "conftest.py", "test_own_fixture_town.py"}


def test_the_tests_read_their_own_fixture_town_not_the_demo() -> None:
    assert (FIXTURE_TOWN / "mkdocs.yml").is_file() and list((FIXTURE_TOWN / "content" / "notizie").rglob("*.md"))
    repo = "REPO"  # spelled apart so this test does not find itself
    demo_paths = re.compile(repo + r'\s*/\s*"(content|mkdocs\.yml)"|Path = ' + repo + r"\b|generate_town\(" + repo)
    readers = [p.name for p in (REPO / "tests").glob("*.py") if demo_paths.search(p.read_text(encoding="utf-8"))]
    assert set(readers) <= DEMO_TESTS, readers
    cli_tests = (REPO / "tests" / "test_cli.py").read_text(encoding="utf-8")
    assert cli_tests.count("cwd=" + repo) == 1  # only test_validate_passes_on_the_demo_town


# -- 1. slips caught by validate ----------------------------------------------------------------------------------


def problems_of(town: Town) -> list[Problem]:
    content = load_content(town.config)
    content.check_bodies()
    return content.problems


def test_the_placeholder_of_new_is_an_error(town: Town) -> None:
    path = town.write("2026-11-20-chiusura.md", good(), body=f"{NEW_BODY}\n")
    (problem,) = problems_of(town)
    assert problem.file.endswith(path.name) and problem.field == "testo" and problem.line == 9
    assert "Scrivi qui il testo completo" in problem.message and "sostituiscilo" in problem.fix
    # Kept among other text (the editor wrote above it), still caught.
    town.write("2026-11-20-chiusura.md", good(), body=f"Via Roma è chiusa.\n\n{NEW_BODY}\n")
    assert [p.field for p in problems_of(town)] == ["testo"]


def test_a_hash_in_an_unquoted_title_is_an_error_with_the_quoted_fix(town: Town) -> None:
    header = good().replace("title: Chiusura di via Roma per lavori", "title: Avviso #3 via Sant'Anna chiusa")
    town.write("2026-11-20-chiusura.md", header)
    (problem,) = problems_of(town)
    assert problem.field == "title" and problem.line == 3
    assert "«Avviso»" in problem.message and "«Avviso #3 via Sant'Anna chiusa»" in problem.message
    assert problem.fix.endswith('title: "Avviso #3 via Sant\'Anna chiusa"')
    # The fix, applied literally, validates; a quoted «#» and a hash without a space before it are fine.
    town.write(
        "2026-11-20-chiusura.md",
        header.replace("title: Avviso #3 via Sant'Anna chiusa", "title: " + problem.fix.split("title: ")[1]),
    )
    town.write("2026-11-21-pec.md", good("2026-11-21-pec", area="Civico n.#3, 'via' Verdi"), folder="2026")
    assert problems_of(town) == []
    assert load_content(town.config).bulletins[0].title == "Avviso #3 via Sant'Anna chiusa"


def _guide() -> str:
    return (REPO / "docs" / "redazione" / "guida.md").read_text(encoding="utf-8")


def test_every_example_and_link_form_of_the_editors_guide_validates(town: Town) -> None:
    guide = _guide()
    examples = re.findall(r"```markdown\n(.*?)```", guide, re.DOTALL)
    assert examples, "the guide shows a whole bulletin"
    for example in examples:
        bid = re.search(r"^id: (\S+)$", example, re.MULTILINE)
        assert bid is not None
        (town.bulletins / "2026").mkdir(parents=True, exist_ok=True)
        (town.bulletins / "2026" / f"{bid.group(1)}.md").write_text(example, encoding="utf-8")
    # Every link the guide teaches, written in a bulletin of content/notizie/2026/ as the guide says.
    links = re.findall(r"\]\(([^)\s]+\.md[^)\s]*)\)", guide) + re.findall(r"`(\.\./[^`\s]+\.md)`", guide)
    assert len(links) >= 2, links
    body = "\n\n".join(f"Vedi [questo]({link})." for link in links) + "\n"
    town.write("2026-11-21-rimandi.md", good("2026-11-21-rimandi"), body=body)
    assert problems_of(town) == []


# -- 4. messages only in Italian ----------------------------------------------------------------------------------

ENGLISH = re.compile(r"\b(found|expected|mapping|scanning|parsing|character|stream|token|while)\b")


def test_yaml_errors_are_told_in_italian_with_the_line_and_a_tab_named(town: Town) -> None:
    town.write("2026-11-20-tab.md", good("2026-11-20-tab").replace("summary:", "\tsummary:"))
    town.write("2026-11-21-due-punti.md", good("2026-11-21-due-punti").replace("per lavori", "per lavori: ordinanza"))
    town.write("2026-11-22-elenco.md", good("2026-11-22-elenco").replace("[viabilita]", "[viabilita"))
    town.write("2026-11-23-virgolette.md", good("2026-11-23-virgolette").replace("title: ", "title: 'Chiusura"))
    found = {p.file.rsplit("/", 1)[1]: p for p in problems_of(town)}
    assert set(found) == {
        "2026-11-20-tab.md",
        "2026-11-21-due-punti.md",
        "2026-11-22-elenco.md",
        "2026-11-23-virgolette.md",
    }
    for problem in found.values():
        assert not ENGLISH.search(problem.message + problem.fix), problem
        assert problem.line is not None
    tab = found["2026-11-20-tab.md"]
    assert "tabulazione (TAB)" in tab.message and tab.line == 6 and "spazi" in tab.fix
    assert "«: »" in found["2026-11-21-due-punti.md"].message and found["2026-11-21-due-punti.md"].line == 3
    assert "parentesi quadre" in found["2026-11-22-elenco.md"].message
    assert "virgoletta" in found["2026-11-23-virgolette.md"].message


def test_one_problem_is_told_in_the_singular(town: Town) -> None:
    assert format_report([Problem("a.md", 1, "title", "x.", "y.")], NOTHING_PUBLISHED).endswith(
        "Trovato 1 problema in 1 file. Nulla è stato pubblicato."
    )
    two = [Problem("a.md", 1, "title", "x.", "y."), Problem("b.md", 2, "date", "x.", "y.")]
    assert format_report(two, NOTHING_PUBLISHED).endswith("Trovati 2 problemi in 2 file. Nulla è stato pubblicato.")


# -- 2. stable addresses ------------------------------------------------------------------------------------------


@pytest.mark.slow  # Git history and the command in a process
def test_renaming_a_published_bulletins_file_keeps_its_address_on_the_site_and_in_messages(
    town: Town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from site_tools.render.links import Links
    from site_tools.render.telegram import render_telegram
    from site_tools.site.build import build_site

    monkeypatch.setenv("SITE_TOOLS_NOW", "2026-11-23 12:00")
    first = town.write(
        "2026-11-20-chiusura-via-roma.md", good(), body="Via Roma è chiusa. [Iscriviti](../../iscriviti.md)\n"
    )
    (sent,) = load_content(town.config).bulletins
    address = sent.url(town.config)  # what the phones received
    assert address.endswith("/notizie/2026/11/chiusura-via-roma/")
    first.rename(first.with_name("2026-11-20-via-roma-chiusa-per-lavori.md"))  # an editor tidies the name
    (renamed,) = load_content(town.config).bulletins
    assert renamed.url(town.config) == address
    assert address in "".join(render_telegram(renamed, town.config, Links.for_bulletins(town.config, [renamed])))
    site = build_site(town.root / "mkdocs.yml", tmp_path / "site", strict=True)
    page = site / "notizie/2026/11/chiusura-via-roma/index.html"
    assert "Chiusura di via Roma per lavori" in page.read_text(encoding="utf-8")
    assert not (site / "notizie/2026/11/via-roma-chiusa-per-lavori").exists()
    for generated in GENERATED_PAGES:  # the pages a link may name by their .md file (the guide's example)
        assert (site / page_path(generated) / "index.html").is_file(), generated


def _git(root: Path, *args: str, date: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "r", "GIT_AUTHOR_EMAIL": "r@x", "GIT_COMMITTER_NAME": "r"}
    env |= {"GIT_COMMITTER_EMAIL": "r@x"} | ({"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {})
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def _validate(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITE_TOOLS_NOW": "2026-11-23 12:00", "GITHUB_ACTIONS": "true"}
    env.pop("GITHUB_BASE_REF", None)
    return subprocess.run(
        [sys.executable, "-m", "site_tools", "validate"], cwd=root, env=env, capture_output=True, text=True
    )


@pytest.mark.slow  # Git history and the command in a process
def test_validate_warns_when_a_published_bulletins_address_would_change(town: Town) -> None:
    path = town.write("2026-11-20-chiusura-via-roma.md", good())
    town.write("2026-11-21-mercato.md", good("2026-11-21-mercato"))
    _git(town.root, "init", "-q")
    _git(town.root, "add", "-A")
    _git(town.root, "commit", "-qm", "pubblicati")
    path.rename(path.with_name("2026-11-20-via-roma-chiusa.md"))  # renamed: same address, no warning
    quiet = _validate(town.root)
    assert quiet.returncode == 0 and "Attenzione" not in quiet.stderr, quiet.stderr
    moved = path.with_name("2026-11-20-via-roma-chiusa.md")
    moved.write_text(
        moved.read_text(encoding="utf-8").replace("date: 2026-11-20", "date: 2026-10-20"), encoding="utf-8"
    )
    (town.bulletins / "2026" / "2026-11-21-mercato.md").unlink()
    loud = _validate(town.root)
    assert loud.returncode == 0, loud.stderr  # a warning: the editor decides
    assert "Attenzione:" in loud.stderr and "/notizie/2026/11/chiusura-via-roma/ a " in loud.stderr
    assert "«2026-11-21-mercato» sparirebbe" in loud.stderr and "cancels: 2026-11-21-mercato" in loud.stderr
    assert "::warning file=content/notizie/2026/2026-11-20-via-roma-chiusa.md,line=4" in loud.stdout


# -- 3. site-tools new ---------------------------------------------------------------------------------------------


def _new(town: Town, *args: str, input: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "site_tools", "new", *args]
    return subprocess.run(cmd, cwd=town.root, input=input, capture_output=True, text=True, timeout=120)


def test_new_lists_the_categories_and_asks_again_only_the_wrong_answer(town: Town) -> None:
    summary = "Il ponte Vecchio è chiuso da domani per le verifiche dopo la piena."
    # title, a too short summary, an unknown category, priority, no date, no expiry, not an event;
    # then only summary and category again.
    answers = f"Chiusura del ponte Vecchio\ncorta\nfeste\nurgent\n\n\n\n{summary}\n4\n"
    result = _new(town, input=answers)
    assert result.returncode == 0, result.stderr
    assert "4. viabilita – Viabilità" in result.stderr or "4. viabilita – Viabilità" in result.stdout
    shown = result.stdout + result.stderr
    assert shown.count("Titolo dell'avviso") == 1 and shown.count("Priorità") == 1  # kept, not asked again
    assert (
        shown.count("Sintesi") == 2
        and "«summary» è troppo corto" in shown
        and "la categoria «feste» non esiste" in shown
    )
    (path,) = town.bulletins.rglob("*.md")
    text = path.read_text(encoding="utf-8")
    assert "categories:\n- viabilita" in text and "priority: urgent" in text and summary in text
    assert "\ndate:" not in text  # dated when merged


def test_a_bulletin_without_a_date_is_dated_by_its_merge_not_when_it_was_written(town: Town) -> None:
    from datetime import datetime, timedelta

    from site_tools.delivery.plan import DEFAULT_MAX_AGE

    result = _new(
        town,
        "--priority",
        "normal",
        input="Mercato spostato in piazza\nIl mercato del sabato si tiene in piazza Garibaldi.\nviabilita\n\n",
    )
    assert result.returncode == 0, result.stderr
    (path,) = town.bulletins.rglob("*.md")
    path.write_text(path.read_text(encoding="utf-8").replace(NEW_BODY, "Il mercato è in piazza."), encoding="utf-8")
    (draft,) = load_content(town.config).bulletins
    assert draft.dated_at_merge and abs(draft.date - datetime.now(town.config.timezone)) < timedelta(minutes=2)
    # Written on a branch five days ago, merged now: dated at the merge, not too old to send.
    _git(town.root, "init", "-q", "-b", "main")
    _git(town.root, "commit", "-q", "--allow-empty", "-m", "inizio", date="2026-11-01T08:00:00+01:00")
    _git(town.root, "checkout", "-q", "-b", "avviso")
    _git(town.root, "add", "-A")
    _git(town.root, "commit", "-qm", "nuovo avviso", date="2026-11-20T08:00:00+01:00")
    _git(town.root, "checkout", "-q", "main")
    _git(town.root, "merge", "-q", "--no-ff", "-m", "merge", "avviso", date="2026-11-25T10:15:00+01:00")
    merged = datetime.fromisoformat("2026-11-25T10:15:00+01:00")
    from site_tools.content import merged as cache

    cache._cache.clear()
    (bulletin,) = load_content(town.config).bulletins
    assert bulletin.date == merged and bulletin.url_path.startswith("notizie/2026/11/")
    assert bulletin.date >= merged - DEFAULT_MAX_AGE
    # Renamed later: still dated by its merge.
    _git(town.root, "mv", str(path), str(path.with_name("2026-11-20-mercato-in-piazza.md")))
    _git(town.root, "commit", "-qm", "rinomina", date="2026-11-28T09:00:00+01:00")
    cache._cache.clear()
    assert load_content(town.config).bulletins[0].date == merged


def test_new_writes_the_date_only_when_the_editor_schedules_it(town: Town) -> None:
    answers = "Festa degli alberi\nDomenica si piantano gli alberi nel parco comunale.\neventi\nnormal\n2026-12-06 10:00\n\n\n"
    assert _new(town, input=answers).returncode == 0
    (path,) = town.bulletins.rglob("*.md")
    assert "date: 2026-12-06 10:00" in path.read_text(encoding="utf-8") and path.parent.name == "2026"


# -- 5. the pull request's preview ---------------------------------------------------------------------------------


def _preview(town: Town, *paths: Path, now: str = "2026-11-20 12:00") -> str:
    out = town.root / "summary.md"
    out.unlink(missing_ok=True)  # preview appends (to $GITHUB_STEP_SUMMARY)
    cmd = [sys.executable, "-m", "site_tools", "preview", *map(str, paths), "--now", now, "--recipients", "100"]
    env = {**os.environ, "SITE_TOOLS_DB": ""}
    result = subprocess.run([*cmd, "--output", str(out)], cwd=town.root, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


def _section(preview: str, label: str) -> str:
    return preview.split(f"**{label}**", 1)[1].split("\n**", 1)[0]


def test_the_preview_shows_the_telegram_post_as_a_reader_sees_it_and_the_lists_opt_out_footer(town: Town) -> None:
    body = "Via Roma è **chiusa** dalle 8 & fino alle 18: [il modulo](https://example.org/modulo).\n"
    path = town.write("2026-11-20-chiusura.md", good(priority="urgent"), body=body)
    text = _preview(town, path)
    telegram = _section(text, "Telegram")
    assert "<b>" not in telegram and "</a>" not in telegram and "&amp;" not in telegram
    assert "> 🔴 **URGENTE**" in telegram and "> **Chiusura di via Roma per lavori**" in telegram
    assert "**chiusa** dalle 8 & fino alle 18: [il modulo](https://example.org/modulo)" in telegram
    assert (
        "[Leggi sul sito del Comune](https://avvisi.valfiorita.example.it/notizie/2026/11/chiusura-via-roma/)"
        in telegram
    )
    assert "\nPer non ricevere più avvisi scrivi VALFIORITA OFF\n" in _section(text, "Lista WhatsApp")


def test_a_cancellation_carries_annullato_on_every_channel_the_whatsapp_list_included(town: Town) -> None:
    from site_tools import channels
    from site_tools.render.links import Links
    from site_tools.render.whatsapp_template import render_template
    from site_tools.settings import Settings

    town.write("2026-11-20-chiusura-via-roma.md", good())
    path = town.write(
        "2026-11-21-via-roma-riaperta.md", good("2026-11-21-via-roma-riaperta", cancels="2026-11-20-chiusura-via-roma")
    )
    content = load_content(town.config)
    (cancelling,) = [b for b in content.bulletins if b.cancels]
    links = Links.for_bulletins(town.config, content.bulletins)
    by_name = channels.create(town.config, Settings.from_env({}))
    assert set(by_name) == set(CHANNELS)  # every channel, configured or not, says ANNULLATO
    for name, channel in by_name.items():
        assert "ANNULLATO" in "".join(channel.render(cancelling, links).parts), name
    template = render_template(cancelling, town.config)
    assert template.payload("393331234567")["template"]["components"][0]["parameters"][0]["text"].startswith(
        "ANNULLATO – "
    )
    assert "\nANNULLATO – Chiusura di via Roma" in _section(_preview(town, path), "Lista WhatsApp")


@pytest.mark.slow  # Git history and the command in a process
def test_the_preview_warns_when_the_date_will_be_too_old_at_merge(town: Town) -> None:
    from site_tools.delivery.plan import DEFAULT_MAX_AGE

    dated = town.write("2026-11-20-chiusura-via-roma.md", good())  # date: 2026-11-20 08:30
    undated = town.write("2026-11-21-mercato.md", good("2026-11-21-mercato").replace("date: 2026-11-20 08:30\n", ""))
    late = _preview(town, dated, undated, now="2026-11-24 09:00")
    assert late.count("⚠️") == 1 and f"più di {DEFAULT_MAX_AGE.days} giorni" in late
    assert "dopo il 23/11/2026 alle 08:30" in late and "Togli la riga «date:»" in late
    assert "⚠️" in _preview(town, dated, now="2026-11-22 12:00")  # less than a day left
    assert "⚠️" not in _preview(town, dated, now="2026-11-20 12:00")


# -- 6. the editors' guide followed literally -----------------------------------------------------------------------


def test_the_guide_puts_github_com_first_then_the_local_way_with_its_setup(town: Town) -> None:
    guide = _guide()
    sections = re.findall(r"^## (.+)$", guide, re.MULTILINE)
    web, github, local = (
        next(i for i, s in enumerate(sections) if word in s) for word in ("editor web", "github.com", "Dal computer")
    )
    assert web < github < local
    local_text = guide.split("## Dal computer", 1)[1].split("\n## ", 1)[0]
    assert "./scripts/setup" in local_text and ".venv/bin/site-tools new" in local_text
    assert (REPO / "scripts" / "setup").is_file()
    # The quoted title the guide shows is read whole.
    (title,) = re.findall(r'`(title: "[^`]+")`', guide)
    town.write("2026-11-20-chiusura.md", good().replace("title: Chiusura di via Roma per lavori", title))
    assert problems_of(town) == [] and load_content(town.config).bulletins[0].title == "Avviso #3: via Sant'Anna chiusa"


def test_an_undated_bulletin_in_a_shallow_clone_is_refused_not_dated_by_the_last_push(
    town: Town, tmp_path: Path
) -> None:
    town.write("2026-11-21-mercato.md", good("2026-11-21-mercato").replace("date: 2026-11-20 08:30\n", ""))
    _git(town.root, "init", "-q", "-b", "main")
    _git(town.root, "add", "-A")
    _git(town.root, "commit", "-qm", "avviso", date="2026-11-21T08:00:00+01:00")
    _git(town.root, "commit", "-q", "--allow-empty", "-m", "dopo", date="2026-11-26T08:00:00+01:00")
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{town.root}", str(clone))
    from site_tools.content.config import load_config

    (problem,) = load_content(load_config(clone / "mkdocs.yml")).problems
    assert "fetch-depth: 0" in problem.fix and "shallow" in problem.message
    # Every job that reads the bulletins checks out the whole history (the publish job's checkout, for the
    # editors' issues, reads none: the service publishes from its own full clone).
    import yaml

    reading = ("site-tools validate", "site-tools build", "site-tools preview", "site-tools publish")
    for workflow in (REPO / ".github" / "workflows").glob("*.yml"):
        for name, job in yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"].items():
            steps = job.get("steps", [])
            if any(command in step.get("run", "") for step in steps for command in reading):
                for step in steps:
                    if step.get("uses", "").startswith("actions/checkout@"):
                        assert step.get("with", {}).get("fetch-depth") == 0, f"{workflow.name}: {name}"


@pytest.mark.slow  # Git history and the command in a process
def test_renaming_a_published_undated_bulletin_raises_no_warning(town: Town) -> None:
    path = town.write("2026-11-21-mercato.md", good("2026-11-21-mercato").replace("date: 2026-11-20 08:30\n", ""))
    _git(town.root, "init", "-q", "-b", "main")
    _git(town.root, "add", "-A")
    _git(town.root, "commit", "-qm", "avviso", date="2026-10-21T08:00:00+01:00")
    path.write_text(path.read_text(encoding="utf-8") + "\nCorretto un refuso.\n", encoding="utf-8")
    quiet = _validate(town.root)
    assert quiet.returncode == 0 and "Attenzione" not in quiet.stderr, quiet.stderr
    path.write_text(path.read_text(encoding="utf-8").replace("id: 2026-11-21-mercato", "id: 2026-11-21-mercato-piazza"))
    assert "da https://avvisi.valfiorita.example.it/notizie/2026/10/mercato/ a" in _validate(town.root).stderr
