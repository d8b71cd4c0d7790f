"""Who may publish: only a GitHub OIDC token of the town's repository, main, a push and its publish workflow.

The issuer is the simulator's (``/github-oidc``, over real HTTP: discovery, keys, the runner's token request as the
workflow's shell step makes it); the endpoint is a Starlette route calling the verifier as ``POST /publish`` does;
the ``jti`` is spent in a real store. Every refusal is one test, with its status, its Italian reason and its log line.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from site_tools.content.config import load_config
from site_tools.content.problems import InvalidContent
from site_tools.devtools.oidc_issuer import REQUEST_TOKEN, OidcIssuer, SigningKey
from site_tools.service.oidc import IssuerKeys, Refused, TrustPolicy, Verifier
from site_tools.service.ratelimit import RateLimit
from site_tools.settings import GITHUB_OIDC_ISSUER, Settings
from site_tools.store.core import Store

from .conftest import Town
from .services import SimThread, simulator

AUDIENCE = "https://servizi.valfiorita.example.it"
REPOSITORY = "comune-valfiorita/avvisi"
WORKFLOW_REF = f"{REPOSITORY}/.github/workflows/publish.yml@refs/heads/main"
SERVICE_BLOCK = f"""    service:
      url: {AUDIENCE}/
      repository: {REPOSITORY}
      repository_id: 812345678
      repository_owner_id: 98765432
"""


@pytest.fixture(scope="module")
def sim() -> Any:
    with simulator() as running:
        yield running


def issuer_of(sim: Any) -> str:
    return f"{sim.url}/github-oidc"


def policy_for(sim: Any, **changes: Any) -> TrustPolicy:
    base = TrustPolicy(
        issuer=issuer_of(sim),
        audience=AUDIENCE,
        repository=REPOSITORY,
        repository_id=812345678,
        repository_owner_id=98765432,
    )
    return replace(base, **changes)


def runner_token(sim: SimThread, audience: str = AUDIENCE, **claims: Any) -> str:
    """What the workflow's shell step does: ``$ACTIONS_ID_TOKEN_REQUEST_URL&audience=…`` with the request token."""
    sim.configure(oidc_run=claims)
    request_url = f"{sim.url}/github-oidc/token?api-version=2.0"  # ACTIONS_ID_TOKEN_REQUEST_URL
    answer = httpx.get(
        f"{request_url}&audience={quote(audience, safe='')}", headers={"Authorization": f"bearer {REQUEST_TOKEN}"}
    )
    answer.raise_for_status()
    return answer.json()["value"]


def jwks_fetches(sim: SimThread) -> int:
    return int(sim.stats().get("oidc_jwks", 0))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Endpoint:
    """``POST /publish`` as the service answers it before any work: the verifier, a store for the jti."""

    def __init__(self, verifier: Verifier, store: Store):
        self.verifier = verifier
        self.store = store

        async def publish(request: Request) -> Response:
            try:
                claims = await verifier.authorize(request, self.first_use)
            except Refused as refused:
                return PlainTextResponse(refused.reason, refused.status, headers=refused.headers())
            return JSONResponse(asdict(claims))

        self.app = Starlette(routes=[Route("/publish", publish, methods=["POST"])])

    async def first_use(self, jti: str, exp: float) -> bool:
        return await asyncio.to_thread(self.store.tokens.first_use, jti, exp)

    async def apost(self, authorization: str | bytes | None, address: str = "203.0.113.7") -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        headers = {} if authorization is None else {"Authorization": authorization}
        async with httpx.AsyncClient(transport=transport, base_url=AUDIENCE) as client:
            return await client.post("/publish", headers=headers, json={"before": "0" * 40})

    def post(self, token: str | None = None, authorization: str | bytes | None = None, **kw: Any) -> httpx.Response:
        return asyncio.run(self.apost(authorization if token is None else f"Bearer {token}", **kw))


class Clock:
    """The key cache's clock, moved by the test: "a minute later" without waiting a minute."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def endpoint(sim: SimThread, tmp_path: Path, clock: Clock) -> Any:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    policy = policy_for(sim)
    try:
        yield Endpoint(Verifier(policy, keys=IssuerKeys(policy.issuer, clock=clock)), store)
    finally:
        store.close()


# -- accepted ----------------------------------------------------------------------------------------------------


def test_a_push_to_main_from_the_publish_workflow_is_accepted(sim: SimThread, endpoint: Endpoint) -> None:
    sha = "3f2a" * 10
    token = runner_token(sim, sha=sha, run_id="7001", run_attempt="2", actor="sindaco")
    answer = endpoint.post(token)
    assert answer.status_code == 200, answer.text
    claims = answer.json()
    assert claims["sha"] == sha
    assert claims["repository"] == REPOSITORY and claims["repository_id"] == 812345678
    assert claims["ref"] == "refs/heads/main" and claims["event_name"] == "push"
    assert (claims["run_id"], claims["run_attempt"], claims["actor"]) == ("7001", 2, "sindaco")
    assert claims["workflow_ref"] == WORKFLOW_REF
    assert endpoint.store.tokens.count() == 1  # its jti is spent


def test_the_runner_endpoint_answers_as_githubs(sim: SimThread) -> None:
    """The token request of the workflow's step: a bad request token is refused; the JWT carries GitHub's claims."""
    url = f"{sim.url}/github-oidc/token?api-version=2.0&audience={quote(AUDIENCE, safe='')}"
    assert httpx.get(url, headers={"Authorization": "bearer wrong"}).status_code == 401
    sim.configure(oidc_run={})
    answer = httpx.get(url, headers={"Authorization": f"bearer {REQUEST_TOKEN}"}).json()
    header = json.loads(base64.urlsafe_b64decode(answer["value"].split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(answer["value"].split(".")[1] + "=="))
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["kid"]
    assert claims["iss"] == issuer_of(sim) and claims["aud"] == AUDIENCE
    assert claims["sub"] == f"repo:{REPOSITORY}:ref:refs/heads/main"
    assert claims["exp"] - claims["iat"] == 6 * 3600 and claims["nbf"] < claims["iat"]
    assert isinstance(claims["repository_id"], str) and isinstance(claims["run_id"], str)  # as GitHub writes ids
    discovery = httpx.get(f"{issuer_of(sim)}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == issuer_of(sim) and discovery["jwks_uri"] == f"{issuer_of(sim)}/.well-known/jwks"
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]


def test_workflow_dispatch_is_accepted_when_the_town_allows_it(sim: SimThread, endpoint: Endpoint) -> None:
    endpoint.verifier.policy = policy_for(sim, events=("push", "workflow_dispatch"))
    assert endpoint.post(runner_token(sim, event_name="workflow_dispatch")).status_code == 200


def test_owner_and_repository_compare_regardless_of_case(sim: SimThread, endpoint: Endpoint) -> None:
    """GitHub's names ignore case (the ids decide): a town that wrote its repository capitalised still publishes."""
    endpoint.verifier.policy = policy_for(sim, repository="Comune-Valfiorita/Avvisi")
    assert endpoint.post(runner_token(sim)).status_code == 200


# -- refused: what the token says --------------------------------------------------------------------------------

NOW = int(time.time())
FORK = "mario-rossi/avvisi"


def _workflow_ref(repository: str = REPOSITORY, file: str = "publish.yml", ref: str = "refs/heads/main") -> str:
    return f"{repository}/.github/workflows/{file}@{ref}"


REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "a fork: another repository name": (
        {
            "repository": FORK,
            "repository_owner": "mario-rossi",
            "repository_id": "900000001",
            "repository_owner_id": "1111",
            "workflow_ref": _workflow_ref(FORK),
        },
        "token di un altro repository: il servizio pubblica solo da comune-valfiorita/avvisi",
    ),
    "the same name, another id (deleted and re-created)": (
        {"repository_id": "900000002"},
        "il repository comune-valfiorita/avvisi non è quello registrato",
    ),
    "the same name, another owner id": (
        {"repository_owner_id": "1111"},
        "il proprietario del repository non è quello registrato",
    ),
    "a pull request": (
        {
            "event_name": "pull_request",
            "ref": "refs/pull/1/merge",
            "head_ref": "mario-rossi:patch-1",
            "base_ref": "main",
            "workflow_ref": _workflow_ref(ref="refs/pull/1/merge"),
        },
        'il servizio pubblica solo dal ramo main, non da "refs/pull/1/merge"',
    ),
    "a pull_request_target (a fork's PR run with main's ref)": (
        {"event_name": "pull_request_target"},
        'evento "pull_request_target" non ammesso',
    ),
    "another repository of the same owner": (
        {
            "repository": "comune-valfiorita/sito",
            "repository_id": "812345679",
            "workflow_ref": _workflow_ref("comune-valfiorita/sito"),
        },
        "token di un altro repository",
    ),
    "another branch": (
        {"ref": "refs/heads/prova", "workflow_ref": _workflow_ref(ref="refs/heads/prova")},
        'non da "refs/heads/prova"',
    ),
    "a tag": (
        {"ref": "refs/tags/v1.0", "ref_type": "tag", "workflow_ref": _workflow_ref(ref="refs/tags/v1.0")},
        'non da "refs/tags/v1.0"',
    ),
    "another workflow": (
        {"workflow_ref": _workflow_ref(file="anteprima.yml"), "workflow": "Anteprima"},
        "flusso non ammesso: il servizio pubblica solo da .github/workflows/publish.yml su main",
    ),
    "main's workflow file from another branch": (
        {"workflow_ref": _workflow_ref(ref="refs/heads/prova")},
        "flusso non ammesso",
    ),
    "a workflow_dispatch": ({"event_name": "workflow_dispatch"}, 'evento "workflow_dispatch" non ammesso'),
    "a schedule": ({"event_name": "schedule"}, 'evento "schedule" non ammesso'),
    "another issuer": ({"iss": GITHUB_OIDC_ISSUER}, "token di un altro emittente"),
    "expired": ({"iat": NOW - 7 * 3600, "nbf": NOW - 7 * 3600, "exp": NOW - 3600}, "token scaduto"),
    "not yet valid": ({"iat": NOW + 3600, "nbf": NOW + 3600, "exp": NOW + 8 * 3600}, "token non ancora valido"),
    "without a jti": ({"jti": None}, "token incompleto: manca «jti»"),
    "without a repository id": ({"repository_id": None}, "token incompleto: manca «repository_id»"),
    "not a commit": ({"sha": "main"}, "«sha» non è un commit"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused(sim: SimThread, endpoint: Endpoint, case: str, caplog: pytest.LogCaptureFixture) -> None:
    claims, reason = REFUSALS[case]
    claims = {"run_id": "4242", **claims}
    token = runner_token(sim, **claims)
    with caplog.at_level(logging.WARNING, logger="site_tools.service"):
        answer = endpoint.post(token)
    assert answer.status_code == 403
    assert reason in answer.text
    assert "\n" not in answer.text.strip()
    assert endpoint.store.tokens.count() == 0  # a refused token spends nothing: its jti is still unused
    [line] = [r.getMessage() for r in caplog.records if r.name == "site_tools.service"]
    assert line.startswith("publish refused (403): ") and reason in line
    shown = {**{"repository": REPOSITORY, "ref": "refs/heads/main", "event_name": "push"}, **claims}
    assert f"repository={json.dumps(shown['repository'])}" in line
    assert f"ref={json.dumps(shown['ref'])}" in line and f"event={json.dumps(shown['event_name'])}" in line
    assert 'run="4242"' in line and "workflow=" in line and "address=203.0.113.7" in line
    assert token not in line and token.split(".")[2] not in line


def test_wrong_audience(sim: SimThread, endpoint: Endpoint) -> None:
    """A token asked for another service (or with GitHub's default audience) is not for this one."""
    for audience in ("https://servizi.altro-comune.example.it", "https://github.com/comune-valfiorita"):
        answer = endpoint.post(runner_token(sim, audience=audience))
        assert answer.status_code == 403
        assert answer.text == f"token per un altro destinatario: il suo «audience» deve essere {AUDIENCE}"


def test_the_same_token_twice(sim: SimThread, endpoint: Endpoint) -> None:
    token = runner_token(sim)
    assert endpoint.post(token).status_code == 200
    again = endpoint.post(token)
    assert again.status_code == 403
    assert again.text == "token già usato: ogni token vale per una sola pubblicazione"


# -- refused: the signature ---------------------------------------------------------------------------------------


def current_kid(sim: SimThread) -> str:
    return sim.sim.github_oidc.issuer.key.kid


def test_a_token_signed_by_another_key(sim: SimThread, endpoint: Endpoint) -> None:
    """Right claims, the kid GitHub publishes, but signed by someone else's key."""
    forger = OidcIssuer(issuer=issuer_of(sim))
    token = forger.mint(key=SigningKey(), headers={"kid": current_kid(sim)}, aud=AUDIENCE)
    answer = endpoint.post(token)
    assert (answer.status_code, answer.text) == (403, "token non valido: la firma non corrisponde")


def _claims(sim: SimThread) -> dict[str, Any]:
    return OidcIssuer(issuer=issuer_of(sim)).claims(aud=AUDIENCE)


def test_alg_none_is_refused_without_fetching_keys(sim: SimThread, endpoint: Endpoint) -> None:
    before = jwks_fetches(sim)
    header = {"alg": "none", "typ": "JWT", "kid": current_kid(sim)}
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(_claims(sim)).encode())}."
    answer = endpoint.post(token)
    assert (answer.status_code, answer.text) == (403, "token non valido: la firma non è RS256, come quelle di GitHub")
    assert jwks_fetches(sim) == before


def test_hs256_signed_with_the_public_key_is_refused(sim: SimThread, endpoint: Endpoint) -> None:
    """The classic confusion: HMAC with the issuer's public key (which anyone can read) as the secret."""
    before = jwks_fetches(sim)
    public = httpx.get(f"{issuer_of(sim)}/.well-known/jwks").json()["keys"][0]
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": public["kid"]}).encode())
    payload = b64(json.dumps(_claims(sim)).encode())
    for secret in (json.dumps(public).encode(), base64.urlsafe_b64decode(public["n"] + "==")):
        signature = b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        answer = endpoint.post(f"{header}.{payload}.{signature}")
        assert answer.status_code == 403 and "RS256" in answer.text
    assert jwks_fetches(sim) == before + 1  # the one read above, by the test: none by the service


def test_an_unknown_kid_fetches_the_keys_at_most_once_a_minute(
    sim: SimThread, endpoint: Endpoint, clock: Clock
) -> None:
    assert endpoint.post(runner_token(sim)).status_code == 200  # the keys are read and cached
    before = jwks_fetches(sim)
    issuer = sim.sim.github_oidc.issuer

    def unknown(kid: str) -> httpx.Response:
        return endpoint.post(issuer.mint(headers={"kid": kid}, iss=issuer_of(sim), aud=AUDIENCE))

    refused = (403, "token non valido: firmato con una chiave che GitHub non pubblica")
    answer = unknown("UNKNOWN-KID-1")  # within the minute of the last read: refused, nothing fetched
    assert (answer.status_code, answer.text) == refused
    assert jwks_fetches(sim) == before
    clock.now += 61
    for kid in ("UNKNOWN-KID-2", "UNKNOWN-KID-3", "UNKNOWN-KID-4"):
        answer = unknown(kid)
        assert (answer.status_code, answer.text) == refused
    # One read for the first unknown kid; the next ones within the minute fetch nothing: random kids cannot make
    # the service hammer the issuer.
    assert jwks_fetches(sim) == before + 1
    assert endpoint.post(runner_token(sim)).status_code == 200  # known keys still work, with no fetch
    clock.now += 61
    assert (unknown("UNKNOWN-KID-5").status_code, jwks_fetches(sim)) == (403, before + 2)


def test_unknown_kids_at_once_make_one_fetch(sim: SimThread, endpoint: Endpoint) -> None:
    before = jwks_fetches(sim)
    issuer = sim.sim.github_oidc.issuer
    tokens = [issuer.mint(headers={"kid": f"RANDOM-{i}"}, iss=issuer_of(sim), aud=AUDIENCE) for i in range(20)]

    async def flood() -> list[httpx.Response]:
        return await asyncio.gather(
            *(endpoint.apost(f"Bearer {t}", address=f"198.51.100.{i}") for i, t in enumerate(tokens))
        )

    answers = asyncio.run(flood())
    assert {a.status_code for a in answers} == {403}
    assert jwks_fetches(sim) == before + 1


def test_a_rotated_key_is_accepted_after_one_refresh(sim: SimThread, endpoint: Endpoint, clock: Clock) -> None:
    assert endpoint.post(runner_token(sim)).status_code == 200
    before, old_kid = jwks_fetches(sim), current_kid(sim)
    clock.now += 3600
    sim.configure(oidc_rotate=True)
    assert current_kid(sim) != old_kid
    answer = endpoint.post(runner_token(sim))
    assert answer.status_code == 200, answer.text
    assert jwks_fetches(sim) == before + 1


def test_a_rotation_right_after_a_read_waits_out_the_minute(sim: SimThread, endpoint: Endpoint, clock: Clock) -> None:
    """The price of the once-a-minute rule: a key that appears within a minute of the last read is refused (503
    would not be truer: the key set was just read) until that minute has passed; CI's retry then publishes."""
    assert endpoint.post(runner_token(sim)).status_code == 200
    sim.configure(oidc_rotate=True)
    token = runner_token(sim)
    assert endpoint.post(token).status_code == 403
    clock.now += 61
    assert endpoint.post(token).status_code == 200


def test_a_key_the_issuer_no_longer_publishes_is_refused(sim: SimThread, endpoint: Endpoint, clock: Clock) -> None:
    """After two rotations the first key is gone from the key set: a token it signed is refused once the
    service has read the new set (fetched for the new kid)."""
    issuer = sim.sim.github_oidc.issuer
    old = issuer.key
    stale = issuer.mint(key=old, iss=issuer_of(sim), aud=AUDIENCE)
    sim.configure(oidc_rotate=True)
    sim.configure(oidc_rotate=True)
    clock.now += 3600
    assert endpoint.post(runner_token(sim)).status_code == 200  # reads the current set
    answer = endpoint.post(stale)
    assert (answer.status_code, answer.text) == (
        403,
        "token non valido: firmato con una chiave che GitHub non pubblica",
    )


# -- refused before any work: junk and floods ----------------------------------------------------------------------

JUNK: dict[str, str | bytes | None] = {
    "no header": None,
    "not a bearer": "Basic dXNlcjpwYXNz",
    "bearer without a token": "Bearer ",
    "3 MB": "Bearer " + "A" * (3 * 1024 * 1024),
    "not base64": "Bearer eyJh$.eyJ!.sig",
    "two parts": "Bearer eyJhbGciOiJSUzI1NiJ9.e30",
    "four parts": "Bearer a.b.c.d",
    "header not JSON": f"Bearer {b64(b'not json')}.{b64(b'{}')}.c2ln",
    "payload not an object": f"Bearer {b64(b'{}')}.{b64(b'[1]')}.c2ln",
    "bytes that are not text": b"Bearer \xff\xfe.\x00.x",
}


@pytest.mark.parametrize("case", list(JUNK))
def test_junk_is_refused_with_401_before_any_fetch(
    sim: SimThread, endpoint: Endpoint, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = sim.stats()
    with caplog.at_level(logging.WARNING, logger="site_tools.service"):
        answer = endpoint.post(authorization=JUNK[case])
    assert answer.status_code == 401
    assert answer.text and "\n" not in answer.text and len(answer.text) < 200
    after = sim.stats()
    assert (after.get("oidc_jwks", 0), after.get("oidc_discovery", 0)) == (
        before.get("oidc_jwks", 0),
        before.get("oidc_discovery", 0),
    )
    [line] = [r.getMessage() for r in caplog.records if r.name == "site_tools.service"]
    assert line.startswith("publish refused (401): ") and len(line) < 400


def test_the_rate_limit_per_address(sim: SimThread, tmp_path: Path) -> None:
    """Three refused requests from one address, then 429 with Retry-After (even for a good token: that address is
    told to wait first); another address still gets in."""
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    endpoint = Endpoint(Verifier(policy_for(sim), limit=RateLimit(rate=0.01, burst=3)), store)
    try:
        answers = [endpoint.post(authorization="Bearer junk") for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 401]
        limited = endpoint.post(runner_token(sim))  # a good token too: the limit comes first
        assert limited.status_code == 429
        assert limited.text == "troppe richieste rifiutate da questo indirizzo: riprova più tardi"
        assert int(limited.headers["Retry-After"]) >= 1
        assert endpoint.post(runner_token(sim), address="192.0.2.1").status_code == 200
    finally:
        store.close()


def test_a_flood_from_everywhere_is_counted_not_logged_line_by_line_and_never_blocks_the_town(
    sim: SimThread, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    verifier = Verifier(policy_for(sim), limit=RateLimit(total_rate=0.01, total_burst=5))
    endpoint = Endpoint(verifier, store)
    try:
        with caplog.at_level(logging.WARNING, logger="site_tools.service"):
            codes = [
                endpoint.post(authorization="Bearer junk", address=f"198.51.100.{i}").status_code for i in range(8)
            ]
        assert codes == [401] * 8
        assert len([r for r in caplog.records if "publish refused" in r.getMessage()]) == 5 and verifier.unlogged == 3
        assert endpoint.post(runner_token(sim), address="4.175.1.1").status_code == 200  # the town's own push
    finally:
        store.close()


def test_the_rate_limit_forgets_addresses_beyond_its_cap() -> None:
    clock = [0.0]
    limit = RateLimit(rate=1.0, burst=1, total_rate=1e9, total_burst=1e9, max_addresses=100, clock=lambda: clock[0])
    for i in range(10_000):
        assert limit.check(f"10.0.{i // 256}.{i % 256}") == 0
    assert len(limit._by_address) == 100
    assert limit.check("10.0.39.15") > 0  # the most recent are remembered
    clock[0] += 1.0
    assert limit.check("10.0.39.15") == 0  # and their bucket refills


# -- the jti store: SQLite and PostgreSQL --------------------------------------------------------------------------


def test_first_use_records_until_expiry(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        now = time.time()
        assert store.tokens.first_use("jti-a", now + 3600, now=now) is True
        assert store.tokens.first_use("jti-a", now + 3600, now=now) is False
        assert store.tokens.first_use("jti-b", now - 7200, now=now) is True
        assert store.tokens.prune(now) == 1  # jti-b expired two hours ago: no verifier accepts it any more
        assert store.tokens.count() == 1
    finally:
        store.close()


def test_the_same_jti_on_two_connections_has_one_winner(pg_url: str) -> None:
    """Two replicas on one PostgreSQL race with the same tokens: for each, exactly one accepts."""
    stores = [Store.open(pg_url), Store.open(pg_url)]
    wins: list[list[bool]] = [[], []]
    barrier = threading.Barrier(2)
    expires = time.time() + 3600

    def race(i: int) -> None:
        for n in range(300):
            if n % 50 == 0:
                barrier.wait()
            wins[i].append(stores[i].tokens.first_use(f"jti-{n}", expires))

    threads = [threading.Thread(target=race, args=(i,)) for i in (0, 1)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(a != b for a, b in zip(wins[0], wins[1], strict=True))  # exactly one of each pair won
        assert len(wins[0]) == 300 and stores[0].tokens.count() == 300
    finally:
        for s in stores:
            s.close()


def test_the_same_token_at_two_replicas_publishes_once(sim: SimThread, pg_url: str) -> None:
    stores = [Store.open(pg_url), Store.open(pg_url)]
    replicas = [Endpoint(Verifier(policy_for(sim)), s) for s in stores]
    try:
        for _ in range(5):
            token = runner_token(sim)

            async def both(token: str = token) -> list[httpx.Response]:
                return await asyncio.gather(*(r.apost(f"Bearer {token}") for r in replicas))

            codes = sorted(a.status_code for a in asyncio.run(both()))
            assert codes == [200, 403]
    finally:
        for s in stores:
            s.close()


# -- the town's settings --------------------------------------------------------------------------------------------


def test_the_policy_comes_from_the_towns_settings(town: Town) -> None:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    # Estimated price", SERVICE_BLOCK + "    # Estimated price", 1), encoding="utf-8")
    service = town.config.service
    assert service is not None
    pins = {"SITE_TOOLS_REPOSITORY": REPOSITORY, "SITE_TOOLS_REPOSITORY_ID": "812345678"}  # the server's own
    policy = TrustPolicy.from_config(service, Settings.from_env(pins))
    assert policy.issuer == GITHUB_OIDC_ISSUER
    assert policy.audience == AUDIENCE  # without the trailing slash the town wrote: as the workflow asks for it
    assert (policy.repository, policy.repository_id, policy.repository_owner_id) == (REPOSITORY, 812345678, 98765432)
    assert policy.workflow_ref == WORKFLOW_REF and policy.events == ("push",)
    other = Settings.from_env({**pins, "SITE_TOOLS_OIDC_ISSUER": "http://127.0.0.1:8900/github-oidc/"})
    assert TrustPolicy.from_config(service, other).issuer == "http://127.0.0.1:8900/github-oidc"


def test_a_town_without_the_service_block(town: Town) -> None:
    assert town.config.service is None


@pytest.mark.parametrize(
    "old,new,field,message",
    [
        ("repository_id: 812345678", 'repository_id: "812345678"', "extra.town.service.repository_id", ""),
        (
            f"url: {AUDIENCE}/",
            "url: http://servizi.example.it",
            "extra.town.service.url",
            "non è un indirizzo web sicuro",
        ),
        (
            f"repository: {REPOSITORY}",
            "repository: avvisi",
            "extra.town.service.repository",
            "non è il nome di un repository",
        ),
        (
            "repository_owner_id: 98765432",
            "repository_owner_id: 98765432\n      workflow: publish",
            "extra.town.service.workflow",
            "flusso",
        ),
        (
            "repository_owner_id: 98765432",
            "repository_owner_id: 98765432\n      events: [pull_request_target]",
            "extra.town.service.events[1]",
            "non è un valore ammesso",
        ),
    ],
)
def test_a_wrong_service_block_is_refused(town: Town, old: str, new: str, field: str, message: str) -> None:
    path = town.root / "mkdocs.yml"
    block = SERVICE_BLOCK.replace(old, new)
    text = path.read_text(encoding="utf-8").replace("    # Estimated price", block + "    # Estimated price", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    problem = next(p for p in info.value.problems if p.field == field)
    assert message in problem.message and problem.fix and problem.line


def test_keys_unreadable_is_a_503_not_a_403(tmp_path: Path) -> None:
    """No issuer answers: the CI log says to try again, and the next attempt waits a few seconds, not a minute."""
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    issuer = OidcIssuer(issuer="http://127.0.0.1:9/github-oidc")
    policy = TrustPolicy(issuer.issuer, AUDIENCE, REPOSITORY, 812345678, 98765432)
    endpoint = Endpoint(Verifier(policy, keys=IssuerKeys(policy.issuer, timeout=2)), store)
    try:
        answer = endpoint.post(issuer.mint(aud=AUDIENCE))
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
        assert "riprova" in answer.text
    finally:
        store.close()


@pytest.mark.e2e
def test_the_workflows_shell_step_gets_a_token_the_service_accepts(tmp_path: Path) -> None:
    """The runner's side as a workflow writes it (curl in bash, the two variables GitHub sets), against the
    simulator in a process of its own; the token it prints is accepted, and only once."""
    import subprocess

    from .services import simulator_process

    step = (
        'curl -sSf -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" '
        '"$ACTIONS_ID_TOKEN_REQUEST_URL&audience=$AUDIENCE" | python3 -c \'import json,sys; print(json.load(sys.stdin)["value"])\''
    )
    with simulator_process() as sim:
        sha = "a1b2" * 10
        sim.configure(oidc_run={"sha": sha, "run_id": "555"})
        env = {
            "PATH": "/usr/bin:/bin",
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{sim.url}/github-oidc/token?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
            "AUDIENCE": quote(AUDIENCE, safe=""),
        }
        token = subprocess.run(["bash", "-c", step], env=env, capture_output=True, text=True, check=True).stdout.strip()
        store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
        try:
            endpoint = Endpoint(Verifier(policy_for(sim)), store)
            accepted = endpoint.post(token)
            assert accepted.status_code == 200 and accepted.json()["sha"] == sha
            assert accepted.json()["run_id"] == "555"
            assert endpoint.post(token).status_code == 403
        finally:
            store.close()
        env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong"
        assert subprocess.run(["bash", "-c", step], env=env, capture_output=True).returncode != 0


def test_reset_forgets_the_simulated_run_but_keeps_the_key(sim: SimThread) -> None:
    sim.configure(oidc_run={"repository": "mario-rossi/avvisi"})
    kid = current_kid(sim)
    httpx.post(f"{sim.url}/_sim/reset").raise_for_status()
    answer = httpx.get(
        f"{sim.url}/github-oidc/token?api-version=2.0&audience=x", headers={"Authorization": f"bearer {REQUEST_TOKEN}"}
    )
    claims = json.loads(base64.urlsafe_b64decode(answer.json()["value"].split(".")[1] + "=="))
    assert claims["repository"] == REPOSITORY  # the defaults again
    assert current_kid(sim) == kid
