"""The signup channels, from the config: one place for links, steps and labels.

Used by the "Iscriviti" page and by the printable posters, so the QR code on
a poster in the street and the button on the site always open the same link.
"""

from __future__ import annotations

from dataclasses import dataclass

from site_tools.content.config import TownConfig


@dataclass(frozen=True)
class SignupChannel:
    key: str  # whatsapp_channel, whatsapp_list, telegram
    name: str  # as citizens call it
    link: str  # what the button and the QR code open
    button: str
    steps: tuple[str, ...]  # three short steps, plain Italian, for the web page
    stop: str  # how to stop

    @property
    def printed_steps(self) -> tuple[str, ...]:
        """The same steps on paper: a poster has a code to scan, no button to tap."""
        return tuple(step.replace(SCAN_OR_TAP, SCAN) for step in self.steps)


#: The web page offers both; a poster only the first.
SCAN_OR_TAP = "Inquadra il codice o tocca il pulsante"
SCAN = "Inquadra il codice QR con la fotocamera del telefono"


def signup_channels(config: TownConfig) -> list[SignupChannel]:
    channels = []
    if config.channel_url:
        channels.append(
            SignupChannel(
                "whatsapp_channel",
                "Canale WhatsApp",
                config.channel_url,
                "Segui il Canale WhatsApp",
                (
                    f"{SCAN_OR_TAP}: si apre WhatsApp.",
                    f"Tocca «Segui» sul canale «{config.name}».",
                    "Tocca la campanella 🔔 per ricevere le notifiche degli avvisi.",
                ),
                "Per smettere: apri il canale e tocca «Non seguire più». Chi segue un canale non vede i numeri "
                "degli altri, e il Comune non vede il tuo.",
            )
        )
    if config.whatsapp:
        wa = config.whatsapp
        channels.append(
            SignupChannel(
                "whatsapp_list",
                "Avvisi WhatsApp personali",
                wa.signup_link,
                f"Scrivi «{wa.on_message}» su WhatsApp",
                (
                    f"Salva in rubrica il numero del Comune: {wa.display}.",
                    f"{SCAN_OR_TAP}: il messaggio «{wa.on_message}» è già scritto.",
                    "Invia il messaggio: la conferma arriva in pochi secondi.",
                ),
                f"Per smettere: scrivi «{wa.off_message}» allo stesso numero; la cancellazione è immediata. "
                "Nessun altro iscritto vede il tuo numero.",
            )
        )
    if config.telegram:
        channels.append(
            SignupChannel(
                "telegram",
                "Canale Telegram",
                config.telegram.link,
                "Unisciti su Telegram",
                (
                    f"{SCAN_OR_TAP}: si apre Telegram.",
                    "Tocca «Unisciti».",
                    "Lascia attive le notifiche del canale.",
                ),
                "Per smettere: apri il canale e tocca «Abbandona». Gli iscritti non vedono il tuo numero.",
            )
        )
    return channels
