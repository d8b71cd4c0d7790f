"""What a publish request costs the service before any work: junk, forged tokens, and a good token. Figures, not a test.

.venv/bin/python bench/oidc_verify.py [--n 2000]

The issuer is the simulator's (/github-oidc, over HTTP on this machine); the verifier is the service's, called with
a request as Starlette builds it (no HTTP server in between: this measures the checks, not the network). The jti of
good tokens is spent in a SQLite store, as the service does (a thread per call, like the service's store calls).
Prints microseconds per request and requests per second on one core, and the key-set reads each kind caused.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from starlette.requests import Request  # noqa: E402

from site_tools.devtools.oidc_issuer import OidcIssuer  # noqa: E402
from site_tools.devtools.simulator import SimConfig, Simulator, serve  # noqa: E402
from site_tools.service.oidc import Refused, TrustPolicy, Verifier  # noqa: E402
from site_tools.service.ratelimit import RateLimit  # noqa: E402
from site_tools.store.core import Store  # noqa: E402

AUDIENCE = "https://servizi.valfiorita.example.it"


def request(authorization: bytes | None, n: int) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization)]
    address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    return Request({"type": "http", "method": "POST", "path": "/publish", "headers": headers, "client": (address, 1)})


async def timed(verifier: Verifier, headers: list[bytes | None], first_use: Any) -> tuple[float, dict[int, int]]:
    outcomes: dict[int, int] = {}
    start = time.perf_counter()
    for i, header in enumerate(headers):
        try:
            await verifier.authorize(request(header, i), first_use)
            outcomes[200] = outcomes.get(200, 0) + 1
        except Refused as refused:
            outcomes[refused.status] = outcomes.get(refused.status, 0) + 1
    return time.perf_counter() - start, outcomes


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def main(n: int) -> None:
    sim = Simulator(SimConfig())
    runner, port = await serve(sim, "127.0.0.1", 0)
    issuer_url = f"http://127.0.0.1:{port}/github-oidc"
    issuer: OidcIssuer = sim.github_oidc.issuer
    policy = TrustPolicy(issuer_url, AUDIENCE, issuer.repository, issuer.repository_id, issuer.repository_owner_id)
    store = Store.open(f"sqlite:///{tempfile.mkdtemp()}/store.db")

    async def spend(jti: str, exp: float) -> bool:
        return await asyncio.to_thread(store.tokens.first_use, jti, exp)

    claims = json.dumps(issuer.claims(iss=issuer_url, aud=AUDIENCE)).encode()
    none = f"{b64(json.dumps({'alg': 'none', 'kid': issuer.key.kid}).encode())}.{b64(claims)}."
    kinds: dict[str, list[bytes | None]] = {
        "no Authorization header": [None] * n,
        "3 MB header": [b"Bearer " + b"A" * (3 * 1024 * 1024)] * n,
        "not a JWT": [b"Bearer not.a$.jwt"] * n,
        "alg none": [f"Bearer {none}".encode()] * n,
        "unknown kid (after one read)": [
            f"Bearer {issuer.mint(headers={'kid': f'K{i}'}, iss=issuer_url, aud=AUDIENCE)}".encode() for i in range(n)
        ],
        "another repository (signature checked)": [
            f"Bearer {issuer.mint(iss=issuer_url, aud=AUDIENCE, repository='mario-rossi/avvisi')}".encode()
            for _ in range(n)
        ],
        "good token (jti spent in SQLite)": [
            f"Bearer {issuer.mint(iss=issuer_url, aud=AUDIENCE)}".encode() for _ in range(n)
        ],
    }
    print(f"{n} requests of each kind, one at a time, this machine:")
    print(f"{'kind':<42} {'µs/request':>11} {'requests/s':>11}  outcomes  key-set reads")
    for name, headers in kinds.items():
        verifier = Verifier(policy, limit=RateLimit(rate=1e9, burst=1e9, total_rate=1e9, total_burst=1e9))
        before = sim.stats["oidc_jwks"]
        if name.startswith(("unknown", "another", "good")):
            await timed(verifier, [f"Bearer {issuer.mint(iss=issuer_url, aud=AUDIENCE)}".encode()], spend)  # warm
        seconds, outcomes = await timed(verifier, headers, spend)
        reads = sim.stats["oidc_jwks"] - before
        print(f"{name:<42} {seconds / n * 1e6:>11.1f} {n / seconds:>11.0f}  {outcomes}  {reads}")
    store.close()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
