"""Bundle applications (套餐): split into department items dispatched to real HTTP peers
(the sandbox department system), each received once; the bundle's status follows its
parts as the departments report progress; re-running and crashes leave nothing twice."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from hub.catalog.systems import SYSTEMS_FILE, load_systems
from hub.core import clock
from hub.db.tables import LIBRARY, delivery, ingest_message, lineage, metadata, outbox
from hub.domains import bundles
from hub.domains.bundles import BUNDLES_FILE, BundleError, bundle, bundle_part, load_bundles
from hub.model.codes import idcard
from hub.outbound.delivery import Deliverer
from hub.wiring import standard_pipeline
from sandbox.dept_rest import DeptState, make_app
from sandbox.server import run_in_thread
from synth.generator import Generator

MARKET, APPROVAL = "常熟市市场监督管理局", "常熟市行政审批局"
PARTS = (
    (MARKET, "企业设立登记", "dept-x"),
    (MARKET, "食品经营许可", "dept-x"),
    (APPROVAL, "公共场所卫生许可", "dept-y"),
)


def _part(dept: str, item: str, system: str) -> dict:
    g = Generator(seed=0)
    code = next(c for c, n, d in g.item_codes() if n == item and d == dept)
    dept_code = next(u for name, u, _ in g.departments if name == dept)
    return {"item_code": code, "item_name": item, "dept_name": dept, "dept_code": dept_code, "system": system}


@pytest.fixture
def depts(engine, catalog, tmp_path, monkeypatch):
    """Two sandbox department systems, a one-window system and a bundle 我要开餐馆 over them."""
    metadata.create_all(engine, tables=[bundle, bundle_part])
    monkeypatch.setenv("BUNDLE_DEPT_KEY", "dept-key")
    states, stops = [], []
    codes = {name: code for name, code, _ in Generator(seed=0).departments}
    for sid, dept in (("dept-x", MARKET), ("dept-y", APPROVAL)):
        state = DeptState()
        base, stop = run_in_thread(make_app(state, api_key="dept-key"))
        states.append(state)
        stops.append(stop)
        catalog.add(
            {
                "id": sid,
                "name": f"{sid} 部门业务系统",
                "level": "department",
                "region_code": "320581",
                "dept_code": codes[dept],  # it reports only its own department's cases
                "may_push": ["case"],
                "endpoint": f"rest://{base.split('://')[1]}/api?push_path=/case&api_key_env=BUNDLE_DEPT_KEY&retries=0",
            }
        )
    catalog.add(
        {"id": "window", "name": "常熟市一窗受理系统", "level": "county", "region_code": "320581", "may_push": ["case"]}
    )
    path = tmp_path / "bundles.yaml"
    path.write_text(
        yaml.safe_dump(
            {"bundles": [{"code": "TS320581-001", "name": "我要开餐馆", "parts": [_part(*p) for p in PARTS]}]},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("GOVHUB_BUNDLES", str(path))
    yield states
    for stop in stops:
        stop()


def application(bundle_no: str, seed: int = 1) -> dict:
    case = next(iter(Generator(seed=seed, departments=[MARKET]).records("case", 1)))[0]
    now = clock.now().replace(microsecond=0)
    return {
        "bundle_no": bundle_no,
        "bundle_code": "TS320581-001",
        "system": "window",
        **{k: v for k, v in case.items() if k.startswith("applicant_")},
        "apply_time": str(now - timedelta(hours=2)),
        "accept_time": str(now - timedelta(hours=1)),
        "accept_handler": "一窗受理员",
        "channel": "1",
        "materials": [{"name": "餐饮服务申请表（一表登记）", "form": "原件", "count": 1}],
    }


def report(engine, system: str, record: dict, status: str, n: int) -> None:
    """A department reports its case's progress, under its own system id."""
    done = str(clock.now().replace(microsecond=0) - timedelta(minutes=10))
    rec = {**record, "status": status, "source_time": done}
    if status != "办理中":
        rec.update(finish_time=done, result_type="准予" if status == "办结" else "不予准予")
    body = json.dumps({"records": [rec]}, ensure_ascii=False).encode("utf-8")
    assert (
        standard_pipeline(engine)
        .ingest(io.BytesIO(body), system, fmt="json", kind="case", message_id=f"{system}-{n}")
        .counts["stored"]
        == 1
    )


def status(engine, bundle_no: str) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                select(bundle.c.status, bundle.c.finished_at.is_not(None)).where(bundle.c.bundle_no == bundle_no)
            ).one()
        )


def sizes(engine) -> dict:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (lineage, ingest_message, LIBRARY["case"], delivery, outbox, bundle, bundle_part)
        }


def events(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.body).where(outbox.c.kind == "bundle").order_by(outbox.c.id)).scalars()
        return [(b["bundle_no"], b["from"], b["to"]) for b in rows]


def deliver(engine) -> None:
    d = Deliverer(engine, base_backoff=0.0, breaker_threshold=1000)
    d.run_once()
    d.close()


def test_split_dispatches_each_part_once_and_join_follows_them(engine, depts):
    x, y = depts
    app = application("CS20240601-0001")
    assert bundles.split(engine, app) == {"bundles": 1, "parts": 3, "dispatched": 3, "waiting": 0}
    deliver(engine)
    assert x.case_numbers() == ["CS20240601-0001-01", "CS20240601-0001-02"]
    assert y.case_numbers() == ["CS20240601-0001-03"]
    assert {r["bundle_no"] for r in x.received + y.received} == {"CS20240601-0001"}
    assert [r["item_name"] for r in x.received + y.received] == [p[1] for p in PARTS]
    assert status(engine, "CS20240601-0001") == ("办理中", False)

    before = sizes(engine)
    assert bundles.split(engine, app) == {"bundles": 0, "parts": 0, "dispatched": 0, "waiting": 0}
    assert bundles.resume(engine) == {"bundles": 0, "dispatched": 0, "waiting": 0}
    deliver(engine)
    assert sizes(engine) == before  # nothing new: no lineage, deliveries or events
    assert len(x.received) == 2 and len(y.received) == 1  # each part received exactly once

    with pytest.raises(BundleError, match="another application"):
        bundles.split(engine, {**app, "applicant_phone": "13800000000"})

    report(engine, "dept-x", x.received[0], "办理中", 1)
    assert bundles.join(engine) == {"open": 1, "parts_changed": 1, "changed": 0, "finished": 0}
    report(engine, "dept-x", x.received[0], "办结", 2)
    report(engine, "dept-x", x.received[1], "办结", 3)
    assert bundles.join(engine) == {"open": 1, "parts_changed": 2, "changed": 0, "finished": 0}
    report(engine, "dept-y", y.received[0], "办结", 4)
    assert bundles.join(engine) == {"open": 1, "parts_changed": 1, "changed": 1, "finished": 1}
    assert status(engine, "CS20240601-0001") == ("办结", True)
    assert bundles.join(engine) == {"open": 0, "parts_changed": 0, "changed": 0, "finished": 0}
    assert events(engine) == [("CS20240601-0001", "待分发", "办理中"), ("CS20240601-0001", "办理中", "办结")]
    with engine.connect() as conn:
        parts = conn.execute(select(bundle_part.c.status, bundle_part.c.finished_at).order_by(bundle_part.c.seq)).all()
    assert [p[0] for p in parts] == ["办结"] * 3 and all(p[1] is not None for p in parts)


def test_a_refused_part_makes_the_bundle_partly_refused(engine, depts):
    x, y = depts
    bundles.split(engine, application("CS20240601-0002", seed=2))
    deliver(engine)
    report(engine, "dept-y", y.received[0], "不予受理", 1)
    assert bundles.join(engine) == {"open": 1, "parts_changed": 1, "changed": 1, "finished": 0}
    assert status(engine, "CS20240601-0002") == ("部分退件", False)
    for n, rec in enumerate(x.received, 2):
        report(engine, "dept-x", rec, "办结", n)
    assert bundles.join(engine) == {"open": 1, "parts_changed": 2, "changed": 0, "finished": 1}
    assert status(engine, "CS20240601-0002") == ("部分退件", True)
    assert bundles.bundle_status(["不予受理", "退件", "作废"]) == "退件"
    assert bundles.bundle_status(["办结", "待分发"]) == "待分发"


def test_a_crash_between_the_steps_is_completed_by_running_again(engine, depts, monkeypatch):
    x, y = depts

    def crash(*_a, **_k):
        raise RuntimeError("killed")

    # 1. killed after storing the bundle, before its cases were ingested: resume finishes it
    with monkeypatch.context() as m:
        m.setattr(bundles, "_dispatch", crash)
        with pytest.raises(RuntimeError):
            bundles.split(engine, application("CS20240601-0003", seed=3))
    assert status(engine, "CS20240601-0003") == ("待分发", False)
    assert sizes(engine)["lib_case"] == 0 and sizes(engine)["delivery"] == 0
    assert bundles.resume(engine) == {"bundles": 1, "dispatched": 3, "waiting": 0}

    # 2. killed after the cases were ingested, before they were queued: split again finishes it
    # (the same application both times: application() stamps the current second)
    again = application("CS20240601-0004", seed=4)
    with monkeypatch.context() as m:
        m.setattr(bundles, "enqueue", crash)
        with pytest.raises(RuntimeError):
            bundles.split(engine, again)
    crashed = sizes(engine)
    assert crashed["lib_case"] == 6 and crashed["delivery"] == 3
    assert bundles.split(engine, again) == {"bundles": 0, "parts": 0, "dispatched": 3, "waiting": 0}
    assert sizes(engine)["lineage"] == crashed["lineage"]  # not ingested twice

    deliver(engine)
    assert sorted(x.case_numbers() + y.case_numbers()) == sorted(
        f"CS20240601-000{b}-0{p}" for b in (3, 4) for p in (1, 2, 3)
    )
    assert status(engine, "CS20240601-0003")[0] == status(engine, "CS20240601-0004")[0] == "办理中"


def test_a_quarantined_part_waits_until_its_case_is_in_the_library(engine, depts, monkeypatch):
    with monkeypatch.context() as m:  # stored, not dispatched; then a part's record goes bad
        m.setattr(bundles, "_dispatch", lambda *_a: {})
        bundles.split(engine, application("CS20240601-0006", seed=6))
    with engine.begin() as conn:
        record = conn.execute(select(bundle_part.c.record).where(bundle_part.c.seq == 2)).scalar_one()
        conn.execute(
            bundle_part.update().where(bundle_part.c.seq == 2).values(record={**record, "region_code": "329999"})
        )
    assert bundles.resume(engine) == {"bundles": 1, "dispatched": 2, "waiting": 1}
    before = sizes(engine)
    assert bundles.resume(engine) == {"bundles": 1, "dispatched": 0, "waiting": 1}
    assert sizes(engine) == before  # the processed message is not sent through the pipeline again
    assert status(engine, "CS20240601-0006") == ("待分发", False)
    body = json.dumps({"records": [record]}, ensure_ascii=False).encode("utf-8")  # the window sends it corrected
    standard_pipeline(engine).ingest(io.BytesIO(body), "window", fmt="json", kind="case", message_id="window-fix-1")
    assert bundles.resume(engine) == {"bundles": 1, "dispatched": 1, "waiting": 0}
    assert status(engine, "CS20240601-0006") == ("办理中", False)


def test_a_defective_application_is_refused_whole(engine, depts):
    app = application("CS20240601-0005", seed=5)
    first17 = "32058119900101123"
    wrong = first17 + next(c for c in "0123456789X" if c != idcard.check_char(first17))
    bad = {**app, "applicant_type": "1", "applicant_id_type": "111", "applicant_id_no": wrong}
    with pytest.raises(BundleError, match="refused: part 1: id_check_char") as exc:
        bundles.split(engine, bad)
    assert wrong not in str(exc.value)  # personal data masked
    with pytest.raises(BundleError, match="application: materials"):
        bundles.split(engine, {**app, "materials": "none"})
    assert sizes(engine)["bundle"] == 0 and sizes(engine)["lineage"] == 0


def test_definitions_are_checked_with_file_and_key(tmp_path):
    committed = load_bundles(BUNDLES_FILE, load_systems(SYSTEMS_FILE))
    assert all(len(b.parts) >= 2 for b in committed.values())
    doc = yaml.safe_load(BUNDLES_FILE.read_text(encoding="utf-8"))
    doc["bundles"][0]["parts"][1]["system"] = "nowhere"
    path = tmp_path / "bundles.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        BundleError, match=rf"{path}: bundles\.TS320585-001\.parts\.1\.system: unknown system 'nowhere'"
    ):
        load_bundles(path, load_systems(SYSTEMS_FILE))
    doc["bundles"][0]["parts"] = doc["bundles"][0]["parts"][:1]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(BundleError, match=r"bundles\.0\.parts: .*at least 2"):
        load_bundles(path, load_systems(SYSTEMS_FILE))
