"""Mappings are data, checked at load with the file, line and key."""

import textwrap

import pytest

from hub.model.mapping import MappingApplyError, MappingError, get_mapping, load_mapping, mappings


def write(tmp_path, name, body):
    p = tmp_path / f"{name}.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def test_shipped_mappings_load():
    ms = mappings()
    assert {"dept_a_case_xml", "dept_b_case_csv", "dept_c_case_jsonl"} <= set(ms)
    # at least two differently shaped department formats of case data
    assert len({m.spec.format for m in ms.values() if m.spec.kind == "case" and not m.spec.canonical}) >= 2


@pytest.mark.parametrize(
    "body,line,key,words",
    [
        (
            """\
     name: bad
     version: 1
     kind: case
     format: csv
     fields:
       case_no: BJBH
       cse_type: {from: X}
     """,
            7,
            "fields.cse_type",
            "not a field of case",
        ),
        (
            """\
     name: bad
     version: 1
     kind: case
     format: csv
     fields:
       case_type: {from: BJLX, code_table: nope}
     """,
            6,
            "fields.case_type.code_table",
            "not defined",
        ),
        (
            """\
     name: bad
     version: 1
     kind: case
     format: csv
     fields:
       apply_time: {from: SQSJ, transform: dattime}
     """,
            6,
            "fields.apply_time.transform",
            "unknown transform",
        ),
        (
            """\
     name: bad
     version: 1
     kind: cas
     format: csv
     """,
            3,
            "kind",
            "unknown kind",
        ),
        (
            """\
     name: bad
     version: 1
     kind: case
     format: xlsx
     """,
            4,
            "format",
            "Input should be",
        ),
    ],
)
def test_bad_mapping_names_file_line_and_key(tmp_path, body, line, key, words):
    p = write(tmp_path, "bad", body)
    with pytest.raises(MappingError) as exc:
        load_mapping(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}:{line}: {key}:"), msg
    assert words in msg


def test_dept_b_code_table_and_formats():
    m = get_mapping("dept_b_case_csv")
    out = m.apply({"BJBH": "B1", "BJLX": "1", "SQSJ": "20261101093000", "SFJE": "12050", "SQFS": "02"})
    assert out["case_type"] == "承诺件"  # this source swaps 即办件/承诺件
    assert out["apply_time"] == "2026-11-01 09:30:00"
    assert out["fee_amount"] == "120.50"
    assert out["channel"] == "2"
    assert out["promise_unit"] == "工作日"


def test_code_table_miss_is_a_clear_error():
    m = get_mapping("dept_b_case_csv")
    with pytest.raises(MappingApplyError) as exc:
        m.apply({"BJLX": "9"})
    assert exc.value.reason == "code_table_miss" and exc.value.field == "case_type"


def test_dept_c_nested_paths_lists_and_time_zones():
    m = get_mapping("dept_c_case_jsonl")
    out = m.apply(
        {
            "bjxx": {"bjbh": "C1"},
            "sj": {"sqsj": "2026-11-01T01:30:00Z"},
            "qx": {"dw": "Z"},
            "hjxx": [{"xh": 1, "hjmc": "受理", "kssj": "2026-11-01T09:30:00+08:00"}],
        }
    )
    assert out["case_no"] == "C1"
    assert out["apply_time"] == "2026-11-01 09:30:00"  # UTC → China Standard Time
    assert out["promise_unit"] == "自然日"
    assert out["steps"] == [{"seq": 1, "step_name": "受理", "start_time": "2026-11-01 09:30:00"}]
