"""The demo's quarantine step: an administrator (管理员) corrects a quarantined record —
an ID number whose check character was mistyped, confirmed with the applicant — and it is
stored with its lineage naming the correction; a refused XML document is rejected with
a note. Everything printed is masked."""

from __future__ import annotations

import click
from sqlalchemy import Engine, select

from hub.db.tables import quarantine
from hub.model.codes import idcard
from hub.model.mapping import get_mapping
from hub.model.masking import mask_id
from hub.quarantine.payload import view
from hub.quarantine.workflow import reject, retry

OPERATOR = "demo-admin"


def _fixable(engine: Engine) -> list[tuple[int, str, str]]:
    """Open id_check_char records pushed in the canonical contract: (id, field, fixed ID)."""
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(quarantine)
                .where(
                    quarantine.c.status == "open",
                    quarantine.c.reason == "id_check_char",
                    quarantine.c.mapping.like("canonical_case_%"),
                )
                .order_by(quarantine.c.id)
            )
            .mappings()
            .all()
        )
    out = []
    for r in rows:
        mapping = get_mapping(r["mapping"].split("@", 1)[0])
        record = view(r["payload"], r["payload_encoding"], mapping.spec.format, mapping) or {}
        value = str(record.get(r["field"]) or "")
        if len(value) == 18 and value[:17].isdigit():
            out.append((r["id"], r["field"], value[:17] + idcard.check_char(value[:17])))
    return out


def run(engine: Engine, say) -> dict:
    say("7.", "an administrator (管理员) works the quarantine")
    result = {"corrected": None, "rejected": None}
    for qid, field, fixed in _fixable(engine):
        a = retry(
            engine,
            qid,
            OPERATOR,
            "与申请人核对，证件号校验位录入错误 (check character mistyped, confirmed with the applicant)",
            changes={field: fixed},
        )
        if a.outcome in ("stored", "duplicate"):
            click.echo(
                f"   correct    #{qid} {field} → {mask_id(fixed)}: {a.outcome} ({a.detail}); lineage #{a.lineage_id} "
                f"names the correction of #{qid} by {OPERATOR}"
            )
            result["corrected"] = a.as_dict()
            break
    with engine.connect() as conn:
        bomb = conn.execute(
            select(quarantine.c.id)
            .where(quarantine.c.status == "open", quarantine.c.reason == "xml_forbidden")
            .order_by(quarantine.c.id)
            .limit(1)
        ).scalar()
    if bomb is not None:
        reject(engine, bomb, OPERATOR, "恶意XML，已通知发送方 (hostile XML; the sender was told)")
        click.echo(f"   reject     #{bomb} xml_forbidden, with a note (kept: govhub quarantine history {bomb})")
        result["rejected"] = bomb
    return result
