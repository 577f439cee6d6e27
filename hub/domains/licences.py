"""Electronic licences (电子证照): the licence catalogue (证照目录) with versions and an
operation log, sync to the province licence library, expiry reminders.

Datasheet
---------
Catalogue file
    ``catalog/licence_catalogue.yaml`` (or ``GOVHUB_LICENCE_CATALOGUE``): one entry per
    licence type — ``code`` (the defining authority's 统一社会信用代码 + 3 digits, 21
    characters, as in GB/T 36902 identifiers), ``name``, ``holder_type`` (自然人 | 法人:
    the catalogue's two roots), ``category`` (主题分类), ``industry`` (行业分类),
    ``defining_authority``, ``issuing_department``, ``validity_years`` (null: 长期),
    ``face_items`` (照面信息项) and optional ``valid_from`` (when a change takes effect;
    default the load date). Checked on load, with the file and key in every error.
``load_catalogue(engine, path=None, operator="system")`` → ``{"new", "changed", "cancelled", "unchanged"}``
    The file is the whole catalogue. A new code is 新增 (version 1); an entry whose
    content differs from its latest version is 变更 (next version); a code missing from
    the file is 取消 (next version, status 取消; it is never deleted: licences and the
    log refer to it). Content is the name, the status and the fields, not
    ``valid_from``, which only dates a change. One operation-log row per change
    (operator, time, field-level diff), in the same transaction as the version. Loading
    the same file again writes nothing; two loads racing fail one on the version key.
``catalogue_diff(engine, code, v1, v2)`` → ``{"code", "from_version", "to_version", "changes"}``
    Field-level comparison of two versions (版本比对): per changed field its label,
    ``from`` and ``to``; list fields also say which entries were ``added`` / ``removed``.
    A version that does not exist: ``LookupError``.
``sync_to_province(engine, peer_id, deliverer=None)`` → ``hub.outbound.reporting.ReportRun.as_dict()``
    Licences changed since the peer's watermark (locally issued: not the peer's own)
    are queued and delivered to the province licence library, in order, with receipts.
``expiry_reminders(engine, days=(30, 7), today=None)`` → ``{"expiring", "raised", "by_threshold"}``
    A licence with status 有效 and ``d`` days left (0 ≤ d ≤ max(days)) is due the
    reminder of the smallest threshold ≥ d; each is raised once per licence, expiry
    date and threshold (``licence_reminder``), as an outbox event ``licence.expiring``
    written in the same transaction. A licence first seen 5 days before expiry gets the
    7-day reminder only; a renewed licence is reminded again before its new expiry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Column, Date, DateTime, Engine, Index, Integer, String, Table, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.core import catalogfile, clock
from hub.core.config import CATALOG_DIR, load_settings
from hub.core.errors import ConfigError, NotFound
from hub.db.tables import LIBRARY, Id, Json, metadata, outbox
from hub.ingest.store import EVENTS_EXCHANGE
from hub.model.codes import uscc
from hub.model.codes.errors import CodeError
from hub.outbound import reporting
from hub.outbound.delivery import Deliverer

log = logging.getLogger("govhub.licences")

CATALOGUE_FILE = CATALOG_DIR / "licence_catalogue.yaml"
ACTIVE, CANCELLED = "有效", "取消"
LABELS = {
    "name": "证照名称",
    "status": "目录状态",
    "holder_type": "持证主体类型",
    "category": "主题分类",
    "industry": "行业分类",
    "defining_authority": "定义机构",
    "issuing_department": "颁发部门",
    "validity_years": "有效期限(年)",
    "face_items": "照面信息项",
}

licence_catalogue = Table(
    "licence_catalogue",
    metadata,
    Column("code", String(21), primary_key=True, comment="证照类型代码"),
    Column("version", Integer(), primary_key=True),
    Column("name", String(200), nullable=False, comment="证照名称"),
    Column("fields", Json, nullable=False, comment="the entry's other fields"),
    Column("status", String(8), nullable=False, comment="有效 | 取消"),
    Column("valid_from", Date(), nullable=False, comment="this version applies from"),
    Column("created_at", DateTime(), nullable=False),
    comment="电子证照目录",
)

licence_catalogue_log = Table(
    "licence_catalogue_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(21), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("operation", String(4), nullable=False, comment="新增 | 变更 | 取消"),
    Column("operator", String(100), nullable=False),
    Column("at", DateTime(), nullable=False),
    Column("diff", Json, nullable=False),
    Index("ix_licence_catalogue_log_code", "code", "version"),
    comment="证照目录日志",
)

licence_reminder = Table(
    "licence_reminder",
    metadata,
    Column("licence_no", String(100), primary_key=True),
    Column("valid_to", Date(), primary_key=True, comment="a renewed licence is reminded again"),
    Column("threshold_days", Integer(), primary_key=True),
    Column("raised_at", DateTime(), nullable=False),
    comment="证照到期提醒",
)


class LicenceCatalogueError(ConfigError):
    """The licence catalogue file (证照目录, ``catalog/licence_catalogue.yaml``) is wrong."""

    reason = "licence_types_invalid"


class LicenceType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str = Field(min_length=1, max_length=200)
    holder_type: Literal["自然人", "法人"]
    category: str = Field(min_length=1)
    industry: str = Field(min_length=1)
    defining_authority: str = Field(min_length=1)
    issuing_department: str = Field(min_length=1)
    validity_years: int | None = Field(ge=1, le=100)
    face_items: list[str] = Field(min_length=1)
    valid_from: date | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, v):
        if len(v) != 21 or not v[18:].isdigit():
            raise ValueError("a licence type code is the defining authority's USCC (18) + 3 digits")
        try:
            uscc.validate(v[:18])
        except CodeError as exc:
            raise ValueError(f"the defining authority's code: {exc.message}") from None
        return v

    def content(self) -> dict:
        """What a version is made of (compared to tell a change)."""
        return self.model_dump(exclude={"code", "name", "valid_from"})


class CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    licence_types: list[LicenceType]


def catalogue_path() -> Path:
    return load_settings().licence_catalogue_file


def read_catalogue(path: Path | None = None) -> dict[str, LicenceType]:
    path = path or catalogue_path()
    data = catalogfile.load(
        path,
        CatalogueFile,
        LicenceCatalogueError,
        "the licence catalogue",
        style="key",
        unique=[catalogfile.Unique("licence_types", key="code", noun="code", at="entry")],
    )
    return {e.code: e for e in data.licence_types}


def _diff(old: dict, new: dict) -> dict:
    out = {}
    for name in LABELS:
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        change = {"label": LABELS[name], "from": a, "to": b}
        if isinstance(a, list) or isinstance(b, list):
            change["added"] = [x for x in b or [] if x not in (a or [])]
            change["removed"] = [x for x in a or [] if x not in (b or [])]
        out[name] = change
    return out


def _flat(row) -> dict:
    return {"name": row["name"], "status": row["status"], **row["fields"]}


def _current_versions(conn) -> dict:
    """The latest stored version of every licence type, by code."""
    latest = (
        select(licence_catalogue.c.code, func.max(licence_catalogue.c.version).label("v"))
        .group_by(licence_catalogue.c.code)
        .subquery()
    )
    return {
        r["code"]: r
        for r in conn.execute(
            select(licence_catalogue).join(
                latest, (licence_catalogue.c.code == latest.c.code) & (licence_catalogue.c.version == latest.c.v)
            )
        ).mappings()
    }


def _wanted(entries: dict[str, LicenceType], current: dict) -> dict[str, dict]:
    """What every licence type should now be: the file's entries active, the others cancelled."""
    wanted = {code: {"name": e.name, "status": ACTIVE, **e.content()} for code, e in entries.items()}
    for code, row in current.items():
        if code not in wanted and row["status"] != CANCELLED:
            wanted[code] = {**_flat(row), "status": CANCELLED}
    return wanted


def _new_version(code: str, old, flat: dict, entry: LicenceType | None, operator: str, now) -> tuple[str, dict, dict]:
    """The count it falls under (new, cancelled, changed), the version row and its log row."""
    if old is None:
        operation, count = "新增", "new"
    elif flat["status"] == CANCELLED:
        operation, count = "取消", "cancelled"
    else:
        operation, count = "变更", "changed"
    version = 1 if old is None else old["version"] + 1
    row = {
        "code": code,
        "version": version,
        "name": flat["name"],
        "status": flat["status"],
        "fields": {k: v for k, v in flat.items() if k not in ("name", "status")},
        "valid_from": (entry and entry.valid_from) or now.date(),
        "created_at": now,
    }
    log_row = {
        "code": code,
        "version": version,
        "operation": operation,
        "operator": operator,
        "at": now,
        "diff": _diff(_flat(old) if old is not None else {}, flat),
    }
    return count, row, log_row


def load_catalogue(engine: Engine, path: Path | None = None, operator: str = "system") -> dict:
    """Store a new version of every entry that changed, with its log row (see datasheet)."""
    entries = read_catalogue(path)
    now = clock.now()
    counts = {"new": 0, "changed": 0, "cancelled": 0, "unchanged": 0}
    versions, logs = [], []
    with engine.begin() as conn:
        current = _current_versions(conn)
        for code, flat in sorted(_wanted(entries, current).items()):
            old = current.get(code)
            if old is not None and _flat(old) == flat:
                counts["unchanged"] += 1
                continue
            count, version, log_row = _new_version(code, old, flat, entries.get(code), operator, now)
            counts[count] += 1
            versions.append(version)
            logs.append(log_row)
        if versions:
            conn.execute(insert(licence_catalogue), versions)
            conn.execute(insert(licence_catalogue_log), logs)
    log.info("licence catalogue: %s", counts)
    return counts


def catalogue_diff(engine: Engine, code: str, v1: int, v2: int) -> dict:
    """Field-level differences from version ``v1`` to version ``v2`` of a licence type."""
    with engine.connect() as conn:
        rows = {
            r["version"]: r
            for r in conn.execute(
                select(licence_catalogue).where(
                    licence_catalogue.c.code == code, licence_catalogue.c.version.in_((v1, v2))
                )
            ).mappings()
        }
    missing = [v for v in (v1, v2) if v not in rows]
    if missing:
        raise NotFound(f"licence type {code} has no version {', '.join(map(str, missing))}")
    return {"code": code, "from_version": v1, "to_version": v2, "changes": _diff(_flat(rows[v1]), _flat(rows[v2]))}


def sync_to_province(engine: Engine, peer_id: str, deliverer: Deliverer | None = None) -> dict:
    """Report changed licences to the province licence library (``hub.outbound.reporting``);
    ``deliverer``: one of the caller's (e.g. with endpoints from Airflow connections)."""
    return reporting.run(engine, peer_id, "licence", deliverer).as_dict()


def expiry_reminders(
    engine: Engine, days: Iterable[int] = (30, 7), today: date | None = None, chunk: int = 1000
) -> dict:
    """Raise each due expiry reminder once (see the module datasheet)."""
    thresholds = sorted(set(days))
    if not thresholds or thresholds[0] < 0:
        raise ValueError("days are one or more thresholds ≥ 0")
    today = today or clock.now().date()
    t = LIBRARY["licence"]
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(
                    t.c.licence_no,
                    t.c.licence_name,
                    t.c.catalogue_code,
                    t.c.issuer_code,
                    t.c.region_code,
                    t.c.source_system,
                    t.c.valid_to,
                )
                .where(
                    t.c.status == ACTIVE,
                    t.c.valid_to >= today,
                    t.c.valid_to <= today + timedelta(days=thresholds[-1]),
                )
                .order_by(t.c.valid_to, t.c.licence_no)
            )
            .mappings()
            .all()
        )
    by_threshold = dict.fromkeys(thresholds, 0)
    for start in range(0, len(rows), chunk):
        now = clock.now()
        due = {}
        for r in rows[start : start + chunk]:
            left = (r["valid_to"] - today).days
            due[(r["licence_no"], r["valid_to"], next(n for n in thresholds if n >= left))] = (r, left)
        with engine.begin() as conn:
            ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(licence_reminder)
            raised = conn.execute(
                ins.on_conflict_do_nothing().returning(
                    licence_reminder.c.licence_no, licence_reminder.c.valid_to, licence_reminder.c.threshold_days
                ),
                [{"licence_no": no, "valid_to": to, "threshold_days": n, "raised_at": now} for no, to, n in due],
            ).all()
            if raised:
                conn.execute(insert(outbox), [_event(*due[tuple(k)], k[2], now) for k in raised])
        for k in raised:
            by_threshold[k[2]] += 1
    counts = {"expiring": len(rows), "raised": sum(by_threshold.values()), "by_threshold": by_threshold}
    log.info("licence expiry reminders: %s", counts)
    return counts


def _event(r, left: int, threshold: int, now) -> dict:
    # the holder is left out: subscribers that notify holders look them up with access rights
    return {
        "exchange": EVENTS_EXCHANGE,
        "routing_key": f"licence.{r['region_code'] or 'unknown'}.{r['source_system']}",
        "kind": "licence",
        "record_key": r["licence_no"],
        "event": "expiring",
        "created_at": now,
        "body": {
            "event": "licence.expiring",
            "licence_no": r["licence_no"],
            "licence_name": r["licence_name"],
            "catalogue_code": r["catalogue_code"],
            "issuer_code": r["issuer_code"],
            "region_code": r["region_code"],
            "valid_to": r["valid_to"].isoformat(),
            "days_left": left,
            "threshold_days": threshold,
        },
    }
