"""ASGI middleware: every request (REST or SOAP) runs under a correlation id — the
caller's ``X-Correlation-ID`` when it is a sane token, else a new one — and the answer
carries it back, so a department can quote it when asking where its records went."""

from __future__ import annotations

from hub.core import correlation


class CorrelationMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        asked = next(
            (
                v.decode("latin-1")
                for k, v in scope.get("headers", ())
                if k.decode("latin-1").lower() == correlation.HEADER.lower()
            ),
            None,
        )
        cid = correlation.accept(asked)

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (correlation.HEADER.lower().encode(), cid.encode())]
            await send(message)

        with correlation.bound(cid):
            await self.app(scope, receive, send_with_id)
