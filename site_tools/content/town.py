"""The model of ``extra.town`` in ``mkdocs.yml``: every setting declared once, with its Italian description.

Each setting says its type, default, constraints and an example; the checks a
type cannot say (a phone number, a Telegram name, office hours, a time zone)
are validators beside it. The documentation page and the JSON Schema are
generated from these classes (``site_tools.devtools.generated_config``).

:class:`TownSettings` is what the publisher needs; :class:`Identity` what only
the site needs. :func:`town_model` is both, the whole block as a town writes it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from datetime import date, time
from typing import Annotated, Any, Literal, get_args
from urllib.parse import quote, urlparse

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from site_tools.content.dates import WEEKDAYS_IT, DateError, parse_datetime
from site_tools.content.identity import IDENTITY_KEYS, Identity
from site_tools.content.topics import TOPICS
from site_tools.content.topics import suggest as suggest_topic
from site_tools.content.town_base import (
    Block,
    Days,
    Email,
    Euro,
    HttpsUrl,
    OrAlso,
    Slug,
    Template,
    Text,
    WebUrl,
    matching,
    refuse,
)

Channel = Literal[
    "whatsapp_list", "whatsapp_channel", "telegram", "facebook", "mastodon", "bluesky", "email", "webpush"
]
#: The channels a bulletin can go to, with the name editors see.
CHANNELS: dict[str, str] = dict(
    zip(
        get_args(Channel),
        (
            "Lista WhatsApp",
            "Canale WhatsApp",
            "Telegram",
            "Pagina Facebook",
            "Mastodon",
            "Bluesky",
            "Newsletter e-mail",
            "Notifiche del sito",
        ),
        strict=True,
    )
)
#: Bulletins marked urgent always go to every channel the town has.
#: Without a town's own routing, the paid list gets only what is essential
#: (a utility template); everything else goes to the free channels.
#: The social networks (Facebook Page, Mastodon, Bluesky), Web Push and the e-mail newsletter are free: they are in
#: both defaults, and a town's routing for the channels it had does not change when they are added (a category's
#: channels are only those the town has; Web Push and e-mail reach only people who asked for them).
SOCIAL_CHANNELS: tuple[Channel, ...] = ("facebook", "mastodon", "bluesky")
UTILITY_CHANNELS: tuple[Channel, ...] = (
    "whatsapp_list",
    "whatsapp_channel",
    "telegram",
    *SOCIAL_CHANNELS,
    "webpush",
    "email",
)
FREE_CHANNELS: tuple[Channel, ...] = ("whatsapp_channel", "telegram", *SOCIAL_CHANNELS, "webpush", "email")
DEFAULT_TEMPLATE = "avviso_comunale"

DEFAULT_CATEGORIES: tuple[tuple[str, str, tuple[Channel, ...]], ...] = (
    ("emergenza", "Emergenza", UTILITY_CHANNELS),
    ("protezione-civile", "Protezione civile", UTILITY_CHANNELS),
    ("meteo", "Meteo", UTILITY_CHANNELS),
    ("viabilita", "Viabilità", UTILITY_CHANNELS),
    ("scuola", "Scuola", UTILITY_CHANNELS),
    ("eventi", "Eventi", FREE_CHANNELS),
    ("bandi-e-concorsi", "Bandi e concorsi", FREE_CHANNELS),
    ("scadenze", "Scadenze", FREE_CHANNELS),
    ("servizi", "Servizi", UTILITY_CHANNELS),
    ("ambiente", "Ambiente", FREE_CHANNELS),
)


def normalize_keyword(text: str) -> str:
    """Upper case, no accents, single spaces: how keywords are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^A-Z0-9]+", " ", plain.upper()).strip()


# --- categories -----------------------------------------------------------------------------------


def _topic(value: str) -> str:
    if value in TOPICS:
        return value
    close = suggest_topic(value)
    raise refuse(
        f"in «topics» l'argomento «{value}» non è tra quelli del modello dei siti comunali.",
        f"forse intendevi «{close}» ({TOPICS[close]})?" if close else f"usa uno tra: {', '.join(TOPICS)}.",
    )


#: A topic of the municipal site model, by its slug (:mod:`site_tools.content.topics`).
Topic = Annotated[str, AfterValidator(_topic), WithJsonSchema({"type": "string", "enum": list(TOPICS)})]


class Category(Block):
    """Una categoria degli avvisi: il suo indirizzo, il nome che vedono i cittadini e dove va."""

    slug: Slug = Field(
        description="Il nome della categoria negli indirizzi e nei campi degli avvisi: lettere minuscole senza "
        "accenti, cifre e trattini.",
        examples=["protezione-civile"],
    )
    label: Text = Field(
        description="Il nome della categoria in italiano, come lo vedono i cittadini.", examples=["Meteo"]
    )
    channels: tuple[Channel, ...] = Field(
        default=UTILITY_CHANNELS,
        strict=False,  # a YAML list
        description="I canali a cui vanno gli avvisi della categoria (gli urgenti vanno comunque a tutti): "
        "whatsapp_list (la lista, a pagamento per messaggio), whatsapp_channel, telegram, facebook, mastodon, "
        "bluesky, webpush (le notifiche del sito, gratis), email (la newsletter). Un canale che il Comune non ha "
        "configurato è ignorato.",
        examples=[["whatsapp_channel", "telegram"]],
    )
    template: Template = Field(
        default=DEFAULT_TEMPLATE,
        description="Il modello WhatsApp approvato da Meta con cui gli avvisi della categoria vanno alla lista.",
        examples=[DEFAULT_TEMPLATE],
    )
    topics: tuple[Topic, ...] = Field(
        default=(),
        strict=False,  # a YAML list
        description="Gli argomenti del modello dei siti comunali che prende un avviso della categoria quando non "
        "ne sceglie di propri (facoltativo: l'elenco è nella guida della redazione).",
        examples=[["protezione-civile"]],
    )


def _distinct(categories: tuple[Category, ...]) -> tuple[Category, ...]:
    seen: set[str] = set()
    for category in categories:
        if category.slug in seen:
            raise refuse(f"la categoria «{category.slug}» è ripetuta.", "togli il doppione.")
        seen.add(category.slug)
    return categories


# --- channels -------------------------------------------------------------------------------------


def _yaml_on_off(value: Any) -> Any:
    """YAML 1.1 reads the keys ``on:`` and ``off:`` as true and false: give them their names back."""
    if isinstance(value, dict):
        return {({True: "on", False: "off"}.get(k, k) if isinstance(k, bool) else k): v for k, v in value.items()}
    return value


def _phone(value: str) -> str:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, "IT")
        possible = phonenumbers.is_possible_number(parsed)
    except phonenumbers.NumberParseException:
        possible = False
    if not possible:
        raise refuse(
            f"«{value}» non è un numero di telefono valido.",
            "scrivi il numero completo di prefisso internazionale, per esempio +39 333 000 0000.",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def _keyword(value: str) -> str:
    keyword = normalize_keyword(value)
    if not keyword:
        raise refuse(
            "manca la parola chiave per iscriversi alla lista.",
            "scrivi per esempio «keyword: VALFIORITA»: i cittadini manderanno «VALFIORITA ON».",
        )
    return keyword


#: What makes the app's contacts subscribers when the number is connected in coexistence (store/consent.py).
CandidateBasis = Literal["riconferma", "dichiarazione"]


def _day(value: Any) -> Any:
    """``2027-01-10`` as YAML gives it (a string: the loader keeps dates as text) → a date, refused in Italian."""
    if not isinstance(value, str):
        return value
    try:
        return parse_datetime(value).date()
    except DateError as exc:
        raise refuse(exc.message, exc.fix) from None


Day = Annotated[date, BeforeValidator(_day)]


class Coexistence(Block):
    """Il numero della lista resta anche nell'app WhatsApp Business del telefono, collegato alla Cloud API
    («coesistenza»): il personale continua a rispondere dal telefono, Meta manda al servizio la cronologia delle
    chat (fino a 180 giorni prima del collegamento), i contatti dell'app e i messaggi scritti dal telefono. Un
    numero così manda al massimo 20 messaggi al secondo."""

    since: Day = Field(
        description="Il giorno in cui il numero è stato collegato alla Cloud API (AAAA-MM-GG).",
        examples=["2026-11-30"],
    )
    candidates: CandidateBasis = Field(
        default="riconferma",
        description="Come i contatti dell'app diventano iscritti: «riconferma» (un messaggio chiede a ciascuno «Sì, "
        "continuo» / «No»; solo chi risponde sì è iscritto) oppure «dichiarazione» (il Comune importa i consensi dai "
        "suoi archivi e lo dichiara). Nessun contatto diventa iscritto senza una delle due.",
        examples=["riconferma"],
    )


class Transition(Block):
    """Il passaggio dalla lista al Canale WhatsApp del Comune: dal giorno «from» al giorno «until» ogni messaggio
    della lista dice la data in cui la lista finisce e porta il pulsante per seguire il Canale (il modello
    «avviso_comunale_transizione»). Serve «whatsapp_channel»."""

    start: Day = Field(
        alias="from",
        description="Il primo giorno in cui i messaggi della lista annunciano il Canale (AAAA-MM-GG).",
        examples=["2027-01-10"],
    )
    until: Day = Field(
        description="Il giorno in cui la lista finisce: i messaggi lo annunciano (AAAA-MM-GG).",
        examples=["2027-02-10"],
    )

    @model_validator(mode="after")
    def _ordered(self) -> Transition:
        if self.until <= self.start:
            raise refuse(
                f"«transition»: la fine ({self.until:%Y-%m-%d}) non viene dopo l'inizio ({self.start:%Y-%m-%d}).",
                "scrivi in «until» un giorno successivo a «from» (Jesi ha tenuto la lista un mese).",
            )
        return self

    def active(self, day: date) -> bool:
        """Whether messages sent on ``day`` announce the Channel (both ends included)."""
        return self.start <= day <= self.until


_WEEKDAY_NAMES = {name.lower(): i for i, name in enumerate(WEEKDAYS_IT)}


def _digest_day(value: str) -> str:
    day = value.strip().lower().replace("i'", "ì")
    if day not in _WEEKDAY_NAMES:
        raise refuse(f"«{value}» non è un giorno della settimana.", f"scrivi uno tra: {', '.join(WEEKDAYS_IT)}.")
    return day


class Digest(Block):
    """Il riepilogo settimanale della lista WhatsApp: un solo messaggio alla settimana, a chi ha scelto
    «settimanale», con gli eventi ancora da venire, le scadenze aperte e i bandi della settimana (un messaggio di
    marketing per Meta: costa più di un avviso, ma uno solo invece di uno per avviso). Se la settimana è vuota
    non parte nulla. Ogni riepilogo ha la sua pagina sul sito (riepiloghi/)."""

    weekday: Annotated[str, AfterValidator(_digest_day)] = Field(
        default="venerdì",
        description="Il giorno della settimana in cui parte il riepilogo (lunedì … domenica).",
        examples=["venerdì"],
    )
    hour: int = Field(
        default=9, ge=0, le=23, description="L'ora (0–23, ora del Comune) in cui parte il riepilogo.", examples=[9]
    )
    types: tuple[Literal["avviso", "notizia", "comunicato", "bando"], ...] = Field(
        default=("avviso", "notizia", "comunicato", "bando"),
        strict=False,
        min_length=1,
        description="I tipi di avviso che entrano nel riepilogo.",
        examples=[["notizia", "bando"]],
    )
    categories: tuple[Slug, ...] = Field(
        default=("eventi", "bandi-e-concorsi", "scadenze"),
        strict=False,
        min_length=1,
        description="Le categorie (tra quelle del Comune) i cui avvisi entrano nel riepilogo.",
        examples=[["eventi", "bandi-e-concorsi", "scadenze"]],
    )
    template: Template = Field(
        default="riepilogo_settimanale",
        description="Il nome dei modelli WhatsApp del riepilogo (categoria MARKETING): uno per numero di righe, "
        "«riepilogo_settimanale_1» … «riepilogo_settimanale_5».",
        examples=["riepilogo_settimanale"],
    )
    marketing_api: bool = Field(
        default=True,
        description="Il numero usa la Marketing Messages API di Meta (l'indirizzo /marketing_messages), come Meta "
        "chiede per i messaggi di marketing; «false» solo se il Comune non l'ha ancora attivata (l'invio passa "
        "da /messages, che Meta chiude ai messaggi di marketing il 13 ottobre 2027).",
        examples=[True],
    )
    price_per_marketing: Euro = Field(
        default=0.12,
        description="Il prezzo stimato di un messaggio di marketing consegnato, in euro (Germania 2025: 0,1131).",
        examples=[0.12],
    )


class WhatsAppList(Block):
    """La lista WhatsApp del Comune: i cittadini si iscrivono mandando la parola chiave al numero."""

    number: Annotated[str, AfterValidator(_phone)] = Field(
        description="Il numero WhatsApp del Comune, con il prefisso internazionale, tra virgolette.",
        examples=['"+39 333 000 0000"'],
    )
    keyword: Annotated[str, AfterValidator(_keyword)] = Field(
        description="La parola chiave che i cittadini scrivono per iscriversi o cancellarsi "
        "(maiuscole, accenti e punteggiatura non contano).",
        examples=["VALFIORITA"],
    )
    on_word: Annotated[str, AfterValidator(lambda v: normalize_keyword(v) or "ON")] = Field(
        default="ON",
        alias="on",
        description="La parola che segue la chiave per iscriversi, tra virgolette.",
        examples=['"ON"'],
    )
    off_word: Annotated[str, AfterValidator(lambda v: normalize_keyword(v) or "OFF")] = Field(
        default="OFF",
        alias="off",
        description="La parola che segue la chiave per cancellarsi, tra virgolette.",
        examples=['"OFF"'],
    )

    coexistence: Coexistence | None = Field(default=None, description=Coexistence.__doc__)

    _on_off = model_validator(mode="before")(_yaml_on_off)

    @property
    def display(self) -> str:
        """As printed on posters: ``+39 333 000 0000``."""
        import phonenumbers

        parsed = phonenumbers.parse("+" + self.number)
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    @property
    def on_message(self) -> str:
        return f"{self.keyword} {self.on_word}"

    @property
    def off_message(self) -> str:
        return f"{self.keyword} {self.off_word}"

    @property
    def signup_link(self) -> str:
        """Click-to-chat link with the ON keyword already typed."""
        return self.chat_link(self.on_message)

    def choice_message(self, choice: str) -> str:
        """The keyword that sets a choice (store/choices.py): the town's keyword and the choice's name,
        ``VALFIORITA URGENTI``."""
        return f"{self.keyword} {normalize_keyword(choice)}"

    def chat_link(self, text: str) -> str:
        """Click-to-chat link with ``text`` already typed."""
        return f"https://wa.me/{self.number}?text={quote(text)}"


_TELEGRAM_NAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{4,31}$")
_TELEGRAM_ID = re.compile(r"^-100\d{6,15}$")


class Telegram(Block):
    """Il canale Telegram del Comune. Basta il nome pubblico («telegram: "@nome"»); un canale privato si
    indica con «chat» (il numero -100…) e «link» (il link di invito)."""

    chat: str = Field(
        description="Il nome pubblico del canale con la chiocciola, oppure il numero di un canale privato (-100…).",
        examples=['"@valfiorita_avvisi"'],
    )
    link: str = Field(
        default="",
        description="Dove i cittadini si iscrivono: per un canale pubblico è https://t.me/ seguito dal nome; "
        "per un canale privato è obbligatorio (https://t.me/+…).",
        examples=["https://t.me/+AbCdEf"],
    )

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        return {"chat": value} if isinstance(value, str) else value

    @field_validator("chat")
    @classmethod
    def _chat(cls, value: str) -> str:
        if not (_TELEGRAM_NAME.match(value) or _TELEGRAM_ID.match(value)):
            raise refuse(
                f"«{value}» non è il nome di un canale Telegram.",
                "scrivi il nome pubblico con la chiocciola, per esempio «@valfiorita_avvisi».",
            )
        return value

    @model_validator(mode="after")
    def _link(self) -> Telegram:
        if not self.link and _TELEGRAM_NAME.match(self.chat):
            object.__setattr__(self, "link", f"https://t.me/{self.chat[1:]}")
        elif not self.link.startswith("https://t.me/"):
            raise refuse(
                "un canale Telegram privato ha bisogno del link di invito.",
                "aggiungi «link: https://t.me/+…» copiato da Telegram (Canale › Link di invito).",
            )
        return self


# --- the social networks (channels/facebook.py, mastodon.py, bluesky.py) ------------------------------


_FACEBOOK_PAGE_URL = r"^https://(www\.|m\.)?facebook\.com/[A-Za-z0-9.\-_/?=&%]+$"


class Facebook(Block):
    """La Pagina Facebook del Comune: ogni avviso diventa un post della Pagina, con l'anteprima del link (titolo,
    sintesi e immagine dell'avviso). Il token della Pagina va sul server (FACEBOOK_PAGE_TOKEN), mai qui."""

    page_id: Annotated[
        str,
        *matching(
            r"^[0-9]{5,20}$",
            "«{}» non è l'identificativo numerico di una Pagina Facebook.",
            "copialo da Facebook (Pagina › Informazioni › Trasparenza della Pagina › ID Pagina): sono solo cifre, "
            "tra virgolette.",
        ),
    ] = Field(
        description="L'identificativo numerico della Pagina (ID Pagina), tra virgolette.", examples=['"1234567890"']
    )
    page_url: Annotated[
        Text,
        *matching(
            _FACEBOOK_PAGE_URL,
            "«{}» non è l'indirizzo di una Pagina Facebook.",
            "scrivi l'indirizzo che si apre nel browser, per esempio https://www.facebook.com/ComuneDiValfiorita.",
        ),
    ] = Field(
        description="L'indirizzo della Pagina, per il pulsante e il codice QR della pagina «Iscriviti».",
        examples=["https://www.facebook.com/ComuneDiValfiorita"],
    )


#: Names that are never a public server's (the token would go to the service's own network).
_LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home.arpa", ".localdomain")


def _public_host(host: str) -> bool:
    """A name on the public Internet: not an IP address, not ``localhost`` or a name of one label or of a local zone."""
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        pass
    return "." in host.strip(".") and not host.endswith(_LOCAL_SUFFIXES) and host != "localhost"


def _instance(value: str) -> str:
    parsed = urlparse(value)
    shown = re.sub(r"//[^/@]*@", "//…@", value)  # a password written in the address is not repeated
    if parsed.scheme != "https" or not parsed.netloc or parsed.path not in ("", "/") or parsed.query:
        raise refuse(
            f"«{shown}» non è l'indirizzo di un server Mastodon.",
            "scrivi solo https:// e il nome del server, senza percorso: https://mastodon.uno.",
        )
    try:
        port = parsed.port
    except ValueError:
        port = -1
    # The access token goes there: never a user name or password, another port, or the service's own network.
    if "@" in parsed.netloc or port is not None or not _public_host((parsed.hostname or "").lower()):
        raise refuse(
            f"«{shown}» non è l'indirizzo pubblico di un server Mastodon.",
            "scrivi https:// e il nome pubblico del server, senza credenziali né porta: https://mastodon.uno "
            "(il token dell'account viene inviato a quell'indirizzo).",
        )
    return value.rstrip("/")


class Mastodon(Block):
    """L'account Mastodon del Comune: ogni avviso diventa un post pubblico (entro il limite di caratteri del
    server). Il token di accesso va sul server (MASTODON_ACCESS_TOKEN), mai qui."""

    instance: Annotated[Text, AfterValidator(_instance)] = Field(
        description="Il server Mastodon dell'account: https:// e il nome del server.", examples=["https://mastodon.uno"]
    )
    account_url: HttpsUrl = Field(
        description="L'indirizzo pubblico dell'account, per il pulsante e il codice QR della pagina «Iscriviti».",
        examples=["https://mastodon.uno/@valfiorita"],
    )
    max_characters: int = Field(
        default=500,
        ge=100,
        le=100_000,
        description="Il numero massimo di caratteri di un post sul server (500 se il server non dice altro; ogni "
        "link conta 23 caratteri).",
        examples=[500],
    )

    @model_validator(mode="after")
    def _same_server(self) -> Mastodon:
        if urlparse(self.account_url).netloc != urlparse(self.instance).netloc:
            raise refuse(
                f"l'account «{self.account_url}» non è sul server «{self.instance}».",
                "scrivi in «instance» il server dell'account (la parte dopo https:// del suo indirizzo).",
            )
        return self


class Bluesky(Block):
    """L'account Bluesky del Comune: ogni avviso diventa un post (al massimo 300 caratteri) con la scheda del link
    e la sua immagine. La password per le app va sul server (BLUESKY_APP_PASSWORD), mai qui."""

    handle: Annotated[
        str,
        BeforeValidator(lambda v: v.lstrip("@").strip().lower() if isinstance(v, str) else v),
        *matching(
            r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
            "«{}» non è un nome utente Bluesky.",
            "scrivi il nome completo dell'account, senza chiocciola: valfiorita.bsky.social (o il dominio del Comune).",
        ),
    ] = Field(description="Il nome dell'account (handle), senza chiocciola.", examples=["valfiorita.bsky.social"])

    @property
    def profile_url(self) -> str:
        return f"https://bsky.app/profile/{self.handle}"


#: A P-256 public key, uncompressed (65 bytes), in base64url without padding: 87 characters starting with «B».
_VAPID_PUBLIC = re.compile(r"^B[A-Za-z0-9_-]{86}$")


class WebPush(Block):
    """Le notifiche del sito (Web Push): chi tocca «Attiva le notifiche» nella pagina Iscriviti riceve gli avvisi
    sul telefono o sul computer, gratis, dal browser. Serve il servizio delle iscrizioni («service»), che conserva
    le iscrizioni e invia; la chiave privata resta sul server (VAPID_PRIVATE_KEY)."""

    public_key: str = Field(
        description="La chiave pubblica VAPID, come la stampa «site-tools webpush chiavi» (87 caratteri che "
        "iniziano con B). La chiave privata non va mai scritta qui.",
        examples=["BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"],
    )

    @field_validator("public_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _VAPID_PUBLIC.match(value):
            raise refuse(
                "«public_key» non è una chiave pubblica VAPID.",
                "copia la chiave pubblica stampata da «site-tools webpush chiavi»: 87 caratteri che iniziano con B.",
            )
        return value


# --- the counter, reports, the web editor -----------------------------------------------------------


class Counter(Block):
    """Lo sportello virtuale: il personale risponde ai cittadini uno a uno, da una casella web. Scrivi «true»
    per le impostazioni predefinite, «false» (o niente) se il Comune non risponde in chat."""

    answers_dir: Annotated[Slug, BeforeValidator(lambda v: v.strip("/") if isinstance(v, str) else v)] = Field(
        default="risposte",
        description="La cartella dentro content/ con le risposte pronte (file Markdown rivisti come gli avvisi, "
        "mai pubblicati).",
        examples=["risposte"],
    )
    retention_days: Days = Field(
        default=90,
        description="Dopo quanti giorni cancellare i messaggi e i file delle conversazioni.",
        examples=[90],
    )
    template: Template = Field(
        default="sportello_risposta",
        description="Il modello WhatsApp approvato con cui rispondere fuori dalla finestra di 24 ore.",
        examples=["sportello_risposta"],
    )


class Reports(Block):
    """Dove i cittadini segnalano un disservizio (la lista WhatsApp è a senso unico): almeno uno dei tre."""

    toll_free: Text | None = Field(
        default=None, description="Il numero verde, tra virgolette.", examples=['"800 000 000"']
    )
    form_url: WebUrl | None = Field(
        default=None,
        description="L'indirizzo del modulo web delle segnalazioni.",
        examples=["https://www.comune.example.it/segnalazioni"],
    )
    email: Email | None = Field(
        default=None, description="L'indirizzo e-mail delle segnalazioni.", examples=["urp@comune.example.it"]
    )


class Readability(Block):
    """La leggibilità delle sintesi, con l'indice Gulpease (da 0 a 100: più è alto, più il testo è facile).
    «validate» avverte, senza fermare nulla, quando la sintesi di un avviso è sotto la soglia."""

    gulpease_min: Annotated[int, Field(ge=0, le=100)] = Field(
        default=40,
        description="La soglia: sotto, un avvertimento con l'indice. Sotto 80 è difficile per chi ha la licenza "
        "elementare, sotto 60 per chi ha la licenza media, sotto 40 per chi ha il diploma.",
        examples=[40],
    )


def _branch(value: str) -> str:
    if not value.strip() or " " in value:
        raise refuse(f"«{value}» non è un ramo valido.", "scrivi il ramo principale, di solito «main».")
    return value


def _origin(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/"):
        raise refuse(
            f"«{value}» non è l'indirizzo del servizio di accesso.",
            "scrivi solo protocollo e nome del server, senza percorso: https://servizi.comune.example.it.",
        )
    return value.rstrip("/")


class Editor(Block):
    """Dove salva il redattore web (/admin/): un repository GitHub, con richieste di modifica (pull request)."""

    repo: Annotated[
        str,
        *matching(
            r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$",
            "«{}» non è il nome di un repository GitHub.",
            "scrivi proprietario e nome, come nell'indirizzo: «comune-valfiorita/avvisi».",
        ),
    ] = Field(description="Il repository GitHub del sito: proprietario/nome.", examples=["comune-valfiorita/avvisi"])
    branch: Annotated[str, AfterValidator(_branch)] = Field(
        default="main", description="Il ramo principale del repository.", examples=["main"]
    )
    auth_url: Annotated[str, AfterValidator(_origin)] | None = Field(
        default=None,
        description="Il servizio che trasforma l'accesso con GitHub in un permesso per il redattore (il servizio "
        "delle iscrizioni): solo protocollo e nome del server.",
        examples=["https://servizi.comune.example.it"],
    )
    open_authoring: bool = Field(
        default=True,
        description="true: chi non ha accesso al repository può comunque proporre modifiche (da una sua copia).",
        examples=[True],
    )


_REPOSITORY = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$"
#: The events after which the service may publish. Never ``pull_request_target``: it runs a fork's pull request
#: with the base branch's ref and workflow, so ref and workflow checks cannot tell it from a push.
ServiceEvent = Literal["push", "workflow_dispatch", "schedule"]


def _some_event(events: tuple[str, ...]) -> tuple[str, ...]:
    # Not min_length: a list whose only item is refused would be reported as empty as well.
    if not events:
        raise refuse("l'elenco «events» è vuoto.", "scrivi almeno «push», oppure togli la riga per il predefinito.")
    return events


def _service_url(value: str) -> str:
    """https, or http on this very machine (a service tried locally, as the tests and the demo do)."""
    parsed = urlparse(value)
    local = parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if not local and (parsed.scheme != "https" or not parsed.netloc):
        raise refuse(f"«{value}» non è un indirizzo web sicuro.", "scrivi l'indirizzo completo con https://.")
    return value.rstrip("/")


ServiceUrl = Annotated[
    Text, AfterValidator(_service_url), Field(json_schema_extra={"format": "uri", "pattern": "^https?://"})
]


class Service(Block):
    """Il servizio delle iscrizioni che pubblica gli avvisi: GitHub gli dimostra con un token OIDC firmato che la
    richiesta viene dal repository del Comune, dal ramo main e dal flusso di pubblicazione; nessun segreto in
    GitHub."""

    url: ServiceUrl = Field(
        description="L'indirizzo https del servizio: il flusso di GitHub vi invia la richiesta di pubblicazione, e "
        "il token vale solo per questo indirizzo (il suo «pubblico»). Senza barra finale.",
        examples=["https://servizi.comune.example.it"],
    )
    repository: Annotated[
        str,
        *matching(
            _REPOSITORY,
            "«{}» non è il nome di un repository GitHub.",
            "scrivi proprietario e nome, come nell'indirizzo: «comune-valfiorita/avvisi».",
        ),
    ] = Field(
        description="Il repository GitHub del sito, proprietario/nome: l'unico da cui il servizio pubblica.",
        examples=["comune-valfiorita/avvisi"],
    )
    repository_id: int = Field(
        gt=0,
        description="Il numero identificativo del repository su GitHub: un repository cancellato e ricreato con lo "
        "stesso nome ne ha un altro, e non pubblica. Si legge con «gh api repos/proprietario/nome --jq .id».",
        examples=[812345678],
    )
    repository_owner_id: int = Field(
        gt=0,
        description="Il numero identificativo del proprietario (l'organizzazione del Comune) su GitHub: si legge con "
        "«gh api repos/proprietario/nome --jq .owner.id».",
        examples=[98765432],
    )
    workflow: Annotated[
        str,
        *matching(
            r"^[A-Za-z0-9._-]+\.ya?ml$",
            "«{}» non è il nome di un file di flusso di GitHub Actions.",
            "scrivi solo il nome del file in .github/workflows, per esempio «publish.yml».",
        ),
    ] = Field(
        default="publish.yml",
        description="Il file in .github/workflows del flusso che chiede la pubblicazione (dal ramo main).",
        examples=["publish.yml"],
    )
    events: Annotated[tuple[ServiceEvent, ...], AfterValidator(_some_event)] = Field(
        default=("push",),
        strict=False,  # a YAML list
        json_schema_extra={"minItems": 1},
        description="Gli eventi di GitHub dopo cui il servizio pubblica: push (un'unione in main); si possono "
        "aggiungere workflow_dispatch (avvio a mano) e schedule (a orario). Mai le richieste di modifica.",
        examples=[["push"]],
    )


# --- office hours ---------------------------------------------------------------------------------

_DAY_NAMES = {normalize_keyword(name): index for index, name in enumerate(WEEKDAYS_IT)} | {
    normalize_keyword(name[:3]): index for index, name in enumerate(WEEKDAYS_IT)
}
_SPAN = r"(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})"
_HOURS = re.compile(f"^{_SPAN}$")


def _weekday(value: Any) -> int:
    index = _DAY_NAMES.get(normalize_keyword(str(value)))
    if index is None:
        raise refuse(
            f"«{value}» non è un giorno della settimana.",
            "usa lunedì, martedì, mercoledì, giovedì, venerdì, sabato, domenica.",
        )
    return index


def _spans(value: Any) -> tuple[tuple[time, time], ...]:
    if not isinstance(value, str):
        raise refuse(
            "gli orari di un giorno vanno scritti tra virgolette.", 'scrivi per esempio «lunedì: "09:00-13:00"».'
        )
    parsed = []
    for span in value.split(","):
        m = _HOURS.match(span.strip())
        if not m:
            raise refuse(
                f"orario «{span.strip()}» non valido.",
                "scrivi l'orario come 09:00-13:00; più fasce separate da virgola.",
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h1, m1) >= (h2, m2):
            raise refuse(
                f"orario «{span.strip()}» impossibile.", "l'apertura deve venire prima della chiusura, entro le 24:00."
            )
        parsed.append((time(h1, m1), time(23, 59, 59) if h2 == 24 else time(h2, m2)))
    return tuple(parsed)


_DAY_KEYS = [*WEEKDAYS_IT, *(normalize_keyword(d).lower() for d in WEEKDAYS_IT), *(d[:3] for d in WEEKDAYS_IT)]
OfficeHoursInput = Annotated[
    dict[Annotated[int, BeforeValidator(_weekday)], Annotated[tuple[tuple[time, time], ...], BeforeValidator(_spans)]],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"enum": list(dict.fromkeys(_DAY_KEYS))},
            "additionalProperties": {"type": "string", "pattern": rf"^\s*{_SPAN}\s*(,\s*{_SPAN}\s*)*$"},
        }
    ),
]


# --- the town -------------------------------------------------------------------------------------


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise refuse(f"fuso orario «{value}» sconosciuto.", "usa «Europe/Rome».") from None
    return value


# --- the e-mail newsletter ------------------------------------------------------------------------------


class Newsletter(Block):
    """La newsletter e-mail del Comune: chi si iscrive dal modulo del sito conferma dal link che riceve (doppia
    conferma) e riceve ogni avviso per posta, attraverso il server SMTP del Comune (SMTP_HOST e gli altri segreti
    del servizio). Gratuita per messaggio."""

    sender: Email = Field(
        description="L'indirizzo da cui partono le e-mail: deve essere una casella del Comune autorizzata sul "
        "server SMTP (SPF e DKIM del dominio).",
        examples=["avvisi@comune.example.it"],
    )
    sender_name: Text | None = Field(
        default=None,
        description="Il nome del mittente che i cittadini vedono. Se manca: il nome del Comune.",
        examples=["Comune di Valfiorita - Avvisi"],
    )
    reply_to: Email | None = Field(
        default=None,
        description="Dove arrivano le risposte dei cittadini (per esempio l'URP). Se manca: il mittente.",
        examples=["urp@comune.example.it"],
    )
    service_url: ServiceUrl | None = Field(
        default=None,
        description="L'indirizzo pubblico del servizio delle iscrizioni, dove il modulo invia e dove portano i link "
        "di conferma e di cancellazione. Se manca: quello di «service».",
        examples=["https://servizi.comune.example.it"],
    )


def _counter(value: Any) -> Any:
    return {} if value is True else (None if value is False else value)


class TownSettings(Block):
    """Ciò che serve per inviare gli avvisi: un errore qui ferma sia il sito sia l'invio."""

    name: Text = Field(
        description="Il nome del Comune, come compare sul sito, nei messaggi e nei manifesti.",
        examples=["Comune di Valfiorita"],
    )
    short_name: Text | None = Field(
        default=None,
        description="Il nome breve, nei messaggi e nei manifesti. Se manca: il nome senza «Comune di».",
        examples=["Valfiorita"],
    )
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        default="Europe/Rome", description="Il fuso orario delle date degli avvisi.", examples=["Europe/Rome"]
    )
    population: int = Field(
        gt=0,
        description="Il numero di residenti, senza punti: stima quanti messaggi partono e quanto costano.",
        examples=[38400],
    )
    bulletins_dir: Annotated[str, AfterValidator(lambda v: v.strip("/"))] = Field(
        default="notizie", description="La cartella dentro content/ con gli avvisi.", examples=["notizie"]
    )
    categories: Annotated[tuple[Category, ...], AfterValidator(_distinct)] = Field(
        default=tuple(Category(slug=s, label=label, channels=ch) for s, label, ch in DEFAULT_CATEGORIES),
        strict=False,  # a YAML list
        min_length=1,
        description="Le categorie degli avvisi e i canali a cui va ciascuna. Se manca: le dieci categorie "
        "predefinite (emergenza, protezione civile, meteo, viabilità, scuola, eventi, bandi e concorsi, scadenze, "
        "servizi, ambiente).",
        examples=[[{"slug": "meteo", "label": "Meteo", "channels": ["whatsapp_list", "telegram"]}]],
    )
    whatsapp: WhatsAppList | None = Field(default=None, description=WhatsAppList.__doc__)
    whatsapp_channel: (
        Annotated[
            str,
            *matching(
                r"^https://whatsapp\.com/channel/[A-Za-z0-9]{20,32}$",
                "«{}» non è un link di invito a un canale WhatsApp.",
                "copia il link dall'app (Canale › Condividi): ha la forma https://whatsapp.com/channel/0029Va….",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="Il link di invito al canale WhatsApp del Comune.",
        examples=["https://whatsapp.com/channel/0029VaFintoCanaleValfiorita0"],
    )
    telegram: Annotated[Telegram | None, OrAlso({"type": "string", "pattern": _TELEGRAM_NAME.pattern})] = Field(
        default=None, description=Telegram.__doc__
    )
    facebook: Facebook | None = Field(default=None, description=Facebook.__doc__)
    mastodon: Mastodon | None = Field(default=None, description=Mastodon.__doc__)
    bluesky: Bluesky | None = Field(default=None, description=Bluesky.__doc__)
    webpush: WebPush | None = Field(default=None, description=WebPush.__doc__)
    office_hours: OfficeHoursInput = Field(
        default_factory=dict,
        strict=False,
        description="Gli orari dello sportello, un giorno per riga; più fasce separate da virgola. Fuori orario "
        "chi scrive riceve un avviso di chiusura.",
        examples=[{"lunedì": "09:00-13:00", "martedì": "09:00-13:00, 15:00-17:30"}],
    )
    counter: Annotated[Counter | None, BeforeValidator(_counter), OrAlso({"type": "boolean"})] = Field(
        default=None, description=Counter.__doc__
    )
    reports: Reports | None = Field(
        default=None,
        description=f"{Reports.__doc__} Il sito non si costruisce senza.",
    )
    price_per_template: Euro = Field(
        default=0.05, description="Il prezzo stimato di un messaggio consegnato alla lista, in euro.", examples=[0.05]
    )
    cost_ceiling_eur: Euro | None = Field(
        default=None,
        description="Sopra questa spesa stimata (euro) un invio non parte senza un'approvazione esplicita. "
        "Se manca: nessun tetto.",
        examples=[300],
    )
    retention_days: Days = Field(
        default=30,
        description="Per quanti giorni tenere le tracce dei messaggi ricevuti che possono identificare un cittadino "
        "(gli identificativi dei messaggi contengono il numero).",
        examples=[30],
    )
    editor: Editor | None = Field(default=None, description=Editor.__doc__)
    service: Service | None = Field(default=None, description=Service.__doc__)
    transition: Transition | None = Field(default=None, description=Transition.__doc__)
    digest: Digest | None = Field(default=None, description=Digest.__doc__)
    readability: Readability | None = Field(
        default=None, description=f"{Readability.__doc__} Se manca: nessun controllo."
    )
    newsletter: Newsletter | None = Field(default=None, description=Newsletter.__doc__)

    @model_validator(mode="after")
    def _some_channel(self) -> TownSettings:
        blocks = (
            "whatsapp",
            "whatsapp_channel",
            "telegram",
            "facebook",
            "mastodon",
            "bluesky",
            "webpush",
            "newsletter",
        )
        if not any(getattr(self, block) is not None for block in blocks):
            raise refuse(
                "nessun canale configurato.",
                f"configura almeno uno tra {', '.join(blocks[:-1])} e {blocks[-1]}.",
            )
        if self.webpush is not None and self.service is None:
            raise refuse(
                "«webpush» ha bisogno del servizio delle iscrizioni, ma manca «service».",
                "configura «service» (il servizio conserva le iscrizioni dei browser e invia le notifiche), "
                "oppure togli «webpush».",
            )
        if self.transition is not None and not self.whatsapp_channel:
            raise refuse(
                "«transition» annuncia il Canale WhatsApp, ma manca «whatsapp_channel».",
                "aggiungi «whatsapp_channel:» con il link di invito al Canale (Canale › Condividi), "
                "oppure togli «transition».",
            )
        if self.transition is not None and self.whatsapp is None:
            raise refuse(
                "«transition» riguarda la lista WhatsApp, ma manca «whatsapp».",
                "togli «transition»: senza la lista non c'è nulla da cui passare al Canale.",
            )
        if self.digest is not None:
            self._check_digest(self.digest)
        if self.newsletter is not None and self.newsletter.service_url is None and self.service is None:
            raise refuse(
                "«newsletter» ha bisogno dell'indirizzo del servizio delle iscrizioni.",
                "aggiungi «service_url:» sotto «newsletter:» (per esempio https://servizi.comune.example.it), "
                "oppure configura «service».",
            )
        return self

    def _check_digest(self, digest: Digest) -> None:
        if self.whatsapp is None:
            raise refuse(
                "«digest» è il riepilogo della lista WhatsApp, ma manca «whatsapp».",
                "configura «whatsapp:» (il numero e la parola chiave) oppure togli «digest».",
            )
        known = {c.slug for c in self.categories}
        unknown = [slug for slug in digest.categories if slug not in known]
        if unknown:
            raise refuse(
                f"«digest»: la categoria «{unknown[0]}» non è tra le categorie del Comune.",
                f"usa una tra: {', '.join(sorted(known))}.",
            )


@functools.cache
def town_model() -> type[Block]:
    """The whole block as a town writes it (the settings and the identity), for the reference and for the
    problems' suggestions: built when asked, not on the urgent path."""

    class Town(Identity, TownSettings):
        """Il blocco «extra.town» di mkdocs.yml: i dati del Comune, i canali e l'identità del sito."""

    return Town


#: Every key of ``extra.town``.
TOWN_KEYS = (*TownSettings.model_fields, *IDENTITY_KEYS)
