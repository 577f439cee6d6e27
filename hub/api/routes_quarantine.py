"""The quarantine workflow over REST, for administrators (``X-Api-Key`` of an entry under
``administrators`` in the catalogue; a connected system's key gets 403).

| route | what |
|---|---|
| ``GET /api/v1/quarantine`` | list (``system kind reason rule status since message_id limit``), messages masked |
| ``GET /api/v1/quarantine/{id}`` | one record, payload masked |
| ``GET /api/v1/quarantine/{id}/history`` | its actions and lineage, masked |
| ``POST /api/v1/quarantine/{id}/retry`` | correct (``set`` or ``payload``) and retry; unchanged without either |
| ``POST /api/v1/quarantine/{id}/reject`` | reject with a ``note`` |
| ``POST /api/v1/quarantine/retry`` | retry every open record of a ``rule`` (and/or ``system kind reason``) |

The administrator who called is the operator kept with every action. The original
payload is never served unmasked here (``govhub quarantine export`` on the hub host).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.api.auth import administrator
from hub.catalog.systems import Administrator
from hub.model.masking import mask_text
from hub.quarantine.view import STATUSES, list_records, show
from hub.quarantine.workflow import QuarantineActionError, history, reject, retry, retry_matching

router = APIRouter(prefix="/api/v1/quarantine", tags=["quarantine"])


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    set: dict[str, str] | None = Field(
        None, description="corrections: the record's own field (or canonical) name → value"
    )
    payload: str | None = Field(None, max_length=1 << 20, description="a whole corrected record, in the source's form")
    note: str = Field(..., min_length=1, max_length=2000, description="why; kept with the action")


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(..., min_length=1, max_length=2000)


class RetryRuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str | None = Field(None, max_length=100)
    system: str | None = Field(None, max_length=64)
    kind: str | None = Field(None, max_length=32)
    reason: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=2000)


def _refused(exc: QuarantineActionError) -> JSONResponse:
    return JSONResponse({"error": exc.reason, "message": mask_text(exc.message)}, status_code=exc.status)


@router.get("", summary="Quarantined records (masked)")
def listing(
    request: Request,
    system: str | None = Query(None, max_length=64),
    kind: str | None = Query(None, max_length=32),
    reason: str | None = Query(None, max_length=64),
    rule: str | None = Query(None, max_length=100),
    status: str = Query("open", pattern="^(" + "|".join((*STATUSES, "all")) + ")$"),
    since: datetime | None = None,
    message_id: str | None = Query(None, max_length=128),
    limit: int = Query(50, ge=1, le=1000),
    admin: Administrator = Depends(administrator),
) -> dict:
    rows = list_records(
        request.app.state.engine,
        system=system,
        reason=reason,
        kind=kind,
        status=status,
        limit=limit,
        rule=rule,
        since=since,
        message_id=message_id,
    )
    for r in rows:
        r["message"] = mask_text(r["message"])
    return {"records": rows, "count": len(rows)}


@router.get("/{qid:int}", summary="One quarantined record, personal data masked")
def one(request: Request, qid: int, admin: Administrator = Depends(administrator)):
    row = show(request.app.state.engine, qid)
    if row is None:
        return _refused(QuarantineActionError(404, "not_found", f"no quarantined record #{qid}"))
    return row


@router.get("/{qid:int}/history", summary="Actions and lineage of a quarantined record")
def record_history(request: Request, qid: int, admin: Administrator = Depends(administrator)):
    try:
        return history(request.app.state.engine, qid)
    except QuarantineActionError as exc:
        return _refused(exc)


@router.post("/{qid:int}/retry", summary="Correct and retry one record (unchanged without corrections)")
def retry_one(request: Request, qid: int, body: RetryBody, admin: Administrator = Depends(administrator)):
    try:
        return retry(
            request.app.state.engine, qid, admin.id, body.note, changes=body.set, payload=body.payload
        ).as_dict()
    except QuarantineActionError as exc:
        return _refused(exc)


@router.post("/{qid:int}/reject", summary="Reject one record with a note (nothing is deleted)")
def reject_one(request: Request, qid: int, body: RejectBody, admin: Administrator = Depends(administrator)):
    try:
        return reject(request.app.state.engine, qid, admin.id, body.note)
    except QuarantineActionError as exc:
        return _refused(exc)


@router.post("/retry", summary="Retry every open record of a rule after a fix")
def retry_rule(request: Request, body: RetryRuleBody, admin: Administrator = Depends(administrator)):
    try:
        return retry_matching(
            request.app.state.engine,
            admin.id,
            rule=body.rule,
            system=body.system,
            kind=body.kind,
            reason=body.reason,
            note=body.note,
        ).as_dict()
    except QuarantineActionError as exc:
        return _refused(exc)
