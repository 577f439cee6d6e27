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

Here: the application, ``split`` and ``resume``. The definitions are
``hub.domains.bundle_definitions``; the tables, the status and ``join``,
``hub.domains.bundle_progress``.
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.catalog.systems import System, get_system, systems
from hub.core import clock
from hub.domains.bundle_definitions import (
    BUNDLES_FILE,
    Bundle,
    BundleError,
    BundlesFile,
    Part,
    bundles,
    bundles_path,
    load_bundles,
)
from hub.domains.bundle_progress import (
    CONCLUDED,
    ENDED,
    PENDING,
    _derive,
    _library_cases,
    bundle,
    bundle_part,
    bundle_status,
    join,
)
from hub.ingest.pipeline import Pipeline
from hub.ingest.store import content_hash, message_seen
from hub.outbound.delivery import enqueue
from hub.wiring import standard_pipeline

__all__ = [
    "BUNDLES_FILE",
    "CONCLUDED",
    "ENDED",
    "PENDING",
    "Application",
    "Bundle",
    "BundleError",
    "BundlesFile",
    "Part",
    "bundle",
    "bundle_part",
    "bundle_status",
    "bundles",
    "bundles_path",
    "join",
    "load_bundles",
    "part_cases",
    "resume",
    "split",
]

log = logging.getLogger("govhub.bundles")


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
        {
            **common,
            "case_no": f"{app.bundle_no}-{seq:02d}",
            "item_code": p.item_code,
            "item_name": p.item_name,
            "dept_code": p.dept_code,
            "dept_name": p.dept_name,
            "region_code": known[p.system].region_code,
            "case_name": f"{definition.name}：{p.item_name}",
            "case_type": "联办件",
            "status": "受理",
            "bundle_no": app.bundle_no,
            "source_time": app.accept_time,
        }
        for seq, p in enumerate(definition.parts, 1)
    ]


def _message_id(bundle_no: str) -> str:
    return f"bundle:{bundle_no}"


def _body(bundle_no: str, records: list[dict]) -> bytes:
    doc = {"message_id": _message_id(bundle_no), "records": records}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _defects(pipeline: Pipeline, window: System, bundle_no: str, cases: list[dict]) -> list[str]:
    m = pipeline.open(
        io.BytesIO(_body(bundle_no, cases)), window, fmt="json", kind="case", message_id=_message_id(bundle_no)
    )
    return [
        f"part {p.seq}: {p.defect.reason} ({p.defect.field or '-'}): {p.defect.message}"
        for p in pipeline.prepared(m)
        if p.defect is not None
    ]


# ---- split and dispatch ------------------------------------------------------------------


def _insert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _checked(application: dict) -> tuple[Application, Bundle]:
    """The application, checked, and the definition of its bundle."""
    try:
        app = Application.model_validate(application)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BundleError(f"application: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    definition = bundles().get(app.bundle_code)
    if definition is None:
        raise BundleError(
            f"application: bundle_code: unknown bundle {app.bundle_code!r}; known: {', '.join(sorted(bundles()))}"
        )
    return app, definition


def _store(
    conn: Connection,
    app: Application,
    definition: Bundle,
    window: System,
    cases: list[dict],
    digest: str,
    now: datetime,
) -> bool:
    """Stores the bundle and its parts with their case records; returns whether it is new.
    The same application again stores nothing; another one under the same number is refused."""
    new = (
        conn.execute(
            _insert(conn, bundle)
            .values(
                bundle_no=app.bundle_no,
                bundle_code=app.bundle_code,
                system=window.id,
                region_code=window.region_code,
                applicant_type=app.applicant_type,
                applicant_name=app.applicant_name,
                applicant_id_no=app.applicant_id_no,
                application_hash=digest,
                status=PENDING,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
            .returning(bundle.c.bundle_no)
        ).first()
        is not None
    )
    if new:
        conn.execute(
            insert(bundle_part),
            [
                {
                    "bundle_no": app.bundle_no,
                    "seq": seq,
                    "item_code": c["item_code"],
                    "dept_system": p.system,
                    "case_no": c["case_no"],
                    "record": c,
                    "status": PENDING,
                }
                for seq, (p, c) in enumerate(zip(definition.parts, cases), 1)
            ],
        )
    elif (
        conn.execute(select(bundle.c.application_hash).where(bundle.c.bundle_no == app.bundle_no)).scalar_one()
        != digest
    ):
        raise BundleError(
            f"bundle {app.bundle_no} was split before from another application; "
            "a changed application needs a new bundle number"
        )
    return new


def split(engine: Engine, application: dict, pipeline: Pipeline | None = None) -> dict:
    """Store a bundle application and dispatch its parts (see the module datasheet)."""
    app, definition = _checked(application)
    window = get_system(app.system)
    pipeline = pipeline or standard_pipeline(engine)
    cases = part_cases(definition, app)
    defects = _defects(pipeline, window, app.bundle_no, cases)
    if defects:
        raise BundleError(f"bundle {app.bundle_no} refused: " + "; ".join(defects))
    digest = content_hash(app.model_dump())
    now = clock.now()
    with engine.begin() as conn:
        new = _store(conn, app, definition, window, cases, digest, now)
    done = _dispatch(engine, app.bundle_no, pipeline)
    return {"bundles": int(new), "parts": len(cases) if new else 0, **done}


def _dispatch(engine: Engine, bundle_no: str, pipeline: Pipeline) -> dict:
    with engine.connect() as conn:
        window = conn.execute(select(bundle.c.system).where(bundle.c.bundle_no == bundle_no)).scalar_one()
        parts = (
            conn.execute(select(bundle_part).where(bundle_part.c.bundle_no == bundle_no).order_by(bundle_part.c.seq))
            .mappings()
            .all()
        )
        todo = [p for p in parts if p["dispatched_at"] is None]
        missing = len(_library_cases(conn, {(window, p["case_no"]) for p in todo})) < len(todo)
        # once the message is processed, a part still missing was quarantined: sending it
        # again would only add duplicates to the lineage on every resume
        ingest = missing and not message_seen(conn, window, _message_id(bundle_no))
    if not todo:
        return {"dispatched": 0, "waiting": 0}
    if ingest:  # the whole bundle as one message, always the same
        pipeline.ingest(
            io.BytesIO(_body(bundle_no, [p["record"] for p in parts])),
            window,
            fmt="json",
            kind="case",
            message_id=_message_id(bundle_no),
        )
    now = clock.now()
    dispatched = 0
    with engine.begin() as conn:
        cases = _library_cases(conn, {(window, p["case_no"]) for p in todo})
        for p in todo:
            case = cases.get((window, p["case_no"]))
            if case is None:
                continue
            claimed = conn.execute(
                update(bundle_part)
                .where(
                    bundle_part.c.bundle_no == bundle_no,
                    bundle_part.c.seq == p["seq"],
                    bundle_part.c.dispatched_at.is_(None),
                )
                .values(status=case["status"], dispatched_at=now)
            ).rowcount
            if claimed:  # a concurrent split of the same bundle may have taken it
                enqueue(
                    conn,
                    p["dept_system"],
                    "case",
                    [(window, p["case_no"], case["version"], p["case_no"])],
                    now,
                    reason="dispatch",
                )
                dispatched += 1
        _derive(conn, bundle_no, now)
    if dispatched < len(todo):
        log.warning(
            "bundle %s: %d part(s) not in the case library (quarantined?); not dispatched",
            bundle_no,
            len(todo) - dispatched,
        )
    return {"dispatched": dispatched, "waiting": len(todo) - dispatched}


def resume(engine: Engine, pipeline: Pipeline | None = None) -> dict:
    """Dispatch the parts of every bundle left undispatched (after a crash)."""
    with engine.connect() as conn:
        nos = list(
            conn.execute(
                select(bundle_part.c.bundle_no)
                .where(bundle_part.c.dispatched_at.is_(None))
                .distinct()
                .order_by(bundle_part.c.bundle_no)
            ).scalars()
        )
    pipeline = pipeline or standard_pipeline(engine)
    counts = Counter(bundles=len(nos), dispatched=0, waiting=0)
    for no in nos:
        counts.update(_dispatch(engine, no, pipeline))
    return dict(counts)
