"""``validate`` warns, and does not refuse, when a summary is hard to read (the Gulpease index under the town's
threshold, ``extra.town.readability.gulpease_min``)."""

from __future__ import annotations

import pytest

from site_tools.content.readability import gulpease

from .command import site_tools
from .conftest import Town

HARD = (
    "Si comunica alla cittadinanza che, in ottemperanza alle disposizioni normative vigenti in materia di "
    "manutenzione straordinaria della viabilità comunale, è interdetta la circolazione veicolare lungo la carreggiata."
)
EASY = "Da lunedì via Roma è chiusa per lavori. Le auto passano da via Verdi. I lavori durano una settimana."


def bulletin(town: Town, slug: str, summary: str) -> None:
    town.write(
        f"2026-11-20-{slug}.md",
        f"""
        id: 2026-11-20-{slug}
        title: Via Roma chiusa per lavori
        date: 2026-11-20 10:00
        categories: [viabilita]
        summary: "{summary}"
        """,
    )


def with_threshold(town: Town, threshold: int) -> None:
    mkdocs = town.root / "mkdocs.yml"
    text = mkdocs.read_text(encoding="utf-8")
    anchor = "    price_per_template: 0.05\n"
    assert anchor in text
    mkdocs.write_text(text.replace(anchor, f"{anchor}    readability:\n      gulpease_min: {threshold}\n"))


def test_the_index_is_italian_gulpease_within_0_and_100() -> None:
    assert gulpease(HARD) < 40 < 60 < gulpease(EASY) <= 100
    assert gulpease("Piove.") == 100  # a very short text scores above 100: shown as 100


def test_a_hard_summary_is_a_warning_with_its_figure_and_validate_still_passes(town: Town) -> None:
    with_threshold(town, 40)
    bulletin(town, "difficile", HARD)
    bulletin(town, "facile", EASY)
    ran = site_tools("validate", cwd=town.root, env={"GITHUB_ACTIONS": "true"})
    assert ran.returncode == 0, ran.stderr
    assert "Tutto in ordine" in ran.stdout
    figure = f"{gulpease(HARD):.0f}"
    warning = (
        f"content/notizie/2026/2026-11-20-difficile.md:6: [summary] la sintesi è difficile da leggere: "
        f"indice Gulpease {figure} su 100, sotto la soglia del Comune (40)."
    )
    assert f"Attenzione: {warning}" in ran.stderr
    assert "facile.md" not in ran.stderr.replace("difficile.md", "")  # the easy one is not warned about
    annotations = [line for line in ran.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1 and annotations[0].startswith(
        "::warning file=content/notizie/2026/2026-11-20-difficile.md,line=6,title=Campo summary::"
    )
    assert f"indice Gulpease {figure} su 100" in annotations[0]


@pytest.mark.parametrize("threshold", [None, 20])
def test_no_warning_without_a_threshold_or_above_it(town: Town, threshold: int | None) -> None:
    if threshold is not None:
        with_threshold(town, threshold)
    bulletin(town, "difficile", HARD)
    ran = site_tools("validate", cwd=town.root)
    assert ran.returncode == 0 and "Gulpease" not in ran.stderr, ran.stderr


def test_a_threshold_outside_0_to_100_is_refused_in_italian(town: Town) -> None:
    with_threshold(town, 140)
    ran = site_tools("validate", cwd=town.root)
    assert ran.returncode != 0
    assert "[extra.town.readability.gulpease_min] «gulpease_min» deve essere al massimo 100" in ran.stderr
