"""The quarantine action log (``quarantine_action``: every correct, retry, reject and export,
with who, when and why), what every action checks first (who acts, the note, that the
record exists and is still open), and the actions that do not read the record again:
``reject`` and ``export``. Correcting and retrying are ``hub.quarantine.workflow``."""

from __future__ import annotations

import logging
from typing import Literal

from sqlalchemy import BigInteger, Column, DateTime, Engine, Index, String, Table, Text, insert, select, update

from hub.core import clock
from hub.core.errors import WorkflowError
from hub.db.tables import Id, Json, metadata, quarantine
from hub.model.masking import mask_text

log = logging.getLogger("govhub.quarantine")

quarantine_action = Table(
    "quarantine_action",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("quarantine_id", BigInteger(), nullable=False),
    Column("action", String(12), nullable=False, comment="correct | retry | reject | export"),
    Column("operator", String(100), nullable=False, comment="the administrator"),
    Column("at", DateTime(), nullable=False),
    Column("note", Text(), nullable=True, comment="personal data masked"),
    Column("outcome", String(12), nullable=False, comment="stored | duplicate | quarantined | rejected | exported"),
    Column(
        "detail",
        String(40),
        nullable=True,
        comment="new | updated | stale | same_content, or the reason it failed again",
    ),
    Column("message", Text(), nullable=True, comment="why it failed again (masked)"),
    Column("rule", String(100), nullable=True),
    Column("field", String(100), nullable=True),
    Column("mapping", String(100), nullable=True, comment="the mapping (name@version) the retry used"),
    Column("schema_version", String(40), nullable=True),
    Column("lineage_id", BigInteger(), nullable=True, comment="the lineage row of the stored record"),
    Column("changes", Json, nullable=True, comment="source field → [before, after], masked"),
    Column(
        "payload",
        Text(),
        nullable=True,
        comment="the corrected record tried (as quarantine.payload: shown masked only)",
    ),
    Index("ix_quarantine_action_quarantine", "quarantine_id", "id"),
    comment="隔离区处理记录",
)


ActionReason = Literal[
    "operator_required",
    "note_required",
    "filter_required",
    "not_found",
    "not_open",
    "whole_message",
    "library_refresh",
    "unknown_system",
    "kind_changed",
    "bad_correction",
]


class QuarantineActionError(WorkflowError):
    """A quarantine action (retry, reject, export) cannot be done; ``status`` is the HTTP
    status, ``reason`` a code."""

    def __init__(self, status: int, reason: ActionReason, message: str):
        super().__init__(message, reason=reason, status=status)


def _operator(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise QuarantineActionError(
            422,
            "operator_required",
            "say who you are: --operator NAME (up to 100 characters); it is kept with every action",
        )
    return name


def _note(note: str | None, required: bool = False) -> str | None:
    note = (note or "").strip()
    if required and not note:
        raise QuarantineActionError(422, "note_required", "give a reason with --note TEXT; it is kept with the action")
    return mask_text(note) if note else None  # a note is a remark: no personal data needed in it


def _row(conn, qid: int) -> dict:
    row = conn.execute(select(quarantine).where(quarantine.c.id == qid)).mappings().first()
    if row is None:
        raise QuarantineActionError(
            404, "not_found", f"no quarantined record #{qid}; `govhub quarantine list` shows the ids"
        )
    return dict(row)


def _open(row: dict) -> None:
    if row["status"] != "open":
        raise QuarantineActionError(
            409,
            "not_open",
            f"quarantined record #{row['id']} is {row['status']} already "
            f"(by {row['resolved_by']} at {row['resolved_at']}); `govhub quarantine history {row['id']}`",
        )


def reject(engine: Engine, qid: int, operator: str, note: str | None) -> dict:
    """Close an open quarantined record without storing it (stays counted as quarantined)."""
    operator, note = _operator(operator), _note(note, required=True)
    now = clock.now().replace(microsecond=0)
    with engine.begin() as conn:
        row = _row(conn, qid)
        _open(row)
        done = conn.execute(
            update(quarantine)
            .where(quarantine.c.id == qid, quarantine.c.status == "open")
            .values(status="rejected", resolved_by=operator, resolved_at=now, note=note)
        ).rowcount
        if done != 1:
            raise QuarantineActionError(409, "not_open", f"quarantined record #{qid} changed meanwhile; look again")
        conn.execute(
            insert(quarantine_action).values(
                quarantine_id=qid, action="reject", operator=operator, at=now, note=note, outcome="rejected"
            )
        )
    log.info("quarantine #%d rejected by %s", qid, operator)
    return {"quarantine_id": qid, "status": "rejected", "resolved_by": operator, "resolved_at": now, "note": note}


def export(engine: Engine, qid: int, operator: str, note: str | None = None) -> tuple[str, str]:
    """The original payload, unmasked, for an administrator to correct it in a file
    (``retry ID --payload FILE``); traced like every other action."""
    operator, note = _operator(operator), _note(note)
    with engine.begin() as conn:
        row = _row(conn, qid)
        conn.execute(
            insert(quarantine_action).values(
                quarantine_id=qid,
                action="export",
                operator=operator,
                at=clock.now().replace(microsecond=0),
                note=note,
                outcome="exported",
            )
        )
    log.info("quarantine #%d exported by %s", qid, operator)
    return row["payload"], row["payload_encoding"]
