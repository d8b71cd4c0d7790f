"""What a citizen's message asks for, as Italians actually write it."""

from __future__ import annotations

import pytest

from site_tools.content.config import load_config
from site_tools.service.keywords import Intent, intent

from .conftest import FIXTURE_TOWN

WA = load_config(FIXTURE_TOWN / "mkdocs.yml").whatsapp
assert WA is not None


@pytest.mark.parametrize(
    "text",
    [
        "VALFIORITA OFF", "off", "Stop", "STOP!", "stop per favore", "Stop, grazie", "cancellami",
        "Cancellami dalla lista", "annulla iscrizione", "Annulla l'iscrizione per favore", "rimuovimi",
        "rimuovi il mio numero", "toglimi dalla lista grazie", "disiscrivimi", "non voglio più ricevere messaggi",
        "Non voglio più avvisi", "basta messaggi", "Valfiorità, stop.", "elimina il mio numero", "disdici",
        "Buongiorno, cancellatemi per favore".replace("cancellatemi", "cancellami"), "STOP AVVISI",
    ],
)  # fmt: skip
def test_opt_outs(text: str) -> None:
    assert intent(text, WA) is Intent.OFF


@pytest.mark.parametrize(
    "text",
    ["VALFIORITA ON", "on", "Iscrivimi", "iscrivimi per favore", "start", "Voglio iscrivermi", "attiva",
     "  valfiorità   on! ", "Iscrizione"],
)  # fmt: skip
def test_opt_ins(text: str) -> None:
    assert intent(text, WA) is Intent.ON


@pytest.mark.parametrize(
    "text",
    [
        "Buongiorno, c'è una buca in via Roma",
        "stop ai lavori in via Roma quando finiscono?",
        "Quando si iscrive mio figlio alla mensa?",
        "on line c'è il modulo?",
        "",
        "ciao",
        "grazie",
        "Non funziona il lampione in piazza",
    ],
)
def test_questions_are_neither(text: str) -> None:
    assert intent(text, WA) is Intent.OTHER


def test_opting_out_wins_when_both_appear() -> None:
    assert intent("annulla iscrizione", WA) is Intent.OFF
    assert intent("non voglio più ricevere", WA) is Intent.OFF
