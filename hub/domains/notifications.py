"""Notifications (短信网关对接): case milestones and supervision alerts become SMS messages
sent through an SMS gateway over HTTP (the REST adapter).

``load_templates(path=None)`` → ``{milestone: template}``
    ``catalog/notification_templates.yaml`` (or ``GOVHUB_NOTIFICATION_TEMPLATES``);
    every milestone needs a template; an unknown milestone, an unknown placeholder or
    a malformed one is a ``TemplateError`` naming the file and the key.
``collect(engine, since=None, templates=None)`` → ``{"cases", "created", "by_milestone", "no_phone"}``
    Derives milestones from ``lib_case`` rows (changed since ``since`` when given):
    status 受理 → ``accepted``; a 补正 special procedure → ``correction``; status 办结 →
    ``concluded``; delivery 窗口领取 with a finish time → ``pickup``. Each
    (source system, case, milestone) gets one ``notification`` row, ever (unique key),
    to the applicant's phone (the agent's when the applicant has none). ``since`` is
    compared with ``lib_case.updated_at`` (whole seconds, inclusive): pass the start of
    the previous run; rescanning a case is harmless.
``supervision_alert(engine, record, phone, templates=None)`` → bool
    Queues the ``supervision_alert`` text of a 监察督办 record (``lib_supervision``
    fields) to ``phone`` once per supervision number.
``send(engine, gateway_url, now=None, per_phone_per_day=3, per_minute=60, max_attempts=5)``
    → ``{"sent", "suppressed", "failed", "deferred", "pending"}``
    Pending (and retryable failed) notifications, oldest first, POSTed as JSON
    ``{"phone", "text", "id"}`` through ``adapters.rest`` (``gateway_url`` is a
    ``rest://`` URL, e.g. ``rest://gw:8080/?push_path=/sms&api_key_env=GOVHUB_SMS_KEY``;
    ``retries`` defaults to 0 — the next call is the retry). A phone that already got
    ``per_phone_per_day`` messages today (CST) → ``suppressed`` with the reason; the
    global ``per_minute`` budget spent → left pending for the next call. The gateway's id
    is the receipt. A transient failure (down, 5xx, timeout) marks the message
    ``failed`` (retried by later calls until ``max_attempts``) and ends the run; a
    rejection is final.

The phone is stored (it is needed to send) but every log line and stored error masks it
(``mask_phone``/``mask_text``); the text (it names the applicant's case) is never logged.

Here: the table, ``collect``, ``supervision_alert`` and ``send``. The templates and their
rendering are ``hub.domains.notification_templates``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from adapters.base import Adapter, Envelope
from adapters.errors import AdapterError, TerminalError, TransientError
from adapters.registry import open_adapter
from hub.core import clock
from hub.db.tables import LIBRARY, Id, metadata
from hub.domains.notification_templates import (
    MILESTONES,
    PLACEHOLDERS,
    TEMPLATES_FILE,
    TemplateError,
    load_templates,
    render,
)
from hub.model.masking import mask_phone, mask_text

__all__ = [
    "FAILED",
    "MILESTONES",
    "PENDING",
    "PLACEHOLDERS",
    "SENT",
    "SUPPRESSED",
    "TEMPLATES_FILE",
    "TemplateError",
    "collect",
    "load_templates",
    "milestones",
    "notification",
    "render",
    "send",
    "supervision_alert",
]

log = logging.getLogger("govhub.notifications")

PENDING, SENT, FAILED, SUPPRESSED = "pending", "sent", "failed", "suppressed"

notification = Table(
    "notification",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_no", String(64), nullable=False),
    Column("source_system", String(64), nullable=False),
    Column(
        "milestone",
        String(32),
        nullable=False,
        comment="accepted | correction | concluded | pickup | supervision_alert",
    ),
    Column("ref", String(64), nullable=False, default="", comment="supervision number for alerts, else empty"),
    Column("phone", String(32), nullable=False, comment="personal data: never logged"),
    Column("text", Text(), nullable=False),
    Column("status", String(12), nullable=False, comment="pending | sent | failed | suppressed"),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("receipt", String(100), nullable=True, comment="the gateway's message id"),
    Column("detail", Text(), nullable=True, comment="last error or suppression reason, masked"),
    Column("created_at", DateTime(), nullable=False),
    Column("sent_at", DateTime(), nullable=True),
    UniqueConstraint("source_system", "case_no", "milestone", "ref", name="uq_notification_key"),
    Index("ix_notification_status", "status", "id"),
    Index("ix_notification_phone_sent", "phone", "sent_at"),
    comment="短信通知",
)
_N = notification


def milestones(case: Mapping[str, Any]) -> list[str]:
    out = []
    if case.get("status") == "受理":
        out.append("accepted")
    if any(isinstance(p, dict) and p.get("kind") == "补正" for p in case.get("special_procedures") or ()):
        out.append("correction")
    if case.get("status") == "办结":
        out.append("concluded")
    if case.get("delivery_method") == "窗口领取" and case.get("finish_time"):
        out.append("pickup")
    return out


def _insert_ignore(engine: Engine) -> postgresql.Insert | sqlite.Insert:
    d = postgresql if engine.dialect.name == "postgresql" else sqlite
    return d.insert(_N).on_conflict_do_nothing(index_elements=["source_system", "case_no", "milestone", "ref"])


_CASE_COLS = (
    "source_system",
    "case_no",
    "case_name",
    "item_name",
    "dept_name",
    "status",
    "special_procedures",
    "delivery_method",
    "accept_time",
    "finish_time",
    "promise_days",
    "applicant_phone",
    "agent_phone",
)


def collect(
    engine: Engine, since: datetime | None = None, templates: dict[str, str] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    templates = templates or load_templates()
    now = now or clock.now()
    case = LIBRARY["case"]
    q = select(*(case.c[n] for n in _CASE_COLS)).order_by(case.c.id)
    if since is not None:
        q = q.where(case.c.updated_at >= since)
    cases = created = no_phone = 0
    by: dict[str, int] = {}
    with engine.begin() as conn:
        existing = {
            (r.source_system, r.case_no, r.milestone)
            for r in conn.execute(select(_N.c.source_system, _N.c.case_no, _N.c.milestone).where(_N.c.ref == ""))
        }
        rows: list[dict[str, Any]] = []
        for r in conn.execute(q).mappings():
            cases += 1
            todo = [m for m in milestones(dict(r)) if (r["source_system"], r["case_no"], m) not in existing]
            if not todo:
                continue
            phone = r["applicant_phone"] or r["agent_phone"]
            if not phone:
                no_phone += 1
                continue
            for m in todo:
                rows.append(
                    {
                        "case_no": r["case_no"],
                        "source_system": r["source_system"],
                        "milestone": m,
                        "ref": "",
                        "phone": phone,
                        "text": render(templates[m], dict(r)),
                        "status": PENDING,
                        "attempts": 0,
                        "created_at": now,
                    }
                )
                by[m] = by.get(m, 0) + 1
        if rows:
            created = len(conn.execute(_insert_ignore(engine).returning(_N.c.id), rows).all())
    log.info(
        "notifications collected: %d cases scanned, %d created %s, %d without a phone", cases, created, by, no_phone
    )
    return {"cases": cases, "created": created, "by_milestone": by, "no_phone": no_phone}


def supervision_alert(
    engine: Engine,
    record: Mapping[str, Any],
    phone: str,
    templates: dict[str, str] | None = None,
    now: datetime | None = None,
) -> bool:
    templates = templates or load_templates()
    row = {
        "case_no": record["case_no"],
        "source_system": record.get("source_system") or "hub",
        "milestone": "supervision_alert",
        "ref": record["supervision_no"],
        "phone": phone,
        "text": render(templates["supervision_alert"], record),
        "status": PENDING,
        "attempts": 0,
        "created_at": now or clock.now(),
    }
    with engine.begin() as conn:
        n = len(conn.execute(_insert_ignore(engine).returning(_N.c.id), [row]).all())
    log.info("supervision alert %s for %s queued: %s", record["supervision_no"], mask_phone(phone), bool(n))
    return bool(n)


def _open_gateway(url: str) -> Adapter:
    given = dict(parse_qsl(urlsplit(url).query))
    return open_adapter(url, **({} if "retries" in given else {"retries": 0}))


@dataclass
class _Budget:
    """What the rate limits leave: messages already sent per phone today (CST) and
    across all phones in the last minute."""

    per_phone: dict[str, int]
    in_minute: int

    def spend(self, phone: str) -> None:
        self.per_phone[phone] = self.per_phone.get(phone, 0) + 1
        self.in_minute += 1


def _due(conn: Connection, max_attempts: int, limit: int) -> Sequence[RowMapping]:
    """Pending and retryable failed notifications, oldest first."""
    return (
        conn.execute(
            select(_N.c.id, _N.c.phone, _N.c.text, _N.c.attempts)
            .where(_N.c.status.in_((PENDING, FAILED)), _N.c.attempts < max_attempts)
            .order_by(_N.c.id)
            .limit(limit)
        )
        .mappings()
        .all()
    )


def _budget(conn: Connection, now: datetime, phones: list[str]) -> _Budget:
    minute_ago = now - timedelta(seconds=60)
    in_minute = conn.execute(
        select(func.count()).select_from(_N).where(_N.c.status == SENT, _N.c.sent_at > minute_ago)
    ).scalar_one()
    day = datetime.combine(now.date(), time.min)
    per_phone: dict[str, int] = {}
    for i in range(0, len(phones), 500):  # bounded IN lists
        per_phone.update(
            conn.execute(
                select(_N.c.phone, func.count())
                .where(
                    _N.c.status == SENT,
                    _N.c.sent_at >= day,
                    _N.c.sent_at < day + timedelta(days=1),
                    _N.c.phone.in_(phones[i : i + 500]),
                )
                .group_by(_N.c.phone)
            ).all()
        )
    return _Budget(per_phone, in_minute)


def _mark(engine: Engine, nid: int, **values: Any) -> None:
    """Each notification's outcome is committed on its own: a crash mid-run never resends a sent one."""
    with engine.begin() as c:
        c.execute(update(_N).where(_N.c.id == nid).values(**values))


def _suppress(engine: Engine, r: RowMapping, per_phone_per_day: int) -> None:
    _mark(
        engine, r["id"], status=SUPPRESSED, detail=f"rate limit: {per_phone_per_day} messages per phone per day reached"
    )
    log.info(
        "notification %s to %s suppressed: daily limit %d reached", r["id"], mask_phone(r["phone"]), per_phone_per_day
    )


# what became of one message handed to the gateway
_DELIVERED, _REJECTED, _GATEWAY_DOWN = "delivered", "rejected", "gateway_down"


def _deliver(engine: Engine, adapter: Adapter, r: RowMapping, now: datetime, max_attempts: int) -> str:
    """POST one message to the gateway and record the outcome: sent with the gateway's
    receipt, or failed (finally when rejected, to be retried when the gateway is down)."""
    masked = mask_phone(r["phone"])
    body = json.dumps({"phone": r["phone"], "text": r["text"], "id": str(r["id"])}, ensure_ascii=False)
    try:
        receipt = adapter.write(
            Envelope(body.encode("utf-8"), f"govhub-notification-{r['id']}", kind="sms", format="json")
        )
    except AdapterError as exc:
        final = isinstance(exc, TerminalError) and not isinstance(exc, TransientError)
        err = mask_text(str(exc)).replace(r["phone"], masked)
        _mark(engine, r["id"], status=FAILED, attempts=max_attempts if final else r["attempts"] + 1, detail=err[:1000])
        log.warning(
            "notification %s to %s failed (%s): %s",
            r["id"],
            masked,
            "final" if final else f"attempt {r['attempts'] + 1}",
            err,
        )
        return _REJECTED if final else _GATEWAY_DOWN
    _mark(engine, r["id"], status=SENT, attempts=r["attempts"] + 1, receipt=receipt.peer_ref, sent_at=now, detail=None)
    log.info("notification %s to %s sent, receipt %s", r["id"], masked, receipt.peer_ref)
    return _DELIVERED


def _still_pending(engine: Engine, max_attempts: int) -> int:
    with engine.connect() as conn:
        n: int = conn.execute(
            select(func.count()).select_from(_N).where(_N.c.status.in_((PENDING, FAILED)), _N.c.attempts < max_attempts)
        ).scalar_one()
    return n


def send(
    engine: Engine,
    gateway_url: str,
    now: datetime | None = None,
    per_phone_per_day: int = 3,
    per_minute: int = 60,
    max_attempts: int = 5,
    limit: int = 1000,
) -> dict[str, int]:
    now = now or clock.now()
    counts = {"sent": 0, "suppressed": 0, "failed": 0, "deferred": 0}
    with engine.connect() as conn:
        todo = _due(conn, max_attempts, limit)
        budget = _budget(conn, now, sorted({r["phone"] for r in todo}))
    adapter = _open_gateway(gateway_url) if todo else None
    try:
        for i, r in enumerate(todo):
            if budget.per_phone.get(r["phone"], 0) >= per_phone_per_day:
                _suppress(engine, r, per_phone_per_day)
                counts["suppressed"] += 1
                continue
            if budget.in_minute >= per_minute:
                counts["deferred"] = len(todo) - i
                log.info("notification rate limit %d/min reached: %d left pending", per_minute, counts["deferred"])
                break
            assert adapter is not None  # opened because there is something to send
            outcome = _deliver(engine, adapter, r, now, max_attempts)
            if outcome == _DELIVERED:
                budget.spend(r["phone"])
                counts["sent"] += 1
                continue
            counts["failed"] += 1
            if outcome == _GATEWAY_DOWN:
                counts["deferred"] = len(todo) - i - 1  # the rest waits for the next call
                break
    finally:
        if adapter is not None:
            adapter.close()
    counts["pending"] = _still_pending(engine, max_attempts)
    log.info("notifications: %s", counts)
    return counts
