"""``site-tools whatsapp check`` and ``whatsapp templates`` against the simulator's Graph API, over real HTTP:
what staff read with good settings and with each thing broken, and the templates submitted, edited and approved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from site_tools.store import Store

from .command import Ran, site_tools
from .conftest import Town
from .services import SimThread, free_port, simulator

WABA = "102290129340398"
TOKEN = "sim-whatsapp-token"


@pytest.fixture
def sim(town: Town) -> Iterator[SimThread]:
    """The account holding the town's templates, APPROVED, as the town declares them; the number at 80/s."""
    with simulator("--latency", "0", "--mps", "80", "--town-config", str(town.root / "mkdocs.yml")) as sim:
        yield sim


def subscribed(url: str, count: int) -> str:
    with closing(Store.open(url)) as store:
        store.subscribers.bulk_subscribe([f"+39333{n:07d}" for n in range(count)], "test")
    return url


def check(town: Town, sim: Any, db: str | None = None, **env: str | None) -> Ran:
    environment: dict[str, str | None] = {**sim.env(), "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA, "WHATSAPP_MPS": "80"}
    environment |= {"SITE_TOOLS_DB": db, **env}
    ran = site_tools("whatsapp", "check", cwd=town.root, env=environment)
    assert TOKEN not in ran.stdout + ran.stderr and "Traceback" not in ran.stderr
    return ran


def lines(ran: Ran) -> list[str]:
    return ran.stdout.splitlines()


def set_template(sim: Any, name: str, status: str, reason: str = "NONE") -> None:
    httpx.post(f"{sim.url}/_sim/templates", json={"name": name, "status": status, "reason": reason}).raise_for_status()


def test_good_settings_every_line_is_ok(town: Town, sim: SimThread, sqlite_url: str) -> None:
    sim.configure(messaging_limit="TIER_100K")
    ran = check(town, sim, subscribed(sqlite_url, 15_000))
    print(ran.stdout)
    assert ran.returncode == 0
    assert lines(ran) == [
        "ok         Token di accesso: valido.",
        "ok         Numero: trovato, «Comune di Valfiorita», stato CONNECTED.",
        "ok         Iscrizione ai webhook: app iscritta («Avvisi del Comune (simulato)»).",
        "ok         Modello avviso_comunale: approvato, categoria UTILITY, testo come quello del progetto.",
        "ok         Modello sportello_risposta: approvato, categoria UTILITY, testo come quello del progetto.",
        "ok         Limite di invio: TIER_100K (100.000 destinatari in 24 ore), basta per 15.000 iscritti.",
        "ok         Qualità del numero: GREEN.",
        "ok         Velocità: livello STANDARD (80/s), WHATSAPP_MPS=80.",
        "Tutto a posto.",
    ]


def test_broken_account_each_line_says_the_fix(town: Town, sim: SimThread, sqlite_url: str) -> None:
    sim.configure(messaging_limit="TIER_2K", quality_rating="RED", app_subscribed=False)
    set_template(sim, "sportello_risposta", "PAUSED")
    ran = check(town, sim, subscribed(sqlite_url, 15_000), WHATSAPP_MPS="1000")
    print(ran.stdout)
    assert ran.returncode == 1
    out = lines(ran)
    assert out[0] == "ok         Token di accesso: valido."
    assert out[2].startswith("errore     Iscrizione ai webhook: nessuna app è iscritta")
    assert out[2].endswith("Esegui «site-tools whatsapp subscribe».")
    assert out[3].startswith("ok         Modello avviso_comunale")
    assert out[4].startswith("errore     Modello sportello_risposta: stato PAUSED: è in pausa per la qualità")
    assert out[5].startswith(
        "errore     Limite di invio: TIER_2K (2.000 destinatari in 24 ore) non basta per 15.000 iscritti: serve TIER_100K."
    )
    assert out[6].startswith("errore     Qualità del numero: RED")
    assert out[7] == (
        "errore     Velocità: WHATSAPP_MPS=1000 ma il numero ha il livello STANDARD: 80/s. Imposta WHATSAPP_MPS=80 "
        "(oltre, Meta rifiuta i messaggi con l'errore 130429)."
    )
    assert out[-1] == "Da sistemare: le righe «errore» dicono come."


def test_a_bad_token_is_one_line_and_stops_there(town: Town, sim: SimThread) -> None:
    ran = check(town, sim, WHATSAPP_TOKEN="not-the-token")
    assert ran.returncode == 1
    assert lines(ran)[0].startswith("errore     Token di accesso: il token non è valido o è scaduto")
    assert "not-the-token" not in ran.stdout
    assert len(lines(ran)) == 2


def test_a_wrong_number_id_is_named_with_where_to_copy_it_from(town: Town, sim: SimThread) -> None:
    ran = check(town, sim, WHATSAPP_PHONE_NUMBER_ID="123456789012345")
    assert ran.returncode == 1
    assert lines(ran)[:2] == [
        "ok         Token di accesso: valido.",
        "errore     Numero: WHATSAPP_PHONE_NUMBER_ID non esiste o il token non lo vede (codice 100). Copia il Phone "
        "number ID da WhatsApp Manager › Numeri di telefono (non il numero stesso).",
    ]
    assert not any(line.startswith("ok         Velocità") for line in lines(ran))  # nothing about a number not found


def test_missing_settings_are_findings_not_tracebacks(town: Town, sim: SimThread) -> None:
    ran = check(town, sim, WHATSAPP_TOKEN=None, WHATSAPP_BUSINESS_ACCOUNT_ID=None)
    assert ran.returncode == 1
    assert lines(ran)[:3] == [
        "errore     WHATSAPP_TOKEN: non impostato: mettici il token permanente di un utente di sistema (Business "
        "Manager) (segreto del repository e del server).",
        "errore     WHATSAPP_BUSINESS_ACCOUNT_ID: non impostato: mettici il WhatsApp Business Account ID (WhatsApp "
        "Manager, impostazioni dell'account) (segreto del repository e del server).",
        "errore     Controlli su Meta: non fatti: senza WHATSAPP_TOKEN non si entra.",
    ]


def test_warnings_exit_zero_and_say_so(town: Town, sim: SimThread) -> None:
    sim.configure(quality_rating="YELLOW")
    ran = check(town, sim)  # no store here: the subscribers are not counted
    assert ran.returncode == 0
    assert "attenzione Qualità del numero: YELLOW" in ran.stdout
    assert "attenzione Limite di invio: TIER_UNLIMITED (illimitato); iscritti non contati" in ran.stdout
    assert lines(ran)[-1] == "Tutto funziona, ma leggi le righe «attenzione»."


def test_submit_updates_drifted_templates_creates_missing_ones_and_meta_approves_them(town: Town) -> None:
    # The account holds only the two bodies (no footer, no button, no time-to-live), and the town's counter now
    # uses a template of another name, which Meta does not have.
    mkdocs = town.root / "mkdocs.yml"
    mkdocs.write_text(mkdocs.read_text(encoding="utf-8").replace("template: sportello_risposta",
                                                                 "template: sportello_risposta_v2"), encoding="utf-8")  # fmt: skip
    env = {"WHATSAPP_BUSINESS_ACCOUNT_ID": WABA}
    with simulator("--latency", "0") as sim:
        sim.configure(template_review_seconds=None)
        ran = check(town, sim, **env)
        assert (
            "errore     Modello avviso_comunale: approvato, ma diverso da quello del progetto in il piè di pagina, "
            "i pulsanti, la durata (message_send_ttl_seconds): aggiornalo con «site-tools whatsapp templates --submit»."
        ) in lines(ran)
        assert "errore     Modello sportello_risposta_v2: non esiste su Meta: crealo con" in ran.stdout

        ran = site_tools("whatsapp", "templates", "--submit", cwd=town.root, env={**sim.env(), **env})
        assert ran.returncode == 0, ran.stderr
        assert lines(ran) == [
            "avviso_comunale: aggiornato (il piè di pagina, i pulsanti, la durata (message_send_ttl_seconds)): torna "
            "in revisione da Meta (un modello approvato si può modificare una volta al giorno, 10 volte in 30 giorni).",
            "sportello_risposta_v2: creato, stato PENDING: Meta lo rivede (di solito minuti, a volte 24 ore).",
            "Stato adesso:",
            "avviso_comunale: PENDING, categoria UTILITY, uguale al progetto.",
            "sportello_risposta_v2: PENDING, categoria UTILITY, uguale al progetto.",
        ]
        ran = check(town, sim, **env)
        assert "errore     Modello avviso_comunale: stato PENDING: è in revisione da Meta" in ran.stdout

        for name in ("avviso_comunale", "sportello_risposta_v2"):
            set_template(sim, name, "APPROVED")
        ran = check(town, sim, **env)
        assert all(line.startswith(("ok", "attenzione Limite")) for line in lines(ran)[:-1]), ran.stdout
        again = site_tools("whatsapp", "templates", "--submit", cwd=town.root, env={**sim.env(), **env})
        assert lines(again)[0] == "avviso_comunale: già uguale a quello del progetto, stato APPROVED: nulla da fare."


def test_print_shows_both_requests_without_asking_meta(town: Town) -> None:
    ran = site_tools("whatsapp", "templates", "--print", cwd=town.root, env={"WHATSAPP_TOKEN": None})
    bodies = json.loads(ran.stdout)
    assert [b["name"] for b in bodies] == ["avviso_comunale", "sportello_risposta"]
    assert bodies[0]["message_send_ttl_seconds"] == 43200
    assert {b["category"] for b in bodies} == {"UTILITY"} and {b["parameter_format"] for b in bodies} == {"NAMED"}


def test_subscribe_subscribes_the_app(town: Town, sim: SimThread) -> None:
    sim.configure(app_subscribed=False)
    ran = site_tools("whatsapp", "subscribe", cwd=town.root, env={**sim.env(), "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA})
    assert ran.returncode == 0 and ran.stdout == "App iscritta ai webhook dell'account.\n"
    assert "ok         Iscrizione ai webhook" in check(town, sim).stdout


def test_a_paused_or_disabled_template_cannot_be_sent(sim: SimThread) -> None:
    def send() -> dict[str, Any]:
        payload = {"messaging_product": "whatsapp", "to": "393331234567", "type": "template", "template": {
            "name": "sportello_risposta", "language": {"code": "it"}, "components": [{"type": "body", "parameters": [
                {"type": "text", "parameter_name": "data", "text": "01/12/2026"},
                {"type": "text", "parameter_name": "risposta", "text": "Sì."}]}]}}  # fmt: skip
        url = f"{sim.url}/v24.0/106540352242922/messages"
        return httpx.post(url, json=payload, headers={"Authorization": f"Bearer {TOKEN}"}).json()

    assert "messages" in send()
    set_template(sim, "sportello_risposta", "PAUSED")
    assert send()["error"]["code"] == 132015
    set_template(sim, "sportello_risposta", "DISABLED")
    assert send()["error"]["code"] == 132016


def test_graph_errors_have_metas_shape(sim: SimThread) -> None:
    bad = httpx.get(f"{sim.url}/v24.0/106540352242922", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == 190
    unknown = httpx.get(f"{sim.url}/v24.0/999", headers={"Authorization": f"Bearer {TOKEN}"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100
    assert unknown.json()["error"]["error_subcode"] == 33


def test_meta_unreachable_is_said_with_the_setting_to_look_at(town: Town, sim: SimThread) -> None:
    ran = check(town, sim, WHATSAPP_API_URL=f"http://127.0.0.1:{free_port()}/v24.0")
    assert ran.returncode == 1
    assert lines(ran)[0] == (
        "errore     Connessione a Meta: Graph API non raggiungibile (ConnectError): controlla la rete del server o "
        "WHATSAPP_API_URL."
    )
