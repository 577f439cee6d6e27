"""Who is calling? Authentication against the credentials in the catalogue (hashes only;
plaintext secrets come from the environment or a file).

- API key: ``X-Api-Key``, compared by SHA-256 in constant time;
- HMAC-signed requests: ``X-Govhub-System``, ``X-Govhub-Timestamp`` (unix seconds,
  within ``MAX_SKEW``), ``X-Govhub-Signature`` = hex HMAC-SHA256 over
  ``METHOD\\nPATH\\nTIMESTAMP\\nSHA256(body)`` with the system's secret;
- WS-Security UsernameToken: PasswordText checked against ``password_pbkdf2``,
  PasswordDigest against the plaintext secret.

What an authenticated system may do is ``hub.catalog.access``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

from hub.catalog.systems import Administrator, System, administrators, systems
from hub.core.errors import AccessDenied
from hub.core.signing import hmac_signature, sha256_hex

__all__ = [
    "MAX_SKEW",
    "by_admin_key",
    "by_api_key",
    "by_hmac",
    "by_username_token",
    "check_password",
    "hash_password",
    "sha256_hex",
]

MAX_SKEW = 300  # seconds between the sender's clock and ours for HMAC and WS-Security


def hash_password(password: str, iterations: int = 200_000, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    _algo, iterations, salt, digest = stored.split("$")
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(got.hex(), digest)


def by_api_key(key: str | None) -> System:
    if not key:
        raise AccessDenied(
            401, "unauthenticated", "send your API key in the X-Api-Key header, or sign the request (see README)"
        )
    digest = sha256_hex(key)
    for system in systems().values():
        expected = system.credentials.api_key_sha256
        if expected and hmac.compare_digest(expected, digest):
            return system
    raise AccessDenied(401, "bad_credentials", "the API key is not valid")


def by_admin_key(key: str | None) -> Administrator:
    """An administrator's API key (``administrators`` in the catalogue). A connected
    system's key is known but not enough: 403, not 401."""
    if not key:
        raise AccessDenied(401, "unauthenticated", "administrators send their API key in the X-Api-Key header")
    digest = sha256_hex(key)
    for admin in administrators().values():
        if hmac.compare_digest(admin.api_key_sha256, digest):
            return admin
    if any(
        s.credentials.api_key_sha256 and hmac.compare_digest(s.credentials.api_key_sha256, digest)
        for s in systems().values()
    ):
        raise AccessDenied(
            403,
            "administrators_only",
            "this is for administrators; a connected system's key is not "
            "enough (administrators are listed under 'administrators' in the catalogue)",
        )
    raise AccessDenied(401, "bad_credentials", "the API key is not valid")


def by_hmac(
    system_id: str, timestamp: str, signature: str, method: str, path: str, body: bytes, now: float | None = None
) -> System:
    system = systems().get(system_id)
    secret = system.credentials.secret.read() if system and system.credentials.secret else None
    if system is None or secret is None:
        raise AccessDenied(401, "bad_credentials", "unknown system or no signing secret configured for it")
    try:
        skew = abs((now or time.time()) - int(timestamp))
    except ValueError:
        raise AccessDenied(401, "bad_credentials", "X-Govhub-Timestamp must be unix seconds") from None
    if skew > MAX_SKEW:
        raise AccessDenied(
            401, "stale_request", f"the request timestamp is {int(skew)}s off; clocks must agree within {MAX_SKEW}s"
        )
    if not hmac.compare_digest(hmac_signature(secret, method, path, timestamp, body), signature or ""):
        raise AccessDenied(401, "bad_credentials", "the request signature does not match")
    return system


def by_username_token(
    username: str,
    password: str,
    password_type: str = "PasswordText",
    nonce_b64: str | None = None,
    created: str | None = None,
) -> System:
    for system in systems().values():
        cred = system.credentials
        if cred.username != username:
            continue
        if password_type.endswith("PasswordDigest"):
            secret = cred.secret.read() if cred.secret else None
            if secret and nonce_b64 is not None and created is not None:
                expected = base64.b64encode(
                    hashlib.sha1(base64.b64decode(nonce_b64) + created.encode() + secret.encode()).digest()
                ).decode()
                if hmac.compare_digest(expected, password):
                    return system
        elif cred.password_pbkdf2 and check_password(cred.password_pbkdf2, password):
            return system
        break
    raise AccessDenied(401, "bad_credentials", "the WS-Security username or password is not valid")
