"""Personal data never leaves unmasked."""

import json
import logging
import re

from hub.model.codes import idcard
from hub.model.masking import (
    MaskingFilter,
    mask_address,
    mask_id,
    mask_name,
    mask_payload,
    mask_phone,
    mask_record,
    mask_text,
)

ID = "32058119900101123" + idcard.check_char("32058119900101123")
ID_RE = re.compile(r"\d{17}[\dX]")


def test_mask_values():
    assert mask_id(ID) == ID[:3] + "*" * 13 + ID[-2:]
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("张") == "*"
    assert mask_address("江苏省苏州市常熟市虞山街道海虞北路88号").endswith("****")
    assert "海虞北路" not in mask_address("江苏省苏州市常熟市虞山街道海虞北路88号")


def test_mask_text_finds_ids_and_phones_in_prose():
    s = f"applicant {ID} phone 13812345678, case 1132058100000000012026110100011234567"
    out = mask_text(s)
    assert ID not in out and "13812345678" not in out
    assert "1132058100000000012026110100011234567" in out  # long case numbers are not IDs


def test_mask_text_id_glued_to_letters():
    assert ID not in mask_text(f"Entity 'n{ID}' not defined")


def test_mask_text_legacy_and_lowercase_x():
    assert "320581900101123" not in mask_text("old id 320581900101123 here")
    assert "32058119900101007x" not in mask_text("id 32058119900101007x")


def test_mask_record_by_dictionary_tags():
    rec = {
        "case_no": "A1",
        "case_name": "张三丰申请食品经营许可",
        "applicant_name": "张三丰",
        "applicant_id_no": ID,
        "applicant_phone": "13812345678",
        "applicant_address": "江苏省苏州市常熟市虞山街道海虞北路88号",
        "steps": [{"seq": 1, "handler_name": "李四"}],
    }
    m = mask_record("case", rec)
    assert m["case_no"] == "A1"
    assert m["applicant_name"] == "张**"
    assert ID not in json.dumps(m, ensure_ascii=False)
    assert m["steps"][0]["handler_name"] == "李*"
    assert "张三丰" not in m["case_name"] and m["case_name"].endswith("申请食品经营许可")


def test_mask_payload_xml_json_csv():
    xml = f'<case xmlns="urn:govhub:case:1"><case_no>A1</case_no><applicant_name>王小明</applicant_name><applicant_id_no>{ID}</applicant_id_no></case>'
    out = mask_payload("case", xml, "text", "canonical_case_xml@1")
    assert "王小明" not in out and ID not in out and "A1" in out
    js = json.dumps({"sqr": {"mc": "王小明", "zjhm": ID}, "bjxx": {"bjbh": "C1"}}, ensure_ascii=False)
    out = mask_payload("case", js, "text", "dept_c_case_jsonl@1")
    assert "王小明" not in out and ID not in out and "C1" in out
    csv_payload = (
        f"BJBH,SQRMC,SQRZJHM,SQRDZ,BJMC\nB1,王小明,{ID},江苏省苏州市张家港市杨舍镇人民路1号,王小明申请食品经营许可"
    )
    out = mask_payload("case", csv_payload, "csv", "dept_b_case_csv@1")
    assert "王小明" not in out and ID not in out and "人民路" not in out and "B1" in out
    assert "申请食品经营许可" in out  # the title stays readable, the name inside it does not


def test_logging_filter_masks(caplog):
    logger = logging.getLogger("govhub.test")
    handler = logging.Handler()
    records = []
    handler.emit = records.append
    handler.addFilter(MaskingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("bad id %s from %s", ID, "13812345678")
    finally:
        logger.removeHandler(handler)
    assert not ID_RE.search(records[0].getMessage())
    assert "13812345678" not in records[0].getMessage()
