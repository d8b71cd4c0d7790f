"""What the sender does with each API error: one table, from the spec.

Rule (the APIs' own documentation, and what they were seen to do): branch on the error *code*
(``error.code`` for Meta, HTTP status plus ``parameters.retry_after`` for
Telegram), never on the message text, and never on the HTTP status alone
(Meta has answered throttling with both 400 and 429).
"""

from __future__ import annotations

from enum import Enum


class Action(str, Enum):
    STOP_RUN = "stop_run"  # credentials, permissions, template: the same will happen to everyone
    THROTTLE = "throttle"  # slow down the whole run, back off, retry
    RETRY_LATER = "retry_later"  # this recipient only, later (pair rate)
    DEFER = "defer"  # this recipient only, not before 24 hours (the citizen's marketing cap)
    RETRY = "retry"  # transient: retry with backoff, a bounded number of times
    MAINTENANCE = "maintenance"  # retry after about a minute
    PERMANENT = "permanent"  # do not retry this recipient; count it
    PAUSE_RUN = "pause_run"  # quality or messaging limit: stop cleanly, leave the rest pending
    OPT_OUT = "opt_out"  # the citizen stopped these messages


_TABLE: dict[Action, tuple[int, ...]] = {
    Action.STOP_RUN: (
        0,
        190,
        10,
        131005,
        368,
        131031,
        131042,
        133010,
        132000,
        132001,
        132005,
        132007,
        132012,
        132018,
        132015,
        132016,
    ),
    Action.THROTTLE: (4, 80007, 130429),
    Action.RETRY_LATER: (131056,),
    Action.DEFER: (131049,),
    Action.RETRY: (1, 2, 131000, 131016, 133004),
    Action.MAINTENANCE: (131057,),
    Action.PERMANENT: (131026, 131047, 100, 131008, 131009, 131021, 131051),
    Action.PAUSE_RUN: (131048,),
    Action.OPT_OUT: (131050,),
}
_BY_CODE = {code: action for action, codes in _TABLE.items() for code in codes}

#: Short Italian explanations for editors' reports (by code).
EXPLAIN: dict[int, str] = {
    0: "autenticazione non riuscita: controlla WHATSAPP_TOKEN",
    190: "il token di accesso è scaduto o non valido: rigeneralo nel Business Manager",
    10: "permesso negato all'app",
    131005: "permesso negato all'app",
    368: "numero bloccato per violazione delle regole",
    131031: "account WhatsApp bloccato",
    131042: "problema di pagamento sull'account WhatsApp",
    133010: "il numero mittente non è registrato",
    132000: "il numero di parametri non corrisponde al modello approvato",
    132001: "il modello non esiste o non è approvato in italiano",
    132005: "il testo del modello compilato supera i 1.024 caratteri",
    132007: "il modello viola le regole di formato",
    132012: "formato di un parametro non valido",
    132018: "un parametro contiene a capo, tabulazioni o troppi spazi",
    132015: "il modello è in pausa per bassa qualità",
    132016: "il modello è stato disattivato",
    130429: "limite di velocità del numero raggiunto",
    131056: "troppi messaggi allo stesso cittadino",
    131026: "messaggio non recapitabile (numero non su WhatsApp o app vecchia)",
    131047: "sono passate più di 24 ore dall'ultimo messaggio del cittadino",
    131048: "limite di qualità o di messaggi giornalieri raggiunto",
    131049: "limite di messaggi di marketing per questo cittadino",
    131050: "il cittadino ha bloccato i messaggi di marketing",
}


def classify_whatsapp(code: int | None, http_status: int) -> Action:
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if 200 <= code_or(code, 0) < 300:  # 200–299: permission family
        return Action.STOP_RUN
    if http_status in (401, 403):
        return Action.STOP_RUN
    if http_status == 429:
        return Action.THROTTLE
    if http_status >= 500 or code is None:
        return Action.RETRY
    return Action.PERMANENT


def code_or(code: int | None, default: int) -> int:
    return default if code is None else code


def classify_telegram(http_status: int, retry_after: float | None) -> Action:
    if http_status == 429 or retry_after is not None:
        return Action.THROTTLE
    if http_status in (401, 403, 404):
        return Action.STOP_RUN  # bad token, bot removed or not an administrator
    if http_status >= 500:
        return Action.RETRY
    return Action.STOP_RUN  # 400: bad request (entities, chat id): same on every retry
