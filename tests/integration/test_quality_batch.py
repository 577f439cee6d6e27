"""Batch-level expectation suites (hub/quality): every defect the generator injects is
caught by the suite of its kind — on the generator's records as they are, before ingest
(the ingress rules would quarantine them; the suite is the second line of defence) —
clean records pass every suite, and the pipeline checks each message after storing it."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import insert, select

from hub.db.tables import LIBRARY
from hub.model.canonical import canonicalise
from hub.model.dictionary import kind as dictionary_kind
from hub.quality.checks import env_for, run_suite
from hub.quality.models import quality_run
from hub.quality.suites import suite
from hub.wiring import standard_pipeline
from synth.generator import DEFECT_KINDS, KINDS, Generator
from tests.helpers import xml_doc

pytestmark = pytest.mark.slow

#: defect → the rule (meta.rule of the suite's expectations) that must fail, and only it
CAUGHT_BY = {
    "id_check_char": "id_no_valid",
    "id_birth_date": "id_no_valid",
    "holder_id_check_char": "id_no_valid",
    "uscc_check_char": "uscc_valid",
    "licence_id_check_char": "licence_id_valid",
    "missing_required": "required",
    "bad_enum": "enum",
    "bad_satisfaction": "enum",
    "time_order": "time_order",
    "unknown_division": "division_code",
    "promise_exceeds_legal": "promise_within_legal",
    "bad_datetime": "datetime_format",
    "too_long": "length",
    "future_apply": "not_future",
}
CLEAN = 40  # clean records around each defective one: GE's cost is per expectation, not per row


def put_library(engine, kind: str, records, source: str = "test-src", at: datetime | None = None) -> None:
    """Library rows as the pipeline would leave them (canonical values, bookkeeping columns)."""
    k = dictionary_kind(kind)
    at = at or datetime(2026, 1, 5, 10)
    rows = []
    for i, rec in enumerate(records):
        c = canonicalise(k, rec)
        rows.append(
            {
                **{f.name: c.get(f.name) for f in k.fields},
                "source_system": source,
                "version": 1,
                "payload_hash": f"h{i}",
                "received_at": at,
                "updated_at": at,
            }
        )
    with engine.begin() as conn:
        for i in range(0, len(rows), 500):
            conn.execute(insert(LIBRARY[kind]), rows[i : i + 500])


def catalogue_and_holders(engine, g: Generator, licences) -> None:
    """The item catalogue of the generator's departments, and the holders of ``licences``
    in the people and enterprise libraries (the references the suites check)."""
    put_library(engine, "item", [g.item() for _ in range(len(g._dept_items))])
    people = {r["holder_id_no"]: r["holder_name"] for r in licences if r.get("holder_id_type") == "111"}
    firms = {r["holder_id_no"]: r["holder_name"] for r in licences if r.get("holder_id_type") == "001"}
    put_library(engine, "person", [{"id_no": i, "name": n} for i, n in people.items()])
    put_library(engine, "enterprise", [{"uscc": u, "name": n} for u, n in firms.items()])


@pytest.mark.parametrize("kind", KINDS)
def test_each_defect_fails_its_expectation_and_clean_data_passes(engine, kind):
    g = Generator(seed=101)
    clean = [r for r, _ in g.records(kind, CLEAN)]
    bad = {d: g.defective(kind, d) for d in DEFECT_KINDS[kind]}
    catalogue_and_holders(engine, g, clean + list(bad.values()) if kind == "licence" else [])
    s, env = suite(kind), env_for(engine)

    run = run_suite(s, clean, env)
    assert run.success, [r for r in run.results if not r["success"]]
    assert run.evaluated == len(s.spec.expectations) and run.rows == CLEAN

    wrong = {}
    for defect, rec in bad.items():
        run = run_suite(s, clean[:20] + [rec] + clean[20:], env)
        if run.failed_rules() != {CAUGHT_BY[defect]}:
            wrong[defect] = sorted(run.failed_rules())
            continue
        failed = [r for r in run.results if not r["success"]]
        assert all(r["unexpected_count"] >= 1 and r["examples"] for r in failed if r["rule"] != "required"), failed
    assert not wrong, f"{kind}: defect → failed rules (expected {[CAUGHT_BY[d] for d in wrong]}): {wrong}"


def test_every_generator_defect_has_a_rule():
    assert {d for ds in DEFECT_KINDS.values() for d in ds} <= set(CAUGHT_BY)


def test_reference_checks_catalogue_holder_and_key_uniqueness(engine):
    g = Generator(seed=102)
    cases = [g.case() for _ in range(30)]
    licences = [g.licence() for _ in range(30)]
    catalogue_and_holders(engine, g, licences[:29])  # the last licence's holder is nobody we know
    env = env_for(engine)

    stranger = dict(cases[0], case_no="QX-0001", item_code="11320581MB0000000X4000000000001")
    run = run_suite(suite("case"), cases + [stranger], env)
    assert run.failed_rules() == {"catalogue_item"}

    run = run_suite(suite("licence"), licences, env)
    assert run.failed_rules() == {"holder_in_library"}
    holder = next(r for r in run.results if r["rule"] == "holder_in_library")
    assert holder["unexpected_count"] == 1
    assert licences[-1]["holder_id_no"] not in str(holder["examples"])  # masked

    run = run_suite(suite("case"), cases + [cases[3]], env)
    assert run.failed_rules() == {"unique_key"}


def test_examples_are_masked(engine):
    g = Generator(seed=103)
    rec = g.defective("person", "id_check_char")
    run = run_suite(suite("person"), [rec], env_for(engine))
    entry = next(r for r in run.results if r["rule"] == "id_no_valid")
    assert entry["examples"] and rec["id_no"] not in entry["examples"][0]
    assert entry["examples"][0].startswith(rec["id_no"][:3]) and "(id_check_char)" in entry["examples"][0]
    assert entry["label_zh"] and entry["column"] == "id_no" and entry["element_count"] == 1


def test_the_pipeline_checks_each_message_when_enabled(engine, catalog, monkeypatch):
    g = Generator(seed=104, departments=["常熟市行政审批局"])
    catalogue_and_holders(engine, g, [])
    cases = [r for r, _ in g.records("case", 30)]
    monkeypatch.setenv("GOVHUB_QUALITY_BATCH", "on")
    summary = standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases + [cases[5]], message_id="q-1")), "dept-a")
    assert summary.counts["stored"] == 30 and summary.counts["duplicate"] == 1
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(quality_run))]
    assert len(rows) == 1
    row = rows[0]
    assert (row["scope"], row["source_system"], row["kind"], row["message_id"]) == ("batch", "dept-a", "case", "q-1")
    assert row["rows"] == 31 and row["evaluated"] == len(suite("case").spec.expectations)
    # the message repeats a case: the batch's key-uniqueness expectation says so
    assert not row["success"] and [r["rule"] for r in row["results"] if not r["success"]] == ["unique_key"]
    assert row["suite_version"] == suite("case").version


def test_deferred_mode_leaves_the_check_for_later(engine, catalog, monkeypatch):
    from hub.quality.batch import check_message, pending_messages

    g = Generator(seed=105, departments=["常熟市行政审批局"])
    catalogue_and_holders(engine, g, [])
    monkeypatch.setenv("GOVHUB_QUALITY_BATCH", "deferred")
    cases = [r for r, _ in g.records("case", 12)]
    standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="q-2")), "dept-a")
    with engine.connect() as conn:
        assert conn.execute(select(quality_run)).first() is None
    assert list(pending_messages(engine)) == [("dept-a", "case", "q-2")]
    run = check_message(engine, "dept-a", "case", "q-2")
    assert run.success and run.rows == 12
    assert list(pending_messages(engine)) == []


def test_pending_checks_run_in_one_pass(engine, catalog, monkeypatch):
    """What data_quality_daily does first: the deferred messages' batch checks."""
    from hub.quality.batch import check_pending, pending_messages

    g = Generator(seed=106, departments=["常熟市行政审批局"])
    catalogue_and_holders(engine, g, [])
    monkeypatch.setenv("GOVHUB_QUALITY_BATCH", "deferred")
    for i in range(2):
        cases = [r for r, _ in g.records("case", 6)]
        if i == 1:
            cases.append(dict(cases[0]))  # a repeated case number: the batch's uniqueness check fails
        standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id=f"q-p{i}")), "dept-a")
    assert len(list(pending_messages(engine))) == 2
    assert check_pending(engine) == (2, 1)
    assert list(pending_messages(engine)) == [] and check_pending(engine) == (0, 0)
