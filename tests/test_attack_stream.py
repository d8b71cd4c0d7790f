"""Attack: text from a bulletin reaches the workflow's log at the start of a line, where GitHub's runner reads
workflow commands.

The workflow prints every streamed line as is (``printf '%s\\n' "$line"``). The runner trims leading whitespace
before looking for ``::`` (actions/runner ActionCommand.TryParseV2), so the two-space indent of the Channel post
does not protect it: a bulletin whose body has a line ``::stop-commands::x`` turns off every later annotation of
the step (the workflow's own «Pubblicazione rifiutata»/«Esito illeggibile» errors included), ``::add-mask::``
hides words of the log, and ``::set-output name=issues::true`` (still honoured by GitHub with a warning) sets the
trigger step's output. Whoever writes a bulletin (an editor in the web editor) gets to speak to the runner.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from site_tools.cli.inprocess import run_command  # noqa: F401 - installs nothing; documents the path
from site_tools.cli.publish import print_report
from site_tools.delivery.publisher import ChannelResult, PublishReport
from site_tools.service.capture import captured

HOSTILE_POST = (
    "Chiusura scuole\n"
    "Domani le scuole sono chiuse.\n"
    "::stop-commands::zitto\n"
    "::add-mask::Comune\n"
    "::set-output name=issues::true\n"
    "https://www.comune.example.it/avvisi/chiusura"
)


def runner_commands(lines: list[str]) -> list[str]:
    """The lines GitHub's runner would take for commands (leading whitespace trimmed, then ``::``)."""
    return [line for line in lines if line.lstrip().startswith("::")]


def test_attack_a_bulletins_text_becomes_workflow_commands(town: Any) -> None:
    report = PublishReport(
        results=[ChannelResult("2026-12-07-scuole", "whatsapp_channel", "manual", post=HOSTILE_POST)]
    )
    plan = SimpleNamespace(refused=[], uncertain=[], waiting=[])
    lines: list[str] = []
    with captured(lines.append):
        print_report(report, plan, town.config)  # type: ignore[arg-type]
    assert runner_commands(lines) == [], runner_commands(lines)


def test_the_services_stream_keeps_its_annotations_and_makes_other_commands_inert() -> None:
    from site_tools.service.publishing import for_the_log

    assert for_the_log("::error file=content/a.md,line=3,title=Avviso non valido::manca la data") == (
        "::error file=content/a.md,line=3,title=Avviso non valido::manca la data"
    )
    for hostile in ("::stop-commands::zitto", "  ::add-mask::Comune", "::set-output name=issues::true"):
        assert not for_the_log(hostile).lstrip().startswith("::"), hostile
    assert runner_commands(for_the_log("testo\r::add-mask::x").split("\n")) == []
