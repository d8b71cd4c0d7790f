"""The WhatsApp Business account at Meta's Graph API: the number's health, the templates, the webhook subscription.

Not on the hot path (a few requests per command or per check), so a plain synchronous httpx client; the service
runs it in a thread. Errors are classified by Meta's ``error.code`` (:mod:`.errors`), never by their text:

* ``GET /<PHONE_NUMBER_ID>?fields=…`` — verified name, status, quality, throughput, messaging limit;
* ``GET/POST /<WABA_ID>/message_templates`` — the templates (list, create); ``POST /<TEMPLATE_ID>`` edits one;
* ``GET/POST /<WABA_ID>/subscribed_apps`` — the app's subscription to the account's webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from site_tools.channels.errors import Action, classify_whatsapp

NUMBER_FIELDS = (
    "verified_name,display_phone_number,status,name_status,quality_rating,throughput,"
    "whatsapp_business_manager_messaging_limit"
)
TEMPLATE_FIELDS = (
    "id,name,language,status,category,components,parameter_format,message_send_ttl_seconds,rejected_reason"
)

#: The messaging limit's tiers (unique users outside service windows in 24 h, per business portfolio); None: unlimited.
TIERS: dict[str, int | None] = {
    "TIER_250": 250,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}
#: Messages per second for each throughput level Meta reports.
THROUGHPUT: dict[str, int] = {"STANDARD": 80, "HIGH": 1_000}
#: Codes meaning the token is not good (authentication) or lacks permissions.
AUTH_CODES = frozenset({0, 190})
PERMISSION_CODES = frozenset({10, 131005, *range(200, 300)})
#: Codes meaning the number itself is in trouble (not registered, blocked).
NUMBER_CODES = frozenset({133010, 368, 131031})
#: Any of these seen while sending: check the token and the number again.
RECHECK_CODES = AUTH_CODES | PERMISSION_CODES | NUMBER_CODES
#: Graph's code for an object id that does not exist (or that this token may not see).
UNKNOWN_OBJECT = 100


class GraphError(Exception):
    """Meta answered with an error (``code`` is Meta's), or did not answer at all (``code`` None, ``http_status`` 0)."""

    def __init__(self, message: str, code: int | None = None, http_status: int = 0, subcode: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.subcode = subcode

    @property
    def unreachable(self) -> bool:
        return self.http_status == 0

    @property
    def auth(self) -> bool:
        return self.code in AUTH_CODES or (self.code is None and self.http_status == 401)

    @property
    def permission(self) -> bool:
        return self.code in PERMISSION_CODES or (self.code is None and self.http_status == 403)

    @property
    def unknown_object(self) -> bool:
        return self.code == UNKNOWN_OBJECT

    @property
    def action(self) -> Action:
        return classify_whatsapp(self.code, self.http_status)


@dataclass(frozen=True)
class NumberInfo:
    id: str
    verified_name: str
    display_phone_number: str
    status: str
    name_status: str
    quality_rating: str
    throughput: str  # STANDARD, HIGH, NOT_APPLICABLE…
    messaging_limit: str  # TIER_250 … TIER_UNLIMITED, or "" when Meta does not say

    @property
    def limit(self) -> int | None:
        """Unique users in 24 h (None: unlimited or unknown; see :attr:`messaging_limit`)."""
        return TIERS.get(self.messaging_limit)

    @property
    def mps(self) -> int | None:
        return THROUGHPUT.get(self.throughput)


@dataclass(frozen=True)
class RemoteTemplate:
    id: str
    name: str
    language: str
    status: str
    category: str
    components: list[dict[str, Any]] = field(default_factory=list)
    ttl: int | None = None
    rejected_reason: str = ""


class MetaAccount:
    """One town's account: its number (``phone_number_id``) and its WhatsApp Business Account (``waba_id``)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        phone_number_id: str = "",
        waba_id: str = "",
        timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=timeout, transport=transport, follow_redirects=False
        )

    def __enter__(self) -> MetaAccount:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- the number ---------------------------------------------------------------
    def number(self) -> NumberInfo:
        data = self._call("GET", self.phone_number_id, params={"fields": NUMBER_FIELDS})
        throughput = data.get("throughput")
        limit = data.get("whatsapp_business_manager_messaging_limit")
        if isinstance(limit, dict):  # answered as an object by some versions: its current tier
            limit = limit.get("current_limit") or limit.get("tier")
        return NumberInfo(
            id=str(data.get("id") or self.phone_number_id),
            verified_name=str(data.get("verified_name") or ""),
            display_phone_number=str(data.get("display_phone_number") or ""),
            status=str(data.get("status") or ""),
            name_status=str(data.get("name_status") or ""),
            quality_rating=str(data.get("quality_rating") or ""),
            throughput=str(throughput.get("level") or "") if isinstance(throughput, dict) else str(throughput or ""),
            messaging_limit=str(limit or ""),
        )

    # -- templates -----------------------------------------------------------------
    def templates(self, name: str | None = None) -> list[RemoteTemplate]:
        params = {"fields": TEMPLATE_FIELDS, "limit": "100", **({"name": name} if name else {})}
        found: list[RemoteTemplate] = []
        data = self._call("GET", f"{self.waba_id}/message_templates", params=params)
        for _ in range(50):  # pages of 100: far more templates than a town has
            items = data.get("data")
            found += [_template(item) for item in items if isinstance(item, dict)] if isinstance(items, list) else []
            paging = _object(data.get("paging"))
            after = _object(paging.get("cursors")).get("after")
            if not after or not paging.get("next"):
                break
            data = self._call("GET", f"{self.waba_id}/message_templates", params={**params, "after": after})
        return found

    def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        """``{"id", "status", "category"}``: a new template starts PENDING (in review)."""
        return self._call("POST", f"{self.waba_id}/message_templates", json=body)

    def edit_template(self, template_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Meta allows editing APPROVED (once a day, 10 times in 30 days), REJECTED and PAUSED templates; the
        edited template goes back to review. Name and language cannot change."""
        editable = {k: v for k, v in body.items() if k in ("components", "category", "message_send_ttl_seconds")}
        return self._call("POST", template_id, json=editable)

    # -- the webhook subscription ------------------------------------------------------
    def subscribed_apps(self) -> list[dict[str, Any]]:
        """The apps subscribed to the account's webhooks: ``[{"whatsapp_business_api_data": {"id", "name"…}}]``."""
        data = self._call("GET", f"{self.waba_id}/subscribed_apps")
        return [item for item in data.get("data") or [] if isinstance(item, dict)]

    def subscribe_app(self) -> bool:
        """Subscribes the token's app to the account's webhooks."""
        return bool(self._call("POST", f"{self.waba_id}/subscribed_apps").get("success"))

    # -- plumbing -------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if not path or path.startswith("/"):
            raise GraphError("identificativo mancante", UNKNOWN_OBJECT, 400)
        try:
            response = self._client.request(method, f"{self.base}/{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise GraphError(type(exc).__name__) from exc  # no answer: http_status 0
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and "error" not in body:
            return body
        error: dict[str, Any] = {}
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
        code = error.get("code") if isinstance(error.get("code"), int) else None
        subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
        message = str(error.get("message") or f"HTTP {response.status_code}")[:300]
        raise GraphError(message, code, response.status_code, subcode)


def _object(value: Any) -> dict[str, Any]:
    """A JSON object of Meta's answer, or an empty one when Meta answered something else there."""
    return value if isinstance(value, dict) else {}


def _template(item: dict[str, Any]) -> RemoteTemplate:
    ttl = item.get("message_send_ttl_seconds")
    return RemoteTemplate(
        id=str(item.get("id") or ""),
        name=str(item.get("name") or ""),
        language=str(item.get("language") or ""),
        status=str(item.get("status") or ""),
        category=str(item.get("category") or ""),
        components=[c for c in item.get("components") or [] if isinstance(c, dict)],
        ttl=ttl if isinstance(ttl, int) else None,
        rejected_reason=str(item.get("rejected_reason") or ""),
    )
