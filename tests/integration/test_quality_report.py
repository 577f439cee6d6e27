"""The data-quality report on a real database (SQLite and PostgreSQL): its numbers are
the numbers of ``govhub stats``, its trend follows the records' receive days, its
examples are masked, the suite section renders rows of the ``quality_run`` shape, an
empty hub gets a friendly page, and the REST API serves it to authorised callers only."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime, timedelta

import fastjsonschema
import pytest
from sqlalchemy import insert, select, update

from hub.core import clock
from hub.core.config import ROOT
from hub.db.tables import lineage, quarantine
from hub.model.codes import idcard
from hub.ops import stats
from hub.quality import report as quality_report
from hub.quality.models import quality_run
from hub.quality.report_html import render_html
from hub.wiring import standard_pipeline
from synth.generator import Generator
from tests.helpers import jsonl_doc, xml_doc

ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
SCHEMA = fastjsonschema.compile(json.loads((ROOT / "schemas/report/quality_report.schema.json").read_text("utf-8")))


def raw_ids(text: str) -> list[str]:
    return [m for m in ID18.findall(text) if idcard.is_valid(m)]


def a_valid_id(seed: str = "32058119800101123") -> str:
    return seed + idcard.check_char(seed)


def ingest_with_defects(engine) -> None:
    g = Generator(seed=7, departments=["常熟市行政审批局"])  # cs-approval sends its own cases
    pipe = standard_pipeline(engine)
    cases = [r for r, _ in g.records("case", 120, defect_rate=0.15)]
    pipe.ingest(io.BytesIO(xml_doc(cases, message_id="q-1")), "cs-approval")
    pipe.ingest(io.BytesIO(xml_doc(cases[:40], message_id="q-1b")), "cs-approval")  # same records again
    people = [r for r, _ in g.records("person", 60, defect_rate=0.2)]
    pipe.ingest(io.BytesIO(jsonl_doc(people)), "sz-sharing", fmt="jsonl", kind="person", message_id="p-1")
    items = [r for r, _ in g.records("item", 8, defect_rate=0.0)]
    pipe.ingest(io.BytesIO(xml_doc(items, kind="item", message_id="i-1")), "js-province")


def test_numbers_are_the_numbers_of_govhub_stats(engine):
    ingest_with_defects(engine)
    report = quality_report.build(engine)
    SCHEMA(report)
    counted = stats.counts(engine)
    assert counted["total"]["quarantined"] > 0 and counted["total"]["duplicate"] > 0
    by = {(s["system"], s["kind"]): s for s in report["sources"]}
    assert set(by) == {(s["system"], s["kind"]) for s in counted["sources"]}
    for s in counted["sources"]:
        row = by[(s["system"], s["kind"])]
        assert {k: row[k] for k in ("received", "stored", "duplicate", "quarantined")} == {
            k: s[k] for k in ("received", "stored", "duplicate", "quarantined")
        }
        assert row["pass_rate"] == round(s["stored"] / (s["stored"] + s["quarantined"]), 4)
        assert row["period"]["received"] == s["received"]  # everything arrived today
    assert {k: report["totals"][k] for k in counted["total"]} == counted["total"]
    assert report["consistency"] == {"ok": True, "mismatches": []}
    # defects by reason add up to the quarantine reasons `govhub stats` lists per system
    per_system: dict[str, dict[str, int]] = {}
    for d in report["defects"]:
        for s in d["systems"]:
            per_system.setdefault(s["system"], {})[d["reason"]] = s["count"]
        assert 1 <= len(d["examples"]) <= 3 and d["label_zh"]
        assert d["open"] == d["count"] and d["resolved"] == 0
    assert per_system == counted["quarantined_by_reason"]
    assert report["totals"]["quarantine_status"]["open"] == counted["total"]["quarantined"]
    # systems and kinds roll the rows up without losing anything
    assert sum(s["received"] for s in report["systems"]) == counted["total"]["received"]
    assert {k["kind"] for k in report["kinds"]} == {"case", "person", "item"}
    today = report["trend"][-1]
    assert today["day"] == clock.now().date().isoformat() and today["received"] == counted["total"]["received"]
    assert len(report["trend"]) == 30 and sum(d["received"] for d in report["trend"][:-1]) == 0
    assert report["sources"][0]["system_name"] == "常熟市行政审批局业务系统"


def test_trend_counts_each_day_and_the_period_leaves_older_records_out(engine):
    ingest_with_defects(engine)
    with engine.begin() as conn:
        ids = (
            conn.execute(select(lineage.c.id).where(lineage.c.source_system == "cs-approval").order_by(lineage.c.id))
            .scalars()
            .all()
        )
        now = clock.now()
        # the first 30 cs-approval records arrived three days ago, the next 10 forty days ago
        conn.execute(update(lineage).where(lineage.c.id.in_(ids[:30])).values(received_at=now - timedelta(days=3)))
        conn.execute(update(lineage).where(lineage.c.id.in_(ids[30:40])).values(received_at=now - timedelta(days=40)))
        moved = dict(conn.execute(select(lineage.c.outcome, lineage.c.id).where(lineage.c.id.in_(ids[:30]))).all())
    report = quality_report.build(engine)
    trend = {d["day"]: d for d in report["trend"]}
    three_ago = (clock.now().date() - timedelta(days=3)).isoformat()
    assert trend[three_ago]["received"] == 30 and trend[three_ago]["stored"] + trend[three_ago]["quarantined"] == 30
    assert set(moved) <= {"stored", "quarantined"}
    t = report["totals"]
    assert t["period"]["received"] == t["received"] - 10  # forty days ago is outside the 30-day period
    assert sum(d["received"] for d in report["trend"]) == t["period"]["received"]
    cs = next(s for s in report["sources"] if s["system"] == "cs-approval")
    assert cs["period"]["received"] == cs["received"] - 10
    # a period that ends before the records came shows none of them, cumulative counts stay
    old = quality_report.build(engine, day_to=clock.now().date() - timedelta(days=20), days=30)
    assert old["totals"]["period"]["received"] == 10 and old["totals"]["received"] == t["received"]
    assert old["trend"][-1]["day"] == (clock.now().date() - timedelta(days=20)).isoformat()


def test_worst_sources_rank_by_quarantine_rate_with_a_minimum_volume(engine):
    ingest_with_defects(engine)
    report = quality_report.build(engine, min_volume=50)
    worst = report["worst_sources"]
    assert worst, "cs-approval and sz-sharing both have quarantined records"
    rates = [w["quarantine_rate"] for w in worst]
    assert rates == sorted(rates, reverse=True)
    for w in worst:
        assert w["stored"] + w["quarantined"] >= 50 and w["quarantined"] > 0
        assert w["quarantine_rate"] == round(w["quarantined"] / (w["stored"] + w["quarantined"]), 4)
        assert sum(x["count"] for x in w["top_reasons"]) <= w["quarantined"]
    assert "js-province" not in {w["system"] for w in worst}  # 8 clean items: below the volume, nothing quarantined
    high = quality_report.build(engine, min_volume=10_000)
    assert high["worst_sources"] == []
    assert "没有需要关注的来源系统" in render_html(high)


def test_quarantine_status_open_and_resolved(engine):
    ingest_with_defects(engine)
    with engine.begin() as conn:
        qids = conn.execute(select(quarantine.c.id).order_by(quarantine.c.id)).scalars().all()
        conn.execute(update(quarantine).where(quarantine.c.id.in_(qids[:2])).values(status="retried"))
        conn.execute(update(quarantine).where(quarantine.c.id == qids[2]).values(status="rejected"))
    report = quality_report.build(engine)
    st = report["totals"]["quarantine_status"]
    assert (st["retried"], st["rejected"], st["resolved"], st["open"]) == (2, 1, 3, len(qids) - 3)
    assert sum(d["resolved"] for d in report["defects"]) == 3
    assert sum(s["quarantine_status"]["resolved"] for s in report["sources"]) == 3


def _suite_rows(day: date, now: datetime) -> list[dict]:
    raw = a_valid_id()
    failing = [
        {
            "expectation": "expect_column_values_to_match_regex",
            "rule": "id_no_format",
            "column": "applicant_id_no",
            "success": False,
            "unexpected_count": 4,
            "element_count": 200,
            "examples": [raw, "abc"],
            "label_zh": "申请人证件号码格式正确",
        },
        {
            "expectation": "expect_column_values_to_not_be_null",
            "rule": "applicant_name_present",
            "column": "applicant_name",
            "success": False,
            "unexpected_count": 1,
            "element_count": 200,
            "examples": ["王小明"],
            "label_zh": "申请人姓名不为空",
        },
        {
            "expectation": "expect_column_values_to_be_between",
            "rule": "promise_days_range",
            "column": "promise_days",
            "success": True,
            "unexpected_count": 0,
            "element_count": 200,
            "examples": [],
            "label_zh": "承诺期限在合理范围",
        },
    ]
    base = {
        "source_system": "cs-approval",
        "kind": "case",
        "suite": "case_daily",
        "suite_version": "1",
        "evaluated": 3,
        "rows": 200,
    }
    return [
        {
            **base,
            "scope": "daily",
            "day": day - timedelta(days=1),
            "message_id": None,
            "failed": 0,
            "success": True,
            "results": [dict(failing[2])],
            "run_at": now - timedelta(days=1),
        },
        {
            **base,
            "scope": "daily",
            "day": day,
            "message_id": None,
            "failed": 2,
            "success": False,
            "results": failing,
            "run_at": now,
        },
        {
            **base,
            "scope": "batch",
            "suite": "case_batch",
            "day": None,
            "message_id": "q-1",
            "failed": 0,
            "success": True,
            "results": [],
            "run_at": now,
            "rows": 120,
        },
        {
            **base,
            "scope": "daily",
            "day": day - timedelta(days=45),
            "message_id": None,
            "failed": 1,
            "success": False,
            "results": failing[:1],
            "run_at": now - timedelta(days=45),
        },  # outside the period
    ]


def test_suite_results_section_renders_quality_run_rows(engine):
    ingest_with_defects(engine)
    empty = quality_report.build(engine)
    assert empty["suites"] == {"runs": 0, "failed_runs": 0, "suites": []}
    assert 'id="suites-empty"' in render_html(empty)
    now = clock.now().replace(microsecond=0)
    with engine.begin() as conn:
        conn.execute(insert(quality_run), _suite_rows(now.date(), now))
    report = quality_report.build(engine)
    SCHEMA(report)
    su = report["suites"]
    assert (su["runs"], su["failed_runs"]) == (3, 1)
    daily = next(s for s in su["suites"] if s["suite"] == "case_daily")
    assert (daily["runs"], daily["failed_runs"], daily["rows"], daily["last_success"]) == (2, 1, 400, False)
    assert [e["rule"] for e in daily["failed_expectations"]] == ["id_no_format", "applicant_name_present"]
    ids = daily["failed_expectations"][0]
    assert (ids["unexpected_count"], ids["element_count"], ids["failed_runs"]) == (4, 200, 1)
    raw = a_valid_id()
    assert raw not in json.dumps(report) and ids["examples"][0] == raw[:3] + "*" * 13 + raw[-2:]
    assert daily["failed_expectations"][1]["examples"] == ["王**"]  # a pii-tagged name column
    batch = next(s for s in su["suites"] if s["suite"] == "case_batch")
    assert batch["last_success"] is True and batch["failed_expectations"] == []
    html = render_html(report)
    assert "数据质量规则检查" in html and "申请人证件号码格式正确" in html and 'id="suites-table"' in html
    assert 'id="suites-empty"' not in html and not raw_ids(html)


def test_examples_are_masked_even_if_a_writer_forgot(engine):
    ingest_with_defects(engine)
    raw = a_valid_id("11010519491231002")
    now = clock.now().replace(microsecond=0)
    with engine.begin() as conn:  # a careless writer: raw ID number and mobile in the message
        conn.execute(
            insert(quarantine),
            {
                "lineage_id": None,
                "source_system": "cs-approval",
                "kind": "case",
                "message_id": "careless",
                "seq": 1,
                "received_at": now,
                "reason": "id_check_char",
                "message": f"applicant_id_no {raw} (tel 13912345678) bad",
                "rule": "case.identity",
                "field": "applicant_id_no",
                "schema_version": "1",
                "mapping": "-",
                "payload": f"<case><applicant_id_no>{raw}</applicant_id_no></case>",
                "payload_encoding": "text",
                "status": "open",
            },
        )
        careless = conn.execute(select(quarantine.c.id).where(quarantine.c.message_id == "careless")).scalar_one()
    report = quality_report.build(engine)
    text = json.dumps(report, ensure_ascii=False)
    html = render_html(report)
    for out in (text, html):
        assert raw not in out and not raw_ids(out) and "13912345678" not in out
    # the careless record is the latest of its reason and source, so it is an example — masked
    example = next(e for d in report["defects"] for e in d["examples"] if e["quarantine_id"] == careless)
    assert example["message"] == f"applicant_id_no {raw[:3]}{'*' * 13}{raw[-2:]} (tel 139****5678) bad"
    assert "<applicant_id_no>" not in html  # payloads are never part of the report


def test_empty_hub_gets_a_friendly_page(engine):
    report = quality_report.build(engine)
    SCHEMA(report)
    assert report["totals"]["received"] == 0 and report["totals"]["pass_rate"] is None
    assert report["sources"] == [] and report["defects"] == [] and report["worst_sources"] == []
    assert len(report["trend"]) == 30 and all(d["received"] == 0 for d in report["trend"])
    html = render_html(report)
    assert 'id="empty-state"' in html and "暂无数据" in html and "没有隔离记录" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_write_daily_keeps_one_pair_per_day(engine, tmp_path):
    ingest_with_defects(engine)
    day = clock.now().date()
    html, js = quality_report.write_daily(engine, tmp_path / "quality", day)
    assert (html.name, js.name) == (f"{day}.html", f"{day}.json")
    first = json.loads(js.read_text("utf-8"))
    assert first["period"]["to"] == day.isoformat() and "数据质量报告" in html.read_text("utf-8")
    quality_report.write_daily(engine, tmp_path / "quality", day)  # again the same day: replaced, not added
    quality_report.write_daily(engine, tmp_path / "quality", day - timedelta(days=1))
    assert sorted(p.name for p in (tmp_path / "quality").iterdir()) == sorted(
        [f"{day}.html", f"{day}.json", f"{day - timedelta(days=1)}.html", f"{day - timedelta(days=1)}.json"]
    )


def test_days_must_be_positive(engine):
    with pytest.raises(ValueError, match="at least 1"):
        quality_report.build(engine, days=0)


def test_a_writer_that_bypasses_the_lineage_shows_up(engine):
    from collections import Counter

    from hub.ingest.store import add_counts

    ingest_with_defects(engine)
    before = next(s for s in stats.counts(engine)["sources"] if s["system"] == "cs-approval")["stored"]
    with engine.begin() as conn:
        add_counts(conn, "cs-approval", "case", Counter(stored=3))  # counted, but no lineage row
    report = quality_report.build(engine)
    assert report["consistency"] == {
        "ok": False,
        "mismatches": [
            {"system": "cs-approval", "kind": "case", "outcome": "stored", "counter": before + 3, "lineage": before}
        ],
    }
    html = render_html(report)
    assert 'class="banner warn"' in html and "计数与逐条血缘记录" in html
