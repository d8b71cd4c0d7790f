"""``site-tools whatsapp check`` against odd Graph API answers: a line that says what is
wrong, never a traceback, never the token."""

from __future__ import annotations

from typing import Any

import httpx

from site_tools.content.config import load_config
from site_tools.service.meta_check import PROBLEM, check
from site_tools.settings import Settings

from .conftest import FIXTURE_TOWN

TOKEN = "EAAG-secret-token"
NUMBER = {"id": "1234", "verified_name": "Comune", "status": "CONNECTED", "quality_rating": "GREEN",
          "throughput": {"level": "STANDARD"}, "whatsapp_business_manager_messaging_limit": "TIER_UNLIMITED"}  # fmt: skip
APPS = {"data": [{"whatsapp_business_api_data": {"id": "1", "name": "Avvisi"}}]}


def graph(templates: httpx.Response) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/message_templates"):
            return templates
        if request.url.path.endswith("/subscribed_apps"):
            return httpx.Response(200, json=APPS)
        return httpx.Response(200, json=NUMBER)

    return httpx.MockTransport(answer)


def run(templates: httpx.Response) -> list[Any]:
    settings = Settings.from_env({"WHATSAPP_TOKEN": TOKEN, "WHATSAPP_PHONE_NUMBER_ID": "1234",
                                  "WHATSAPP_BUSINESS_ACCOUNT_ID": "5678",
                                  "WHATSAPP_API_URL": "https://graph.example/v24.0"})  # fmt: skip
    return check(load_config(FIXTURE_TOWN / "mkdocs.yml"), settings, lambda: 10, transport=graph(templates))


def test_templates_meta_cannot_list_are_a_finding_not_a_crash() -> None:
    # The number and the subscription answered; the templates' list fails (Meta's 500, a permission on that edge).
    findings = run(httpx.Response(500, json={"error": {"message": "An unknown error occurred", "code": 1}}))
    problems = [f for f in findings if f.level == PROBLEM]
    assert [f.subject for f in problems] == ["Modelli"], findings
    assert "codice 1" in problems[0].text and TOKEN not in problems[0].text
    assert any(f.subject == "Qualità del numero" for f in findings)  # the checks after it still ran


def test_a_page_of_templates_in_an_odd_shape_is_a_finding_not_a_crash() -> None:
    findings = run(httpx.Response(200, json={"data": [], "paging": "next"}))
    assert all(f.subject != "Modelli" or f.level == PROBLEM for f in findings)
    assert any(f.subject.startswith("Modello") for f in findings)
