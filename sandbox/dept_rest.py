"""A sandbox department business system with a REST API (部门业务办理系统).

The one-window system dispatches accepted applications to it (``POST /api/case``: a
canonical JSON batch); it answers with an acknowledgement id, keeps what it received in
memory for the tests to inspect, and can be switched to fail (503 or 500), to refuse (400)
or to be slow — for the outage tests of outbound delivery — or to answer every call with a
redirect (``redirect_to``: a 307 to that base URL), for the redirect-policy test; it notes
every API key it is shown (``keys_seen``). ``GET /api/case/results`` serves
process and result records back, cursor-paginated, like the hub's own pull endpoint.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route


class DeptState:
    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[dict] = []  # every record, in arrival order
        self.messages: dict[str, int] = {}  # message id → times seen
        self.mode = "up"  # up | down (503) | error (500) | refuse (400)
        self.delay = 0.0
        self.results: list[dict] = []  # records served by the pull endpoint
        self.redirect_to: str | None = None  # answer 307 to this base URL instead
        self.keys_seen: list[str] = []  # every X-Api-Key sent to this peer

    def case_numbers(self) -> list[str]:
        return [r["case_no"] for r in self.received]


def make_app(state: DeptState, api_key: str = "dept-key") -> Starlette:
    async def receive(request: Request):
        if request.headers.get("x-api-key"):
            state.keys_seen.append(request.headers["x-api-key"])
        if state.redirect_to:
            return RedirectResponse(state.redirect_to + request.url.path, status_code=307)
        if request.headers.get("x-api-key") != api_key:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        if state.delay:
            time.sleep(state.delay)
        if state.mode == "down":
            return JSONResponse({"error": "maintenance"}, status_code=503)
        if state.mode == "error":
            return JSONResponse({"error": "internal server error"}, status_code=500)
        body = json.loads(await request.body())
        if state.mode == "refuse":
            return JSONResponse({"error": "refused", "message": "record rejected by the department"}, status_code=400)
        mid = request.headers.get("x-message-id") or body.get("message_id") or str(uuid.uuid4())
        with state.lock:
            first = mid not in state.messages
            state.messages[mid] = state.messages.get(mid, 0) + 1
            if first:  # a department system that dedupes by message id, as the hub asks peers to
                state.received.extend(body.get("records", []))
        return JSONResponse({"id": f"ACK-{mid}", "accepted": len(body.get("records", []))})

    async def results(request: Request):
        if request.headers.get("x-api-key") != api_key:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        start = int(request.query_params.get("cursor") or 0)
        page = state.results[start : start + 50]
        nxt = start + len(page)
        return JSONResponse({"records": page, "next_cursor": str(nxt), "has_more": nxt < len(state.results)})

    async def health(_request: Request):
        return JSONResponse(
            {"status": "ok" if state.mode != "down" else "down"}, status_code=200 if state.mode != "down" else 503
        )

    return Starlette(
        routes=[
            Route("/api/case", receive, methods=["POST"]),
            Route("/api/case/results", results),
            Route("/health", health),
        ]
    )
