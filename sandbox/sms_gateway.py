"""A sandbox SMS gateway (短信网关) for the notification tests and the demo.

``POST /sms`` with ``X-Api-Key`` and a JSON body ``{"phone", "text", "id"}`` answers
``{"msg_id": ..., "message_id": ...}`` (the same gateway id twice: ``message_id`` is
what ``adapters.rest`` reads as the receipt). A repeated ``X-Message-Id`` gets the same
``msg_id`` back and is not sent twice. ``state.mode``: ``up``, ``down`` (503, a
transient failure) or ``refuse`` (400). ``state.sent`` keeps what was "sent", in order.

    state = SmsGatewayState(); base_url, stop = run_in_thread(make_app(state, "sms-key"))
"""

from __future__ import annotations

import json
import threading
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class SmsGatewayState:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent: list[dict] = []  # {"msg_id", "phone", "text", "id"}
        self.by_message: dict[str, str] = {}  # X-Message-Id → msg_id
        self.mode = "up"  # up | down | refuse
        self.requests = 0


def make_app(state: SmsGatewayState, api_key: str = "sms-key") -> Starlette:
    async def sms(request: Request):
        with state.lock:
            state.requests += 1
        if request.headers.get("x-api-key") != api_key:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        if state.mode == "down":
            return JSONResponse({"error": "gateway unavailable"}, status_code=503)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if state.mode == "refuse" or not isinstance(body, dict) or not body.get("phone") or not body.get("text"):
            return JSONResponse({"error": "rejected: phone and text are required"}, status_code=400)
        mid = request.headers.get("x-message-id") or str(body.get("id") or "")
        with state.lock:
            if mid and mid in state.by_message:
                ref = state.by_message[mid]
            else:
                ref = f"SMS{uuid.uuid4().hex[:16].upper()}"
                state.sent.append(
                    {"msg_id": ref, "phone": str(body["phone"]), "text": str(body["text"]), "id": body.get("id")}
                )
                if mid:
                    state.by_message[mid] = ref
        return JSONResponse({"msg_id": ref, "message_id": ref, "status": "accepted"})

    async def health(request: Request):
        return JSONResponse({"status": state.mode})

    return Starlette(routes=[Route("/sms", sms, methods=["POST"]), Route("/health", health)])
