"""``site-tools whatsapp check``: Meta's side of the town, one finding per check, in Italian for staff.

Each :class:`Finding` is ``ok``, ``warning`` (said, but the command still exits 0) or ``problem`` (exit 1), and
every one that is not ok says how to fix it. Never the token, never the phone number: the number's Meta id and
its verified name are what staff compare with WhatsApp Manager.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from site_tools.channels.meta_account import THROUGHPUT, TIERS, GraphError, MetaAccount, NumberInfo
from site_tools.content.config import TownConfig
from site_tools.formatting import count
from site_tools.formatting import number as number_text
from site_tools.service.meta_templates import drift, project_templates
from site_tools.settings import Settings, reveal

OK, WARNING, PROBLEM = "ok", "attenzione", "errore"
MANAGER = "WhatsApp Manager"
T = TypeVar("T")


@dataclass(frozen=True)
class Finding:
    level: str  # OK, WARNING, PROBLEM
    subject: str
    text: str

    def line(self) -> str:
        return f"{self.level:<10} {self.subject}: {self.text}"


def exit_code(findings: list[Finding]) -> int:
    """0 when nothing is a problem (warnings included: they are said, not failed), else 1."""
    return 1 if any(f.level == PROBLEM for f in findings) else 0


def tier_for(subscribers: int) -> str:
    """The smallest messaging limit that reaches ``subscribers`` people in one day."""
    return next(tier for tier, limit in TIERS.items() if limit is None or limit >= subscribers)


def graph_fix(exc: GraphError, what: str) -> str:
    """What a Graph error means for staff, and the fix."""
    if exc.unreachable:
        return f"Graph API non raggiungibile ({exc.message}): controlla la rete del server o WHATSAPP_API_URL."
    if exc.auth:
        return "il token non è valido o è scaduto: generane uno permanente per l'utente di sistema e mettilo in WHATSAPP_TOKEN."
    if exc.permission:
        return (f"il token non ha i permessi su {what} (codice {exc.code}): dai all'utente di sistema i permessi "
                "whatsapp_business_management e whatsapp_business_messaging sull'account.")  # fmt: skip
    if exc.unknown_object:
        return f"{what} non esiste o il token non lo vede (codice 100)."
    return f"Meta risponde con un errore (codice {exc.code}, HTTP {exc.http_status})."


def settings_findings(settings: Settings) -> list[Finding]:
    missing = [
        ("WHATSAPP_TOKEN", settings.whatsapp_token, "il token permanente di un utente di sistema (Business Manager)"),
        ("WHATSAPP_PHONE_NUMBER_ID", settings.whatsapp_phone_number_id, f"il Phone number ID ({MANAGER})"),
        ("WHATSAPP_BUSINESS_ACCOUNT_ID", settings.whatsapp_business_account_id,
         f"il WhatsApp Business Account ID ({MANAGER}, impostazioni dell'account)"),
    ]  # fmt: skip
    return [
        Finding(PROBLEM, name, f"non impostato: mettici {what} (segreto del repository e del server).")
        for name, value, what in missing
        if not value
    ]


def check(
    config: TownConfig,
    settings: Settings,
    subscribers: Callable[[], int | None],
    transport: object | None = None,
) -> list[Finding]:
    """Every check, in order; ``subscribers`` counts the active subscribers (None: the store is not reachable)."""
    findings = settings_findings(settings)
    if not settings.whatsapp_token:
        return findings + [Finding(PROBLEM, "Controlli su Meta", "non fatti: senza WHATSAPP_TOKEN non si entra.")]
    account = MetaAccount(
        settings.whatsapp_api_url,
        reveal(settings.whatsapp_token),
        settings.whatsapp_phone_number_id or "",
        settings.whatsapp_business_account_id or "",
        timeout=settings.http_timeout,
        transport=transport,  # type: ignore[arg-type]
    )
    with account:
        findings += list(_remote(account, config, settings, subscribers))
    return findings


def _remote(
    account: MetaAccount, config: TownConfig, settings: Settings, subscribers: Callable[[], int | None]
) -> Iterator[Finding]:
    number: NumberInfo | GraphError | None = None
    apps: list[dict[str, object]] | GraphError | None = None
    try:  # Meta checks the token first: any other answer means the token is good
        if settings.whatsapp_phone_number_id:
            number = _attempt(account.number)
        if settings.whatsapp_business_account_id:
            apps = _attempt(account.subscribed_apps)
    except GraphError as exc:
        yield Finding(
            PROBLEM, "Connessione a Meta" if exc.unreachable else "Token di accesso", graph_fix(exc, "l'account")
        )
        return
    if number is None and apps is None:
        return
    yield Finding(OK, "Token di accesso", "valido.")
    if isinstance(number, GraphError):
        yield Finding(PROBLEM, "Numero", graph_fix(number, "WHATSAPP_PHONE_NUMBER_ID")
                      + f" Copia il Phone number ID da {MANAGER} › Numeri di telefono (non il numero stesso).")  # fmt: skip
    elif number is not None:
        yield _number_finding(number)
    if isinstance(apps, GraphError):
        yield Finding(PROBLEM, "Account WhatsApp Business", graph_fix(apps, "WHATSAPP_BUSINESS_ACCOUNT_ID")
                      + f" Copia il WhatsApp Business Account ID da {MANAGER}.")  # fmt: skip
    elif apps is not None:
        yield _subscription_finding(apps)
        yield from _template_findings(account, config)
    if isinstance(number, NumberInfo):
        yield _limit_finding(number, subscribers())
        yield _quality_finding(number)
        yield _throughput_finding(number, config.whatsapp_rate(settings.whatsapp_mps))


def _attempt(call: Callable[[], T]) -> T | GraphError:
    """The answer, or the error when it is about the object (raised when it is about the token or the network)."""
    try:
        return call()
    except GraphError as exc:
        if exc.auth or exc.unreachable:
            raise
        return exc


def _number_finding(number: NumberInfo) -> Finding:
    name = f"«{number.verified_name}»" if number.verified_name else "senza nome verificato"
    if number.status and number.status != "CONNECTED":
        return Finding(PROBLEM, "Numero", f"trovato, {name}, ma il suo stato è {number.status}: completa la "
                       f"registrazione del numero nella Cloud API da {MANAGER}.")  # fmt: skip
    return Finding(OK, "Numero", f"trovato, {name}, stato {number.status or 'non indicato'}.")


def _subscription_finding(apps: list[dict[str, object]]) -> Finding:
    names = [str(_data(app).get("name", "?")) for app in apps]
    if not names:
        return Finding(PROBLEM, "Iscrizione ai webhook", "nessuna app è iscritta ai webhook dell'account: il "
                       "servizio non riceverebbe messaggi né ricevute. Esegui «site-tools whatsapp subscribe».")  # fmt: skip
    return Finding(OK, "Iscrizione ai webhook", f"app iscritta ({', '.join('«' + n + '»' for n in names)}).")


def _data(app: dict[str, object]) -> dict[str, object]:
    data = app.get("whatsapp_business_api_data")
    return data if isinstance(data, dict) else {}


def _template_findings(account: MetaAccount, config: TownConfig) -> Iterator[Finding]:
    try:
        remote = {(t.name, t.language): t for t in account.templates()}
    except GraphError as exc:  # the account answered for its subscription, not for its templates: said, not a crash
        yield Finding(PROBLEM, "Modelli", "non si possono leggere: " + graph_fix(exc, "i modelli dell'account"))
        return
    for body in project_templates(config):
        subject = f"Modello {body['name']}"
        held = remote.get((body["name"], body["language"]))
        if held is None:
            yield Finding(PROBLEM, subject, "non esiste su Meta: crealo con «site-tools whatsapp templates --submit».")
            continue
        changed = drift(body, held)
        reason = f" (motivo: {held.rejected_reason})" if held.rejected_reason not in ("", "NONE") else ""
        if held.status != "APPROVED":
            fix = {
                "PENDING": "è in revisione da Meta: aspetta l'approvazione (di solito minuti, a volte 24 ore).",
                "PAUSED": "è in pausa per la qualità (i cittadini lo segnalano) e nessun invio parte: Meta lo "
                "riattiva da solo dopo 3 ore (6 la seconda volta; la terza lo disattiva). Intanto rivedi testo e "
                "frequenza degli avvisi.",
                "DISABLED": "è disattivato da Meta: serve un modello nuovo con un altro nome.",
                "REJECTED": "è stato rifiutato: correggi e ripresentalo con «site-tools whatsapp templates --submit».",
            }.get(held.status, "non si può usare per gli invii.")
            yield Finding(PROBLEM, subject, f"stato {held.status}{reason}: {fix}")
        elif changed:
            yield Finding(PROBLEM, subject, f"approvato, ma diverso da quello del progetto in {', '.join(changed)}: "
                          "aggiornalo con «site-tools whatsapp templates --submit».")  # fmt: skip
        else:
            yield Finding(OK, subject, f"approvato, categoria {held.category}, testo come quello del progetto.")


def _limit_finding(number: NumberInfo, subscribers: int | None) -> Finding:
    tier = number.messaging_limit or "non indicato"
    if number.messaging_limit not in TIERS:
        return Finding(WARNING, "Limite di invio", f"Meta non indica il limite ({tier}): controllalo in {MANAGER}.")
    limit = number.limit
    reach = "illimitato" if limit is None else f"{number_text(limit)} destinatari in 24 ore"
    if subscribers is None:
        return Finding(
            WARNING,
            "Limite di invio",
            f"{tier} ({reach}); iscritti non contati: archivio non indicato (--db, SITE_TOOLS_DB) o non raggiungibile.",
        )
    people = count(subscribers, "iscritto", "iscritti")
    if limit is not None and limit < subscribers:
        return Finding(PROBLEM, "Limite di invio", f"{tier} ({reach}) non basta per {people}: serve "
                       f"{tier_for(subscribers)}. Chiedilo a Meta (o usa almeno metà del limite per qualche giorno con "
                       "buona qualità: sale da solo).")  # fmt: skip
    return Finding(OK, "Limite di invio", f"{tier} ({reach}), basta per {people}.")


def _quality_finding(number: NumberInfo) -> Finding:
    rating = number.quality_rating or "non indicata"
    if rating == "GREEN":
        return Finding(OK, "Qualità del numero", "GREEN.")
    if rating == "RED":
        return Finding(PROBLEM, "Qualità del numero", "RED: molti cittadini bloccano o segnalano gli avvisi; Meta "
                       "può abbassare il limite o sospendere i modelli. Manda meno avvisi e solo quelli di servizio.")  # fmt: skip
    return Finding(WARNING, "Qualità del numero", f"{rating}: alcuni cittadini segnalano gli avvisi; controlla in "
                   f"{MANAGER} e manda solo ciò che è di servizio.")  # fmt: skip


def _throughput_finding(number: NumberInfo, mps: float) -> Finding:
    allowed = THROUGHPUT.get(number.throughput)
    level = number.throughput or "non indicato"
    if allowed is None:
        return Finding(WARNING, "Velocità", f"livello {level} sconosciuto: WHATSAPP_MPS={mps:g} non verificato.")
    if mps > allowed:
        return Finding(PROBLEM, "Velocità", f"WHATSAPP_MPS={mps:g} ma il numero ha il livello {level}: {allowed}/s. "
                       f"Imposta WHATSAPP_MPS={allowed} (oltre, Meta rifiuta i messaggi con l'errore 130429).")  # fmt: skip
    return Finding(OK, "Velocità", f"livello {level} ({allowed}/s), WHATSAPP_MPS={mps:g}.")
