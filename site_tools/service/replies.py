"""The automatic answers citizens receive, in plain Italian."""

from __future__ import annotations

from datetime import datetime, timedelta

from site_tools.content.config import TownConfig
from site_tools.content.dates import WEEKDAYS_IT
from site_tools.formatting import count
from site_tools.store.choices import DEFAULT, DESCRIPTIONS, URGENT_ONLY, offered


def subscribed(config: TownConfig, choice: str = DEFAULT) -> str:
    wa = config.whatsapp
    assert wa is not None
    return (
        f"✅ Iscrizione confermata: riceverai qui {DESCRIPTIONS[choice]} del {config.name}.\n\n"
        f"{how_to_choose(config, choice)}\n\n"
        f"Il tuo numero non è visibile agli altri iscritti. Per non ricevere più avvisi scrivi «{wa.off_message}». "
        f"Gli avvisi sul sito: {config.site_url}"
    )


def chosen(config: TownConfig, choice: str) -> str:
    """The answer to a subscriber who changed their choice."""
    wa = config.whatsapp
    assert wa is not None
    return (
        f"✅ Scelta aggiornata: da ora riceverai qui {DESCRIPTIONS[choice]} del {config.name}.\n\n"
        f"{how_to_choose(config, choice)} Per non ricevere più avvisi scrivi «{wa.off_message}»."
    )


def how_to_choose(config: TownConfig, choice: str) -> str:
    """The other choices and their keywords: «Puoi cambiare: per ricevere solo gli avvisi urgenti scrivi
    «VALFIORITA URGENTI»; …»."""
    wa = config.whatsapp
    assert wa is not None
    others = [
        f"per ricevere {DESCRIPTIONS[c]} scrivi «{wa.choice_message(c)}»"
        for c in offered(config.digest is not None)
        if c != choice
    ]
    return f"Puoi cambiare: {'; '.join(others)}."


def unsubscribed(config: TownConfig) -> str:
    wa = config.whatsapp
    assert wa is not None
    return (
        f"Cancellazione confermata: da ora non riceverai più avvisi del {config.name} su questo numero. "
        f"Per iscriverti di nuovo scrivi «{wa.on_message}»; per ricevere {DESCRIPTIONS[URGENT_ONLY]} "
        f"scrivi «{wa.choice_message(URGENT_ONLY)}»."
    )


def _reports(config: TownConfig) -> str:
    r = config.reports
    ways = []
    if r.toll_free:
        ways.append(f"numero verde {r.toll_free}")
    if r.form_url:
        ways.append(f"modulo online {r.form_url}")
    if r.email:
        ways.append(f"e-mail {r.email}")
    return ", ".join(ways)


def _reopening(config: TownConfig, local: datetime) -> str:
    """The counter's promise outside office hours, with the day and time it reopens."""
    opening = config.office_hours.next_opening(local)
    if opening is None:
        return " Un operatore ti risponderà appena possibile."
    day = "domani" if opening.date() == (local + timedelta(days=1)).date() else WEEKDAYS_IT[opening.weekday()]
    if opening.date() == local.date():
        day = "oggi"
    return f" La tua domanda è registrata: un operatore ti risponderà qui alla riapertura, {day} dalle {opening:%H:%M}."


def automatic_turn(config: TownConfig, moment: datetime) -> str:
    """Which automatic answer a message at ``moment`` belongs to; a citizen gets each one once.

    One a day while the office is open, and one for each closed stretch (up to the next opening):
    a citizen answered in the morning still learns in the evening that the office is closed, and
    one who writes ten times in the night is told once.
    """
    local = moment.astimezone(config.timezone)
    opening = None if config.office_hours.is_open(local) else config.office_hours.next_opening(local)
    if opening is None:  # open, or no office hours at all
        return local.date().isoformat()
    return f"fuori orario fino a {opening:%Y-%m-%d %H:%M}"


def automatic(config: TownConfig, moment: datetime) -> str:
    """The automatic answer to a message that is not a keyword: once per :func:`automatic_turn`."""
    wa = config.whatsapp
    assert wa is not None
    local = moment.astimezone(config.timezone)
    reports = _reports(config)
    if config.office_hours.is_open(local):
        if config.counter:
            text = "Grazie del messaggio: un operatore dello sportello ti risponderà qui appena possibile."
        else:
            text = "Questo numero serve a mandare avvisi e non legge i messaggi."
    else:
        text = f"Grazie del messaggio. Ora gli uffici sono chiusi: orari {config.office_hours.describe()}." + (
            _reopening(config, local) if config.counter else ""
        )
    if config.counter:
        text += (
            f" I messaggi allo sportello sono conservati per {count(config.counter.retention_days, 'giorno', 'giorni')} "
            f"(informativa: {config.site_url}privacy/)."
        )
    if reports:
        text += f" Per segnalazioni: {reports}."
    text += f" Per le emergenze chiama il 112. Per iscriverti agli avvisi scrivi «{wa.on_message}», per smettere «{wa.off_message}»."
    return text
