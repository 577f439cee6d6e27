"""A sandbox sharing platform (数据共享平台) with a REST API, for tests and the demo.

- ``GET /api/updates?cursor=N`` — its change feed of people, enterprises and projects,
  ``state.page_size`` entries a page in publication order (``state.publish``):
  ``{"records": [{"kind": "enterprise", "record": {...}}, ...], "next_cursor", "has_more"}``.
- ``POST /api/case`` — reported cases (a canonical JSON batch); a message id seen before
  is acknowledged again, not stored twice; the latest version of each case number is held.
- ``GET /api/reconcile/case?day=YYYY-MM-DD`` — what it holds of that day (by the date of
  ``apply_time``): records ``{"item_code", "count", "digest"}``, digest = SHA-256 hex of
  the item's sorted case numbers joined by ``"\\n"``; with ``&item_code=...``: records
  ``{"case_no"}`` of that item. Cursor-paginated like the feed.
- ``GET /health``.

Every call needs ``X-Api-Key``. Switches: ``state.mode = "down"`` answers 503 to
everything; ``state.fail_from = N`` answers 503 to feed pages starting at position N or
later (an outage in the middle of a refresh); ``state.forget(case_no)`` and
``state.hold(record)`` make it lose or invent a case, for the reconciliation tests.

    state = SharingState()
    state.publish("enterprise", records)
    base_url, stop = run_in_thread(make_app(state))     # sandbox.server
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class SharingState:
    """What the sandbox serves and holds; tests read and flip it."""

    def __init__(self, page_size: int = 50):
        self.lock = threading.Lock()
        self.page_size = page_size
        self.feed: list[dict] = []  # change entries, in publication order
        self.cases: dict[str, dict] = {}  # case number → the latest reported record
        self.messages: dict[str, int] = {}  # message id → times received
        self.mode = "up"  # up | down
        self.fail_from: int | None = None

    def publish(self, kind: str, records) -> None:
        with self.lock:
            self.feed.extend({"kind": kind, "record": r} for r in records)

    def forget(self, case_no: str) -> None:
        with self.lock:
            del self.cases[case_no]

    def hold(self, record: dict) -> None:
        with self.lock:
            self.cases[record["case_no"]] = record

    def holdings(self, day: str) -> dict[str, list[str]]:
        """Item code → sorted case numbers of the cases applied for on ``day``."""
        by_item: dict[str, list[str]] = {}
        with self.lock:
            for no, rec in self.cases.items():
                if str(rec.get("apply_time", ""))[:10] == day:
                    by_item.setdefault(rec["item_code"], []).append(no)
        return {item: sorted(nos) for item, nos in sorted(by_item.items())}


def _page(items: list, cursor: str | None, size: int) -> JSONResponse:
    start = int(cursor or 0)
    page = items[start : start + size]
    nxt = start + len(page)
    return JSONResponse({"records": page, "next_cursor": str(nxt), "has_more": nxt < len(items)})


def make_app(state: SharingState, api_key: str = "sharing-key") -> Starlette:
    def refused(request: Request) -> JSONResponse | None:
        if request.headers.get("x-api-key") != api_key:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        if state.mode == "down":
            return JSONResponse({"error": "maintenance"}, status_code=503)
        return None

    async def updates(request: Request):
        if (answer := refused(request)) is not None:
            return answer
        cursor = request.query_params.get("cursor")
        if state.fail_from is not None and int(cursor or 0) >= state.fail_from:
            return JSONResponse({"error": "maintenance"}, status_code=503)
        with state.lock:
            feed = list(state.feed)
        return _page(feed, cursor, state.page_size)

    async def receive(request: Request):
        if (answer := refused(request)) is not None:
            return answer
        body = json.loads(await request.body())
        mid = request.headers.get("x-message-id") or body.get("message_id") or str(uuid.uuid4())
        with state.lock:
            first = mid not in state.messages
            state.messages[mid] = state.messages.get(mid, 0) + 1
            if first:
                for rec in body.get("records", []):
                    state.cases[rec["case_no"]] = rec
        return JSONResponse({"id": f"SHR-{mid}", "accepted": len(body.get("records", []))})

    async def reconcile(request: Request):
        if (answer := refused(request)) is not None:
            return answer
        q = request.query_params
        holdings = state.holdings(q.get("day", ""))
        if "item_code" in q:
            rows = [{"case_no": no} for no in holdings.get(q["item_code"], [])]
        else:
            rows = [
                {
                    "item_code": item,
                    "count": len(nos),
                    "digest": hashlib.sha256("\n".join(nos).encode("utf-8")).hexdigest(),
                }
                for item, nos in holdings.items()
            ]
        return _page(rows, q.get("cursor"), state.page_size)

    async def health(_request: Request):
        up = state.mode != "down"
        return JSONResponse({"status": "ok" if up else "down"}, status_code=200 if up else 503)

    return Starlette(
        routes=[
            Route("/api/updates", updates),
            Route("/api/case", receive, methods=["POST"]),
            Route("/api/reconcile/case", reconcile),
            Route("/health", health),
        ]
    )
