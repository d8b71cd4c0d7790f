"""Who may ask the service to publish: a GitHub Actions OIDC token of the town's repository, ``main``, a push, and
its publish workflow. Everything else is refused, the cheapest checks first.

:meth:`Verifier.authorize` runs, in order:

1. the rate limit, per client address and for everybody (:mod:`.ratelimit`): 429 with ``Retry-After``;
2. the ``Authorization`` header's shape: ``Bearer`` and a JWT of three base64url parts, at most
   :data:`MAX_AUTHORIZATION` bytes, whose header and payload are JSON objects (else 401), signed ``RS256`` with a
   ``kid`` (else 403) — junk never reaches any cryptography or the network;
3. the signature, with the issuer's published key of that ``kid`` (:class:`IssuerKeys`: cached, fetched again when
   an unknown ``kid`` appears, at most once every :data:`REFRESH_INTERVAL` seconds), then ``iss``, ``aud``,
   ``exp``/``iat``/``nbf`` with :data:`LEEWAY` (PyJWT does all of it);
4. the claims against the :class:`TrustPolicy`: ``repository`` and ``repository_id`` and
   ``repository_owner_id``, ``ref`` (``refs/heads/main``), ``event_name``, ``workflow_ref``;
5. last, the ``jti`` through ``first_use``, so a token is spent only once it passed everything else.

A refusal is :class:`Refused`: an HTTP status, a one-line Italian reason for the CI log, and a log line here with
the reason and the claims that matter (never the token).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from starlette.requests import Request

from site_tools.content.config import Service
from site_tools.service.guard import header_bytes
from site_tools.service.ratelimit import RateLimit
from site_tools.settings import Settings

log = logging.getLogger("site_tools.service")

#: The ``Authorization`` header's size cap: GitHub's tokens are about 1.5 KB.
MAX_AUTHORIZATION = 8 * 1024
#: The issuer's key set (JWKS) or discovery document read at most this big.
MAX_DOCUMENT = 256 * 1024
#: Keys are fetched again for an unknown ``kid`` at most this often (seconds): random kids cannot make the
#: service hammer GitHub.
REFRESH_INTERVAL = 60.0
#: After a fetch that failed, the next one waits this long (a blip at start must not block publishing a minute).
RETRY_INTERVAL = 5.0
#: Clock difference allowed on ``exp``, ``iat`` and ``nbf`` (seconds): small, the token lives hours anyway.
LEEWAY = 60.0
MAIN = "refs/heads/main"
#: Claims without which a token is refused (``sub`` and the rest are GitHub's too, but nothing here uses them).
REQUIRED = (
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "sha",
    "ref",
    "repository",
    "repository_id",
    "repository_owner_id",
    "event_name",
    "workflow_ref",
    "run_id",
)

_BEARER = re.compile(rb"^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_KID = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass(frozen=True)
class TrustPolicy:
    """What a token must say: who issued it, for whom, and which repository, branch, events and workflow."""

    issuer: str
    audience: str
    repository: str
    repository_id: int
    repository_owner_id: int
    workflow: str = "publish.yml"
    events: tuple[str, ...] = ("push",)
    ref: str = MAIN
    leeway: float = LEEWAY

    @classmethod
    def from_config(cls, service: Service, settings: Settings) -> TrustPolicy:
        """The town's ``extra.town.service`` and the issuer of ``SITE_TOOLS_OIDC_ISSUER``, once the repository it
        names is the one the server trusts (``SITE_TOOLS_REPOSITORY``, ``SITE_TOOLS_REPOSITORY_ID``): the block is
        read from the checkout that follows main, so a commit could otherwise name another repository and be
        believed at the next restart. :class:`Untrusted` otherwise (the service then publishes nothing on request
        and ``/health`` says why)."""
        pinned, pinned_id = settings.trusted_repository, settings.trusted_repository_id
        if not pinned or pinned_id is None:
            raise Untrusted(
                "il server non dice di quale repository fidarsi: imposta SITE_TOOLS_REPOSITORY (proprietario/nome) e "
                "SITE_TOOLS_REPOSITORY_ID nell'ambiente del servizio, uguali a extra.town.service nel mkdocs.yml."
            )
        if service.repository.lower() != pinned.lower() or service.repository_id != pinned_id:
            raise Untrusted(
                f"extra.town.service nel mkdocs.yml nomina {service.repository} ({service.repository_id}), ma il server "
                f"si fida di {pinned} ({pinned_id}): nessuna pubblicazione su richiesta finché non coincidono. Se il "
                "cambio non è voluto, annulla il commit; se lo è, cambia SITE_TOOLS_REPOSITORY(_ID) sul server."
            )
        return cls(
            issuer=settings.oidc_issuer,
            audience=service.url,
            repository=service.repository,
            repository_id=service.repository_id,
            repository_owner_id=service.repository_owner_id,
            workflow=service.workflow,
            events=tuple(service.events),
        )

    @property
    def workflow_ref(self) -> str:
        """``<owner>/<repo>/.github/workflows/<file>@refs/heads/main``, as GitHub writes it in the token."""
        return f"{self.repository}/.github/workflows/{self.workflow}@{self.ref}"


@dataclass(frozen=True)
class PushClaims:
    """What a verified token proves: this commit of this repository, pushed to main, in this workflow run."""

    sha: str
    ref: str
    repository: str
    repository_id: int
    run_id: str
    run_attempt: int
    jti: str
    exp: float
    actor: str
    workflow_ref: str
    event_name: str


class Untrusted(Exception):
    """The town's settings and the server disagree on whom to trust (the message is for the town's IT person)."""


class Refused(Exception):
    """A request that may not publish: ``status`` (401, 403, 429, 503), the one-line Italian ``reason`` the CI log
    shows, and for 429 and 503 the seconds after which to try again."""

    def __init__(self, status: int, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """``Retry-After`` in whole seconds, rounded up, when there is one."""
        return {"Retry-After": str(max(1, -int(-self.retry_after // 1)))} if self.retry_after else {}


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class IssuerKeys:
    """The issuer's signing keys by ``kid``: read from its discovery document's ``jwks_uri`` (or
    ``<issuer>/.well-known/jwks``), cached, read again only for a ``kid`` not in the cache and at most once every
    ``refresh_interval`` seconds. ``fetches`` counts the key sets fetched."""

    def __init__(
        self,
        issuer: str,
        timeout: float = 10.0,
        refresh_interval: float = REFRESH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.issuer = issuer.rstrip("/")
        self.timeout = timeout
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._jwks_uri: str | None = None
        self._next_fetch = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key named ``kid``, or None when the issuer does not publish it (or was asked too recently).

        Raises :class:`Refused` (503) when the keys could not be read at all."""
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:  # many requests with one new kid: one fetch
            if kid not in self._keys and self.clock() >= self._next_fetch:
                await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        self._next_fetch = self.clock() + RETRY_INTERVAL
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                uri = self._jwks_uri or await self._discover(client)
                self.fetches += 1
                document = await _read_json(client, uri)
            keys = jwt.PyJWKSet.from_dict(document).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            log.warning("cannot read the OIDC issuer's keys from %s: %s", self.issuer, type(exc).__name__)
            if not self._keys:
                raise Refused(
                    503, "il servizio non riesce a leggere le chiavi di firma di GitHub: riprova tra poco", 60
                ) from exc
            return
        self._keys = {k.key_id: k for k in keys if k.key_id and k.key_type == "RSA"}
        self._next_fetch = self.clock() + self.refresh_interval

    async def _discover(self, client: httpx.AsyncClient) -> str:
        """The ``jwks_uri`` of the discovery document, if it is on the issuer's own host; else the usual path."""
        fallback = f"{self.issuer}/.well-known/jwks"
        try:
            document = await _read_json(client, f"{self.issuer}/.well-known/openid-configuration")
        except (httpx.HTTPError, ValueError):
            return fallback
        uri = document.get("jwks_uri")
        if isinstance(uri, str) and _origin(uri) == _origin(self.issuer):
            self._jwks_uri = uri
            return uri
        return fallback


async def _read_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
        response.raise_for_status()
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT:
                raise ValueError("document too large")
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


FirstUse = Callable[[str, float], Awaitable[bool]]


class Verifier:
    """Checks a publish request against ``policy`` (see the module's docstring for the order)."""

    def __init__(self, policy: TrustPolicy, keys: IssuerKeys | None = None, limit: RateLimit | None = None):
        self.policy = policy
        self.keys = keys or IssuerKeys(policy.issuer)
        self.limit = limit or RateLimit()
        self.unlogged = 0  # refusals not logged one by one (a flood)

    async def authorize(self, request: Request, first_use: FirstUse) -> PushClaims:
        """The verified claims of the request's token, or :class:`Refused` (logged).

        ``first_use(jti, exp)`` spends the token (``store.tokens.first_use`` in a thread): False refuses it as used
        already; what it raises (``StoreUnavailable``: the caller answers 503) goes through untouched, the token
        unspent. The client address is the ASGI one: behind a proxy, run uvicorn with ``--proxy-headers``."""
        claimed: Mapping[str, Any] = {}
        address = request.client.host if request.client else "?"
        # Only refusals spend the buckets: an address whose requests keep being refused waits (a cheap 429), but
        # junk from elsewhere never stands between the town's own workflow and its publish. GitHub's key server is
        # protected by IssuerKeys itself (one fetch a minute at most, whatever comes in).
        wait = self.limit.waiting(address)
        if wait:
            raise Refused(429, "troppe richieste rifiutate da questo indirizzo: riprova più tardi", wait)
        try:
            token = _bearer(header_bytes(request, "authorization"))
            header, claimed = _unverified(token)
            payload = await self._verify(token, header)
            return await self._trusted(payload, first_use)
        except Refused as refused:
            if self.limit.refused(address):
                log.warning(
                    "publish refused (%d): %s%s address=%s", refused.status, refused.reason, _facts(claimed), address
                )
            else:
                self.unlogged += 1  # a flood: counted, not a log line each
            raise

    async def _verify(self, token: str, header: Mapping[str, Any]) -> dict[str, Any]:
        if header.get("alg") != "RS256":
            raise Refused(403, "token non valido: la firma non è RS256, come quelle di GitHub")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID.match(kid):
            raise Refused(403, "token non valido: non dice con quale chiave è firmato")
        key = await self.keys.get(kid)
        if key is None:
            raise Refused(403, "token non valido: firmato con una chiave che GitHub non pubblica")
        policy = self.policy
        try:
            return jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=policy.audience,
                issuer=policy.issuer,
                leeway=policy.leeway,
                options={"require": list(REQUIRED), "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise Refused(403, "token scaduto: rilancia il flusso da GitHub") from None
        except jwt.ImmatureSignatureError:
            raise Refused(403, "token non ancora valido: controlla l'orologio del server") from None
        except jwt.InvalidAudienceError:
            raise Refused(
                403, f"token per un altro destinatario: il suo «audience» deve essere {policy.audience}"
            ) from None
        except jwt.InvalidIssuerError:
            raise Refused(403, "token di un altro emittente: non viene da GitHub Actions") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Refused(403, f"token incompleto: manca «{exc.claim}»") from None
        except jwt.InvalidSignatureError:
            raise Refused(403, "token non valido: la firma non corrisponde") from None
        except jwt.InvalidTokenError as exc:
            raise Refused(403, f"token non valido ({type(exc).__name__})") from None

    async def _trusted(self, claims: Mapping[str, Any], first_use: FirstUse) -> PushClaims:
        policy = self.policy
        repository = claims["repository"]
        if not isinstance(repository, str) or repository.casefold() != policy.repository.casefold():
            raise Refused(403, f"token di un altro repository: il servizio pubblica solo da {policy.repository}")
        if not _same_id(claims["repository_id"], policy.repository_id):
            raise Refused(
                403,
                f"il repository {policy.repository} non è quello registrato (altro identificativo: "
                "ricreato, o una copia con lo stesso nome)",
            )
        if not _same_id(claims["repository_owner_id"], policy.repository_owner_id):
            raise Refused(403, "il proprietario del repository non è quello registrato (altro identificativo)")
        if claims["ref"] != policy.ref:
            raise Refused(403, f"il servizio pubblica solo dal ramo main, non da {_shown(claims['ref'])}")
        if claims["event_name"] not in policy.events:
            raise Refused(
                403,
                f"evento {_shown(claims['event_name'])} non ammesso: il servizio pubblica solo dopo "
                + ", ".join(policy.events),
            )
        if not _same_workflow(claims["workflow_ref"], policy.workflow_ref):
            raise Refused(
                403, f"flusso non ammesso: il servizio pubblica solo da .github/workflows/{policy.workflow} su main"
            )
        sha = claims["sha"]
        if not isinstance(sha, str) or not _SHA.match(sha):
            raise Refused(403, "token non valido: «sha» non è un commit")
        jti, exp = claims["jti"], claims["exp"]
        if not isinstance(jti, str) or not 0 < len(jti) <= 200:
            raise Refused(403, "token non valido: «jti» non è un identificativo")
        if not await first_use(jti, float(exp)):
            raise Refused(403, "token già usato: ogni token vale per una sola pubblicazione")
        return PushClaims(
            sha=sha,
            ref=claims["ref"],
            repository=repository,
            repository_id=int(claims["repository_id"]),
            run_id=str(claims["run_id"]),
            run_attempt=_int(claims.get("run_attempt"), 1),
            jti=jti,
            exp=float(exp),
            actor=str(claims.get("actor", "")),
            workflow_ref=claims["workflow_ref"],
            event_name=claims["event_name"],
        )


def _bearer(raw: bytes | None) -> str:
    """The token of ``Authorization: Bearer <JWT>``, or :class:`Refused` (401) for anything else."""
    if raw is None:
        raise Refused(401, "manca il token: l'intestazione Authorization deve essere «Bearer <token OIDC di GitHub>»")
    if len(raw) > MAX_AUTHORIZATION:
        raise Refused(401, "intestazione Authorization troppo lunga: non è un token di GitHub")
    match = _BEARER.match(raw)
    if match is None:
        raise Refused(401, "intestazione Authorization non valida: serve «Bearer <token OIDC di GitHub>»")
    return match.group(1).decode("ascii")


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The token's header and claims as written, before any check: for the checks' order and the log.

    Decoded here rather than by PyJWT's ``get_unverified_header``, which checks the alphabet a character at a time
    (about 120 µs for a GitHub token): the pattern of :func:`_bearer` has checked it already."""
    header_part, payload_part, _ = token.split(".")
    try:
        return _json_object(header_part), _json_object(payload_part)
    except (ValueError, RecursionError):  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise Refused(401, "token illeggibile: non è un JWT") from None


def _json_object(part: str) -> dict[str, Any]:
    value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _same_id(value: Any, expected: int) -> bool:
    """GitHub writes ids as decimal strings (``"812345678"``); an integer is accepted too, never a boolean."""
    return not isinstance(value, bool) and isinstance(value, (str, int)) and str(value) == str(expected)


def _same_workflow(value: Any, expected: str) -> bool:
    """Owner and repository compare as GitHub compares them (case aside); the file and the ref exactly."""
    if not isinstance(value, str):
        return False
    repo, sep, rest = value.partition("/.github/workflows/")
    want_repo, _, want_rest = expected.partition("/.github/workflows/")
    return bool(sep) and repo.casefold() == want_repo.casefold() and rest == want_rest


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _shown(value: Any, limit: int = 80) -> str:
    """A claim as it may appear in a reason or a log line: quoted, one line, bounded (claims are untrusted)."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: The claims a refusal's log line shows (before the signature is checked they are only what the token says).
LOGGED = (("repository", "repository"), ("ref", "ref"), ("event", "event_name"), ("workflow", "workflow_ref"))


def _facts(claims: Mapping[str, Any]) -> str:
    if not claims:
        return ""
    shown = [f"{name}={_shown(claims.get(key))}" for name, key in LOGGED]
    shown.append(f"run={_shown(claims.get('run_id'))}/{_shown(claims.get('run_attempt'))}")
    return " | " + " ".join(shown)
