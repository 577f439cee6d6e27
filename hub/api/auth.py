"""FastAPI dependencies: which system is calling (API key or HMAC-signed request), or
which administrator (API key listed under ``administrators``).

A signed request is checked in two steps so a stranger costs no memory: its headers first
(a known system, a fresh timestamp: ``hub.catalog.authn.hmac_system``), then its body is
read under the body limit (``hub.api.body``, kept for the route) and hashed as it arrives,
and the v2 signature checked. A signature is accepted once (``hub.db.replay``, until its
timestamp + ``MAX_PAST``). Wrong credentials count towards the lockout of the subject
(``hub.api.lockout``); while it lasts, its requests get 429 before any check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from hub.api import lockout
from hub.api.body import BodyTooLarge, read_body
from hub.catalog.authn import MAX_PAST, by_admin_key, by_api_key, by_hmac, hmac_system
from hub.catalog.systems import Administrator, System, systems
from hub.core.errors import AccessDenied
from hub.db import replay

T = TypeVar("T")


async def caller(request: Request) -> System:
    engine: Engine = request.app.state.engine
    if request.headers.get("x-govhub-signature"):
        return await _signed(request, engine)
    key = request.headers.get("x-api-key")
    if key is None:
        raise AccessDenied(
            401,
            "unauthenticated",
            "send your API key in the X-Api-Key header, or sign the request "
            "with X-Govhub-System / X-Govhub-Timestamp / X-Govhub-Signature (see README)",
        )
    return await _counted(engine, _subject(request, None), lambda: by_api_key(key))


async def administrator(request: Request) -> Administrator:
    """An administrator (``administrators`` in the catalogue), by X-Api-Key."""
    key = request.headers.get("x-api-key")
    if not key:
        return by_admin_key(key)  # 401 unauthenticated: no credentials are no failure
    return await _counted(request.app.state.engine, _subject(request, None), lambda: by_admin_key(key))


async def _signed(request: Request, engine: Engine) -> System:
    h = request.headers
    system_id, timestamp = h.get("x-govhub-system", ""), h.get("x-govhub-timestamp", "")
    claimed = system_id if system_id in systems() else None
    who = _subject(request, claimed)
    system = await _counted(engine, who, lambda: hmac_system(system_id, timestamp))
    digest = hashlib.sha256()
    try:
        await read_body(request, digest=digest)
    except BodyTooLarge as exc:
        raise HTTPException(413, f"the body is larger than {exc.mib} MiB; split the batch") from None
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    target = (raw_path + (b"?" + query if query else b"")).decode("latin-1")
    signature, message_id = h["x-govhub-signature"], h.get("x-message-id", "")
    args = (request.method, target, timestamp, message_id, digest.hexdigest(), request.url.path)
    await _counted(engine, who, lambda: by_hmac(system, signature, *args), guarded=False)
    fresh = await run_in_threadpool(
        replay.remember, engine, "hmac", f"{system.id}\n{signature.strip().lower()}", int(timestamp) + MAX_PAST
    )
    if not fresh:
        raise AccessDenied(
            401,
            "replayed_request",
            "this signed request was accepted before; sign every request anew "
            "(a new X-Govhub-Timestamp; a retry keeps its X-Message-Id)",
        )
    return system


def _subject(request: Request, system_id: str | None) -> str:
    return lockout.subject(system_id, request.client.host if request.client else None)


async def _counted(engine: Engine, who: str, check: Callable[[], T], guarded: bool = True) -> T:
    """``check()``, refused outright while ``who`` is locked out; a ``bad_credentials``
    refusal counts towards its lockout."""
    if guarded:
        await run_in_threadpool(lockout.guard, engine, who)
    try:
        return check()
    except AccessDenied as exc:
        if exc.reason == "bad_credentials":
            await run_in_threadpool(lockout.failed, engine, who)
        raise
