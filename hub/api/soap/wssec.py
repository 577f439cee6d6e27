"""WS-Security 1.0 UsernameToken on the SOAP push service: which system sent this envelope.

PasswordText is checked against the catalogue's ``password_pbkdf2``; PasswordDigest
against the system's ``secret``, with ``wsu:Created`` at most ``MAX_PAST`` old and
``MAX_FUTURE`` ahead (``hub.catalog.authn``) and a ``wsse:Nonce`` accepted once: the nonce
is remembered in the hub's database (``hub.db.replay``, shared by every worker) once the
digest verified, until Created + ``MAX_PAST``. Repeated failures lock the username and
client address out for a while (``hub.api.lockout``): a ``Client.Authentication`` fault
that says when to retry.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from sqlalchemy import Engine

from hub.api import lockout
from hub.api.soap.envelope import WSSE, SoapFault
from hub.catalog.authn import MAX_PAST, by_username_token, check_freshness, system_for_username
from hub.catalog.systems import System
from hub.core.errors import AccessDenied
from hub.db import replay

WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_TEXT = "#PasswordText"
PASSWORD_DIGEST = "#PasswordDigest"


def authenticate(header, engine: Engine | None, client: str | None = None) -> System:
    """The system of the envelope's UsernameToken; ``client`` is the sender's address.
    Without a database (``engine`` None: a service that stores nothing either) there is no
    lockout, and a PasswordDigest cannot be checked for replay: a server error."""
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
    if not ptype.endswith((PASSWORD_TEXT, PASSWORD_DIGEST)):
        raise AccessDenied(
            401,
            "unauthenticated",
            "the Password Type must be PasswordText or PasswordDigest (UsernameToken Profile 1.0)",
        )
    claimed = system_for_username(username)
    who = lockout.subject(claimed.id if claimed else None, client)
    try:
        if engine is not None:
            lockout.guard(engine, who)
    except lockout.LockedOut as exc:
        raise SoapFault("Client.Authentication", exc.reason, exc.message) from None
    password = password_el.text or ""
    if not ptype.endswith(PASSWORD_DIGEST):
        return _verified(engine, who, lambda: by_username_token(username, password, ptype))
    nonce = (token.findtext(f"{{{WSSE}}}Nonce") or "").strip()
    created = (token.findtext(f"{{{WSU}}}Created") or "").strip()
    when = _check_digest_freshness(nonce, created)
    system = _verified(engine, who, lambda: by_username_token(username, password.strip(), ptype, nonce, created))
    if engine is None:
        raise RuntimeError("no database to remember WS-Security nonces in")
    if not replay.remember(engine, "wsse", f"{system.id}\n{nonce}", when + MAX_PAST):
        raise AccessDenied(401, "replayed_nonce", "this wsse:Nonce was used before; make a new one for every call")
    return system


def _verified(engine: Engine | None, who: str, check) -> System:
    try:
        return check()
    except AccessDenied as exc:
        if exc.reason == "bad_credentials" and engine is not None:
            lockout.failed(engine, who)
        raise


def _check_digest_freshness(nonce: str, created: str) -> float:
    """``wsu:Created`` as unix seconds, once it and the nonce are well-formed and fresh."""
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
    check_freshness(when.timestamp(), "wsu:Created")
    return when.timestamp()
