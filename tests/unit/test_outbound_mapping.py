"""Outbound mappings without services: the provincial upload's rows and row values, sync
types, what cannot be expressed (a defect with its reason), a JSON format validated by its
JSON Schema, the data-source code setting."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from hub.core.config import MAPPINGS_DIR, load_settings
from hub.model.mapping import MappingError, get_mapping, load_mapping
from hub.model.outmapping import OutboundDefect, OutboundMapping
from hub.outbound.formats import Item, batch_number, render, sync_type, validate
from synth.generator import Generator

NOW = datetime(2026, 11, 22, 10, 0, 0)


@pytest.fixture(scope="module")
def upload() -> OutboundMapping:
    m = load_mapping(MAPPINGS_DIR / "province_case_upload.yaml")
    assert isinstance(m, OutboundMapping)
    return m


def _case(**over) -> dict:
    rec = next(r for r, _ in Generator(seed=5).records("case", 30) if r.get("finish_time") and r.get("materials"))
    return {**rec, **over}


def test_a_case_becomes_its_rows_each_with_batch_sync_time_and_source(upload):
    rec = _case()
    meta = {"$batch_no": "100123456789012345", "$sync_type": "new", "$sync_time": NOW, "$data_source": "100"}
    rows = upload.rows(rec, meta, "7")
    names = [r.name for r in rows]
    assert names[0] == "SLXX" and names.count("SLXX") == 1 and names.count("BJXX") == 1
    assert names.count("GCXX") == len(rec.get("steps") or []) and names.count("CLXX") == len(rec["materials"])
    assert [r.row_id for r in rows] == [f"7.{i}" for i in range(1, len(rows) + 1)]
    for r in rows:
        assert r.values["PCH"] == "100123456789012345" and r.values["TBLX"] == "I"
        assert r.values["TBSJ"] == "2026-11-22 10:00:00" and r.values["SJLY"] == "100"
        assert r.values["BJBH"] == rec["case_no"]
    clxx = [r for r in rows if r.name == "CLXX"]
    assert [r.values["CLXH"] for r in clxx] == [str(i) for i in range(1, len(clxx) + 1)]
    unfinished = {k: v for k, v in rec.items() if k != "finish_time"}
    assert "BJXX" not in [r.name for r in upload.rows(unfinished, meta, "8")]


def test_sync_types(upload):
    live, gone = _case(), _case(status="作废")
    assert sync_type(upload, Item("1", live)) == "new"
    assert sync_type(upload, Item("1", live, seen_before=True)) == "update"
    assert sync_type(upload, Item("1", gone, seen_before=True)) == "delete"
    assert sync_type(upload, Item("1", gone)) == "new"  # the peer never held it: it goes up once, as it is


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"case_type": "加急件"}, "code_table_miss", "BJLX"),
        ({"applicant_name": ""}, "field_required", "SQRMC"),
        ({"applicant_name": "名" * 101}, "field_too_long", "SQRMC"),
        ({"fee_amount": Decimal("1.005")}, "field_format", "SFJE"),
    ],
)
def test_what_cannot_be_expressed_is_a_defect_with_its_reason(upload, change, reason, field):
    meta = {"$batch_no": "1" * 18, "$sync_type": "new", "$sync_time": NOW, "$data_source": "100"}
    with pytest.raises(OutboundDefect) as exc:
        upload.rows(_case(**change), meta, "1")
    assert exc.value.reason == reason and exc.value.field == field


def test_render_keeps_the_good_records_and_validates_them(upload):
    good, bad = _case(), _case(case_no="X" * 65)  # the dictionary allows 64: the XSD refuses it
    out = render(upload, [Item("1", good), Item("2", bad)], "m-1", NOW)
    assert list(out.rows) == ["1"] and set(out.defects) == {"2"}
    assert out.defects["2"].startswith("schema_invalid: province_case_upload.xsd") and "X" * 65 not in out.defects["2"]
    assert out.body is not None and validate(upload, out.body) is None
    assert out.body.count(b"<SLXX>") == 1


def test_batch_numbers_are_18_digits_and_stable():
    a = batch_number("govhub:js:case:1-100", "205")
    assert a == batch_number("govhub:js:case:1-100", "205") and len(a) == 18 and a.startswith("205") and a.isdigit()
    assert a != batch_number("govhub:js:case:101-200", "205")


def test_the_data_source_code_is_three_digits():
    assert load_settings({"GOVHUB_DATA_SOURCE_CODE": "205"}).data_source_code == "205"
    assert load_settings({}).data_source_code == "100"
    for bad in ("12", "1234", "1a0"):
        with pytest.raises(ValueError, match="GOVHUB_DATA_SOURCE_CODE"):
            load_settings({"GOVHUB_DATA_SOURCE_CODE": bad})


def test_an_outbound_mapping_is_not_an_inbound_one():
    with pytest.raises(MappingError, match="outbound"):
        get_mapping("province_case_upload")


def test_a_json_format_with_its_json_schema(tmp_path):
    (tmp_path / "city_case_json.yaml").write_text(
        """
name: city_case_json
version: 1
direction: outbound
kind: case
format: json
schema: city_case.schema.json
document: {header: {batch: $batch_no}}
rows:
  - name: cases
    fields:
      "no": {from: case_no, required: true}  # quoted: YAML 1.1 reads a bare no as false
      fee: {from: fee_amount, transform: amount, format: "0.00"}
      accepted: {from: accept_time, transform: date, format: "%Y%m%d"}
  - name: steps
    each: steps
    fields: {"no": record.case_no, seq: $seq, name: step_name}
""",
        encoding="utf-8",
    )
    schema = {
        "type": "object",
        "required": ["batch", "cases"],
        "properties": {"cases": {"type": "array", "items": {"properties": {"no": {"maxLength": 20}}}}},
    }
    (tmp_path / "city_case.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    m = load_mapping(tmp_path / "city_case_json.yaml")
    assert isinstance(m, OutboundMapping)
    short, long_ = _case(case_no="C-1", fee_amount=Decimal("12.5")), _case(case_no="C" * 30)
    out = render(m, [Item("1", short), Item("2", long_)], "m-2", NOW)
    assert set(out.defects) == {"2"} and "schema_invalid" in out.defects["2"]
    doc = json.loads(out.body or b"")
    assert doc["batch"] == batch_number("m-2") and doc["cases"][0]["no"] == "C-1" and doc["cases"][0]["fee"] == "12.50"
    assert [s["seq"] for s in doc.get("steps", [])] == [str(i) for i in range(1, len(short.get("steps") or []) + 1)]
