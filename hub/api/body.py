"""The one reader of request bodies, with the one size limit (REST, SOAP, hall devices).

``read_body(request, limit)`` reads at most ``limit`` bytes (``MAX_BODY``, 20 MiB, unless
the route passes its own: devices send 1 MiB at most) and raises ``BodyTooLarge`` as soon
as a declared ``Content-Length`` or the bytes received pass it, before the rest arrives.
Each protocol answers it its own way (HTTP 413, a SOAP ``Client.TooLarge`` fault). Call it
after the caller is authenticated, wherever the protocol allows: a stranger's body is not
read (SOAP carries its credentials in the body, so there it cannot be; an HMAC-signed
request is read once its headers name a known system with a fresh timestamp, since the
signature covers the body's digest).

The body read is kept on ``request.state``: a later ``read_body`` of the same request (the
route, after the HMAC check read it) returns it without reading again. ``digest`` (a
``hashlib`` object) is fed each chunk as it arrives.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

MAX_BODY = 20 * 1024 * 1024  # a larger batch goes by SFTP, or in several requests


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit

    @property
    def mib(self) -> int:
        return self.limit // (1024 * 1024)


async def read_body(request: Request, limit: int | None = None, digest: Any = None) -> bytes:
    limit = limit or MAX_BODY
    kept = getattr(request.state, "govhub_body", None)
    if kept is not None:
        if len(kept) > limit:
            raise BodyTooLarge(limit)
        return kept
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        if digest is not None:
            digest.update(chunk)
        chunks.append(chunk)
    body = request.state.govhub_body = b"".join(chunks)
    return body
