"""The ingest pipeline on a real database (SQLite and PostgreSQL): idempotency,
history, quarantine, encodings and hostile XML. Every test also checks that
received = stored + duplicate + quarantined."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from sqlalchemy import select

from hub.db.tables import LIBRARY, record_history
from hub.ops import stats
from hub.wiring import standard_pipeline
from synth.generator import DEFECT_KINDS, Generator, write_dept_b_csv, write_dept_c_jsonl
from tests.helpers import jsonl_doc, library_count, outcomes, quarantine_rows, xml_doc
from tests.unit.test_xmlsafe import BOMB, XXE

# What each injected defect must be quarantined as, per path into the hub. The canonical
# XML contract catches shape errors in the XSD; other formats meet the same rule in the
# dictionary check after mapping.
EXPECTED = {
    "id_check_char": {"id_check_char"},
    "uscc_check_char": {"uscc_check_char"},
    "missing_required": {"schema_invalid", "field_required"},
    "bad_enum": {"schema_invalid", "field_enum", "code_table_miss"},
    "time_order": {"time_order"},
    "unknown_division": {"division_unknown"},
    "promise_exceeds_legal": {"promise_exceeds_legal"},
    "bad_datetime": {"field_format", "schema_invalid"},
    "too_long": {"schema_invalid", "field_too_long"},
    "future_apply": {"time_future"},
    "id_birth_date": {"id_birth_date"},
    "licence_id_check_char": {"licence_id_check_char"},
    "holder_id_check_char": {"id_check_char"},
    "bad_satisfaction": {"schema_invalid", "field_enum"},
}

# each department system sends its own department's cases (the hub quarantines others')
CS, ZJG, TC = "常熟市行政审批局", "张家港市住房和城乡建设局", "太仓市市场监督管理局"

SYSTEM_FOR_KIND = {
    "case": "cs-approval",
    "item": "js-province",
    "licence": "js-province",
    "evaluation": "js-province",
    "supervision": "js-province",
    "person": "sz-sharing",
    "enterprise": "sz-sharing",
    "project": "sz-sharing",
}


def _assert_adds_up(summary, n=None):
    assert summary.received == summary.counts["stored"] + summary.counts["duplicate"] + summary.counts["quarantined"]
    if n is not None:
        assert summary.received == n


def test_record_pushed_twice_is_stored_once(engine):
    recs = [r for r, _ in Generator(seed=1, departments=[CS]).records("case", 40)]
    pipe = standard_pipeline(engine)
    first = pipe.ingest(io.BytesIO(xml_doc(recs, message_id="m-1")), "cs-approval")
    again = pipe.ingest(io.BytesIO(xml_doc(recs, message_id="m-1")), "cs-approval")  # same message redelivered
    other = pipe.ingest(io.BytesIO(xml_doc(recs, message_id="m-2")), "cs-approval")  # same records, new message
    assert first.counts == Counter(stored=40)
    assert again.counts == Counter(duplicate=40) and again.details == Counter(same_message=40)
    assert other.counts == Counter(duplicate=40) and other.details == Counter(same_content=40)
    assert library_count(engine, "case") == 40
    for s in (first, again, other):
        _assert_adds_up(s, 40)


def test_changed_record_is_updated_and_history_kept(engine):
    g = Generator(seed=2, departments=[CS])
    recs = [r for r, _ in g.records("case", 5)]
    pipe = standard_pipeline(engine)
    pipe.ingest(io.BytesIO(xml_doc(recs, message_id="v1")), "cs-approval")
    changed = [dict(r) for r in recs]
    changed[0]["case_name"] = changed[0].get("case_name", "") + "（更正）"
    s = pipe.ingest(io.BytesIO(xml_doc(changed, message_id="v2")), "cs-approval")
    assert s.details["updated"] == 1 and s.details["same_content"] == 4
    t = LIBRARY["case"]
    with engine.connect() as conn:
        row = conn.execute(select(t.c.case_name, t.c.version).where(t.c.case_no == recs[0]["case_no"])).one()
        hist = conn.execute(select(record_history)).mappings().all()
    assert row.version == 2 and row.case_name.endswith("（更正）")
    assert len(hist) == 1 and hist[0]["changed_fields"] == ["case_name"]
    assert hist[0]["values"]["case_name"] == recs[0].get("case_name")  # the previous value is not lost


def test_older_version_does_not_overwrite_newer(engine):
    rec = next(Generator(seed=3, departments=[CS]).records("case", 1))[0]
    newer = dict(rec, case_name="新名称", source_time="2026-11-10 10:00:00")
    older = dict(rec, case_name="旧名称", source_time="2026-11-01 10:00:00")
    pipe = standard_pipeline(engine)
    pipe.ingest(io.BytesIO(xml_doc([newer], message_id="n")), "cs-approval")
    s = pipe.ingest(io.BytesIO(xml_doc([older], message_id="o")), "cs-approval")
    assert s.details == Counter(stale=1)
    with engine.connect() as conn:
        assert conn.execute(select(LIBRARY["case"].c.case_name)).scalar_one() == "新名称"
        assert conn.execute(select(record_history.c.reason)).scalar_one() == "stale"


@pytest.mark.parametrize("defect", DEFECT_KINDS["case"])
def test_each_case_defect_is_quarantined_with_reason_and_payload(engine, defect):
    g = Generator(seed=4, departments=[CS])
    recs = [(r, d) for r, d in g.records("case", 30, defect_rate=0.5, defects=[defect])]
    assert any(d for _, d in recs), "the generator injected nothing"
    pipe = standard_pipeline(engine)
    s = pipe.ingest(io.BytesIO(xml_doc([r for r, _ in recs], message_id=f"d-{defect}")), "cs-approval")
    n_bad = sum(1 for _, d in recs if d)
    _assert_adds_up(s, 30)
    assert s.counts["quarantined"] == n_bad and s.counts["stored"] == 30 - n_bad
    rows = quarantine_rows(engine)
    assert {r["reason"] for r in rows} <= EXPECTED[defect], {r["reason"] for r in rows}
    for r in rows:
        assert r["payload"].lstrip().startswith("<") and "case_no" in r["payload"] or defect == "missing_required"
        assert r["message"] and r["rule"] and r["schema_version"] == "case/1"


@pytest.mark.parametrize("kind", sorted(SYSTEM_FOR_KIND))
@pytest.mark.parametrize("fmt", ["xml", "jsonl"])
def test_every_kind_round_trips_canonical_xml_and_json(engine, kind, fmt):
    g = Generator(seed=5, departments=[CS])
    pairs = list(g.records(kind, 60, defect_rate=0.2))
    records = [r for r, _ in pairs]
    doc = xml_doc(records, kind, message_id=f"{kind}-{fmt}") if fmt == "xml" else jsonl_doc(records)
    s = standard_pipeline(engine).ingest(
        io.BytesIO(doc), SYSTEM_FOR_KIND[kind], fmt=fmt, kind=kind, message_id=f"{kind}-{fmt}"
    )
    _assert_adds_up(s, 60)
    bad = [d for _, d in pairs if d]
    assert s.counts["quarantined"] == len(bad)
    assert library_count(engine, kind) == s.counts["stored"]
    for r in quarantine_rows(engine):
        assert r["reason"] in set().union(*EXPECTED.values()), r


def test_counts_add_up_and_stats_agree(engine):
    g = Generator(seed=6, departments=[CS])
    pipe = standard_pipeline(engine)
    recs = [r for r, _ in g.records("case", 500, defect_rate=0.1)]
    pipe.ingest(io.BytesIO(xml_doc(recs, message_id="s1")), "cs-approval")
    pipe.ingest(io.BytesIO(xml_doc(recs[:100], message_id="s2")), "cs-approval")
    data = stats.counts(engine)
    total = data["total"]
    assert total["received"] == 600 == total["stored"] + total["duplicate"] + total["quarantined"]
    lineage_outcomes = outcomes(engine)  # the per-record lineage agrees with the running totals
    for k in ("stored", "duplicate", "quarantined"):
        assert total[k] == lineage_outcomes.get(k, 0)
    assert total["duplicate"] + total["quarantined"] >= 100


def test_gbk_xml_is_stored_as_utf8(engine):
    recs = [r for r, _ in Generator(seed=7, departments=[CS]).records("case", 20)]
    for enc in ("gbk", "gb18030"):
        standard_pipeline(engine).ingest(
            io.BytesIO(xml_doc(recs, encoding=enc, message_id=f"enc-{enc}")), "cs-approval"
        )
    t = LIBRARY["case"]
    with engine.connect() as conn:
        stored = dict(conn.execute(select(t.c.case_no, t.c.applicant_name)).all())
    assert stored == {r["case_no"]: r["applicant_name"] for r in recs}
    assert all(isinstance(v, str) and v for v in stored.values())


@pytest.mark.parametrize("doc,name", [(BOMB, "bomb"), (XXE, "xxe")])
def test_xml_bomb_and_external_entity_refused_without_expansion(engine, doc, name):
    s = standard_pipeline(engine).ingest(io.BytesIO(doc), "cs-approval", fmt="xml", message_id=name)
    assert s.counts == Counter(quarantined=1)
    (row,) = quarantine_rows(engine)
    assert row["reason"] == "xml_forbidden"
    assert "lollol" not in row["payload"] and "root:" not in row["payload"]
    assert library_count(engine, "case") == 0


def test_truncated_document_keeps_what_came_before(engine):
    recs = [r for r, _ in Generator(seed=8, departments=[CS]).records("case", 10)]
    doc = xml_doc(recs, message_id="cut")
    cut = doc[: doc.index(recs[7]["case_no"].encode())]  # breaks off inside the 8th record
    s = standard_pipeline(engine).ingest(io.BytesIO(cut), "cs-approval", fmt="xml", message_id="cut")
    _assert_adds_up(s)
    assert s.counts["stored"] == 7 and s.counts["quarantined"] == 1 and s.reasons == Counter(xml_malformed=1)


def test_department_b_gbk_csv(engine):
    g = Generator(seed=9, departments=[ZJG])
    pairs = list(
        g.records("case", 80, defect_rate=0.25, defects=["id_check_char", "missing_required", "bad_enum", "time_order"])
    )
    buf = io.BytesIO()
    write_dept_b_csv(iter([r for r, _ in pairs]), buf, on_unmapped="keep")
    s = standard_pipeline(engine).ingest(io.BytesIO(buf.getvalue()), "zjg-housing", fmt="csv", message_id="b1")
    _assert_adds_up(s, 80)
    assert s.counts["quarantined"] == sum(1 for _, d in pairs if d)
    t = LIBRARY["case"]
    good = {r["case_no"]: r for r, d in pairs if not d}
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.case_no, t.c.case_type, t.c.applicant_name, t.c.source_system)).all()
    assert {r.case_no for r in rows} == set(good)
    for r in rows:
        assert r.case_type == good[r.case_no]["case_type"] and r.applicant_name == good[r.case_no]["applicant_name"]
        assert r.source_system == "zjg-housing"
    for q in quarantine_rows(engine):
        assert q["payload_encoding"] == "csv" and q["payload"].startswith("BJBH")


def test_department_c_nested_jsonl(engine):
    g = Generator(seed=10, departments=[TC])
    pairs = list(g.records("case", 60, defect_rate=0.2, defects=["uscc_check_char", "future_apply"]))
    buf = io.BytesIO()
    write_dept_c_jsonl(iter([r for r, _ in pairs]), buf, on_unmapped="keep")
    s = standard_pipeline(engine).ingest(io.BytesIO(buf.getvalue()), "tc-market", fmt="jsonl", message_id="c1")
    _assert_adds_up(s, 60)
    assert s.counts["quarantined"] == sum(1 for _, d in pairs if d)
    t = LIBRARY["case"]
    good = {r["case_no"]: r for r, d in pairs if not d}
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.case_no, t.c.steps, t.c.apply_time)).all()
    for r in rows:
        assert len(r.steps) == len(good[r.case_no].get("steps", []))
        assert r.apply_time.strftime("%Y-%m-%d %H:%M:%S") == good[r.case_no]["apply_time"]


def test_broken_lines_in_jsonl_are_quarantined_not_dropped(engine):
    recs = [r for r, _ in Generator(seed=11, departments=[CS]).records("person", 5)]
    body = jsonl_doc(recs[:2]) + b'{"id_no": "broken\n' + b"\xff\xfe not utf8\n" + b"[1,2]\n" + jsonl_doc(recs[2:])
    s = standard_pipeline(engine).ingest(io.BytesIO(body), "sz-sharing", fmt="jsonl", kind="person", message_id="j1")
    _assert_adds_up(s, 8)
    assert s.counts["stored"] == 5 and s.counts["quarantined"] == 3
    assert s.reasons == Counter(json_malformed=2, encoding_invalid=1)


def test_concurrent_writers_store_each_record_once(engine):
    from concurrent.futures import ThreadPoolExecutor

    recs = [r for r, _ in Generator(seed=12, departments=[CS]).records("case", 300)]
    docs = [xml_doc(recs, message_id=f"race-{i}") for i in range(3)]
    pipe = standard_pipeline(engine, batch_size=100)
    with ThreadPoolExecutor(3) as pool:
        summaries = list(pool.map(lambda d: pipe.ingest(io.BytesIO(d), "cs-approval"), docs))
    assert library_count(engine, "case") == 300
    assert sum(s.counts["stored"] for s in summaries) == 300
    assert outcomes(engine) == {"stored": 300, "duplicate": 600}


def test_a_reused_message_id_with_other_content_is_not_skipped(engine):
    recs = [r for r, _ in Generator(seed=13, departments=[CS]).records("case", 5)]
    pipe = standard_pipeline(engine)
    pipe.ingest(io.BytesIO(xml_doc(recs, message_id="same-id")), "cs-approval")
    changed = [dict(recs[0], case_name="改名后的办件")] + recs[1:]
    s = pipe.ingest(io.BytesIO(xml_doc(changed, message_id="same-id")), "cs-approval")
    assert s.details == Counter(updated=1, same_content=4)
    again = pipe.ingest(io.BytesIO(xml_doc(changed, message_id="same-id")), "cs-approval")
    assert again.details == Counter(same_message=5)
