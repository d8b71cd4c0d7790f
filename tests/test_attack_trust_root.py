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

import pytest

from site_tools.content.config import load_config
from site_tools.service.current import remote_for
from site_tools.service.oidc import TrustPolicy
from site_tools.settings import Settings

from .conftest import Town
from .test_oidc import REPOSITORY, SERVICE_BLOCK


def with_block(town: Town, block: str) -> None:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    # Estimated price", block + "    # Estimated price", 1), encoding="utf-8")


@pytest.mark.xfail(strict=True, reason="finding: the trust root lives in the content it protects")
def test_attack_a_pushed_mkdocs_moves_trust_to_another_repository(town: Town) -> None:
    hostile = (
        SERVICE_BLOCK.replace(REPOSITORY, "mario-rossi/avvisi")
        .replace("812345678", "700000001")
        .replace("98765432", "555")
    )
    with_block(town, hostile)
    config = load_config(town.root / "mkdocs.yml")  # what a restarted service reads from its checkout
    settings = Settings.from_env({"SITE_TOOLS_OIDC_ISSUER": "https://token.actions.githubusercontent.com"})
    assert config.service is not None
    policy = TrustPolicy.from_config(config.service, settings)
    remote = remote_for(config, settings)
    assert (policy.repository, remote) == (REPOSITORY, f"https://github.com/{REPOSITORY}.git"), (
        policy.repository,
        policy.repository_id,
        remote,
    )
