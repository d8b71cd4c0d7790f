"""A local GitHub Actions OIDC issuer: an RSA key of its own, its keys published, tokens as GitHub mints them.

:class:`OidcIssuer` signs tokens with GitHub's claim set for a push to ``main`` (GitHub's OpenID Connect
reference; ids are decimal strings, as GitHub writes them; ``exp − iat`` is 6 h as in the debugger action's
sample, ``nbf`` is ``iat`` − 10 minutes as in GitHub's example). The simulator serves it under
``/github-oidc`` (:class:`SimulatedActions`):

* ``GET /github-oidc/.well-known/openid-configuration`` — the discovery document;
* ``GET /github-oidc/.well-known/jwks`` — the public keys (the current one and the one before a rotation);
* ``GET /github-oidc/token?api-version=2.0&audience=<aud>`` — the runner's token request
  (``ACTIONS_ID_TOKEN_REQUEST_URL``), with ``Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>``:
  answers ``{"count": n, "value": "<jwt>"}`` for the simulated run;
* ``POST /_sim/config {"oidc_run": {...claims...}}`` sets the simulated run's claims (over the defaults of
  a push to main), ``{"oidc_rotate": true}`` rotates the key, ``{"oidc_request_token": "…"}`` changes the
  runner's request token.

Its issuer is ``<simulator URL>/github-oidc``: a service pointed at it with ``SITE_TOOLS_OIDC_ISSUER`` checks
its tokens exactly as it checks GitHub's.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
#: How long a token lives (seconds), and how long before ``iat`` it is already valid.
LIFETIME = 6 * 3600
NOT_BEFORE = 600
#: The runner's request token the simulator accepts unless told otherwise.
REQUEST_TOKEN = "sim-actions-id-token-request-token"
#: The claims GitHub's discovery document lists.
CLAIMS_SUPPORTED = [
    "sub",
    "aud",
    "exp",
    "iat",
    "iss",
    "jti",
    "nbf",
    "ref",
    "sha",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "enterprise",
    "enterprise_id",
    "run_id",
    "run_number",
    "run_attempt",
    "actor",
    "actor_id",
    "workflow",
    "workflow_ref",
    "workflow_sha",
    "head_ref",
    "base_ref",
    "event_name",
    "ref_type",
    "ref_protected",
    "environment",
    "environment_node_id",
    "job_workflow_ref",
    "job_workflow_sha",
    "repository_visibility",
    "runner_environment",
    "issuer_scope",
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class SigningKey:
    """An RSA key and its ``kid`` (a thumbprint of the public key, as GitHub's look)."""

    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), repr=False
    )

    @property
    def kid(self) -> str:
        numbers = self.private.public_key().public_numbers()
        return hashlib.sha256(numbers.n.to_bytes(256, "big")).hexdigest()[:40].upper()

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
        }


class OidcIssuer:
    """GitHub's token service for one repository: ``mint(**overrides)`` signs a push to ``main``."""

    def __init__(
        self,
        issuer: str = GITHUB_ISSUER,
        repository: str = "comune-valfiorita/avvisi",
        repository_id: int = 812345678,
        repository_owner_id: int = 98765432,
        workflow: str = "publish.yml",
    ):
        self.issuer = issuer.rstrip("/")
        self.repository = repository
        self.repository_id = repository_id
        self.repository_owner_id = repository_owner_id
        self.workflow = workflow
        self.key = SigningKey()
        self.previous: SigningKey | None = None

    def rotate(self) -> None:
        """A new signing key; the old one stays published until the next rotation (as GitHub does)."""
        self.previous, self.key = self.key, SigningKey()

    def discovery(self, issuer: str | None = None) -> dict[str, Any]:
        issuer = (issuer or self.issuer).rstrip("/")
        return {
            "issuer": issuer,
            "jwks_uri": f"{issuer}/.well-known/jwks",
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": CLAIMS_SUPPORTED,
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in (self.key, self.previous) if k is not None]}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """GitHub's claims for a push to ``main`` of this repository, then ``overrides`` (``None`` removes one)."""
        now = int(time.time())
        owner = self.repository.split("/", 1)[0]
        ref = "refs/heads/main"
        workflow_ref = f"{self.repository}/.github/workflows/{self.workflow}@{ref}"
        sha = secrets.token_hex(20)
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "sub": f"repo:{self.repository}:ref:{ref}",
            "aud": f"https://github.com/{owner}",
            "ref": ref,
            "sha": sha,
            "repository": self.repository,
            "repository_owner": owner,
            "repository_owner_id": str(self.repository_owner_id),
            "repository_id": str(self.repository_id),
            "repository_visibility": "public",
            "run_id": str(10_000_000_000 + secrets.randbelow(10**9)),
            "run_number": "42",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
            "actor": "redazione-valfiorita",
            "actor_id": "55443322",
            "workflow": "Pubblica",
            "head_ref": "",
            "base_ref": "",
            "event_name": "push",
            "ref_protected": "true",
            "ref_type": "branch",
            "workflow_ref": workflow_ref,
            "workflow_sha": sha,
            "job_workflow_ref": workflow_ref,
            "job_workflow_sha": sha,
            "iss": self.issuer,
            "nbf": now - NOT_BEFORE,
            "exp": now + LIFETIME,
            "iat": now,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(self, *, key: SigningKey | None = None, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
        """A signed token (``key``: another signer; ``headers``: e.g. another ``kid``)."""
        signer = key or self.key
        header = {"typ": "JWT", "kid": signer.kid, "x5t": _b64(bytes.fromhex(signer.kid))} | (headers or {})
        return jwt.encode(self.claims(**overrides), signer.private, algorithm="RS256", headers=header)


class SimulatedActions:
    """The issuer as a runner sees it, served by the simulator (see the module's docstring).

    The key is made on first use (2048-bit RSA: tens of milliseconds), not by every simulator that starts."""

    SETTINGS = ("oidc_run", "oidc_rotate", "oidc_request_token")

    def __init__(self, sim: Any):
        self.sim = sim  # its ``stats`` count the requests (a new Counter after each reset)
        self._issuer: OidcIssuer | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the simulated run and the request token; keep the key (services may have it cached)."""
        self.run: dict[str, Any] = {}
        self.request_token = REQUEST_TOKEN
        self.issued = 0

    @property
    def issuer(self) -> OidcIssuer:
        if self._issuer is None:
            self._issuer = OidcIssuer()
        return self._issuer

    def configure(self, key: str, value: Any) -> None:
        if key == "oidc_run":
            self.run = dict(value or {})
        elif key == "oidc_rotate":
            if value:
                self.issuer.rotate()
        elif key == "oidc_request_token":
            self.request_token = str(value)

    @staticmethod
    def _issuer_url(request: web.Request) -> str:
        return f"{request.url.origin()}/github-oidc"

    async def discovery(self, request: web.Request) -> web.Response:
        self.sim.stats["oidc_discovery"] += 1
        return web.json_response(self.issuer.discovery(self._issuer_url(request)))

    async def jwks(self, request: web.Request) -> web.Response:
        self.sim.stats["oidc_jwks"] += 1
        return web.json_response(self.issuer.jwks())

    async def token(self, request: web.Request) -> web.Response:
        """The runner's endpoint: a bearer request token in, ``{"count", "value"}`` out."""
        if request.headers.get("Authorization", "").lower() != f"bearer {self.request_token}".lower():
            return web.json_response({"message": "Unauthorized"}, status=401)
        if request.query.get("api-version") != "2.0":
            return web.json_response({"message": "api-version 2.0 required"}, status=400)
        self.issued += 1
        self.sim.stats["oidc_tokens"] += 1
        audience = request.query.get("audience")
        claims = {"iss": self._issuer_url(request), **({"aud": audience} if audience else {}), **self.run}
        return web.json_response({"count": self.issued, "value": self.issuer.mint(**claims)})

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/github-oidc/.well-known/openid-configuration", self.discovery),
            web.get("/github-oidc/.well-known/jwks", self.jwks),
            web.get("/github-oidc/token", self.token),
        ]
