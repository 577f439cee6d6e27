"""Corrections applied to a quarantined payload in its own form, and the payload read
back by the same reader as at ingress."""

from __future__ import annotations

import io
import json

import pytest

from hub.ingest import decode
from hub.model.mapping import canonical_mapping, get_mapping
from hub.quarantine.payload import PayloadError, as_message, edit, flatten, view

B = get_mapping("dept_b_case_csv")
C = get_mapping("dept_c_case_jsonl")
XML = canonical_mapping("case", "xml")
JSON = canonical_mapping("case", "json")


def _read(body: bytes, mapping):
    return list(decode.read(io.BufferedReader(io.BytesIO(body)), mapping, decode.MessageInfo()))


def test_csv_by_source_column_and_by_canonical_name():
    payload = "BJBH,SQRZJHM,BJLX\nB1,320581199001011230,1"
    by_source = edit(payload, "csv", "csv", B, {"SQRZJHM": "32058119900101123X"})
    by_canonical = edit(payload, "csv", "csv", B, {"applicant_id_no": "32058119900101123X"})
    assert by_source == by_canonical == "BJBH,SQRZJHM,BJLX\nB1,32058119900101123X,1"
    with pytest.raises(PayloadError, match="promise_unit is a constant"):
        edit(payload, "csv", "csv", B, {"promise_unit": "自然日"})
    with pytest.raises(PayloadError, match="not a column"):
        edit(payload, "csv", "csv", B, {"case_name": "x"})  # the mapping reads BJMC, which this row lacks


def test_csv_quoted_values_survive():
    payload = 'BJBH,BJMC\nB1,"名称,含逗号"'
    out = edit(payload, "csv", "csv", B, {"BJBH": "B2"})
    assert view(out, "csv", "csv", B) == {"BJBH": "B2", "BJMC": "名称,含逗号"}


def test_nested_json_paths_keep_json_types():
    payload = json.dumps({"bjxx": {"bjbh": "C1"}, "qx": {"cn": 30}, "hjxx": [{"hjmc": "受理"}]}, ensure_ascii=False)
    out = json.loads(edit(payload, "text", "jsonl", C, {"qx.cn": "5", "hjxx.0.hjmc": "审查", "case_name": "新名称"}))
    assert out["qx"]["cn"] == 5 and out["hjxx"][0]["hjmc"] == "审查" and out["bjxx"]["bjmc"] == "新名称"
    assert (
        json.loads(edit(payload, "text", "jsonl", C, {"bjxx.bjmc": "x"}))["bjxx"]["bjmc"] == "x"
    )  # read by the mapping
    with pytest.raises(PayloadError, match="neither a field"):
        edit(payload, "text", "jsonl", C, {"hjxx.3.hjmc": "x"})


def test_canonical_json_types_by_dictionary():
    out = json.loads(edit('{"case_no": "A1"}', "text", "json", JSON, {"legal_days": "20", "case_name": "20"}))
    assert out == {"case_no": "A1", "legal_days": 20, "case_name": "20"}


def test_xml_set_and_insert_in_schema_order():
    payload = (
        '<ns0:case xmlns:ns0="urn:govhub:case:1"><ns0:case_no>A1</ns0:case_no>'
        "<ns0:region_code>320581</ns0:region_code></ns0:case>"
    )
    out = edit(payload, "text", "xml", XML, {"region_code": "320582", "dept_name": "某局"})
    v = view(out, "text", "xml", XML)
    assert list(v) == ["case_no", "dept_name", "region_code"]  # dept_name goes before region_code, as the XSD wants
    assert v["region_code"] == "320582"
    with pytest.raises(PayloadError):
        edit(payload, "text", "xml", XML, {"steps.0.step_name": "x"})


def test_messages_read_back_as_at_ingress():
    csv_payload = "BJBH,SQRMC\nB1,王小明"
    (raw,) = _read(as_message(csv_payload, "csv", "csv", B), B)
    assert raw.data == {"BJBH": "B1", "SQRMC": "王小明"} and raw.payload == csv_payload
    xml_payload = '<case xmlns="urn:govhub:case:1"><case_no>A1</case_no></case>'
    (raw,) = _read(as_message(xml_payload, "text", "xml", XML), XML)
    assert raw.defect is not None and raw.defect.reason == "schema_invalid"  # the XSD still applies
    assert _read(as_message("(document refused before parsing)", "text", "xml", XML), XML) == []
    with pytest.raises(PayloadError, match="GBK"):
        as_message("BJBH,BJMC\nB1,\U0001f600", "csv", "csv", B)  # B's files are GBK


def test_base64_payloads_need_a_whole_record():
    with pytest.raises(PayloadError, match="--payload"):
        edit("AAEC", "base64", "jsonl", C, {"a": "b"})
    assert view("AAEC", "base64", "jsonl", C) is None


def test_flatten():
    assert flatten({"a": {"b": 1}, "c": [{"d": 2}]}) == {"a.b": 1, "c.0.d": 2}
