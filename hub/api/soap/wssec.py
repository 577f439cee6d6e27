"""WS-Security 1.0 UsernameToken on the SOAP push service: which system sent this envelope.

PasswordText is checked against the catalogue's ``password_pbkdf2``; PasswordDigest
against the system's ``secret``, with ``wsu:Created`` within ``hub.catalog.authn.MAX_SKEW``
and a ``wsse:Nonce`` accepted once.
"""

from __future__ import annotations

import base64
import threading
import time
from datetime import UTC, datetime

from hub.api.soap.envelope import WSSE
from hub.catalog.authn import MAX_SKEW, by_username_token
from hub.catalog.systems import System
from hub.core.errors import AccessDenied

WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_TEXT = "#PasswordText"
PASSWORD_DIGEST = "#PasswordDigest"


class NonceCache:
    """PasswordDigest nonces seen in the last ``ttl`` seconds (one process), so that a
    captured digest cannot be replayed while its Created time is still fresh."""

    def __init__(self, ttl: float, limit: int = 100_000):
        self.ttl, self.limit = ttl, limit
        self._seen: dict[str, float] = {}  # insertion order is expiry order
        self._lock = threading.Lock()

    def first_use(self, nonce: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) <= now or len(self._seen) >= self.limit):
                self._seen.pop(next(iter(self._seen)))
            if nonce in self._seen:
                return False
            self._seen[nonce] = now + self.ttl
            return True


NONCES = NonceCache(ttl=2 * MAX_SKEW)  # a Created up to MAX_SKEW in the past or the future


def authenticate(header) -> System:
    token = header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken") if header is not None else None
    if token is None:
        raise AccessDenied(
            401,
            "unauthenticated",
            f"send a WS-Security UsernameToken (wsse:Security/wsse:UsernameToken, namespace {WSSE}) in the SOAP Header",
        )
    username = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
    password_el = token.find(f"{{{WSSE}}}Password")
    if not username or password_el is None:
        raise AccessDenied(401, "unauthenticated", "the UsernameToken needs a Username and a Password")
    ptype = password_el.get("Type", PASSWORD_TEXT)
    password = password_el.text or ""
    if ptype.endswith(PASSWORD_DIGEST):
        nonce = (token.findtext(f"{{{WSSE}}}Nonce") or "").strip()
        created = (token.findtext(f"{{{WSU}}}Created") or "").strip()
        _check_digest_freshness(nonce, created)
        return by_username_token(username, password.strip(), ptype, nonce, created)
    if not ptype.endswith(PASSWORD_TEXT):
        raise AccessDenied(
            401,
            "unauthenticated",
            "the Password Type must be PasswordText or PasswordDigest (UsernameToken Profile 1.0)",
        )
    return by_username_token(username, password, ptype)


def _check_digest_freshness(nonce: str, created: str) -> None:
    if not nonce or not created:
        raise AccessDenied(401, "unauthenticated", "a PasswordDigest needs wsse:Nonce and wsu:Created")
    try:
        when = datetime.fromisoformat(created)
        base64.b64decode(nonce, validate=True)
    except ValueError:
        raise AccessDenied(
            401, "unauthenticated", "wsu:Created must be an ISO 8601 time and wsse:Nonce base64"
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    skew = abs((datetime.now(UTC) - when).total_seconds())
    if skew > MAX_SKEW:
        raise AccessDenied(
            401, "stale_request", f"wsu:Created is {int(skew)}s off; clocks must agree within {MAX_SKEW}s"
        )
    if not NONCES.first_use(nonce):
        raise AccessDenied(401, "replayed_nonce", "this wsse:Nonce was used before; make a new one for every call")
