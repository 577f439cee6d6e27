"""Electronic supervision end to end: cases driven through normal, late, suspended and
extended paths are scanned at successive working-day times; each yellow/red warning is
raised once, at the right scan, and reported upward once. Process-legality, completeness
and fee findings; the 督办 workflow with its times and history."""

from __future__ import annotations

import copy
import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub.db.tables import LIBRARY, metadata, record_history
from hub.domains.supervision import scan as sv
from hub.domains.supervision.scan import SYSTEM, WorkflowError, supervision_action, supervision_no, supervision_scan
from hub.outbound import reporting
from hub.wiring import standard_pipeline
from sandbox.dept_rest import DeptState, make_app
from sandbox.server import run_in_thread
from synth.generator import Generator

DEPT = "常熟市行政审批局"
# the cases are driven through fixed days of March 2026: the hub must be past them
pytestmark = pytest.mark.clock()

SUPERVISION_SYSTEM = {
    "id": SYSTEM,
    "name": "电子监察系统",
    "level": "city",
    "region_code": "320500",
    "may_push": ["supervision"],
}


def t(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, 0)


@pytest.fixture
def hub(engine, catalog, monkeypatch):
    metadata.create_all(engine, tables=[supervision_action, supervision_scan])
    catalog.add(SUPERVISION_SYSTEM)
    monkeypatch.setattr(reporting, "SETTLE", timedelta(0))
    state = DeptState()
    base, stop = run_in_thread(make_app(state, api_key="prov-in"))
    monkeypatch.setenv("PROV_INBOUND_KEY", "prov-in")
    catalog.update(
        "prov", endpoint=f"rest://{base.split('://')[1]}/api?push_path=/case&api_key_env=PROV_INBOUND_KEY&retries=0"
    )
    yield engine, state
    stop()


def _json(records) -> bytes:
    return json.dumps({"records": records}, ensure_ascii=False, default=str).encode()


def _base():
    g = Generator(seed=7, departments=[DEPT])
    case = next(iter(g.records("case", 1)))[0]
    item = next(iter(Generator(seed=7, departments=[DEPT]).records("item", 1)))[0]
    return case, item


class World:
    def __init__(self, engine):
        self.engine, self.n = engine, 0
        case, item = _base()
        self.item1 = {
            **item,
            "item_code": case["item_code"],
            "charged": False,
            "promise_days": 5,
            "promise_unit": "工作日",
            "legal_days": 20,
            "legal_unit": "工作日",
        }
        self.item1.pop("fee_standard", None)
        self.item2 = {
            **copy.deepcopy(self.item1),
            "item_code": case["item_code"][:-1] + "9",
            "item_name": "收费事项",
            "charged": True,
            "fee_standard": "100.00",
        }
        self.ingest("item", [self.item1, self.item2], "prov")
        self.required = [m["name"] for m in self.item1["materials"] if m.get("required")]
        self.case = case

    def ingest(self, kind, records, system="dept-a"):
        self.n += 1
        s = standard_pipeline(self.engine).ingest(
            io.BytesIO(_json(records)), system, fmt="json", kind=kind, message_id=f"m{self.n}"
        )
        assert s.counts["stored"] == len(records), s.as_dict()

    def open_case(self, no, at, **over):
        c = copy.deepcopy(self.case)
        for k in (
            "finish_time",
            "result_type",
            "conclusion",
            "licence_name",
            "licence_no",
            "delivery_method",
            "delivery_time",
            "fee_amount",
        ):
            c.pop(k, None)
        c.update(
            case_no=no,
            status="办理中",
            apply_time=t(2, 8),
            accept_time=t(2, 9),
            promise_days=5,
            promise_unit="工作日",
            legal_days=8,
            legal_unit="工作日",
            source_time=at,
            steps=[{"seq": 1, "step_name": "受理", "action": "受理", "start_time": t(2, 9), "end_time": t(2, 9)}],
            materials=[{"name": n, "form": "电子件", "count": 1} for n in self.required],
            special_procedures=[],
        )
        c.update(over)
        return c

    def concluded(self, no, at, steps=None, **over):
        steps = steps or [("受理", 2), ("审查", 3), ("办结", 4)]
        return self.open_case(
            no,
            at,
            status="办结",
            finish_time=t(4, 15),
            result_type="准予",
            steps=[
                {"seq": i, "step_name": a, "action": a, "start_time": t(d), "end_time": t(d, 11)}
                for i, (a, d) in enumerate(steps, 1)
            ],
            **over,
        )


def test_warnings_fire_once_at_the_right_scan_and_are_reported_once(hub):
    engine, province = hub
    w = World(engine)
    A = w.open_case("SZ-A-normal", t(2))
    B = w.open_case("SZ-B-late", t(2))
    C = w.open_case(
        "SZ-C-suspended",
        t(2),
        special_procedures=[{"seq": 1, "kind": "挂起", "start_time": t(5), "reason": "申请人要求暂停"}],
    )
    D = w.open_case(
        "SZ-D-extended",
        t(2),
        special_procedures=[{"seq": 1, "kind": "延期", "start_time": t(5), "days": 3, "approver": "局长"}],
    )
    for k in ("promise_days", "promise_unit", "legal_days", "legal_unit"):
        D.pop(k)  # held to the item's limits: 5 promised, 20 legal working days
    w.ingest("case", [A, B, C, D])

    raised: dict[datetime, list[str]] = {}

    def run_scan(now):
        result = sv.scan(engine, now=now)
        raised.setdefault(now, []).extend(result["supervision_nos"])
        rep = sv.report(engine, "prov")
        assert rep["delivered"].get("retry", 0) == 0, rep
        return result

    run_scan(t(3))
    # the normal case concludes on time with all materials; three concluded cases with defects arrive
    w.ingest(
        "case",
        [
            w.concluded("SZ-A-normal", t(4, 16)),
            w.concluded(
                "SZ-E-incomplete",
                t(4, 16),
                fee_amount="50.00",
                materials=[{"name": n, "form": "电子件", "count": 1} for n in w.required if n != "营业执照"],
            ),
            w.concluded(
                "SZ-F-order",
                t(4, 16),
                item_code=w.item2["item_code"],
                fee_amount="80.00",
                steps=[("受理", 2), ("审批", 3), ("审查", 4)],
            ),
            w.concluded("SZ-G-noaccept", t(4, 16), steps=[("审查", 3), ("办结", 4)]),
        ],
    )
    for day in (5, 6, 10):
        run_scan(t(day))
    # the suspended case resumes on the morning of the 11th: 5, 6, 9 and 10 March do not count
    w.ingest(
        "case",
        [{**C, "source_time": t(11, 9), "special_procedures": [{**C["special_procedures"][0], "end_time": t(11, 9)}]}],
    )
    for day in (11, 12, 13, 16):
        run_scan(t(day))
    again = run_scan(t(16))  # a rerun at the same instant raises nothing
    assert again["raised"] == 0 and again["already_raised"] > 0

    no = supervision_no
    expected = {
        t(3): [],
        t(5): [
            no("completeness", "黄牌", "SZ-E-incomplete"),
            no("fee-free-item", "红牌", "SZ-E-incomplete"),
            no("fee-mismatch", "黄牌", "SZ-F-order"),
            no("process-order", "黄牌", "SZ-F-order"),
            no("process-acceptance", "红牌", "SZ-G-noaccept"),
        ],
        t(6): [no("time-yellow", "黄牌", "SZ-B-late")],  # 4 of 5 days used; C is suspended, D extended
        t(10): [no("time-red", "红牌", "SZ-B-late")],  # promised deadline 9 March passed
        t(11): [no("time-yellow", "黄牌", "SZ-D-extended")],  # 7 of 5+3 days used
        t(12): [no("time-yellow", "黄牌", "SZ-C-suspended")],  # 4 of 5 clock days after the pause
        t(13): [no("time-legal", "超法定期限", "SZ-B-late"), no("time-red", "红牌", "SZ-D-extended")],
        t(16): [no("time-red", "红牌", "SZ-C-suspended")],  # its deadline moved to 13 March
    }
    assert {k: sorted(v) for k, v in raised.items()} == {k: sorted(v) for k, v in expected.items()}
    assert not any("SZ-A-normal" in n for v in raised.values() for n in v)

    s = LIBRARY["supervision"]
    with engine.connect() as conn:
        rows = {r["supervision_no"]: r for r in conn.execute(select(s)).mappings()}
    every = [n for v in expected.values() for n in v]
    assert sorted(rows) == sorted(every)
    for day, nos in expected.items():
        for n in nos:
            r = rows[n]
            assert (
                r["source_system"] == SYSTEM and r["status"] == "发起" and r["raised_time"] == day and r["version"] == 1
            )
            assert (
                r["dept_name"] == DEPT
                and r["dept_code"] == w.case["dept_code"]
                and r["region_code"] == w.case["region_code"]
            )
            assert r["evidence"]
    assert rows[no("time-red", "红牌", "SZ-B-late")]["rule_type"] == "时限"
    assert "营业执照" in rows[no("completeness", "黄牌", "SZ-E-incomplete")]["evidence"]
    assert "100" in rows[no("fee-mismatch", "黄牌", "SZ-F-order")]["evidence"]

    # reported upward exactly once each
    got = [r["supervision_no"] for r in province.received]
    assert sorted(got) == sorted(every) and len(got) == len(set(got))


def test_workflow_moves_through_its_states_with_times_and_history(hub, clock):
    engine, province = hub
    w = World(engine)
    w.ingest("case", [w.open_case("SZ-W", t(2))])
    assert sv.scan(engine, now=t(6))["raised"] == 1
    n = supervision_no("time-yellow", "黄牌", "SZ-W")
    sv.report(engine, "prov")
    # library times have one-second resolution: with SETTLE = 0, an update in the same second
    # as the report would sit at the watermark itself (in production SETTLE keeps them apart)
    clock.advance(seconds=1.05)

    with pytest.raises(WorkflowError, match="needs 已签收"):
        sv.workflow(engine, n, "resolve", "张三", at=t(6, 11))
    with pytest.raises(WorkflowError, match="unknown action"):
        sv.workflow(engine, n, "close", "张三")
    with pytest.raises(WorkflowError, match="no supervision record"):
        sv.workflow(engine, "SV-nope", "assign", "张三")
    assert sv.workflow(engine, n, "assign", "监察员王五", "请常熟市行政审批局核查", at=t(6, 11))["status"] == "已指派"
    with pytest.raises(WorkflowError, match="earlier"):
        sv.workflow(engine, n, "acknowledge", "李四", at=t(6, 10))
    sv.workflow(engine, n, "acknowledge", "审批局李四", at=t(6, 14))
    done = sv.workflow(engine, n, "resolve", "审批局李四", "已于当日办结，联系电话13812345678", at=t(9, 9))
    assert done["status"] == "已办结" and done["version"] == 4

    log = sv.actions(engine, n)
    assert [(a["action"], a["at"]) for a in log] == [
        ("raise", t(6)),
        ("assign", t(6, 11)),
        ("acknowledge", t(6, 14)),
        ("resolve", t(9, 9)),
    ]
    s = LIBRARY["supervision"]
    with engine.connect() as conn:
        row = conn.execute(select(s).where(s.c.supervision_no == n)).mappings().one()
        history = conn.execute(
            select(func.count()).select_from(record_history).where(record_history.c.kind == "supervision")
        ).scalar()
    assert row["status"] == "已办结" and row["end_time"] == t(9, 9) and row["raised_time"] == t(6)
    assert row["supervisor"] == "监察员王五" and "13812345678" not in row["result"]
    assert history == 3  # each earlier state kept
    assert sv.list_supervision(engine, status="已办结")[0]["supervision_no"] == n

    # later scans do not raise it again; the province gets the new state
    assert sv.scan(engine, now=t(6, 16))["raised"] == 0
    sv.report(engine, "prov")
    states = [r["status"] for r in province.received if r["supervision_no"] == n]
    assert states == ["发起", "已办结"]
