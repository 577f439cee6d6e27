"""Notifications: case milestones produce each notification once, from the templates;
they go through the sandbox SMS gateway with receipts, under rate limits; a gateway
outage is retried later; phone numbers never appear unmasked in the logs."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hub.db.tables import metadata
from hub.domains.notifications import collect, load_templates, notification, send, supervision_alert
from hub.wiring import standard_pipeline
from sandbox.server import run_in_thread
from sandbox.sms_gateway import SmsGatewayState, make_app
from synth.generator import Generator

P1, P2 = "13912345678", "13787654321"
NOW = datetime(2026, 11, 20, 10, 0)
# the generated cases (synth.generator reads the hub clock) and NOW belong to one day
pytestmark = pytest.mark.clock(NOW.isoformat())


@pytest.fixture
def tables(engine):
    metadata.create_all(engine, tables=[notification])


@pytest.fixture
def gateway(monkeypatch):
    monkeypatch.setenv("GOVHUB_TEST_SMS_KEY", "sms-test-key")
    state = SmsGatewayState()
    base, stop = run_in_thread(make_app(state, "sms-test-key"))
    state.url = base.replace("http://", "rest://") + "/?push_path=/sms&api_key_env=GOVHUB_TEST_SMS_KEY&timeout=5"
    yield state
    stop()


def _ingest(engine, records, mid):
    body = json.dumps({"records": records}, ensure_ascii=False).encode("utf-8")
    s = standard_pipeline(engine).ingest(io.BytesIO(body), "js-province", fmt="json", kind="case", message_id=mid)
    assert s.counts["stored"] == len(records), s.as_dict()


def _accepted(c: dict) -> dict:
    c = dict(c, status="受理", steps=c["steps"][:1])
    for k in (
        "finish_time",
        "result_type",
        "conclusion",
        "licence_name",
        "licence_no",
        "delivery_method",
        "delivery_time",
        "special_procedures",
    ):
        c.pop(k, None)
    c["source_time"] = c["accept_time"]
    return c


def _cases():
    g = Generator(seed=5)
    done = [
        r
        for r, _ in g.records("case", 60)
        if r["status"] == "办结" and r.get("licence_no") and not r.get("special_procedures")
    ][:3]
    a, b, c = done
    a = _accepted(a)
    a.update(applicant_phone=P1, agent_phone=P1)
    b.update(applicant_phone=P1, agent_phone=P1, delivery_method="窗口领取")
    b["special_procedures"] = [
        {
            "seq": 1,
            "kind": "补正",
            "start_time": b["accept_time"],
            "end_time": b["accept_time"],
            "reason": "申请材料不齐全",
        }
    ]
    c.update(applicant_phone=P2, agent_phone=P2, delivery_method="邮寄")
    return a, b, c


def _rows(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(notification).order_by(notification.c.id)).mappings()]


def test_milestones_once_templates_filled(engine, tables, clock):
    a, b, c = _cases()
    _ingest(engine, [a, b, c], "m-1")
    got = collect(engine, now=NOW)
    assert got["by_milestone"] == {"accepted": 1, "correction": 1, "concluded": 2, "pickup": 1}
    assert collect(engine, now=NOW)["created"] == 0  # once per (case, milestone)
    rows = _rows(engine)
    assert {(r["case_no"], r["milestone"]) for r in rows} == {
        (a["case_no"], "accepted"),
        (b["case_no"], "correction"),
        (b["case_no"], "concluded"),
        (b["case_no"], "pickup"),
        (c["case_no"], "concluded"),
    }
    for r in rows:
        assert r["status"] == "pending" and "{" not in r["text"] and r["case_no"] in r["text"]
    acc = next(r for r in rows if r["milestone"] == "accepted")
    assert a["item_name"] in acc["text"] and a["dept_name"] in acc["text"] and acc["phone"] == P1

    # the accepted case concludes later: only the new milestone appears
    clock.advance(seconds=1.01 - clock.now().microsecond / 1e6)  # the library stamps whole seconds
    since = clock.now().replace(microsecond=0)
    a2 = dict(
        b,
        case_no=a["case_no"],
        special_procedures=[],
        delivery_method="邮寄",
        source_time=b["source_time"],
        applicant_phone=P1,
        agent_phone=P1,
    )
    a2.update({k: a[k] for k in ("item_code", "item_name", "item_version", "dept_code", "dept_name", "region_code")})
    _ingest(engine, [a2], "m-2")
    again = collect(engine, since=since, now=NOW)
    assert again["cases"] == 1 and again["by_milestone"] == {"concluded": 1}


def test_sent_with_receipts_and_daily_limit(engine, tables, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    a, b, c = _cases()
    _ingest(engine, [a, b, c], "m-1")
    collect(engine, now=NOW)
    got = send(engine, gateway.url, now=NOW, per_phone_per_day=3)
    assert (got["sent"], got["suppressed"], got["pending"]) == (4, 1, 0)
    rows = _rows(engine)
    sent = [r for r in rows if r["status"] == "sent"]
    assert [s["msg_id"] for s in gateway.sent] == [r["receipt"] for r in sent]
    assert [s["text"] for s in gateway.sent] == [r["text"] for r in sent]
    assert [s["phone"] for s in gateway.sent].count(P1) == 3
    suppressed = [r for r in rows if r["status"] == "suppressed"]
    assert len(suppressed) == 1 and suppressed[0]["phone"] == P1 and "per day" in suppressed[0]["detail"]
    assert suppressed[0]["id"] == max(r["id"] for r in rows if r["phone"] == P1)  # the 4th to that phone
    assert send(engine, gateway.url, now=NOW)["sent"] == 0  # nothing sent twice
    assert len(gateway.sent) == 4
    # phones and texts never logged in clear
    assert P1 not in caplog.text and P2 not in caplog.text and "139****5678" in caplog.text
    assert a["case_name"] not in caplog.text


def test_gateway_down_retried_later_and_per_minute_limit(engine, tables, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    a, b, c = _cases()
    _ingest(engine, [a, b, c], "m-1")
    collect(engine, now=NOW)
    gateway.mode = "down"
    got = send(engine, gateway.url, now=NOW)
    assert (got["sent"], got["failed"], got["pending"]) == (0, 1, 5)
    first = _rows(engine)[0]
    assert first["status"] == "failed" and first["attempts"] == 1 and "503" in first["detail"]
    assert gateway.sent == []

    gateway.mode = "up"
    later = NOW + timedelta(minutes=5)
    got = send(engine, gateway.url, now=later, per_minute=2, per_phone_per_day=10)
    assert (got["sent"], got["deferred"], got["pending"]) == (2, 3, 3)  # the minute's budget spent: rest waits
    assert _rows(engine)[0]["status"] == "sent" and _rows(engine)[0]["attempts"] == 2
    got = send(engine, gateway.url, now=later + timedelta(minutes=1), per_minute=2, per_phone_per_day=10)
    got = send(engine, gateway.url, now=later + timedelta(minutes=2), per_minute=2, per_phone_per_day=10)
    assert got["pending"] == 0 and len(gateway.sent) == 5
    assert P1 not in caplog.text and P2 not in caplog.text


def test_supervision_alert_queued_once(engine, tables):
    rec = next(r for r, _ in Generator(seed=3).records("supervision", 1))
    assert supervision_alert(engine, rec, P2, now=NOW) is True
    assert supervision_alert(engine, rec, P2, now=NOW) is False
    (row,) = _rows(engine)
    assert row["milestone"] == "supervision_alert" and rec["item_name"] in row["text"] and rec["level"] in row["text"]


def test_committed_templates_load():
    t = load_templates()
    assert set(t) == {"accepted", "correction", "concluded", "pickup", "supervision_alert"}
