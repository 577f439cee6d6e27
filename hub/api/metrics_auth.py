"""Who may read the operations endpoints: ``/metrics`` answers only the metrics token
(``Authorization: Bearer $GOVHUB_METRICS_TOKEN``, what Prometheus sends) or an
administrator's ``X-Api-Key``; ``/ready`` checks live only for them and answers everyone
else from a cache (``hub.api.probes``). A connected system's key is not an operator's.
"""

from __future__ import annotations

from fastapi import Request

from hub.catalog.authn import by_admin_key
from hub.core.config import Settings
from hub.core.errors import AccessDenied
from hub.ops.metrics import bearer_ok


def is_operator(request: Request, settings: Settings) -> bool:
    """The request carries the metrics token or an administrator's key."""
    if bearer_ok(request.headers.get("authorization"), settings.metrics_token):
        return True
    try:
        by_admin_key(request.headers.get("x-api-key"))
    except AccessDenied:
        return False
    return True


def metrics_reader(settings: Settings):
    """The ``/metrics`` dependency: 401 without a credential, 403 for a system's key."""

    async def check(request: Request) -> None:
        if bearer_ok(request.headers.get("authorization"), settings.metrics_token):
            return
        if request.headers.get("x-api-key") is None:
            raise AccessDenied(
                401,
                "unauthenticated",
                "send Authorization: Bearer <the metrics token, GOVHUB_METRICS_TOKEN> or an administrator's X-Api-Key",
            )
        by_admin_key(request.headers.get("x-api-key"))  # 401 unknown, 403 a system's key

    return check
