"""The signup channels, from the config: one place for links, steps and labels.

Used by the "Iscriviti" page and by the printable posters, so the QR code on
a poster in the street and the button on the site always open the same link.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from site_tools.content.config import TownConfig
from site_tools.render.email import consent_text


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


# -- the e-mail newsletter: a form, not a link (its own block on the page; no QR code or poster) ----------------


def newsletter_action(config: TownConfig) -> str | None:
    """Where the newsletter's form posts (the service), or None when the town has no newsletter. The site's
    final check and its security policy allow exactly this form target on the signup page."""
    base = config.newsletter_service_url
    return f"{base}/newsletter/iscrizione" if base else None


#: The paragraph the signup page's Markdown leaves where the form goes: the page's Markdown is sanitised like
#: every page (no forms), and the plugin puts the form, generated here, in its place afterwards.
NEWSLETTER_SLOT = "st-newsletter-form-slot"


def newsletter_form(config: TownConfig) -> str:
    """The signup page's newsletter block (Markdown, with the form's slot): empty without a newsletter."""
    if newsletter_action(config) is None:
        return ""
    town = html.escape(config.name)
    return (
        "\n## Newsletter e-mail\n\n"
        f"Ricevi gli avvisi del {town} anche per posta elettronica: scrivi il tuo indirizzo e conferma dal link che "
        "ti arriva (vale 7 giorni). Senza conferma non ricevi nulla.\n\n"
        f"{NEWSLETTER_SLOT}\n\n"
        "Per smettere: tocca «Annulla l'iscrizione» in fondo a qualsiasi e-mail ricevuta. Il Comune conserva "
        "solo l'indirizzo e la data della conferma, per poterti scrivere e per dimostrare il tuo consenso.\n"
    )


def with_newsletter_form(page_html: str, config: TownConfig) -> str:
    """The signup page's sanitised HTML with the form in its slot (the site's final check still inspects it)."""
    slot = f"<p>{NEWSLETTER_SLOT}</p>"
    action = newsletter_action(config)
    if action is None or slot not in page_html:
        return page_html
    return page_html.replace(slot, newsletter_form_html(config, action), 1)


def newsletter_form_html(config: TownConfig, action: str) -> str:
    return (
        f'<form class="st-newsletter" method="post" action="{html.escape(action, quote=True)}">\n'
        '<p><label for="st-newsletter-email">Il tuo indirizzo e-mail</label><br>\n'
        '<input id="st-newsletter-email" type="email" name="email" required maxlength="254" '
        'autocomplete="email" inputmode="email" placeholder="nome@esempio.it"></p>\n'
        '<p><label><input type="checkbox" name="consenso" value="si" required> '
        f"{html.escape(consent_text(config))}</label></p>\n"  # recorded word for word as the consent
        # A field people do not see: a robot that fills every field is answered as usual and sent nothing.
        '<div hidden><label>Non compilare <input type="text" name="sito" tabindex="-1" autocomplete="off">'
        "</label></div>\n"
        '<p><button type="submit" class="md-button md-button--primary">Iscriviti alla newsletter</button></p>\n'
        "</form>"
    )
