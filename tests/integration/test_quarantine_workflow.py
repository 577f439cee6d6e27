"""The quarantine workflow on a real database (SQLite and PostgreSQL): correct-and-retry
stores the record with lineage naming the correction and who made it; a correction that
still fails stays open with the attempt kept; rejection is traced; retry by rule after a
mapping fix reprocesses exactly that rule's records. Counts add up after each step."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from sqlalchemy import select

from hub.core.config import MAPPINGS_DIR
from hub.db.tables import LIBRARY, lineage, outbox, quarantine
from hub.model.codes import idcard
from hub.model.mapping import get_mapping, reload_mappings
from hub.ops import stats
from hub.ops.pii_scan import leaks
from hub.quarantine.payload import view
from hub.quarantine.workflow import WorkflowError, history, quarantine_action, reject, retry, retry_matching
from hub.wiring import standard_pipeline
from synth.generator import Generator, write_dept_b_csv
from tests.helpers import count, quarantine_rows, xml_doc

CS = "常熟市行政审批局"
ZJG = "张家港市住房和城乡建设局"


def _counts(engine) -> dict:
    data = stats.counts(engine)
    t = data["total"]
    assert t["received"] == t["stored"] + t["duplicate"] + t["quarantined"], t
    for s in data["sources"]:
        assert s["received"] == s["stored"] + s["duplicate"] + s["quarantined"], s
    open_or_rejected = sum(1 for r in quarantine_rows(engine) if r["status"] != "retried")
    assert t["quarantined"] == open_or_rejected  # every quarantined record has its row, and only those
    return {**t, "corrected": data["corrected"]}


def _ingest_cases(engine, n=12, seed=3, defects=("id_check_char",), rate=0.25, system="dept-a", dept=CS):
    pairs = list(Generator(seed=seed, departments=[dept]).records("case", n, defect_rate=rate, defects=list(defects)))
    standard_pipeline(engine).ingest(
        io.BytesIO(xml_doc([r for r, _ in pairs], message_id=f"qw-{seed}")), system, fmt="xml"
    )
    return pairs


def _value(row: dict) -> str:
    mapping = get_mapping(row["mapping"].split("@", 1)[0])
    return view(row["payload"], row["payload_encoding"], mapping.spec.format, mapping)[row["field"]]


def _fixed_id(wrong: str) -> str:
    return wrong[:17] + idcard.check_char(wrong[:17])


def _actions(engine, qid: int) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(quarantine_action)
                .where(quarantine_action.c.quarantine_id == qid)
                .order_by(quarantine_action.c.id)
            ).mappings()
        ]


def test_corrected_record_is_stored_and_lineage_names_the_correction(engine, catalog):
    _ingest_cases(engine)
    before = _counts(engine)
    row = next(r for r in quarantine_rows(engine) if r["reason"] == "id_check_char")
    original_lineage = row["lineage_id"]
    fixed = _fixed_id(_value(row))

    a = retry(engine, row["id"], "王管理员", "与申请人电话核对证件号", changes={row["field"]: fixed})

    assert (a.outcome, a.detail, a.action) == ("stored", "new", "correct")
    after = _counts(engine)
    assert after["received"] == before["received"]
    assert (after["stored"], after["quarantined"], after["corrected"]) == (
        before["stored"] + 1,
        before["quarantined"] - 1,
        1,
    )
    q = next(r for r in quarantine_rows(engine) if r["id"] == row["id"])
    assert (q["status"], q["resolved_by"]) == ("retried", "王管理员") and q["resolved_at"] is not None
    assert q["payload"] == row["payload"] and q["reason"] == "id_check_char"  # the ingress facts are kept as they were
    with engine.connect() as conn:
        rows = conn.execute(select(lineage).where(lineage.c.correction_of == row["id"])).mappings().all()
        assert len(rows) == 1
        ln = rows[0]
        assert (ln["corrected_by"], ln["outcome"], ln["detail"], ln["seq"]) == ("王管理员", "stored", "new", row["seq"])
        assert ln["message_id"] == row["message_id"] and ln["id"] == a.lineage_id
        lib = conn.execute(select(LIBRARY["case"]).where(LIBRARY["case"].c.lineage_id == ln["id"])).mappings().one()
        assert lib["applicant_id_no"] == fixed and lib["case_no"] == ln["record_key"]
        assert (
            conn.execute(select(lineage.c.outcome).where(lineage.c.id == original_lineage)).scalar_one()
            == "quarantined"
        )
        assert (
            conn.execute(select(outbox.c.event).where(outbox.c.record_key == ln["record_key"])).scalar_one()
            == "created"
        )
    (act,) = _actions(engine, row["id"])
    assert (act["action"], act["operator"], act["outcome"], act["lineage_id"]) == (
        "correct",
        "王管理员",
        "stored",
        a.lineage_id,
    )
    assert list(act["changes"]) == [row["field"]]
    assert not leaks(json.dumps(act["changes"]) + json.dumps(a.as_dict(), ensure_ascii=False))  # masked
    h = history(engine, row["id"])
    assert [x["id"] for x in h["lineage"]] == [original_lineage, a.lineage_id]
    assert not leaks(json.dumps(h, ensure_ascii=False, default=str))
    with pytest.raises(WorkflowError) as again:
        retry(engine, row["id"], "王管理员", "again", changes={row["field"]: fixed})
    assert again.value.status == 409


def test_a_correction_that_still_fails_stays_open_and_is_kept(engine, catalog):
    _ingest_cases(engine, seed=4)
    row = next(r for r in quarantine_rows(engine) if r["reason"] == "id_check_char")
    wrong = _value(row)
    fixed = _fixed_id(wrong)
    still_wrong = fixed[:17] + next(c for c in "0123456789X" if c not in (fixed[17], wrong[17]))
    before = _counts(engine)

    a = retry(engine, row["id"], "李管理员", "first try", changes={row["field"]: still_wrong})
    assert (a.outcome, a.reason, a.rule) == ("quarantined", "id_check_char", "case.identity")
    assert _counts(engine) == before
    assert next(r for r in quarantine_rows(engine) if r["id"] == row["id"])["status"] == "open"
    (act,) = _actions(engine, row["id"])
    assert (act["outcome"], act["detail"], act["rule"], act["operator"]) == (
        "quarantined",
        "id_check_char",
        "case.identity",
        "李管理员",
    )
    assert (
        still_wrong in act["payload"] and still_wrong not in act["message"]
    )  # the attempt is kept; its message masked

    with pytest.raises(WorkflowError) as bad:  # a mistake in the correction itself: refused, nothing written
        retry(engine, row["id"], "李管理员", "typo", changes={"no_such_field": "1"})
    assert bad.value.status == 422 and len(_actions(engine, row["id"])) == 1

    ok = retry(engine, row["id"], "李管理员", "second try", changes={row["field"]: fixed})
    assert ok.outcome == "stored"
    assert [x["outcome"] for x in _actions(engine, row["id"])] == ["quarantined", "stored"]
    after = _counts(engine)
    assert (after["stored"], after["quarantined"]) == (before["stored"] + 1, before["quarantined"] - 1)


def test_a_whole_corrected_record_and_a_plain_retry(engine, catalog):
    _ingest_cases(engine, seed=8, n=8, rate=0.5)
    first, second = [r for r in quarantine_rows(engine) if r["reason"] == "id_check_char"][:2]
    corrected = first["payload"].replace(_value(first), _fixed_id(_value(first)))
    assert retry(engine, first["id"], "王管理员", "whole record", payload=corrected).outcome == "stored"
    # unchanged, nothing was fixed: it fails again for the same reason, and says so
    plain = retry(engine, second["id"], "王管理员", "plain retry")
    assert (plain.action, plain.outcome, plain.reason) == ("retry", "quarantined", "id_check_char")
    with pytest.raises(WorkflowError) as two:
        retry(engine, second["id"], "王管理员", "two records", payload=second["payload"] * 2)
    assert two.value.status == 422
    _counts(engine)


def test_a_correction_cannot_carry_another_departments_record(engine, catalog):
    # the file path stores what it is given; a correction under dept-a is checked like a push
    _ingest_cases(engine, seed=5, dept=ZJG)
    row = next(r for r in quarantine_rows(engine) if r["reason"] == "id_check_char")
    a = retry(engine, row["id"], "王管理员", "fix", changes={row["field"]: _fixed_id(_value(row))})
    assert a.outcome == "quarantined" and a.reason in ("forbidden_department", "forbidden_region")


def test_reject_is_traced_and_nothing_is_deleted(engine, catalog):
    _ingest_cases(engine, seed=6)
    n_rows = len(quarantine_rows(engine))
    before = _counts(engine)
    qid = quarantine_rows(engine)[0]["id"]
    with pytest.raises(WorkflowError) as no_note:
        reject(engine, qid, "王管理员", "  ")
    assert no_note.value.status == 422
    done = reject(engine, qid, "王管理员", "部门已重新报送，此条作废")
    assert done["status"] == "rejected"
    q = next(r for r in quarantine_rows(engine) if r["id"] == qid)
    assert (q["status"], q["resolved_by"], q["note"]) == ("rejected", "王管理员", "部门已重新报送，此条作废")
    assert len(quarantine_rows(engine)) == n_rows and _counts(engine) == before  # still counted as quarantined
    assert [(a["action"], a["outcome"]) for a in _actions(engine, qid)] == [("reject", "rejected")]
    for act in (lambda: reject(engine, qid, "王管理员", "twice"), lambda: retry(engine, qid, "王管理员", "late")):
        with pytest.raises(WorkflowError) as closed:
            act()
        assert closed.value.status == 409


def test_whole_messages_are_not_retried(engine, catalog):
    from hub.worker.process import quarantine_message

    quarantine_message(engine, "dept-a", "case", "bus-1", b"\x00garbage", "message_invalid", "unreadable", "drop")
    qid = quarantine_rows(engine)[-1]["id"]
    with pytest.raises(WorkflowError) as whole:
        retry(engine, qid, "王管理员", "try")
    assert whole.value.reason == "whole_message"
    summary = retry_matching(engine, "王管理员", system="dept-a")
    assert summary.skipped == {"whole_message": 1} and summary.retried == 0
    _counts(engine)


@pytest.fixture
def broken_mapping(tmp_path, monkeypatch, catalog):
    """dept-b sends the legacy CSV through a mapping whose status table lacks two codes."""
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, folder)
    text = (
        (MAPPINGS_DIR / "dept_b_case_csv.yaml")
        .read_text(encoding="utf-8")
        .replace("name: dept_b_case_csv", "name: fix_case_csv")
    )
    full = '"4": 不予受理, "5": 退件, '
    assert full in text
    (folder / "fix_case_csv.yaml").write_text(text.replace(full, ""), encoding="utf-8")
    monkeypatch.setenv("GOVHUB_MAPPINGS", str(folder))
    reload_mappings()
    catalog.update("dept-b", mappings={"case/csv": "fix_case_csv"})

    def fix():
        (folder / "fix_case_csv.yaml").write_text(text.replace("version: 1", "version: 2"), encoding="utf-8")

    yield fix
    monkeypatch.delenv("GOVHUB_MAPPINGS")
    reload_mappings()


def test_retry_by_rule_after_a_mapping_fix(engine, catalog, broken_mapping):
    pairs = list(
        Generator(seed=5, departments=[ZJG]).records(
            "case", 60, defect_rate=0.2, defects=["id_check_char", "time_order", "promise_exceeds_legal"]
        )
    )
    buf = io.BytesIO()
    write_dept_b_csv((r for r, _ in pairs), buf, on_unmapped="keep")
    standard_pipeline(engine).ingest(io.BytesIO(buf.getvalue()), "dept-b", fmt="csv", message_id="zjg-csv-1")
    rows = quarantine_rows(engine)
    of_rule = [r for r in rows if r["rule"] == "mapping:fix_case_csv@1"]
    others = [r for r in rows if r["rule"] != "mapping:fix_case_csv@1"]
    assert of_rule and others and {r["reason"] for r in of_rule} == {"code_table_miss"}
    expected_stored = {r["id"] for r in of_rule if pairs[r["seq"] - 1][1] is None}
    assert expected_stored and len(expected_stored) < len(of_rule)  # one also carries a rule defect
    before = _counts(engine)

    broken_mapping()  # the administrator adds the missing codes (version 2)
    seen = []
    summary = retry_matching(engine, "王管理员", rule="mapping:fix_case_csv", on_record=seen.append)

    assert summary.retried == len(of_rule) == len(seen)
    assert sorted(summary.quarantine_ids) == sorted(r["id"] for r in of_rule)
    assert summary.outcomes["stored"] == len(expected_stored)
    assert summary.outcomes["quarantined"] == len(of_rule) - len(expected_stored)
    assert set(summary.reasons) <= {"id_check_char", "time_order", "promise_exceeds_legal"}
    after = {r["id"]: r for r in quarantine_rows(engine)}
    assert {i for i, r in after.items() if r["status"] == "retried"} == expected_stored
    for r in others:  # another rule's records: not touched
        assert after[r["id"]]["status"] == "open" and not _actions(engine, r["id"])
    with engine.connect() as conn:
        corrected = conn.execute(select(lineage).where(lineage.c.correction_of.is_not(None))).mappings().all()
    assert {ln["correction_of"] for ln in corrected} == expected_stored
    assert {ln["mapping"] for ln in corrected} == {"fix_case_csv@2"} and {ln["corrected_by"] for ln in corrected} == {
        "王管理员"
    }
    now = _counts(engine)
    assert now["received"] == before["received"] and now["stored"] == before["stored"] + len(expected_stored)
    assert now["corrected"] == len(expected_stored)
    # a second run finds only what is still wrong for other reasons, and changes nothing
    again = retry_matching(engine, "王管理员", rule="mapping:fix_case_csv")
    assert again.outcomes["stored"] == 0 and again.retried == len(of_rule) - len(expected_stored)
    assert _counts(engine) == now
    assert count(engine, quarantine) == len(rows)
