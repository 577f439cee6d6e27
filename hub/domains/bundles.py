"""Bundle applications (套餐): one application, split into its department items, each
dispatched and tracked; the bundle's status is the join of its parts' statuses.

Datasheet
---------
Definitions
    ``catalog/bundles.yaml`` (or the file named by ``GOVHUB_BUNDLES``): per bundle a
    ``code``, a ``name`` and two or more ``parts`` — item code and name, the
    implementing department (name, 统一社会信用代码) and the connected system the part
    is dispatched to. Checked on load, with the file and key in every error; the
    systems must be in the catalogue, and a system that declares its department's code
    must declare this one.
Application (a dict, checked by ``Application``)
    ``bundle_no`` (the one-window system's number, ≤ 60 characters), ``bundle_code``,
    ``system`` (the one-window system that accepted it: the source of the part cases),
    the applicant (``applicant_*`` as in the case dictionary), ``apply_time``,
    ``accept_time``, optional ``accept_handler``, ``channel`` and ``materials`` (one set
    of materials serves every part: 一套材料).
``split(engine, application)`` → ``{"bundles", "parts", "dispatched", "waiting"}``
    1. Each part becomes a canonical case ``<bundle_no>-<seq>`` (联办件, status 受理,
       ``bundle_no`` set), checked by the pipeline; a defective application is refused
       whole (``BundleError``, messages masked) before anything is stored.
    2. The bundle and its parts, with their case records, are stored in one transaction.
    3. The part cases are ingested through the pipeline as the window system's message
       ``bundle:<bundle_no>`` (lineage, outbox); then, in one transaction, each is queued
       for its department (``hub.outbound.delivery.enqueue``, reason ``dispatch``) and marked
       dispatched. The ``Deliverer`` sends them.
    The same application again writes nothing; another application under a number
    already used is refused. A crash after step 2 or 3 is completed by ``split`` again
    or by ``resume``: all state is in the database. ``waiting`` counts parts whose case
    did not reach the library (quarantined): they stay undispatched until their case
    is in the library (sent again, corrected, by the window system) and ``resume`` runs.
``join(engine)`` → ``{"open", "parts_changed", "changed", "finished"}``
    Each dispatched part of an unfinished bundle takes the status of its case in the
    case library: the department's own record of it once the department has reported
    it, else the record dispatched. The bundle's status (``bundle_status``) is re-derived
    for the bundles with a changed part; every change of it is an outbox event
    ``bundle.status`` (routing key ``bundle.<region>.<window system>``) written in the
    same transaction. A bundle is finished (``finished_at``) once every part is 办结 or
    ended; finished bundles are not read again.
``resume(engine)`` → ``{"bundles", "dispatched", "waiting"}``
    Dispatches the parts of every bundle left undispatched.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections import Counter, defaultdict
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Column, Connection, DateTime, Engine, Index, Integer, String, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.core import clock
from hub.model.codes import uscc
from hub.model.codes.errors import CodeError
from hub.core.config import CATALOG_DIR
from hub.outbound.delivery import enqueue
from hub.db.tables import LIBRARY, Json, metadata, outbox
from hub.ingest.pipeline import Pipeline
from hub.ingest.store import EVENTS_EXCHANGE, content_hash, message_seen
from hub.catalog.systems import System, catalog_path, get_system, systems
from hub.core.errors import ConfigError

log = logging.getLogger("govhub.bundles")

BUNDLES_FILE = CATALOG_DIR / "bundles.yaml"
PENDING = "待分发"  # a part not yet dispatched; a bundle with such a part
CONCLUDED = "办结"
ENDED = frozenset({"不予受理", "退件", "作废"})  # a part that ended without conclusion

bundle = Table(
    "bundle",
    metadata,
    Column("bundle_no", String(60), primary_key=True, comment="套餐办件编号"),
    Column("bundle_code", String(40), nullable=False, comment="套餐编码"),
    Column("system", String(64), nullable=False, comment="the one-window system that accepted it"),
    Column("region_code", String(6), nullable=False),
    Column("applicant_type", String(16), nullable=False),
    Column("applicant_name", String(200), nullable=False),
    Column("applicant_id_no", String(40), nullable=False),
    Column("application_hash", String(32), nullable=False, comment="tells a repeat from another application"),
    Column("status", String(16), nullable=False, comment="待分发 | 办理中 | 办结 | 部分退件 | 退件"),
    Column("created_at", DateTime(), nullable=False),
    Column("updated_at", DateTime(), nullable=False),
    Column("finished_at", DateTime(), nullable=True, comment="every part 办结 or ended"),
    Index("ix_bundle_open", "finished_at", "bundle_no"),
    comment="套餐申请",
)

bundle_part = Table(
    "bundle_part",
    metadata,
    Column("bundle_no", String(60), primary_key=True),
    Column("seq", Integer(), primary_key=True),
    Column("item_code", String(40), nullable=False),
    Column("dept_system", String(64), nullable=False, comment="the department system it is dispatched to"),
    Column("case_no", String(64), nullable=False),
    Column("record", Json, nullable=False, comment="the part's canonical case, as dispatched"),
    Column("status", String(16), nullable=False, comment="待分发, then its case's status"),
    Column("dispatched_at", DateTime(), nullable=True),
    Column("finished_at", DateTime(), nullable=True),
    Index("ix_bundle_part_undispatched", "dispatched_at"),
    comment="套餐拆分的部门事项",
)


class BundleError(ConfigError):
    """The bundle definitions file (一件事) is wrong."""

    reason = "bundles_invalid"


# ---- definitions -----------------------------------------------------------------------

class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item_code: str = Field(min_length=12, max_length=40)
    item_name: str = Field(min_length=1, max_length=200)
    dept_name: str = Field(min_length=1, max_length=200)
    dept_code: str
    system: str

    @field_validator("dept_code")
    @classmethod
    def _uscc(cls, v):
        try:
            return uscc.validate(v)
        except CodeError as exc:
            raise ValueError(exc.message) from None


class Bundle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[0-9A-Z-]{1,40}$")
    name: str = Field(min_length=1, max_length=100)
    parts: tuple[Part, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _distinct_items(self):
        codes = [p.item_code for p in self.parts]
        if len(set(codes)) != len(codes):
            raise ValueError("an item appears twice in the bundle")
        return self


class BundlesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bundles: list[Bundle]


def bundles_path() -> Path:
    return Path(os.environ.get("GOVHUB_BUNDLES") or BUNDLES_FILE)


def load_bundles(path: Path | None = None, known: dict[str, System] | None = None) -> dict[str, Bundle]:
    """Read and check the definitions; ``known`` systems default to the catalogue."""
    path = path or bundles_path()
    known = systems() if known is None else known
    try:
        data = BundlesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BundleError(f"{path}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    out: dict[str, Bundle] = {}
    for b in data.bundles:
        if b.code in out:
            raise BundleError(f"{path}: bundles.{b.code}: duplicate code")
        for i, p in enumerate(b.parts):
            where = f"{path}: bundles.{b.code}.parts.{i}.system"
            s = known.get(p.system)
            if s is None:
                raise BundleError(f"{where}: unknown system {p.system!r}; known: {', '.join(sorted(known))}")
            if s.dept_code and s.dept_code != p.dept_code:
                raise BundleError(f"{where}: system {p.system} serves department {s.dept_code}, not {p.dept_code}")
        out[b.code] = b
    return out


@lru_cache(maxsize=4)
def _bundles_at(path: str, catalogue: str) -> dict[str, Bundle]:
    return load_bundles(Path(path))


def bundles() -> dict[str, Bundle]:
    # keyed by the catalogue too: the definitions were checked against it
    return _bundles_at(str(bundles_path()), str(catalog_path()))


# ---- the application and its parts ----------------------------------------------------

class Application(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle_no: str = Field(pattern=r"^[0-9A-Za-z_-]{1,60}$")
    bundle_code: str
    system: str
    applicant_type: str
    applicant_name: str
    applicant_id_type: str
    applicant_id_no: str
    applicant_phone: str | None = None
    applicant_address: str | None = None
    apply_time: str
    accept_time: str
    accept_handler: str | None = None
    channel: str | None = None
    materials: list[dict] = []


def part_cases(definition: Bundle, app: Application) -> list[dict]:
    """The canonical case of each part (the pipeline checks them)."""
    common = app.model_dump(exclude={"bundle_no", "bundle_code", "system"}, exclude_defaults=True)
    known = systems()
    return [
        {**common, "case_no": f"{app.bundle_no}-{seq:02d}", "item_code": p.item_code, "item_name": p.item_name,
         "dept_code": p.dept_code, "dept_name": p.dept_name, "region_code": known[p.system].region_code,
         "case_name": f"{definition.name}：{p.item_name}", "case_type": "联办件", "status": "受理",
         "bundle_no": app.bundle_no, "source_time": app.accept_time}
        for seq, p in enumerate(definition.parts, 1)
    ]


def bundle_status(part_statuses: list[str]) -> str:
    """The bundle's status from its parts' (first rule that holds): 待分发 if a part is
    not dispatched; 办结 if every part is 办结; 退件 if every part ended without
    conclusion (不予受理, 退件, 作废); 部分退件 if some did; else 办理中."""
    if PENDING in part_statuses:
        return PENDING
    if all(s == CONCLUDED for s in part_statuses):
        return CONCLUDED
    ended = sum(s in ENDED for s in part_statuses)
    if ended == len(part_statuses):
        return "退件"
    return "部分退件" if ended else "办理中"


def _message_id(bundle_no: str) -> str:
    return f"bundle:{bundle_no}"


def _body(bundle_no: str, records: list[dict]) -> bytes:
    doc = {"message_id": _message_id(bundle_no), "records": records}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _defects(pipeline: Pipeline, window: System, bundle_no: str, cases: list[dict]) -> list[str]:
    m = pipeline.open(io.BytesIO(_body(bundle_no, cases)), window, fmt="json", kind="case",
                      message_id=_message_id(bundle_no))
    return [f"part {p.seq}: {p.defect.reason} ({p.defect.field or '-'}): {p.defect.message}"
            for p in pipeline.prepared(m) if p.defect is not None]


# ---- split, dispatch, join ---------------------------------------------------------------

def _insert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def split(engine: Engine, application: dict, pipeline: Pipeline | None = None) -> dict:
    """Store a bundle application and dispatch its parts (see the module datasheet)."""
    try:
        app = Application.model_validate(application)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BundleError(f"application: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    definition = bundles().get(app.bundle_code)
    if definition is None:
        raise BundleError(f"application: bundle_code: unknown bundle {app.bundle_code!r}; "
                          f"known: {', '.join(sorted(bundles()))}")
    window = get_system(app.system)
    pipeline = pipeline or Pipeline(engine)
    cases = part_cases(definition, app)
    defects = _defects(pipeline, window, app.bundle_no, cases)
    if defects:
        raise BundleError(f"bundle {app.bundle_no} refused: " + "; ".join(defects))
    digest = content_hash(app.model_dump())
    now = clock.now()
    with engine.begin() as conn:
        new = conn.execute(_insert(conn, bundle).values(
            bundle_no=app.bundle_no, bundle_code=app.bundle_code, system=window.id, region_code=window.region_code,
            applicant_type=app.applicant_type, applicant_name=app.applicant_name, applicant_id_no=app.applicant_id_no,
            application_hash=digest, status=PENDING, created_at=now, updated_at=now,
        ).on_conflict_do_nothing().returning(bundle.c.bundle_no)).first() is not None
        if new:
            conn.execute(insert(bundle_part), [
                {"bundle_no": app.bundle_no, "seq": seq, "item_code": c["item_code"], "dept_system": p.system,
                 "case_no": c["case_no"], "record": c, "status": PENDING}
                for seq, (p, c) in enumerate(zip(definition.parts, cases), 1)
            ])
        elif conn.execute(select(bundle.c.application_hash)
                          .where(bundle.c.bundle_no == app.bundle_no)).scalar_one() != digest:
            raise BundleError(f"bundle {app.bundle_no} was split before from another application; "
                              "a changed application needs a new bundle number")
    done = _dispatch(engine, app.bundle_no, pipeline)
    return {"bundles": int(new), "parts": len(cases) if new else 0, **done}


def _library_cases(conn: Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Case library rows by (source system, case number)."""
    if not pairs:
        return {}
    t = LIBRARY["case"]
    rows = conn.execute(select(t.c.source_system, t.c.case_no, t.c.version, t.c.status, t.c.finish_time).where(
        t.c.source_system.in_(sorted({s for s, _ in pairs})), t.c.case_no.in_(sorted({c for _, c in pairs})))).mappings()
    return {(r["source_system"], r["case_no"]): dict(r) for r in rows if (r["source_system"], r["case_no"]) in pairs}


def _dispatch(engine: Engine, bundle_no: str, pipeline: Pipeline) -> dict:
    with engine.connect() as conn:
        window = conn.execute(select(bundle.c.system).where(bundle.c.bundle_no == bundle_no)).scalar_one()
        parts = conn.execute(select(bundle_part).where(bundle_part.c.bundle_no == bundle_no)
                             .order_by(bundle_part.c.seq)).mappings().all()
        todo = [p for p in parts if p["dispatched_at"] is None]
        missing = len(_library_cases(conn, {(window, p["case_no"]) for p in todo})) < len(todo)
        # once the message is processed, a part still missing was quarantined: sending it
        # again would only add duplicates to the lineage on every resume
        ingest = missing and not message_seen(conn, window, _message_id(bundle_no))
    if not todo:
        return {"dispatched": 0, "waiting": 0}
    if ingest:  # the whole bundle as one message, always the same
        pipeline.ingest(io.BytesIO(_body(bundle_no, [p["record"] for p in parts])), window, fmt="json", kind="case",
                        message_id=_message_id(bundle_no))
    now = clock.now()
    dispatched = 0
    with engine.begin() as conn:
        cases = _library_cases(conn, {(window, p["case_no"]) for p in todo})
        for p in todo:
            case = cases.get((window, p["case_no"]))
            if case is None:
                continue
            claimed = conn.execute(update(bundle_part).where(
                bundle_part.c.bundle_no == bundle_no, bundle_part.c.seq == p["seq"], bundle_part.c.dispatched_at.is_(None),
            ).values(status=case["status"], dispatched_at=now)).rowcount
            if claimed:  # a concurrent split of the same bundle may have taken it
                enqueue(conn, p["dept_system"], "case", [(window, p["case_no"], case["version"], p["case_no"])], now,
                        reason="dispatch")
                dispatched += 1
        _derive(conn, bundle_no, now)
    if dispatched < len(todo):
        log.warning("bundle %s: %d part(s) not in the case library (quarantined?); not dispatched", bundle_no,
                    len(todo) - dispatched)
    return {"dispatched": dispatched, "waiting": len(todo) - dispatched}


def resume(engine: Engine, pipeline: Pipeline | None = None) -> dict:
    """Dispatch the parts of every bundle left undispatched (after a crash)."""
    with engine.connect() as conn:
        nos = list(conn.execute(select(bundle_part.c.bundle_no).where(bundle_part.c.dispatched_at.is_(None))
                                .distinct().order_by(bundle_part.c.bundle_no)).scalars())
    pipeline = pipeline or Pipeline(engine)
    counts = Counter(bundles=len(nos), dispatched=0, waiting=0)
    for no in nos:
        counts.update(_dispatch(engine, no, pipeline))
    return dict(counts)


def _derive(conn: Connection, bundle_no: str, now: datetime) -> tuple[bool, bool]:
    """Re-derive one bundle's status; returns (status changed, finished now)."""
    b = conn.execute(select(bundle).where(bundle.c.bundle_no == bundle_no)).mappings().one()
    statuses = list(conn.execute(select(bundle_part.c.status).where(bundle_part.c.bundle_no == bundle_no)).scalars())
    status = bundle_status(statuses)
    finished = all(s == CONCLUDED or s in ENDED for s in statuses)
    if status == b["status"] and finished == (b["finished_at"] is not None):
        return False, False
    won = conn.execute(update(bundle).where(bundle.c.bundle_no == bundle_no, bundle.c.status == b["status"]).values(
        status=status, updated_at=now, finished_at=now if finished else None)).rowcount
    if not won:  # a concurrent join got there first and wrote the event
        return False, False
    if status != b["status"]:
        conn.execute(insert(outbox).values(
            exchange=EVENTS_EXCHANGE, routing_key=f"bundle.{b['region_code']}.{b['system']}", kind="bundle",
            record_key=bundle_no, event="status", created_at=now,
            body={"event": "bundle.status", "bundle_no": bundle_no, "bundle_code": b["bundle_code"],
                  "region_code": b["region_code"], "from": b["status"], "to": status, "parts": dict(Counter(statuses))}))
    return status != b["status"], finished


def join(engine: Engine, page: int = 500) -> dict:
    """Follow every unfinished bundle's parts in the case library (see the datasheet)."""
    counts = Counter(open=0, parts_changed=0, changed=0, finished=0)
    after = ""
    while True:
        with engine.connect() as conn:
            heads = dict(conn.execute(select(bundle.c.bundle_no, bundle.c.system).where(
                bundle.c.finished_at.is_(None), bundle.c.bundle_no > after).order_by(bundle.c.bundle_no).limit(page)).all())
            if not heads:
                break
            after = list(heads)[-1]  # the database's own order (collations differ from Python's)
            parts = conn.execute(select(bundle_part).where(
                bundle_part.c.bundle_no.in_(heads), bundle_part.c.dispatched_at.is_not(None))).mappings().all()
            cases = _library_cases(conn, {(s, p["case_no"]) for p in parts
                                          for s in (p["dept_system"], heads[p["bundle_no"]])})
        counts["open"] += len(heads)
        now = clock.now()
        touched: dict[str, int] = defaultdict(int)
        with engine.begin() as conn:
            for p in parts:
                case = cases.get((p["dept_system"], p["case_no"])) or cases.get((heads[p["bundle_no"]], p["case_no"]))
                if case is None or case["status"] == p["status"]:
                    continue
                final = case["status"] == CONCLUDED or case["status"] in ENDED
                touched[p["bundle_no"]] += conn.execute(update(bundle_part).where(
                    bundle_part.c.bundle_no == p["bundle_no"], bundle_part.c.seq == p["seq"],
                    bundle_part.c.status == p["status"],
                ).values(status=case["status"], finished_at=(case["finish_time"] or now) if final else None)).rowcount
            for no in sorted(n for n, k in touched.items() if k):
                changed, finished = _derive(conn, no, now)
                counts["parts_changed"] += touched[no]
                counts["changed"] += changed
                counts["finished"] += finished
    return dict(counts)
