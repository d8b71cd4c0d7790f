"""Attack: anyone on the internet, with no token at all, keeps the town's pushes from publishing.

The shared bucket (``total_rate`` 5/s, ``total_burst`` 100) is spent by every request *before* its Authorization
header is even looked at. Ten addresses sending an empty POST every two seconds each (0.5/s: under the
per-address limit) drain it for good; the workflow's three attempts (now, +10 s, +30 s) all get 429 and the job
fails with «nessun avviso è partito».
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from site_tools.service.oidc import IssuerKeys, Verifier
from site_tools.service.ratelimit import RateLimit
from site_tools.store import Store

from .test_oidc import Endpoint, policy_for, runner_token, sim  # noqa: F401 - the fixture

__all__ = ["sim"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_attack_junk_without_a_token_locks_out_the_real_workflow(sim: Any, tmp_path: Path) -> None:  # noqa: F811
    clock = Clock()
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    policy = policy_for(sim)
    verifier = Verifier(policy, keys=IssuerKeys(policy.issuer), limit=RateLimit(clock=clock))  # the defaults
    endpoint = Endpoint(verifier, store)
    attackers = [f"198.51.100.{i}" for i in range(20)]
    try:
        # One junk request as the service sees it: refused 401, after spending the shared bucket.
        assert endpoint.post(authorization=None, address=attackers[0]).status_code == 401
        answers: list[int] = []
        attempts = {1200: 1, 1400: 2, 1800: 3}  # the workflow: now, 10 s later, 20 s after that (steps of 50 ms)
        for step in range(1801):  # 90 s of junk: every address asks every 50 ms (most refused by its own bucket)
            clock.now = 1000.0 + step * 0.05
            for address in attackers:
                verifier.limit.check(address)  # what authorize() does first, for a request with no token at all
            if step in attempts:  # the real push from GitHub's runner
                answers.append(endpoint.post(runner_token(sim, sha="3f2a" * 10), address="4.175.1.1").status_code)
        assert 200 in answers, f"the town's own push got {answers} on its three attempts"
    finally:
        store.close()
