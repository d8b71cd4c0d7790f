"""The project's WhatsApp templates, declared once, and how a template held at Meta differs from them.

The Graph request bodies come from the renderers' own constants
(:func:`site_tools.render.whatsapp_template.submission` for the lists' ``avviso_comunale``, its transition
variant and the Channel invitation when the town plans them,
:func:`site_tools.service.counter.template.submission` for the counter's ``sportello_risposta``): what is
submitted is what is sent. The counter's template is declared only when the town has the counter, the
re-confirmation's (:mod:`site_tools.render.reconfirm_template`) only when the app's contacts are re-confirmed, the
weekly digest's five (:mod:`site_tools.render.digest`, category MARKETING) only with ``extra.town.digest``.
"""

from __future__ import annotations

from typing import Any

from site_tools.channels.meta_account import GraphError, MetaAccount, RemoteTemplate
from site_tools.content.config import TownConfig
from site_tools.render import digest, reconfirm_template, whatsapp_template
from site_tools.service.counter import template as counter_template

#: Statuses Meta allows an edit from (an APPROVED one: once a day, 10 times in 30 days).
EDITABLE = ("APPROVED", "REJECTED", "PAUSED")


def project_templates(config: TownConfig) -> list[dict[str, Any]]:
    """The Graph API bodies of the templates this town needs, the lists' first."""
    bodies = [whatsapp_template.submission(config)]
    for optional in (whatsapp_template.transition_submission(config), whatsapp_template.invite_submission(config)):
        if optional is not None:
            bodies.append(optional)
    if config.counter is not None:
        bodies.append(counter_template.submission(config))
    if reconfirm_template.wanted(config):
        bodies.append(reconfirm_template.submission(config))
    bodies += digest.submissions(config)  # the weekly digest's (MARKETING), with extra.town.digest
    return bodies


def _shape(components: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """What the citizen sees of a template: each component's type and text, each button's type, label and URL
    (examples and letter case of the types left out: Meta answers them in its own way)."""
    shape: list[tuple[str, ...]] = []
    for comp in components:
        kind = str(comp.get("type", "")).upper()
        if kind == "BUTTONS":
            for button in comp.get("buttons") or []:
                shape.append(("BUTTON", str(button.get("type", "")).upper(), str(button.get("text", "")),
                              str(button.get("url", ""))))  # fmt: skip
        else:
            shape.append((kind, str(comp.get("format", "TEXT")).upper(), str(comp.get("text", ""))))
    return shape


def drift(expected: dict[str, Any], remote: RemoteTemplate) -> list[str]:
    """What differs between the declared template and the one Meta holds (Italian, for staff); [] when equal."""
    found: list[str] = []
    want, have = _shape(expected["components"]), _shape(remote.components)
    names = {"BODY": "il corpo", "FOOTER": "il piè di pagina", "HEADER": "l'intestazione", "BUTTON": "i pulsanti"}
    for kind, label in names.items():
        if [c for c in want if c[0] == kind] != [c for c in have if c[0] == kind]:
            found.append(label)
    ttl = expected.get("message_send_ttl_seconds")
    if ttl is not None and remote.ttl != ttl:
        found.append("la durata (message_send_ttl_seconds)")
    return found


def submit(account: MetaAccount, config: TownConfig) -> list[str]:
    """Creates the declared templates Meta does not hold and updates those whose content drifted (where Meta allows
    an edit); one Italian line per template saying what happened. Raises :class:`GraphError` for the token or the
    network (nothing can be done then)."""
    remote = {(t.name, t.language): t for t in account.templates()}
    lines = []
    for body in project_templates(config):
        held = remote.get((body["name"], body["language"]))
        lines.append(f"{body['name']}: {_submit_one(account, body, held)}")
    return lines


def _submit_one(account: MetaAccount, body: dict[str, Any], held: RemoteTemplate | None) -> str:
    try:
        if held is None:
            answer = account.create_template(body)
            return (
                f"creato, stato {answer.get('status', 'PENDING')}: Meta lo rivede (di solito minuti, a volte 24 ore)."
            )
        changed = drift(body, held)
        if not changed:
            return f"già uguale a quello del progetto, stato {held.status}: nulla da fare."
        if held.status not in EDITABLE:
            why = {
                "PENDING": "è in revisione: riprova quando Meta avrà deciso",
                "DISABLED": "è disattivato: Meta non lo lascia modificare, serve un modello con un altro nome",
            }
            return f"diverso in {', '.join(changed)}, ma {why.get(held.status, f'è nello stato {held.status}')}."  # fmt: skip
        account.edit_template(held.id, body)
        note = " (un modello approvato si può modificare una volta al giorno, 10 volte in 30 giorni)"
        return (f"aggiornato ({', '.join(changed)}): torna in revisione da Meta"
                f"{note if held.status == 'APPROVED' else ''}.")  # fmt: skip
    except GraphError as exc:
        if exc.auth or exc.unreachable:
            raise
        return f"Meta ha rifiutato la richiesta (codice {exc.code}): {exc.message}"


def status_lines(account: MetaAccount, config: TownConfig) -> list[str]:
    """Each declared template's status at Meta (and whether it matches the project's)."""
    remote = {(t.name, t.language): t for t in account.templates()}
    lines = []
    for body in project_templates(config):
        held = remote.get((body["name"], body["language"]))
        if held is None:
            lines.append(f"{body['name']}: non esiste su Meta.")
            continue
        changed = drift(body, held)
        reason = f", motivo {held.rejected_reason}" if held.rejected_reason not in ("", "NONE") else ""
        same = f"diverso dal progetto in {', '.join(changed)}" if changed else "uguale al progetto"
        lines.append(f"{body['name']}: {held.status}{reason}, categoria {held.category}, {same}.")
    return lines
