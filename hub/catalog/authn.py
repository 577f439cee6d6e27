"""Who is calling? Authentication against the credentials in the catalogue (hashes only;
plaintext secrets come from the environment or a file).

- API key: ``X-Api-Key``, compared by SHA-256 in constant time;
- HMAC-signed requests: ``X-Govhub-System``, ``X-Govhub-Timestamp`` (unix seconds, at
  most ``MAX_PAST`` old and ``MAX_FUTURE`` ahead), ``X-Govhub-Signature`` = the v2
  signature of ``hub.core.signing`` (method, path and query, timestamp, ``X-Message-Id``,
  the body's digest) with the system's secret. ``hmac_system`` checks the headers before
  the body is read, ``by_hmac`` the signature once it is;
- WS-Security UsernameToken: PasswordText checked against ``password_pbkdf2``,
  PasswordDigest against the plaintext secret. An unknown username costs a PBKDF2 like a
  known one (a decoy hash), so the time of a refusal does not tell which usernames exist.

Every comparison is on UTF-8 bytes (``hub.core.signing.same``): a made-up credential in
any script is refused (401), never a server error. Which signatures and nonces were
already used (``hub.db.replay``) and the lockout after repeated failures
(``hub.api.lockout``) need the database: the callers in ``hub.api`` apply them.

What an authenticated system may do is ``hub.catalog.access``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from functools import lru_cache

from hub.catalog.systems import Administrator, System, administrators, systems
from hub.core.errors import AccessDenied
from hub.core.signing import same, sha256_hex, sign, string_to_sign, v1_string_to_sign

__all__ = [
    "MAX_FUTURE",
    "MAX_PAST",
    "by_admin_key",
    "by_api_key",
    "by_hmac",
    "by_username_token",
    "check_freshness",
    "check_password",
    "hash_password",
    "hmac_system",
    "sha256_hex",
    "system_for_username",
]

# How old (and how far ahead of our clock) an HMAC X-Govhub-Timestamp or a WS-Security
# wsu:Created may be. A signature or nonce is remembered until its time + MAX_PAST.
MAX_PAST = 300
MAX_FUTURE = 60


def hash_password(password: str, iterations: int = 200_000, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    _algo, iterations, salt, digest = stored.split("$")
    got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), bytes.fromhex(salt), int(iterations))
    return same(got.hex(), digest)


def by_api_key(key: str | None) -> System:
    if not key:
        raise AccessDenied(
            401, "unauthenticated", "send your API key in the X-Api-Key header, or sign the request (see README)"
        )
    digest = sha256_hex(key)
    for system in systems().values():
        expected = system.credentials.api_key_sha256
        if expected and same(expected, digest):
            return system
    raise AccessDenied(401, "bad_credentials", "the API key is not valid")


def by_admin_key(key: str | None) -> Administrator:
    """An administrator's API key (``administrators`` in the catalogue). A connected
    system's key is known but not enough: 403, not 401."""
    if not key:
        raise AccessDenied(401, "unauthenticated", "administrators send their API key in the X-Api-Key header")
    digest = sha256_hex(key)
    for admin in administrators().values():
        if same(admin.api_key_sha256, digest):
            return admin
    if any(s.credentials.api_key_sha256 and same(s.credentials.api_key_sha256, digest) for s in systems().values()):
        raise AccessDenied(
            403,
            "administrators_only",
            "this is for administrators; a connected system's key is not "
            "enough (administrators are listed under 'administrators' in the catalogue)",
        )
    raise AccessDenied(401, "bad_credentials", "the API key is not valid")


def check_freshness(their_time: float, what: str, now: float | None = None) -> None:
    """A request time (unix seconds, the peer's clock) at most ``MAX_PAST`` old and
    ``MAX_FUTURE`` ahead of ours."""
    age = (time.time() if now is None else now) - their_time
    if age > MAX_PAST or age < -MAX_FUTURE:
        raise AccessDenied(
            401,
            "stale_request",
            f"{what} is {int(abs(age))}s {'old' if age > 0 else 'ahead of the hub'}; clocks must agree: "
            f"it may be at most {MAX_PAST}s old and {MAX_FUTURE}s ahead",
        )


def hmac_system(system_id: str, timestamp: str, now: float | None = None) -> System:
    """The headers of a signed request, before its body is read: a known system with a
    signing secret, and a fresh ``X-Govhub-Timestamp``."""
    system = systems().get(system_id)
    if system is None or system.credentials.secret is None:
        raise AccessDenied(401, "bad_credentials", "unknown system or no signing secret configured for it")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise AccessDenied(401, "bad_credentials", "X-Govhub-Timestamp must be unix seconds")
    check_freshness(int(timestamp), "X-Govhub-Timestamp", now)
    return system


def by_hmac(
    system: System,
    signature: str,
    method: str,
    target: str,
    timestamp: str,
    message_id: str,
    body_sha256: str,
    path: str | None = None,
) -> System:
    """``system`` (from ``hmac_system``) if ``signature`` is its v2 signature of the request;
    ``target`` is the path and query as sent, ``path`` the decoded path (for version 1)."""
    secret = system.credentials.secret.read() if system.credentials.secret else None
    if secret is None:
        raise AccessDenied(401, "bad_credentials", "unknown system or no signing secret configured for it")
    got = signature.strip().lower()
    if same(sign(secret, string_to_sign(method, target, timestamp, message_id, body_sha256)), got):
        return system
    if same(sign(secret, v1_string_to_sign(method, path or target, timestamp, body_sha256)), got):
        raise AccessDenied(
            401,
            "signature_version",
            "this is a version 1 signature, which the hub no longer accepts (it covers neither the query "
            "nor X-Message-Id); sign govhub-hmac-v2 (README: Signing a request)",
        )
    raise AccessDenied(
        401,
        "bad_credentials",
        "the request signature does not match; the hub checks govhub-hmac-v2 (README: Signing a request)",
    )


def system_for_username(username: str) -> System | None:
    return next((s for s in systems().values() if s.credentials.username == username), None)


def by_username_token(
    username: str,
    password: str,
    password_type: str = "PasswordText",
    nonce_b64: str | None = None,
    created: str | None = None,
) -> System:
    """The system whose WS-Security credentials these are. Known or not, the username
    costs one PBKDF2 (PasswordText) or one SHA-1 (PasswordDigest)."""
    system = system_for_username(username)
    cred = system.credentials if system else None
    if password_type.endswith("PasswordDigest"):
        secret = cred.secret.read() if cred and cred.secret else None
        ok = _digest_matches(secret or _DECOY_SECRET, nonce_b64 or "", created or "", password)
        ok = ok and secret is not None and nonce_b64 is not None and created is not None
    else:
        stored = cred.password_pbkdf2 if cred and cred.password_pbkdf2 else _decoy_hash(_iterations())
        ok = check_password(stored, password) and bool(cred and cred.password_pbkdf2)
    if ok and system is not None:
        return system
    raise AccessDenied(401, "bad_credentials", "the WS-Security username or password is not valid")


def _digest_matches(secret: str, nonce_b64: str, created: str, password: str) -> bool:
    try:
        nonce = base64.b64decode(nonce_b64)
    except ValueError:
        return False
    expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + secret.encode()).digest()).decode()
    return same(expected, password)


_DECOY_SECRET = secrets.token_urlsafe(24)


def _iterations() -> int:
    """The PBKDF2 work of the catalogue's password hashes (the most of them), for the decoy."""
    counts = [
        int(s.credentials.password_pbkdf2.split("$")[1])
        for s in systems().values()
        if s.credentials.password_pbkdf2 and s.credentials.password_pbkdf2.count("$") == 3
    ]
    return max(counts, default=200_000)


@lru_cache(maxsize=4)
def _decoy_hash(iterations: int) -> str:
    return hash_password(secrets.token_urlsafe(16), iterations=iterations)
