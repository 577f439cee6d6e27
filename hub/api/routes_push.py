"""Push endpoints: a connected system sends a batch of records of one kind.

A kind the system may not push refuses the push (403). Each record is authorised by the
pipeline: one the system does not own (another department or region, no owner field, a
library it is not a writer of) is quarantined and reported per record, like a record
that fails validation.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from hub.api.auth import caller
from hub.api.body import BodyTooLarge, read_body
from hub.audit import refused as audit_refused
from hub.catalog.access import AccessDenied, authorise_push
from hub.catalog.systems import System
from hub.core.message_id import MAX_MESSAGE_ID, MessageIdInvalid, check_message_id
from hub.ingest.pipeline import Pipeline, Summary, body_digest
from hub.ingest.results import RESULTS_KEPT, RecordResults
from hub.model import xmlsafe
from hub.model.dictionary import kinds
from hub.model.masking import mask_key
from hub.model.schemagen import json_schema_path

router = APIRouter(prefix="/api/v1", tags=["push"])


class RecordResult(BaseModel):
    seq: int
    key: str | None = None
    outcome: str  # stored | duplicate | quarantined
    detail: str
    reason: str | None = None
    message: str | None = None


class PushResult(BaseModel):
    message_id: str
    system: str
    kind: str
    received: int
    stored: int
    duplicate: int
    quarantined: int
    records: list[RecordResult]
    records_truncated: bool = Field(
        False,
        description=f"some records' results are left out: the first {RESULTS_KEPT} records' and the first "
        f"{RESULTS_KEPT} defects' results are listed; the counts cover every record",
    )
    quarantine_url: str | None = Field(
        None, description="this message's quarantined records (the quarantine listing, for the hub's administrators)"
    )


def _format(request: Request) -> str:
    ctype = request.headers.get("content-type", "application/json").lower()
    if "xml" in ctype:
        return "xml"
    if "json" in ctype:
        return "json"
    raise HTTPException(415, "send Content-Type: application/json (canonical JSON) or application/xml (canonical XML)")


def _read_document(body: bytes, fmt: str) -> Any:
    """An unreadable body is the sender's mistake to fix now (400), not records to keep.
    A JSON body is parsed here, once: the pipeline reads its records from the document."""
    if fmt == "json":
        try:
            doc = json.loads(body)
        except RecursionError:  # 10,000 nested arrays: the decoder runs out of stack, not a server fault
            raise HTTPException(400, "the body is nested too deeply to read; send flat records") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(
                400,
                f"the body is not valid UTF-8 JSON ({type(exc).__name__}); send "
                '{"message_id": "...", "records": [...]}',
            ) from None
        if not (isinstance(doc, list) or (isinstance(doc, dict) and isinstance(doc.get("records"), list))):
            raise HTTPException(400, 'a JSON batch is {"message_id": "...", "records": [...]} or an array of records')
        if isinstance(doc, dict) and doc.get("message_id") is not None:
            _check_id(doc["message_id"], "the body's message_id")
        return doc
    try:
        root = xmlsafe.parse_document(body)
    except xmlsafe.XmlRefused as exc:
        raise HTTPException(400, exc.message) from None
    if root.get("message_id"):
        _check_id(root.get("message_id"), "the batch's message_id attribute")
    return None


def _check_id(value: object, source: str) -> str:
    try:
        return check_message_id(value, source)
    except MessageIdInvalid as exc:
        raise HTTPException(400, exc.message) from None


def _quarantine_url(system: str, kind: str, message_id: str) -> str:
    query = urlencode({"system": system, "kind": kind, "message_id": message_id, "status": "all"})
    return f"{router.prefix}/quarantine?{query}"


def _batch_schema(kind: str) -> dict:
    record = json.loads(json_schema_path(kind).read_text(encoding="utf-8"))
    record.pop("$schema", None)
    return {
        "type": "object",
        "required": ["records"],
        "properties": {
            "message_id": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_ID},
            "records": {"type": "array", "items": record},
        },
    }


def _push_route(kind: str):
    async def push(request: Request, system: System = Depends(caller)) -> PushResult:
        authorise_push(system, kind)
        fmt = _format(request)
        header_id = request.headers.get("x-message-id")
        if header_id is not None:
            _check_id(header_id, "X-Message-Id")
        try:
            body = await read_body(request)
        except BodyTooLarge as exc:
            raise HTTPException(413, f"the body is larger than {exc.mib} MiB; split the batch") from None
        if not body.strip():
            raise HTTPException(400, "the body is empty; send a batch of records")
        pipeline: Pipeline = request.app.state.pipeline
        try:
            doc = _read_document(body, fmt)
        except HTTPException as exc:  # refused whole: in the exchange log all the same
            await run_in_threadpool(
                audit_refused.refused, pipeline.engine, "rest", system.id, header_id, body, 400, str(exc.detail)[:200]
            )
            raise
        message_id = header_id or f"sha256:{hashlib.sha256(body).hexdigest()[:40]}"
        digest = body_digest(body)
        results = RecordResults()

        def run() -> Summary:
            # records stream through the store batch by batch (none is kept after its batch);
            # each is authorised by the pipeline: a foreign one is quarantined
            m = pipeline.open(
                io.BytesIO(body),
                system,
                fmt=fmt,
                kind=kind,
                message_id=message_id,
                digest=digest,
                document=doc,
                channel="rest",
            )
            return pipeline.store(m, pipeline.prepared(m), results=results)

        summary = await run_in_threadpool(run)
        d = summary.as_dict()
        return PushResult(
            message_id=summary.message_id,
            system=system.id,
            kind=kind,
            received=d["received"],
            stored=d["stored"],
            duplicate=d["duplicate"],
            quarantined=d["quarantined"],
            records=[RecordResult(**{**r, "key": mask_key(kind, r["key"])}) for r in results],  # weakness 9
            records_truncated=results.truncated,
            quarantine_url=_quarantine_url(system.id, kind, summary.message_id) if d["quarantined"] else None,
        )

    return push


for _kind, _k in kinds().items():
    router.add_api_route(
        f"/{_kind}",
        _push_route(_kind),
        methods=["POST"],
        response_model=PushResult,
        summary=f"Push {_k.label} ({_kind}) records",
        description=f"A batch of {_k.label} records in the canonical contract: JSON (schemas/json/{_kind}.schema.json) "
        f"or XML (schemas/xsd/{_kind}.xsd). Idempotent by message id (X-Message-Id or the body's "
        "message_id) and by each record's natural key.",
        operation_id=f"push_{_kind}",
        responses={
            401: {"description": "not authenticated"},
            403: {"description": "not allowed for this system"},
            413: {"description": "body too large"},
            415: {"description": "unsupported content type"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _batch_schema(_kind)},
                    "application/xml": {
                        "schema": {"type": "string", "description": f"canonical XML batch <{_k.batch}>"}
                    },
                },
            }
        },
    )


@router.get("/whoami", tags=["operations"], summary="Which system these credentials belong to")
def whoami(system: System = Depends(caller)) -> dict:
    return {
        "system": system.id,
        "name": system.name,
        "level": system.level,
        "region_code": system.region_code,
        "may_push": list(system.may_push),
        "may_pull": list(system.may_pull),
    }


__all__ = ["router", "AccessDenied"]
