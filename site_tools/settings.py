"""The process's settings: every environment variable the package reads, declared here once.

Each field names its variable (``validation_alias``), its type, its default and what it is for; the
table in ``docs/reference/environment.md`` is generated from this model (``python -m site_tools.settings``)
and a test fails when the two drift. Nothing else in the package reads ``os.environ``: code that has no
:class:`Settings` handed to it calls :func:`current`.

Secrets (tokens, app secrets, passwords, the database URL that may carry one) are ``SecretStr``: they
never appear in a ``repr``, a log line or the built site (:meth:`Settings.scrub` hides their values in
any text before it is printed). An empty variable counts as unset. A value of the wrong type is an
:class:`SettingsError` whose Italian message names the variable and what it expects.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo

GRAPH_DEFAULT = "https://graph.facebook.com/v24.0"
TELEGRAM_DEFAULT = "https://api.telegram.org"
BLUESKY_DEFAULT = "https://bsky.social"
GITHUB_API_DEFAULT = "https://api.github.com"
GITHUB_DEFAULT = "https://github.com"
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
#: WhatsApp Cloud API throughput per business number: 80 messages per second by default, up to 1,000 once
#: Meta has raised the number's tier. (The other rate limits are in :mod:`site_tools.content.limits`; these
#: two live here because they bound a setting, and settings import nothing from the project.)
WHATSAPP_DEFAULT_MPS = 80
WHATSAPP_MAX_MPS = 1000
#: The browsers' push services (Chrome/Edge-on-Android: FCM; Firefox: Mozilla's autopush; Safari: Apple; Edge on
#: Windows: WNS). A subscription pointing elsewhere is refused: the service never POSTs to an address a stranger
#: chose (no request forgery towards the server's own network).
WEBPUSH_SERVICES_DEFAULT = (
    "https://fcm.googleapis.com,https://updates.push.services.mozilla.com,https://web.push.apple.com,"
    "https://*.notify.windows.com"
)

#: What a value of each type must look like, for the error message.
EXPECTS = {
    "number": "un numero (ad esempio 20 o 2.5)",
    "boolean": "true o false (oppure 1 o 0)",
    "string": "un testo",
}


class SettingsError(ValueError):
    """A variable of the environment has a value of the wrong type (the message is for the town's staff)."""


def _var(name: str, description: str, default: Any = None) -> Any:
    return Field(default=default, validation_alias=name, description=description)


class Settings(BaseModel):
    """Read from the environment by :meth:`from_env` (names are case-sensitive, an empty value is unset).

    A plain pydantic model rather than pydantic-settings' ``BaseSettings``: the variables are flat scalars,
    which a model validates alike, and importing pydantic-settings cost about as much again as pydantic itself
    on every command's start, the first urgent message's included.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    # -- WhatsApp Cloud API (lists and the service) ------------------------------------------------------------
    whatsapp_token: SecretStr | None = _var(
        "WHATSAPP_TOKEN", "Token of the WhatsApp Cloud API (a system user's permanent token)."
    )
    whatsapp_phone_number_id: str | None = _var(
        "WHATSAPP_PHONE_NUMBER_ID", "Id of the town's WhatsApp number at Meta (not the number itself)."
    )
    whatsapp_business_account_id: str | None = _var(
        "WHATSAPP_BUSINESS_ACCOUNT_ID",
        "Id of the town's WhatsApp Business Account (WABA) at Meta: its templates and its webhook subscription.",
    )
    whatsapp_api_url: str = _var("WHATSAPP_API_URL", "Base address of the Graph API, with its version.", GRAPH_DEFAULT)
    whatsapp_mps: float = _var(
        "WHATSAPP_MPS",
        f"Messages per second to WhatsApp lists (clamped to 1…{WHATSAPP_MAX_MPS}); `publish --rate` overrides it.",
        float(WHATSAPP_DEFAULT_MPS),
    )
    app_secret: SecretStr | None = _var(
        "WHATSAPP_APP_SECRET", "The Meta app's secret: checks the signature of every webhook."
    )
    verify_token: SecretStr | None = _var(
        "WHATSAPP_VERIFY_TOKEN", "Chosen by the town: answers Meta's webhook verification handshake."
    )
    # -- WhatsApp Channel (through a gateway) ---------------------------------------------------------------------
    channel_gateway_url: str | None = _var("WHATSAPP_CHANNEL_GATEWAY_URL", "Address of the WhatsApp Channel gateway.")
    channel_gateway_token: SecretStr | None = _var(
        "WHATSAPP_CHANNEL_GATEWAY_TOKEN", "Token of the WhatsApp Channel gateway."
    )
    channel_id: str | None = _var("WHATSAPP_CHANNEL_ID", "The Channel's newsletter id at the gateway (`…@newsletter`).")
    # -- Telegram ---------------------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = _var("TELEGRAM_BOT_TOKEN", "Token of the town's Telegram bot.")
    telegram_api_url: str = _var("TELEGRAM_API_URL", "Base address of the Telegram Bot API.", TELEGRAM_DEFAULT)
    # -- Facebook Page, Mastodon, Bluesky --------------------------------------------------------------------
    facebook_page_token: SecretStr | None = _var(
        "FACEBOOK_PAGE_TOKEN",
        "The town's Facebook Page access token (`pages_manage_posts`, a system user's token that does not expire).",
    )
    facebook_api_url: str = _var(
        "FACEBOOK_API_URL", "Base address of the Graph API for the Page, with its version.", GRAPH_DEFAULT
    )
    mastodon_access_token: SecretStr | None = _var(
        "MASTODON_ACCESS_TOKEN", "Access token of the town's Mastodon account (scope `write:statuses` only)."
    )
    mastodon_api_url: str | None = _var(
        "MASTODON_API_URL",
        "Another address for the Mastodon server than `extra.town.mastodon.instance` (the simulator, in tests).",
    )
    bluesky_app_password: SecretStr | None = _var(
        "BLUESKY_APP_PASSWORD",
        "An app password of the town's Bluesky account (Settings › App passwords), never the account's password.",
    )
    bluesky_api_url: str = _var("BLUESKY_API_URL", "The Bluesky account's server (PDS or entryway).", BLUESKY_DEFAULT)
    # -- Web Push (the site's notifications) ------------------------------------------------------------------
    vapid_private_key: SecretStr | None = _var(
        "VAPID_PRIVATE_KEY",
        "The VAPID private key that signs every Web Push request: the path of the PEM file `site-tools webpush "
        "chiavi` wrote, or the key itself (PEM, or the raw key in base64url). Its public half is "
        "`extra.town.webpush.public_key`.",
    )
    vapid_subject: str | None = _var(
        "VAPID_SUBJECT",
        "Whom push services contact about this sender (`mailto:` or `https:`), in every VAPID token's `sub`.",
    )
    webpush_services: str = _var(
        "WEBPUSH_SERVICES",
        "The push services a subscription's endpoint may point to (origins, comma-separated; `*.` matches "
        "subdomains): the service sends to nothing else. Tests add the local stand-in's `http://127.0.0.1:…`.",
        WEBPUSH_SERVICES_DEFAULT,
    )
    webpush_concurrency: int = _var(
        "WEBPUSH_CONCURRENCY", "Web Push requests in flight at once (push services are many hosts; 1…256).", 32
    )
    # -- The e-mail newsletter: the town's SMTP server ---------------------------------------------------------
    smtp_host: str | None = _var("SMTP_HOST", "The town's SMTP server, through which the newsletter is sent.")
    smtp_port: int = _var("SMTP_PORT", "Its port: 587 with STARTTLS, 465 with TLS, 25 without.", 587)
    smtp_security: str = _var(
        "SMTP_SECURITY", "`starttls` (upgrade after connecting), `tls` (TLS from the start) or `none`.", "starttls"
    )
    smtp_username: str | None = _var("SMTP_USERNAME", "The SMTP login (unset: no authentication).")
    smtp_password: SecretStr | None = _var("SMTP_PASSWORD", "The SMTP password.")
    smtp_pool: int = _var(
        "SMTP_POOL", "Connections the newsletter keeps open to the SMTP server at once (each sends many messages).", 4
    )
    newsletter_secret: SecretStr | None = _var(
        "NEWSLETTER_SECRET",
        "Signs the newsletter's confirmation and unsubscribe links (a long random text; changing it voids the links "
        "already sent).",
    )
    # -- The store and the service ---------------------------------------------------------------------------
    db_url: SecretStr | None = _var(
        "SITE_TOOLS_DB",
        "The store: a SQLite file path, `sqlite:///path` or `postgresql://…` (default: `data/site-tools.db`).",
    )
    http_timeout: float = _var("SITE_TOOLS_HTTP_TIMEOUT", "Seconds to wait for an answer from an outside API.", 20.0)
    header_timeout: float = _var(
        "SITE_TOOLS_HEADER_TIMEOUT", "Seconds the service waits for a request's headers before closing it.", 10.0
    )
    job_lease: float = _var(
        "SITE_TOOLS_JOB_LEASE",
        "Seconds a replica holds a publish job without renewing it; after that another replica takes it over.",
        30.0,
    )
    trusted_repository: str | None = _var(
        "SITE_TOOLS_REPOSITORY",
        "`owner/name` of the town's repository, set on the server: the only one the service publishes from and "
        "follows. It must match `extra.town.service.repository`; kept outside the repository so that a commit "
        "cannot change whom the service trusts.",
    )
    trusted_repository_id: int | None = _var(
        "SITE_TOOLS_REPOSITORY_ID",
        "The numeric id of that repository on GitHub (`gh api repos/<owner>/<name> --jq .id`); must match "
        "`extra.town.service.repository_id`.",
    )
    oidc_issuer: str = _var(
        "SITE_TOOLS_OIDC_ISSUER",
        "The issuer whose OIDC tokens prove a publish comes from the town's repository (its keys are read from it).",
        GITHUB_OIDC_ISSUER,
    )
    session_secret: SecretStr | None = _var(
        "SITE_TOOLS_SESSION_SECRET", "Signs the counter's staff sessions; the staff inbox stays closed without it."
    )
    # -- The service's checkout of the town's repository, and the site it keeps current --------------------------
    repository_url: str | None = _var(
        "SITE_TOOLS_REPOSITORY_URL",
        "Where the service fetches `main` from (default: `https://github.com/<extra.town.service.repository>.git`).",
    )
    deploy_key: Path | None = _var(
        "SITE_TOOLS_DEPLOY_KEY",
        "A private repository: the read-only deploy key (SSH private key file) to fetch it with.",
    )
    fetch_every: float = _var(
        "SITE_TOOLS_FETCH_EVERY",
        "Seconds between the service's fallback fetches of `main` (a publish fetches at once).",
        120.0,
    )
    github_dispatch_token: SecretStr | None = _var(
        "SITE_TOOLS_GITHUB_DISPATCH_TOKEN",
        "Fine-grained token with «Actions: write» on the town's repository only: the service asks GitHub to rebuild"
        " the site when what it shows changes with time.",
    )
    # -- The web editor's GitHub login (hosted by the service) -----------------------------------------------------
    github_oauth_client_id: str | None = _var(
        "GITHUB_OAUTH_CLIENT_ID", "Client id of the web editor's GitHub OAuth app."
    )
    github_oauth_client_secret: SecretStr | None = _var(
        "GITHUB_OAUTH_CLIENT_SECRET", "Client secret of the web editor's GitHub OAuth app."
    )
    github_url: str = _var("GITHUB_URL", "GitHub's address for the editor's login.", GITHUB_DEFAULT)
    # -- GitHub Actions (set by GitHub in the workflow) ---------------------------------------------------------
    github_token: SecretStr | None = _var(
        "GITHUB_TOKEN", "The workflow's token: manual Channel posts become issues for the editors."
    )
    github_repository: str | None = _var("GITHUB_REPOSITORY", "The repository (`owner/name`) the issues are opened in.")
    github_api_url: str = _var("GITHUB_API_URL", "Base address of GitHub's REST API.", GITHUB_API_DEFAULT)
    github_actions: bool = _var(
        "GITHUB_ACTIONS", "`true` inside GitHub Actions: problems also become annotations.", False
    )
    github_step_summary: Path | None = _var(
        "GITHUB_STEP_SUMMARY", "File the publish summary is appended to (the workflow run's page)."
    )
    actions_id_token_request_url: str | None = _var(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "Set by GitHub in a job with `id-token: write`: where `channel-issues` asks for an OIDC token.",
    )
    actions_id_token_request_token: SecretStr | None = _var(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "Set by GitHub with the previous one: authorises the OIDC token request."
    )
    service_url: str | None = _var(
        "SITE_TOOLS_SERVICE_URL",
        "The town's service as CI reaches it (the repository variable): the OIDC tokens' audience, where "
        "`channel-issues` reports the issues (`POST /publish/issues`).",
    )
    github_base_ref: str | None = _var(
        "GITHUB_BASE_REF", "A pull request's base branch: bulletins are compared with it (default: the last commit)."
    )
    # -- Command-line defaults (each is also an option of the command) ---------------------------------------
    config_path: Path | None = _var(
        "SITE_TOOLS_CONFIG", "The town's `mkdocs.yml` (`--config`; default: found from the current folder)."
    )
    approve_cost: bool = _var(
        "SITE_TOOLS_APPROVE_COST", "`publish` sends even above the town's cost ceiling (`--approve-cost`).", False
    )
    deadline: float | None = _var(
        "SITE_TOOLS_DEADLINE",
        "`publish`: seconds after which nothing new is sent, the rest resumed later (`--deadline`).",
    )
    # -- Development and tests --------------------------------------------------------------------------------
    now: str | None = _var(
        "SITE_TOOLS_NOW", "Pretend the time is this (`YYYY-MM-DD HH:MM`, Europe/Rome): demos and tests only."
    )
    debug: bool = _var("SITE_TOOLS_DEBUG", "Show the technical details (the traceback) of an unexpected error.", False)
    cms_local_backend: str | None = _var(
        "SITE_TOOLS_CMS_LOCAL_BACKEND", "Set by `site-tools serve`: the local editor's backend address."
    )

    @field_validator(
        "whatsapp_api_url",
        "telegram_api_url",
        "github_api_url",
        "github_url",
        "channel_gateway_url",
        "oidc_issuer",
        "facebook_api_url",
        "mastodon_api_url",
        "bluesky_api_url",
    )
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") or None if value else value

    @field_validator("webpush_concurrency")
    @classmethod
    def _concurrency(cls, value: int) -> int:
        return max(1, min(value, 256))

    @field_validator("smtp_security")
    @classmethod
    def _security(cls, value: str) -> str:
        if value not in ("starttls", "tls", "none"):
            raise ValueError("starttls, tls or none")
        return value

    @field_validator("smtp_pool")
    @classmethod
    def _pool(cls, value: int) -> int:
        return max(1, min(value, 64))

    @field_validator("whatsapp_mps")
    @classmethod
    def _clamped(cls, value: float) -> float:
        return max(1.0, min(value, float(WHATSAPP_MAX_MPS)))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """The settings from ``env`` (the process's environment by default); :class:`SettingsError` if a value
        is not of its variable's type."""
        source = os.environ if env is None else env
        try:
            return cls.model_validate({k: source[k] for k in NAMES if source.get(k, "") != ""})
        except ValidationError as exc:
            raise SettingsError(_italian(exc, source)) from None

    def secrets(self) -> list[str]:
        """Values to scrub from any text before it is printed."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value()]

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "•••")
        return text


def reveal(value: SecretStr | None) -> str:
    """A secret's value for the one place that sends it (a header, a signature check); "" when unset."""
    return value.get_secret_value() if value is not None else ""


def _secret(field: FieldInfo) -> bool:
    return "SecretStr" in str(field.annotation)


def _kind(annotation: Any) -> str:
    text = str(annotation)
    return "number" if "float" in text or "int" in text else "boolean" if "bool" in text else "string"


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)


def _italian(exc: ValidationError, env: Any) -> str:
    by_alias = {f.validation_alias: f for f in Settings.model_fields.values()}
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        field = by_alias.get(name)
        expects = EXPECTS[_kind(field.annotation)] if field else "un valore valido"
        shown = "(nascosto)" if field is not None and _secret(field) else f"«{env.get(name, '')}»"
        lines.append(f"Variabile d'ambiente {name}: il valore {shown} non va bene, serve {expects}.")
    return "\n".join(lines) + "\nCorreggila (o toglila per usare il valore predefinito) e riprova."


#: The variables this model reads, in the order of the table.
NAMES = tuple(str(f.validation_alias) for f in Settings.model_fields.values())


@lru_cache(maxsize=8)
def _cached(values: tuple[str | None, ...]) -> Settings:
    return Settings.from_env({n: v for n, v in zip(NAMES, values, strict=True) if v is not None})


def current() -> Settings:
    """The settings for the environment as it is now (a command may set ``SITE_TOOLS_NOW`` for its build).

    Cheap enough for a hot path: the model is built again only when one of its variables changed.
    """
    return _cached(tuple(os.environ.get(n) for n in NAMES))


def table() -> str:
    """The Markdown page of every variable: name, type, default, description."""
    rows = [
        "# Environment variables",
        "",
        "Generated from `site_tools/settings.py` by `python -m site_tools.settings` (a test fails when this page"
        " and the model differ). An empty variable counts as unset. Secrets are never printed or logged.",
        "",
        "| Variable | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for field in Settings.model_fields.values():
        kind = "secret" if _secret(field) else _kind(field.annotation)
        if "Path" in str(field.annotation):
            kind = "path"
        default = "—" if field.default is None else f"`{_shown(field.default)}`"
        description = str(field.description).replace("|", "\\|")
        rows.append(f"| `{field.validation_alias}` | {kind} | {default} | {description} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the docs page
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/reference/environment.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(table(), encoding="utf-8")
