"""Attack: one push of mkdocs.yml moves the service's trust to another repository, for good.

The service's own settings — whom it trusts (``extra.town.service.repository``, its ids, the workflow) and where
it fetches from — are read from ``mkdocs.yml`` *in the checkout it updates from main*. A push (a compromised editor
account, a hurried merge of a PR that "tidies the config") that names ``attacker/avvisi`` and its ids:

* is accepted by the follower like any other settings change (no warning, /health ok);
* is ignored by the running process's Verifier (built once) — so nothing looks wrong —
* and takes effect at the next restart: the service then trusts only the attacker's tokens and fetches from the
  attacker's repository, so the town's revert on its own main never reaches it.
"""

from __future__ import annotations

from typing import Any

import pytest

from site_tools.content.config import load_config
from site_tools.service.current import remote_for
from site_tools.service.oidc import TrustPolicy, Untrusted
from site_tools.settings import Settings

from .conftest import Town
from .test_oidc import REPOSITORY, SERVICE_BLOCK


def with_block(town: Town, block: str) -> None:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    # Estimated price", block + "    # Estimated price", 1), encoding="utf-8")


def test_attack_a_pushed_mkdocs_moves_trust_to_another_repository(town: Town) -> None:
    hostile = (
        SERVICE_BLOCK.replace(REPOSITORY, "mario-rossi/avvisi")
        .replace("812345678", "700000001")
        .replace("98765432", "555")
    )
    with_block(town, hostile)
    config = load_config(town.root / "mkdocs.yml")  # what a restarted service reads from its checkout
    # The trust root is on the server: the repository and its id, in the service's environment.
    settings = Settings.from_env({"SITE_TOOLS_REPOSITORY": REPOSITORY, "SITE_TOOLS_REPOSITORY_ID": "812345678"})
    assert config.service is not None
    with pytest.raises(Untrusted, match="mario-rossi/avvisi"):
        TrustPolicy.from_config(config.service, settings)  # no publish on request: /health says why
    assert remote_for(config, settings) == f"https://github.com/{REPOSITORY}.git"  # still the town's own


def test_without_the_servers_pin_nothing_is_published_on_request_and_nothing_is_followed(town: Town) -> None:
    with_block(town, SERVICE_BLOCK)
    config = load_config(town.root / "mkdocs.yml")
    settings = Settings.from_env({})
    assert config.service is not None
    with pytest.raises(Untrusted, match="SITE_TOOLS_REPOSITORY"):
        TrustPolicy.from_config(config.service, settings)
    assert remote_for(config, settings) is None


def test_a_service_whose_pin_disagrees_says_so_and_publishes_nothing(town: Town, tmp_path: Any) -> None:
    from starlette.testclient import TestClient

    from site_tools.service.app import Service
    from site_tools.store import Store

    with_block(town, SERVICE_BLOCK)
    settings = Settings.from_env(
        {"WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v", "SITE_TOOLS_REPOSITORY": "mario-rossi/avvisi",
         "SITE_TOOLS_REPOSITORY_ID": "700000001", "SITE_TOOLS_REPOSITORY_URL": str(tmp_path / "nowhere.git")}
    )  # fmt: skip
    url = f"sqlite:///{tmp_path / 's.db'}"
    with TestClient(Service(load_config(town.root / "mkdocs.yml"), settings, lambda: Store.open(url)).app()) as client:
        answer = client.post("/publish", headers={"Authorization": "Bearer x.y.z"})
        health = client.get("/health").json()
    assert answer.status_code == 503 and "SITE_TOOLS_REPOSITORY" in answer.text
    assert any("publishing on request is off" in p for p in health["problems"])
