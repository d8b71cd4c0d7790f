"""The signup channels, from the config: one place for links, steps and labels.

Used by the "Iscriviti" page and by the printable posters, so the QR code on
a poster in the street and the button on the site always open the same link.
"""

from __future__ import annotations

from dataclasses import dataclass

from site_tools.content.config import TownConfig


@dataclass(frozen=True)
class SignupChannel:
    key: str  # whatsapp_channel, whatsapp_list, telegram, facebook, mastodon, bluesky
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
    channels += social_channels(config)
    # The ways in without a QR code (the newsletter's form, the site's notification button) are not
    # SignupChannels: the page adds their own blocks after these.
    return channels


# --- the social networks (extra.town.facebook, mastodon, bluesky): a link, a QR code and three steps each ----------


def social_channels(config: TownConfig) -> list[SignupChannel]:
    channels = []
    if config.facebook:
        channels.append(
            SignupChannel(
                "facebook",
                "Pagina Facebook",
                config.facebook.page_url,
                "Segui la Pagina Facebook",
                (
                    f"{SCAN_OR_TAP}: si apre la Pagina del {config.name}.",
                    "Tocca «Segui» (o «Mi piace»).",
                    "Per vedere sempre gli avvisi: tocca «Segui già» e scegli «Preferiti».",
                ),
                "Per smettere: apri la Pagina, tocca «Segui già» e poi «Non seguire più». Il Comune non vede i "
                "tuoi dati per questo.",
            )
        )
    if config.mastodon:
        channels.append(
            SignupChannel(
                "mastodon",
                "Mastodon",
                config.mastodon.account_url,
                "Segui su Mastodon",
                (
                    f"{SCAN_OR_TAP}: si apre il profilo del Comune.",
                    "Tocca «Segui»: va bene un account su qualunque server Mastodon.",
                    "Tocca la campanella 🔔 del profilo per ricevere una notifica a ogni avviso.",
                ),
                "Per smettere: apri il profilo e tocca «Smetti di seguire».",
            )
        )
    if config.bluesky:
        channels.append(
            SignupChannel(
                "bluesky",
                "Bluesky",
                config.bluesky.profile_url,
                "Segui su Bluesky",
                (
                    f"{SCAN_OR_TAP}: si apre il profilo del Comune su Bluesky.",
                    "Tocca «Segui».",
                    "Tocca la campanella 🔔 del profilo per ricevere una notifica a ogni avviso.",
                ),
                "Per smettere: apri il profilo, tocca «Segui già» e poi «Smetti di seguire».",
            )
        )
    return channels
