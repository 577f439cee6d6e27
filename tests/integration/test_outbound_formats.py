"""Reporting upward in the province's own case-upload format: every document validates
against the published XSD (checked again here with xmlschema, an independent validator),
the sandbox province answers per-row receipts, rejected rows become visible defects with
the province's reason, a correction supersedes them and lets the watermark pass, a 作废
case goes up as delete rows, and a record the format cannot express never leaves."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import xmlschema
from sqlalchemy import select

from hub.audit.objects import ObjectStore
from hub.db.tables import delivery, report_watermark
from hub.model.mapping import reload_mappings
from hub.outbound import reporting
from hub.outbound.delivery import Deliverer, listing, replay
from hub.wiring import standard_pipeline
from sandbox.province_soap import ProvinceState, make_app
from sandbox.province_upload import XSD
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import xml_doc

DEPT = "常熟市行政审批局"


@pytest.fixture
def province(catalog, monkeypatch):
    monkeypatch.setattr(reporting, "SETTLE", timedelta(0))
    monkeypatch.setenv("GOVHUB_PROV_UP_PW", "up-pw")
    reload_mappings()
    state = ProvinceState(username="govhub", password="up-pw")
    base, stop = run_in_thread(make_app(state))
    catalog.add(
        {
            "id": "js-up",
            "name": "江苏省办件上报接口",
            "level": "province",
            "region_code": "320000",
            "receives": ["case"],
            "formats": {"case": "province_case_upload"},
            "endpoint": f"soap://{base.split('://')[1]}/exchange?username=govhub&password_env=GOVHUB_PROV_UP_PW",
        }
    )
    yield state
    stop()


def _cases(seed: int, n: int) -> list[dict]:
    return [r for r, _ in Generator(seed=seed, departments=[DEPT]).records("case", n)]


def _push(engine, cases, mid):
    s = standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id=mid)), "dept-a")
    assert s.counts["quarantined"] == 0, s.reasons
    return cases


def _status(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {
            f"{k}#{i}": st for i, k, st in conn.execute(select(delivery.c.id, delivery.c.record_key, delivery.c.status))
        }


def test_receipts_defects_correction_and_delete(engine, province, clock):
    cases = _push(engine, _cases(61, 12), "up-1")
    refused = cases[3]
    province.refuse_items = {refused["item_code"]}
    d = Deliverer(engine, base_backoff=0.0, breaker_threshold=1000)
    run = reporting.run(engine, "js-up", "case", d)
    rejected = [c for c in cases if c["item_code"] == refused["item_code"]]
    assert run.delivered == {"acknowledged": 12 - len(rejected), "defect": len(rejected)}
    defects = listing(engine, peer="js-up", status="defect")
    assert {r["record_key"] for r in defects} == {c["case_no"] for c in rejected}
    assert all("E101" in r["last_error"] and "事项编码未在省级事项库登记" in r["last_error"] for r in defects)
    # the watermark stops before the first rejected record
    with engine.connect() as conn:
        wm = conn.execute(select(report_watermark)).mappings().one()
    assert wm["acknowledged_id"] is None or wm["acknowledged_id"] < min(r["record_id"] for r in defects)
    # every row carries the batch number, the sync type, the sync time and the data-source code
    rows = [r for r in province.upload_rows if r[1] != refused["case_no"]]
    assert {r[2] for r in rows} == {"I"} and {r[0] for r in rows} >= {"SLXX", "GCXX"}
    assert len(province.upload_batches[0]) == 18 and province.upload_batches[0].startswith("100")

    # a replay of a defect writes it again from the current record: the province still refuses it
    assert replay(engine, peer="js-up", status="defect") == len(rejected)
    assert d.run_once("js-up") == {"defect": len(rejected)}

    # the department corrects the item code; the new version is accepted as new, the defects superseded
    clock.advance(seconds=2)
    now = clock.now().strftime("%Y-%m-%d %H:%M:%S")
    fine = next(c for c in cases if c not in rejected)
    fixed = [dict(c, item_code=fine["item_code"], item_name=fine["item_name"], source_time=now) for c in rejected]
    _push(engine, fixed, "up-2")
    again = reporting.run(engine, "js-up", "case", d)
    assert again.delivered == {"acknowledged": len(rejected)}
    assert not listing(engine, peer="js-up", status="defect")
    assert {r["record_key"] for r in listing(engine, peer="js-up", status="superseded")} == {
        c["case_no"] for c in rejected
    }
    with engine.connect() as conn:
        wm2 = conn.execute(select(report_watermark)).mappings().one()
    assert wm2["acknowledged_at"] == wm2["enqueued_at"] and wm2["acknowledged_id"] == wm2["enqueued_id"]

    # a withdrawal (作废) goes upward as delete rows
    clock.advance(seconds=2)
    gone = dict(fine, status="作废", source_time=clock.now().strftime("%Y-%m-%d %H:%M:%S"))
    gone.pop("finish_time", None)
    gone.pop("result_type", None)
    _push(engine, [gone], "up-3")
    assert reporting.run(engine, "js-up", "case", d).delivered == {"acknowledged": 1}
    assert province.upload_cases[fine["case_no"]] == "deleted"
    assert ("SLXX", fine["case_no"], "D") in province.upload_rows


def test_what_the_format_cannot_express_never_leaves(engine, province, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVHUB_HOME", str(tmp_path))
    cases = _cases(62, 4)
    cases[1]["applicant_name"] = "某" * 120  # the province allows 100 characters, the hub 200
    _push(engine, cases, "up-x")
    run = reporting.run(engine, "js-up", "case", Deliverer(engine, base_backoff=0.0))
    assert run.delivered == {"acknowledged": 3, "defect": 1}
    (bad,) = listing(engine, peer="js-up", status="defect")
    assert bad["record_key"] == cases[1]["case_no"] and "field_too_long" in bad["last_error"]
    assert cases[1]["case_no"] not in province.upload_cases
    # what went out validates against the XSD, by an independent validator
    store = ObjectStore(tmp_path / "objects")
    schema = xmlschema.XMLSchema(str(XSD))
    bodies = [p.read_bytes() for p in store.root.rglob("*") if p.is_file()]
    uploads = [b for b in bodies if b"CaseUpload" in b[:300]]
    assert uploads and all(schema.is_valid(io.BytesIO(b)) for b in uploads)
