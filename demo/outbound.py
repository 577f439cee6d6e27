"""The outbound-format part of ``govhub demo`` (issue #13): cases reported to the province
in its own case-upload format (``mappings/province_case_upload.yaml``, validated against
``schemas/peers/province_case_upload.xsd`` before they leave), the province answering a
receipt per row, the rows it rejects kept as delivery defects with its reason code, and one
of them corrected by its department and re-sent — which supersedes the defect.

The sandbox province is started here on a port of its own, with a maximum promise time
set just under the longest promises of the queued cases (E105 承诺期限超过省级事项库规定),
and added to the demo catalogue as ``js-case-upload`` (``formats: {case: province_case_upload}``).
"""

from __future__ import annotations

import io
import os
import secrets
from collections import Counter
from pathlib import Path

import click
import yaml
from sqlalchemy import select

from hub.catalog.systems import _systems_at
from hub.core import clock
from hub.db.tables import LIBRARY, delivery
from hub.outbound import reporting
from hub.outbound.delivery import Deliverer, enqueue, listing
from hub.outbound.serialize import load_records, to_xml
from sandbox import province_soap
from sandbox.server import run_in_thread

PEER = "js-case-upload"
LIMIT = 300  # cases queued in this step: enough to show every outcome


def _add_peer(port: str) -> None:
    path = Path(os.environ["GOVHUB_CATALOG"])
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["systems"] = [s for s in data["systems"] if s["id"] != PEER] + [
        {
            "id": PEER,
            "name": "江苏省一体化政务服务平台 办件上报接口",
            "level": "province",
            "region_code": "320000",
            "receives": ["case"],
            "formats": {"case": "province_case_upload"},
            "endpoint": f"soap://127.0.0.1:{port}/exchange?username=govhub&password_env=GOVHUB_DEMO_UPLOAD_PW",
        }
    ]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _systems_at.cache_clear()


def _queued_promises(engine) -> Counter[tuple[str, int]]:
    """(item code, promised days) of the queued cases, to set one item's maximum below a few."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(delivery.c.source_system, delivery.c.record_key).where(delivery.c.peer == PEER)
        ).all()
        got: Counter[tuple[str, int]] = Counter()
        for src, key in rows:
            got.update(
                (r["item_code"], int(r["promise_days"]))
                for r in load_records(conn, "case", [key], src).values()
                if r.get("promise_days")
            )
    return got


def _a_maximum(promises: Counter[tuple[str, int]]) -> tuple[str, int] | None:
    """The item whose longest promise the fewest cases make, and a maximum just under it."""
    tops = {item: max(d for i, d in promises if i == item) for item, _ in promises}
    candidates = [(promises[(item, top)], item, top) for item, top in tops.items() if top > 1]
    if not candidates:
        return None
    _n, item, top = min(candidates)
    return item, max((d for i, d in promises if i == item and d < top), default=top - 1)


def _correct(engine, pipeline, defect: dict, limit: int) -> str:
    """The department sends the rejected case again with the promise the province allows."""
    with engine.connect() as conn:
        rec = load_records(conn, "case", [defect["record_key"]], defect["source_system"])[defect["record_key"]]
    rec.update(promise_days=limit, source_time=clock.now().replace(microsecond=0))
    body = to_xml("case", [rec], message_id=f"{defect['source_system']}-upload-fix")
    pipeline.ingest(io.BytesIO(body), defect["source_system"], fmt="xml", message_id=f"{defect['source_system']}-fix")
    return str(defect["record_key"])


def _queue_version(engine, defect: dict) -> None:
    """Queue the corrected version now, as the next reporting run would (the same row)."""
    t = LIBRARY["case"]
    with engine.begin() as conn:
        row = conn.execute(
            select(t.c.id, t.c.version, t.c.updated_at).where(
                t.c.source_system == defect["source_system"], t.c.case_no == defect["record_key"]
            )
        ).one()
        key = defect["record_key"]
        enqueue(
            conn,
            PEER,
            "case",
            [(defect["source_system"], key, row.version, key, row.id, row.updated_at)],
            clock.now(),
            reason="report",
        )


def run(engine, pipeline, say) -> dict:
    pw = secrets.token_urlsafe(12)
    os.environ["GOVHUB_DEMO_UPLOAD_PW"] = pw
    province = province_soap.ProvinceState(username="govhub", password=pw)
    url, stop = run_in_thread(province_soap.make_app(province))
    _add_peer(url.rsplit(":", 1)[1])
    d = Deliverer(engine, base_backoff=0.0, breaker_threshold=1000)
    try:
        say("8.", "cases reported to the province in its own upload format (办件上报规范), with per-row receipts")
        queued = reporting.enqueue_changes(engine, PEER, "case", limit=LIMIT)
        cap = _a_maximum(_queued_promises(engine))  # the province's item library allows less for a few
        if cap is not None:
            province.max_promise_days = {cap[0]: cap[1]}
        done = d.run_once(PEER)
        reporting.advance_acknowledged(engine, PEER, "case")
        defects = listing(engine, peer=PEER, status="defect", limit=1000)
        codes = Counter(
            e.split(" ", 1)[0] for r in defects for e in [r["last_error"].removeprefix("refused by the peer: ")]
        )
        click.echo(
            f"   upload     {queued:,} cases → province_case_upload@1 (schemas/peers/province_case_upload.xsd), "
            f"{len(province.upload_batches)} batches, {len(province.upload_rows):,} rows accepted "
            f"(受理/过程/特别程序/结果/材料: {dict(Counter(r[0] for r in province.upload_rows))})"
        )
        click.echo(
            f"   receipts   {dict(sorted(done.items()))}; defects by the province's reason: {dict(sorted(codes.items()))} "
            f"(govhub deliveries --status defect)"
        )
        fixed = _correct(engine, pipeline, defects[-1], cap[1]) if defects and cap else None
        again = Counter()
        if fixed:
            _queue_version(engine, defects[-1])
            again = d.run_once(PEER)
            reporting.advance_acknowledged(engine, PEER, "case")
            click.echo(
                f"   corrected  case {fixed[:12]}… re-sent by its department promising "
                f"{cap[1] if cap else ''} days: {dict(sorted(again.items()))}; its defect is superseded, "
                f"{len(defects) - 1} still wait (govhub replay --status defect after a fix)"
            )
        return {
            "queued": queued,
            "accepted": done.get("acknowledged", 0),
            "defects": len(defects),
            "corrected": again.get("acknowledged", 0),
            "superseded": len(listing(engine, peer=PEER, status="superseded", limit=1000)),
        }
    finally:
        d.close()
        stop()
