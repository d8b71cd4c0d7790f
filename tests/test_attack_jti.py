"""Attack (low): a request whose body is refused still spends its token.

``Service.publish`` verifies the token — and records its ``jti`` as used — before it reads the body; a body over
4 KB (413) or a bad ``before`` (400) then refuses the request with the token already spent. Harmless for the
workflow as written (a fresh token per attempt, its body is always valid), but the contract says refusals happen
«before any work», and a proxy that mangles the body (or a future client that retries with the same token)
turns a fixable 400 into «token già usato».
"""

from __future__ import annotations

from .test_oidc import runner_token
from .test_publish_endpoint import Running, running  # noqa: F401 - the fixture

__all__ = ["running"]


def test_attack_a_refused_body_spends_the_token(running: Running) -> None:  # noqa: F811
    token = runner_token(running.sim, sha="3f2a" * 10, run_id="4242")
    bad = running.client.post("/publish", headers={"Authorization": f"Bearer {token}"}, json={"before": "HEAD~1"})
    assert bad.status_code == 400
    again = running.client.post("/publish", headers={"Authorization": f"Bearer {token}"}, json={})
    assert again.status_code != 403 or "già usato" not in again.text, again.text
