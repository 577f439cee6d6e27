"""A new peer format added by files only (an outbound mapping and its schema: a county's
legacy GBK CSV), delivered to a files-only peer and written by ``govhub export``; the
provincial upload written by ``govhub export`` validates against the XSD it names (checked
with xmlschema, an independent validator)."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
import xmlschema
from click.testing import CliRunner

from hub.cli.main import main
from hub.core import clock
from hub.core.config import MAPPINGS_DIR
from hub.model.mapping import MappingError, load_mapping, reload_mappings
from hub.outbound.delivery import Deliverer, enqueue, listing
from hub.wiring import standard_pipeline
from synth.generator import Generator
from tests.helpers import xml_doc

DEPT = "常熟市行政审批局"

COUNTY_CSV = """\
name: county_case_csv
version: 1
direction: outbound
kind: case
format: csv
encoding: gbk
schema: county_case_csv.schema.json
rows:
  - name: BJ
    fields:
      办件编号: {from: case_no, required: true}
      事项名称: item_name
      申请人: applicant_name
      办件类型: {from: case_type, code_table: case_type}
      申请时间: {from: apply_time, transform: datetime, format: "%Y%m%d%H%M%S"}
      收费(分): {from: fee_amount, transform: yuan_to_fen}
      环节数: {const: "-"}
code_tables:
  case_type: {即办件: J, 承诺件: C, 补办件: B, 上报件: S, 联办件: L}
"""

COUNTY_SCHEMA = {
    "type": "object",
    "required": ["办件编号", "办件类型", "申请时间"],
    "properties": {
        "办件编号": {"type": "string", "minLength": 1, "maxLength": 64},
        "办件类型": {"enum": ["J", "C", "B", "S", "L"]},
        "申请时间": {"type": "string", "pattern": "^[0-9]{14}$"},
        "收费(分)": {"type": "string", "pattern": "^[0-9]*$"},
    },
}


@pytest.fixture
def formats(tmp_path, monkeypatch):
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copy(MAPPINGS_DIR / "province_case_upload.yaml", folder)
    (folder / "county_case_csv.yaml").write_text(COUNTY_CSV, encoding="utf-8")
    (folder / "county_case_csv.schema.json").write_text(json.dumps(COUNTY_SCHEMA, ensure_ascii=False), "utf-8")
    monkeypatch.setenv("GOVHUB_MAPPINGS", str(folder))
    reload_mappings()
    yield folder
    reload_mappings()


def _store(engine, monkeypatch, n=5):
    monkeypatch.setenv("GOVHUB_DB_URL", engine.url.render_as_string(hide_password=False))  # for the CLI
    cases = [r for r, _ in Generator(seed=71, departments=[DEPT]).records("case", n)]
    cases[2]["applicant_name"] = "张\U0001f600"  # a character GBK cannot write
    s = standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="exp-1")), "dept-a")
    assert s.counts["stored"] == n, s.reasons
    return cases


def test_a_county_gbk_csv_format_by_files_only(engine, catalog, formats, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVHUB_HOME", str(tmp_path))
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    catalog.add(
        {
            "id": "cs-county",
            "name": "常熟市政务服务管理办公室",
            "level": "county",
            "region_code": "320581",
            "formats": {"case": "county_case_csv"},
            "endpoint": f"file://{outbox}",
        }
    )
    cases = _store(engine, monkeypatch)
    with engine.begin() as conn:  # what routing queues for a peer (report_to)
        enqueue(conn, "cs-county", "case", [("dept-a", c["case_no"], 1, c["case_no"]) for c in cases], clock.now())
    done = Deliverer(engine).run_once("cs-county")
    assert done == {"acknowledged": 4, "defect": 1}
    (bad,) = listing(engine, peer="cs-county", status="defect")
    assert bad["record_key"] == cases[2]["case_no"] and "encoding" in bad["last_error"] and "gbk" in bad["last_error"]
    (written,) = list(outbox.glob("*.csv"))
    rows = list(csv.DictReader(io.StringIO(written.read_bytes().decode("gbk"))))
    assert [r["办件编号"] for r in rows] == [c["case_no"] for i, c in enumerate(cases) if i != 2]
    assert all(len(r["申请时间"]) == 14 and r["办件类型"] in "JCBSL" and r["环节数"] == "-" for r in rows)

    out = tmp_path / "county.csv"
    result = CliRunner().invoke(
        main, ["export", "--peer", "cs-county", "--kind", "case", "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["records"] == 4 and summary["format"] == "county_case_csv@1" and summary["defects"] == 1
    assert summary["schema"].endswith("county_case_csv.schema.json")
    assert out.read_bytes() == written.read_bytes()  # what delivery sent, byte for byte


def test_export_in_the_provincial_format_validates(engine, catalog, formats, tmp_path, monkeypatch):
    catalog.add(
        {
            "id": "js-up",
            "name": "江苏省办件上报接口",
            "level": "province",
            "region_code": "320000",
            "formats": {"case": "province_case_upload"},
        }
    )
    _store(engine, monkeypatch)
    out = tmp_path / "upload.xml"
    result = CliRunner().invoke(main, ["export", "--peer", "js-up", "--kind", "case", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["records"] == 5 and summary["defects"] == 0  # UTF-8 XML writes any character
    assert summary["schema"].endswith("peers/province_case_upload.xsd")
    xmlschema.XMLSchema(summary["schema"]).validate(str(out))


def test_an_outbound_mapping_is_checked_on_load(tmp_path):
    bad = tmp_path / "county_bad.yaml"
    text = COUNTY_CSV.replace("name: county_case_csv", "name: county_bad")
    bad.write_text(text.replace("事项名称: item_name", "事项名称: item_nam"), encoding="utf-8")
    with pytest.raises(MappingError, match=r"county_bad.yaml:\d+: rows.0.fields.事项名称: 'item_nam' is not a field"):
        load_mapping(bad)
    bad.write_text(text.replace("code_table: case_type", "code_table: x"), encoding="utf-8")
    with pytest.raises(MappingError, match="code table 'x' is not defined"):
        load_mapping(bad)
