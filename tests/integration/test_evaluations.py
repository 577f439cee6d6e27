"""好差评 follow-ups: a bad review opens one follow-up due N working days later on the
official calendar; closing it; an overdue one is flagged once with an outbox event;
good reviews open none."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from sqlalchemy import select

from hub.db.tables import metadata, outbox
from hub.domains import evaluations
from hub.domains.evaluations import close_follow_up, evaluation_follow_up, linked, open_follow_ups, overdue
from hub.wiring import standard_pipeline
from synth.generator import Generator

NOW = datetime(2026, 9, 30, 10, 0)  # the day before the National Day holiday (Oct 1–7, Sat Oct 10 worked)


@pytest.fixture
def tables(engine):
    metadata.create_all(engine, tables=[evaluation_follow_up])


def _ingest(engine, kind, records, mid):
    body = json.dumps({"records": records}, ensure_ascii=False).encode("utf-8")
    s = standard_pipeline(engine).ingest(io.BytesIO(body), "js-province", fmt="json", kind=kind, message_id=mid)
    assert s.counts["stored"] == len(records), s.as_dict()


def _evaluations(engine):
    g = Generator(seed=11)
    evs = [r for r, _ in g.records("evaluation", 4)]
    cases = [r for r, _ in g.records("case", 1)]
    for e, sat in zip(evs, ("1", "2", "4", "5")):
        e["satisfaction"] = sat
        e["comment"] = "等了很久" if sat <= "2" else "满意"
    evs[0].update(
        channel="4", window_no="A07", staff_id=cases[0]["steps"][0]["handler_id"], case_no=cases[0]["case_no"]
    )
    _ingest(engine, "case", cases, "c-1")
    _ingest(engine, "evaluation", evs, "e-1")
    return evs, cases[0]


def _follow_ups(engine):
    with engine.connect() as conn:
        return [
            dict(r) for r in conn.execute(select(evaluation_follow_up).order_by(evaluation_follow_up.c.id)).mappings()
        ]


def _events(engine):
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(outbox).where(outbox.c.kind == "evaluation", outbox.c.event == "follow_up_overdue")
            ).mappings()
        ]


def test_bad_review_opens_one_follow_up_due_in_working_days(engine, tables):
    evs, case = _evaluations(engine)
    r = open_follow_ups(engine, now=NOW, days=5)
    assert (r["bad_reviews"], r["opened"]) == (2, 2)
    fus = _follow_ups(engine)
    assert sorted(f["eval_no"] for f in fus) == sorted(e["eval_no"] for e in evs[:2])  # good reviews open none
    # 5 working days after Sep 30: Oct 8, 9, 10 (swapped Saturday), 12, 13 — end of day CST
    assert {f["due_at"] for f in fus} == {datetime(2026, 10, 13, 23, 59, 59)}
    first = next(f for f in fus if f["eval_no"] == evs[0]["eval_no"])
    assert (first["window_no"], first["staff_id"], first["case_no"]) == ("A07", evs[0]["staff_id"], case["case_no"])
    # idempotent
    again = open_follow_ups(engine, now=NOW, days=5)
    assert (again["opened"], again["already_open"]) == (0, 2)
    assert len(_follow_ups(engine)) == 2
    # the days are configurable
    assert evaluations.due_at(NOW, 1) == datetime(2026, 10, 8, 23, 59, 59)


def test_close_and_overdue_flagged_once_with_an_event(engine, tables):
    evs, _ = _evaluations(engine)
    open_follow_ups(engine, now=NOW, days=5)
    closed = close_follow_up(
        engine, evs[0]["eval_no"], "督查员王", "已回访，申请人表示理解", now=datetime(2026, 10, 9, 9)
    )
    assert closed["closed_by"] == "督查员王" and closed["closed_at"] == datetime(2026, 10, 9, 9)
    with pytest.raises(ValueError):
        close_follow_up(engine, evs[0]["eval_no"], "someone", "again")
    with pytest.raises(LookupError):
        close_follow_up(engine, "PJ-NONE", "someone", "x")

    assert overdue(engine, now=datetime(2026, 10, 13, 23, 0)) == []  # due at the end of the day
    late = overdue(engine, now=datetime(2026, 10, 14, 8, 30))
    assert [(o["eval_no"], o["newly_flagged"]) for o in late] == [(evs[1]["eval_no"], True)]
    events = _events(engine)
    assert len(events) == 1
    body = events[0]["body"]
    assert body["event"] == "evaluation.follow_up_overdue" and body["eval_no"] == evs[1]["eval_no"]
    assert events[0]["routing_key"] == f"evaluation.{evs[1]['region_code']}.js-province"
    # flagged once: later runs still list it, but emit nothing more
    late2 = overdue(engine, now=datetime(2026, 10, 15, 8, 30))
    assert [(o["eval_no"], o["newly_flagged"]) for o in late2] == [(evs[1]["eval_no"], False)]
    assert len(_events(engine)) == 1
    assert _follow_ups(engine)[1]["overdue_flagged_at"] == datetime(2026, 10, 14, 8, 30)


def test_linked_evaluation_with_case_and_window(engine, tables):
    evs, case = _evaluations(engine)
    open_follow_ups(engine, now=NOW)
    got = linked(engine, evs[0]["eval_no"])
    assert got["case"]["case_no"] == case["case_no"]
    assert got["window"]["window_no"] == "A07"
    assert got["window"]["staff_name"] == case["steps"][0]["handler_name"]
    assert got["follow_up"]["eval_no"] == evs[0]["eval_no"]
    assert evs[0]["evaluator_phone"] not in json.dumps(got, default=str, ensure_ascii=False)
    assert linked(engine, evs[0]["eval_no"], masked=False)["evaluation"]["evaluator_phone"] == evs[0]["evaluator_phone"]


def test_an_overdue_follow_up_is_itself_supervised_once(engine, catalog):
    """The supervision scan raises one 评价 record for a 差评 follow-up not closed in time."""
    from datetime import timedelta

    from hub.core import clock
    from hub.db.tables import LIBRARY
    from hub.domains.supervision.scan import scan, supervision_action, supervision_scan

    catalog.add(
        {
            "id": "govhub-supervision",
            "name": "电子监察系统",
            "level": "city",
            "region_code": "320500",
            "may_push": ["supervision"],
        }
    )
    evs = [r for r, _ in Generator(seed=95).records("evaluation", 20)]
    for e in evs:
        e["satisfaction"] = "1"
    standard_pipeline(engine).ingest(
        io.BytesIO(json.dumps({"records": evs}, ensure_ascii=False).encode()),
        "prov",
        fmt="json",
        kind="evaluation",
        message_id="bad-reviews",
    )
    metadata.create_all(engine, tables=[evaluation_follow_up, supervision_action, supervision_scan])
    open_follow_ups(engine, days=1)
    later = clock.now() + timedelta(days=10)
    first = scan(engine, now=later, rules=[])
    again = scan(engine, now=later + timedelta(hours=1), rules=[])
    with engine.connect() as conn:
        rows = conn.execute(select(LIBRARY["supervision"].c.rule_type)).scalars().all()
    assert first["raised"] == 20 and again["raised"] == 0 and rows == ["评价"] * 20
