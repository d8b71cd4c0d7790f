"""Staff authentication: argon2 password hashes, sessions, CSRF tokens, login throttling.

* Passwords are hashed with argon2id (argon2-cffi's RFC 9106 defaults) and
  re-hashed on login when the parameters change. An unknown user costs the
  same time as a wrong password (a dummy hash is checked).
* A session is a random id in a cookie signed by Starlette's
  ``SessionMiddleware`` (itsdangerous), ``Secure; HttpOnly; SameSite=Strict``,
  and a row in the store, so logout, a password change or a disabled account
  end it at once. Sessions expire after 12 hours, or 2 hours idle.
* Every form carries a CSRF token bound to the session (compared in
  constant time); ``SameSite=Strict`` is the second line.
* After 5 wrong passwords for a user within 15 minutes, each further try
  waits 30 s, then 60 s, 120 s … up to 15 minutes (25 for one address,
  so an office behind one NAT is not locked out by one person).
* A browser where a member logged in keeps a signed *device cookie*
  (OWASP's "device cookies", 90 days): its tries are counted on their own
  key, not on the user's, so someone guessing a member's password from
  elsewhere — even one wrong try every 15 minutes, forever — cannot lock
  that member out of their own office computer.

OIDC (a town's identity provider) fits beside the password: ``staff.oidc_subject``
holds the provider's ``sub``, and a login route pair (authlib) would open the
same kind of session. Not built yet (docs/security/index.md).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

HASHER = PasswordHasher()
_DUMMY = HASHER.hash("not-a-password-" + secrets.token_hex(8))
PASSWORD_MIN = 12
SESSION_LIFETIME = 12 * 3600
SESSION_IDLE = 2 * 3600


@dataclass(frozen=True)
class Throttle:
    free: int  # failures allowed before waiting
    base: float  # seconds of the first wait
    cap: float = 900.0
    window: float = 900.0  # failures older than this are forgotten

    def parameters(self) -> tuple[int, float, float, float]:
        return self.free, self.base, self.cap, self.window


PER_USER = Throttle(free=5, base=30.0)
PER_ADDRESS = Throttle(free=25, base=30.0)

DEVICE_COOKIE = "sportello_dispositivo"
DEVICE_LIFETIME = 90 * 86400


def _devices(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="sportello-device-cookie")


def device_cookie(secret: str, username: str) -> str:
    """A signed token saying "this browser logged in as ``username``", with a random part of its own."""
    return _devices(secret).dumps({"u": username, "d": secrets.token_hex(8)})


def device_key(secret: str, cookie: str | None, username: str) -> str | None:
    """The throttle key of a valid device cookie for ``username`` (None: not a known device for this user)."""
    if not cookie:
        return None
    try:
        data = _devices(secret).loads(cookie, max_age=DEVICE_LIFETIME)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != username or not isinstance(data.get("d"), str):
        return None
    return f"device:{username}:{data['d']}"


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the account exists."""
    try:
        return HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return False


def password_problem(username: str, password: str) -> str | None:
    """Why a new password is refused (Italian), or None."""
    if len(password) < PASSWORD_MIN:
        return f"la password deve avere almeno {PASSWORD_MIN} caratteri."
    if username.lower() in password.lower():
        return "la password non può contenere il nome utente."
    if len(set(password)) < 5:
        return "la password è troppo ripetitiva."
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))
