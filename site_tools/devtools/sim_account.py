"""The simulator's WhatsApp Business account: the number's health, the templates and the webhook subscription.

Graph API endpoints, as Meta answers them (bearer token: 190/401 otherwise; an unknown id: code 100):

* ``GET /{version}/{phone-number-id}?fields=…`` — verified name, display number, status, name status, quality
  rating, ``throughput: {"level"}``, ``whatsapp_business_manager_messaging_limit`` (only the fields asked for);
* ``GET /{version}/{waba-id}/message_templates`` (``?name=`` filters) and ``POST`` (a new template starts
  ``PENDING``; approved after ``template_review_seconds``, or by ``POST /_sim/templates``);
* ``POST /{version}/{template-id}`` — an edit (APPROVED, once in 24 h; REJECTED; PAUSED): back to ``PENDING``;
* ``GET/POST /{version}/{waba-id}/subscribed_apps`` — the app's subscription (``app_subscribed``).

Each template status change is posted, signed, as a ``message_template_status_update`` webhook; each change of
``quality_rating`` or ``messaging_limit`` through ``POST /_sim/config`` as a ``phone_number_quality_update``.
``POST /_sim/templates`` ``{"name", "status", "reason"?}`` sets a template's status (REJECTED, PAUSED, DISABLED,
APPROVED…); ``GET /_sim/templates`` lists them. By default both project templates exist, APPROVED: with
``town_config`` (a ``mkdocs.yml``) exactly as :func:`~site_tools.service.meta_templates.project_templates`
declares them, otherwise their bodies only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from site_tools.channels.meta_account import TIERS
from site_tools.render.whatsapp_template import BODY
from site_tools.service.counter.template import BODY as COUNTER_BODY

if TYPE_CHECKING:
    from site_tools.devtools.simulator import Simulator

APP = {"id": "1234567890123456", "name": "Avvisi del Comune (simulato)", "link": "https://example.invalid/app"}
STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL", "PENDING_DELETION", "FLAGGED")
EDITABLE = ("APPROVED", "REJECTED", "PAUSED")
#: A template's status → the error a send with it gets (any other status than APPROVED: "does not exist").
SEND_ERRORS = {"PAUSED": 132015, "DISABLED": 132016}
DAY = 86400.0


def seed_templates(town_config: str | None) -> list[dict[str, Any]]:
    """The templates the account holds at start: the town's declared ones, or the two bodies alone."""
    if town_config:
        from site_tools.content.config import load_config
        from site_tools.service.meta_templates import project_templates

        return project_templates(load_config(Path(town_config)))
    return [
        {"name": name, "language": "it", "category": "UTILITY", "parameter_format": "NAMED",
         "components": [{"type": "BODY", "text": body}]}
        for name, body in (("avviso_comunale", BODY), ("sportello_risposta", COUNTER_BODY))
    ]  # fmt: skip


class Account:
    def __init__(self, sim: Simulator):
        self.sim = sim
        self.templates: dict[str, dict[str, Any]] = {}  # by id
        self.events: list[dict[str, Any]] = []  # account changes waiting for the webhook pump
        self.seq = 0
        for body in seed_templates(sim.config.town_config):
            self._add(body, "APPROVED")

    # -- state -------------------------------------------------------------------
    def _add(self, body: dict[str, Any], status: str) -> dict[str, Any]:
        self.seq += 1
        template = {
            "id": str(880_000_000_000_000 + self.seq),
            "name": body["name"],
            "language": body.get("language", "it"),
            "category": str(body.get("category", "UTILITY")).upper(),
            "parameter_format": str(body.get("parameter_format", "POSITIONAL")).upper(),
            "components": body.get("components", []),
            "status": status,
            "review_due": None,
            "edited_at": None,
        }
        if "message_send_ttl_seconds" in body:
            template["message_send_ttl_seconds"] = body["message_send_ttl_seconds"]
        self.templates[template["id"]] = template
        return template

    def by_name(self, name: str, language: str = "it") -> dict[str, Any] | None:
        return next((t for t in self.templates.values() if t["name"] == name and t["language"] == language), None)

    def send_error(self, name: str, language: str) -> int | None:
        """The error sending template ``name`` gets now (None: it may be sent, or the account does not know it)."""
        template = self.by_name(name, language)
        if template is None or template["status"] == "APPROVED":
            return None
        return SEND_ERRORS.get(template["status"], 132001)

    def set_status(self, template: dict[str, Any], status: str, reason: str = "NONE") -> None:
        template["status"], template["review_due"] = status, None
        value: dict[str, Any] = {
            "event": status,
            "message_template_id": int(template["id"]),
            "message_template_name": template["name"],
            "message_template_language": template["language"],
            "reason": reason or "NONE",
        }
        if status == "PAUSED":
            value["other_info"] = {"title": "FIRST_PAUSE", "description": "Paused for low quality (simulated)."}
        self.events.append({"field": "message_template_status_update", "value": value})

    def review_due(self, now: float) -> None:
        """Templates whose review is over are approved (called by the webhook pump)."""
        for template in self.templates.values():
            if template["review_due"] is not None and template["review_due"] <= now:
                self.set_status(template, "APPROVED")

    def _in_review(self, template: dict[str, Any]) -> None:
        template["status"] = "PENDING"
        delay = self.sim.config.template_review_seconds
        template["review_due"] = None if delay is None else time.time() + delay

    def number_changed(self, before: dict[str, Any]) -> None:
        """``POST /_sim/config`` changed the quality or the limit: Meta's ``phone_number_quality_update``."""
        cfg = self.sim.config
        value: dict[str, Any] = {"display_phone_number": cfg.display_phone_number, "current_limit": cfg.messaging_limit}
        if before["messaging_limit"] != cfg.messaging_limit:
            up = _rank(cfg.messaging_limit) > _rank(before["messaging_limit"])
            value |= {"event": "UPGRADE" if up else "DOWNGRADE", "old_limit": before["messaging_limit"]}
            self.events.append({"field": "phone_number_quality_update", "value": dict(value)})
        if before["quality_rating"] != cfg.quality_rating:
            event = "UNFLAGGED" if cfg.quality_rating == "GREEN" else "FLAGGED"
            value = {k: v for k, v in value.items() if k != "old_limit"} | {"event": event}
            self.events.append({"field": "phone_number_quality_update", "value": value})

    def webhook_body(self, change: dict[str, Any]) -> bytes:
        entry = {"id": self.sim.config.waba_id, "time": int(time.time()), "changes": [change]}
        return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()

    # -- Graph API -------------------------------------------------------------------
    def _denied(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.sim.config.whatsapp_token}":
            self.sim.stats["auth_errors"] += 1
            return self.sim.meta_error(190)
        return None

    async def get_object(self, request: web.Request) -> web.StreamResponse:
        object_id = request.match_info["media_id"]  # named as the media endpoint's: one route serves both
        cfg = self.sim.config
        if object_id == cfg.phone_number_id:
            if denied := self._denied(request):
                return denied
            return web.json_response(self._number(request.query.get("fields", "")))
        if object_id in self.templates:
            if denied := self._denied(request):
                return denied
            return web.json_response(_public(self.templates[object_id]))
        if object_id in self.sim.citizens.media:
            return await self.sim.citizens.media_info(request)  # a medium's id (sim_citizens.py)
        if denied := self._denied(request):
            return denied
        return unknown_object(object_id, "get")

    def _number(self, fields: str) -> dict[str, Any]:
        cfg = self.sim.config
        everything: dict[str, Any] = {
            "verified_name": cfg.verified_name,
            "display_phone_number": _display(cfg.display_phone_number),
            "status": cfg.number_status,
            "name_status": "APPROVED",
            "quality_rating": cfg.quality_rating,
            "throughput": {"level": "HIGH" if cfg.mps >= 1000 else "STANDARD"},
            "whatsapp_business_manager_messaging_limit": cfg.messaging_limit,
        }
        asked = [f.strip() for f in fields.split(",") if f.strip()] or ["verified_name", "display_phone_number"]
        return {**{k: v for k, v in everything.items() if k in asked}, "id": cfg.phone_number_id}

    async def edit(self, request: web.Request) -> web.Response:
        if denied := self._denied(request):
            return denied
        template = self.templates.get(request.match_info["object_id"])
        if template is None:
            return unknown_object(request.match_info["object_id"], "post")
        body = await _json(request)
        if body is None:
            return self.sim.meta_error(100, 400, "Invalid JSON")
        if template["status"] not in EDITABLE:
            return self.sim.meta_error(100, 400, f"A template with status {template['status']} cannot be edited")
        now = time.time()
        if template["status"] == "APPROVED" and template["edited_at"] and now - template["edited_at"] < DAY:
            return self.sim.meta_error(100, 400, "An approved template can be edited once in 24 hours")
        for key in ("components", "category", "message_send_ttl_seconds"):
            if key in body:
                template[key] = str(body[key]).upper() if key == "category" else body[key]
        template["edited_at"] = now
        self._in_review(template)
        return web.json_response({"success": True})

    async def list_templates(self, request: web.Request) -> web.Response:
        if problem := self._check_waba(request):
            return problem
        name = request.query.get("name")
        found = [_public(t) for t in self.templates.values() if not name or t["name"] == name]
        return web.json_response({"data": found, "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}}})

    async def create_template(self, request: web.Request) -> web.Response:
        if problem := self._check_waba(request):
            return problem
        body = await _json(request)
        if body is None or not isinstance(body.get("name"), str) or not body.get("components"):
            return self.sim.meta_error(100, 400, "name, language, category and components are required")
        if self.by_name(body["name"], body.get("language", "it")):
            return self.sim.meta_error(100, 400, "Content in this language already exists")
        template = self._add(body, "PENDING")
        self._in_review(template)
        return web.json_response({"id": template["id"], "status": "PENDING", "category": template["category"]})

    async def get_subscribed(self, request: web.Request) -> web.Response:
        if problem := self._check_waba(request):
            return problem
        apps = [{"whatsapp_business_api_data": APP}] if self.sim.config.app_subscribed else []
        return web.json_response({"data": apps})

    async def subscribe(self, request: web.Request) -> web.Response:
        if problem := self._check_waba(request):
            return problem
        self.sim.config.app_subscribed = True
        return web.json_response({"success": True})

    def _check_waba(self, request: web.Request) -> web.Response | None:
        if request.match_info["waba_id"] != self.sim.config.waba_id:
            return unknown_object(request.match_info["waba_id"], request.method.lower())
        return self._denied(request)

    # -- control ----------------------------------------------------------------------
    async def sim_templates(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response([_public(t) for t in self.templates.values()])
        body = await _json(request) or {}
        template = self.by_name(str(body.get("name")), str(body.get("language", "it")))
        if template is None:
            return web.json_response({"error": f"no template {body.get('name')!r}"}, status=404)
        if body.get("status") not in STATUSES:
            return web.json_response({"error": f"status must be one of {', '.join(STATUSES)}"}, status=400)
        self.set_status(template, str(body["status"]), str(body.get("reason") or "NONE"))
        return web.json_response(_public(template))

    def routes(self) -> list[web.RouteDef]:
        sim = self.sim

        def current(name: str) -> Any:
            async def handler(request: web.Request) -> web.StreamResponse:
                return await getattr(sim.account, name)(request)

            return handler

        return [
            web.get(r"/{version:v\d+\.\d+}/{waba_id}/message_templates", current("list_templates")),
            web.post(r"/{version:v\d+\.\d+}/{waba_id}/message_templates", current("create_template")),
            web.get(r"/{version:v\d+\.\d+}/{waba_id}/subscribed_apps", current("get_subscribed")),
            web.post(r"/{version:v\d+\.\d+}/{waba_id}/subscribed_apps", current("subscribe")),
            web.get(r"/{version:v\d+\.\d+}/{media_id}", current("get_object")),
            web.post(r"/{version:v\d+\.\d+}/{object_id}", current("edit")),
            web.get("/_sim/templates", current("sim_templates")),
            web.post("/_sim/templates", current("sim_templates")),
        ]


def unknown_object(object_id: str, method: str) -> web.Response:
    """Graph's answer for an id that does not exist or that the token may not see (code 100, subcode 33)."""
    message = (
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api"
    )
    error = {"message": message, "type": "GraphMethodException", "code": 100, "error_subcode": 33,
             "fbtrace_id": "SimUnknownObject"}  # fmt: skip
    return web.json_response({"error": error}, status=400)


def _public(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template.items() if k not in ("review_due", "edited_at")}


def _rank(tier: str) -> int:
    return list(TIERS).index(tier) if tier in TIERS else -1


def _display(digits: str) -> str:
    return f"+{digits[:2]} {digits[2:5]} {digits[5:]}" if digits.isdigit() else digits


async def _json(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json() if request.can_read_body else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None
