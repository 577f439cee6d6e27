"""FastAPI dependencies: which system is calling (API key or HMAC-signed request), or
which administrator (API key listed under ``administrators``)."""

from __future__ import annotations

from fastapi import Request

from hub.catalog.authn import by_admin_key, by_api_key, by_hmac
from hub.catalog.systems import Administrator, System
from hub.core.errors import AccessDenied


async def caller(request: Request) -> System:
    if request.headers.get("x-govhub-signature"):
        body = await request.body()
        return by_hmac(
            request.headers.get("x-govhub-system", ""),
            request.headers.get("x-govhub-timestamp", ""),
            request.headers["x-govhub-signature"],
            request.method,
            request.url.path,
            body,
        )
    key = request.headers.get("x-api-key")
    if key is None:
        raise AccessDenied(
            401,
            "unauthenticated",
            "send your API key in the X-Api-Key header, or sign the request "
            "with X-Govhub-System / X-Govhub-Timestamp / X-Govhub-Signature (see README)",
        )
    return by_api_key(key)


async def administrator(request: Request) -> Administrator:
    """An administrator (``administrators`` in the catalogue), by X-Api-Key."""
    return by_admin_key(request.headers.get("x-api-key"))
