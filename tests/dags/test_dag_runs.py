"""Each DAG runs to success with ``airflow dags test`` (SQLite metadata DB) against the
sandbox peers and this test's hub database."""

from __future__ import annotations

import copy
import io

import pytest
from sqlalchemy import func, select

from hub.db.tables import LIBRARY, delivery, outbox
from hub.domains import items as catalogue
from hub.ops.jobs import last_runs
from hub.wiring import standard_pipeline
from sandbox import dept_rest, province_soap
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import xml_doc

pytestmark = pytest.mark.slow


def _ok(proc):
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    assert "state=success" in proc.stdout + proc.stderr, (proc.stdout[-2000:], proc.stderr[-3000:])


def _count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_item_catalog_sync_dag(run_dag, catalog, engine):
    state = province_soap.ProvinceState(username="govhub", password="pw")
    base, stop = run_in_thread(province_soap.make_app(state))
    try:
        catalog.update(
            "prov",
            publishes=["item"],
            endpoint=f"soap://{base.split('://')[1]}/exchange?username=govhub&password=pw"
            "&pull=GetItemCatalogue&pull.region_code=3205",
        )
        _ok(run_dag("item_catalog_sync"))
        items = _count(engine, LIBRARY["item"])
        events = _count(engine, outbox)
        assert items == len(state.items)
        _ok(run_dag("item_catalog_sync"))  # a second run: no new version, no new event
        assert _count(engine, LIBRARY["item"]) == items and _count(engine, outbox) == events
        changed = copy.deepcopy(state.items)
        target = next(i for i in changed if i["status"] == "在用")
        target["item_version"] = str(int(target["item_version"]) + 1)
        target["place"] = "太仓市政务服务中心一楼"
        state.items = changed
        _ok(run_dag("item_catalog_sync"))
        diff = catalogue.diff_versions(
            engine, target["item_code"], str(int(target["item_version"]) - 1), target["item_version"]
        )
        assert diff["place"]["to"] == "太仓市政务服务中心一楼"
        # each successful task recorded itself for the DAG-freshness metric (hub.ops.jobs)
        runs = {r["job"]: r for r in last_runs(engine)}  # <dag_id>.<task_id> (group.task)
        job = runs["item_catalog_sync.prov.pull_and_diff"]
        assert job["successes"] == 3 and job["failures"] == 0 and job["last_success_at"]
    finally:
        stop()


def test_case_report_dag_sends_every_case_once_after_an_outage(run_dag, catalog, engine, monkeypatch, clock):
    from datetime import timedelta

    import hub.outbound.reporting as reporting

    monkeypatch.setattr(reporting, "SETTLE", timedelta(0))
    state = dept_rest.DeptState()
    base, stop = run_in_thread(dept_rest.make_app(state, api_key="prov-in"))
    try:
        catalog.update(
            "prov",
            receives=["case"],
            endpoint=f"rest://{base.split('://')[1]}/api?push_path=/case&api_key_env=GOVHUB_TEST_PROV_IN&retries=0",
        )
        cases = [r for r, _ in Generator(seed=81, departments=["常熟市行政审批局"]).records("case", 25)]
        monkeypatch.setenv("GOVHUB_TEST_PROV_IN", "prov-in")
        standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="dag-1")), "dept-a")
        clock.advance(seconds=2.1)  # the DAG process applies the normal settle time
        state.mode = "down"
        failed = run_dag("case_report_upward", GOVHUB_TEST_PROV_IN="prov-in")
        assert "state=failed" in failed.stdout + failed.stderr
        assert state.received == [] and _count(engine, delivery, delivery.c.status == "pending") == 25
        state.mode = "up"
        _ok(run_dag("case_report_upward", GOVHUB_TEST_PROV_IN="prov-in"))
        got = state.case_numbers()
        assert sorted(got) == sorted(c["case_no"] for c in cases) and len(got) == len(set(got))
        _ok(run_dag("case_report_upward", GOVHUB_TEST_PROV_IN="prov-in"))  # a rerun sends nothing
        assert len(state.received) == 25
    finally:
        stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_library_refresh_reconcile_licence_bundle_and_supervision_dags(run_dag, catalog, engine, monkeypatch, clock):
    """The other five DAGs run to success against the sandbox sharing platform and a
    sandbox province licence library, and move what they should."""
    from sandbox import sharing_rest

    sharing = sharing_rest.SharingState()
    people = [r for r, _ in Generator(seed=91).records("person", 12)]
    firms = [r for r, _ in Generator(seed=92).records("enterprise", 8)]
    sharing.publish("person", people)
    sharing.publish("enterprise", firms)
    s_base, s_stop = run_in_thread(sharing_rest.make_app(sharing, api_key="sharing-key"))
    licences = dept_rest.DeptState()
    l_base, l_stop = run_in_thread(dept_rest.make_app(licences, api_key="lic-in"))
    env = {"SHARING_KEY": "sharing-key", "LIC_IN": "lic-in"}
    try:
        catalog.add(
            {
                "id": "sz-sharing",  # a writer of the people and enterprise libraries (catalog/precedence.yaml)
                "name": "苏州市政务数据共享平台",
                "level": "city",
                "region_code": "320500",
                "publishes": ["person", "enterprise"],
                "receives": ["case"],
                "endpoint": f"rest://{s_base.split('://')[1]}/api?pull_path=/updates&api_key_env=SHARING_KEY&retries=0",
            }
        )
        catalog.update(
            "prov",
            receives=["licence"],
            endpoint=f"rest://{l_base.split('://')[1]}/api?push_path=/case&api_key_env=LIC_IN&retries=0",
        )

        _ok(run_dag("resource_library_refresh", **env))
        assert _count(engine, LIBRARY["person"]) == 12 and _count(engine, LIBRARY["enterprise"]) == 8
        _ok(run_dag("resource_library_refresh", **env))  # resumes at its cursor: nothing new
        assert _count(engine, LIBRARY["person"]) == 12

        _ok(run_dag("reconcile", **env))

        issued = [r for r, _ in Generator(seed=93, departments=["常熟市行政审批局"]).records("licence", 6)]  # dept-a's
        standard_pipeline(engine).ingest(
            io.BytesIO(xml_doc(issued, "licence", message_id="lic-1")), "dept-a", kind="licence"
        )
        clock.advance(seconds=2.1)  # past the reporting settle time
        _ok(run_dag("licence_sync", **env))
        assert len(licences.received) == 6

        _ok(run_dag("bundle_tracking", **env))

        catalog.add(
            {
                "id": "govhub-supervision",
                "name": "电子监察系统",
                "level": "city",
                "region_code": "320500",
                "may_push": ["supervision"],
            }
        )
        catalog.update("prov", receives=["licence", "supervision"])
        _ok(run_dag("supervision_scan", **env))
    finally:
        s_stop()
        l_stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_data_quality_daily_dag_checks_yesterday(run_dag, engine, tmp_path, clock):
    from datetime import datetime, time, timedelta

    from hub.quality.models import quality_run
    from tests.integration.test_quality_batch import put_library
    from tests.integration.test_quality_daily import _lineage

    yesterday = (clock.now() - timedelta(days=1)).date()
    g = Generator(seed=95, departments=["常熟市行政审批局"])
    put_library(engine, "item", [g.item() for _ in range(len(g._dept_items))], source="prov")
    cases = [g.case() for _ in range(15)]
    put_library(engine, "case", cases, source="dept-a", at=datetime.combine(yesterday, time(10)))
    _lineage(engine, yesterday, [c["case_no"] for c in cases])
    proc = run_dag("data_quality_daily")
    _ok(proc)
    assert "1 source/kind pairs checked, 0 with findings" in proc.stdout + proc.stderr
    with engine.connect() as conn:
        rows = {r.suite: r for r in conn.execute(select(quality_run).where(quality_run.c.day == yesterday))}
    assert set(rows) == {"case", "feed_health"} and rows["case"].success and rows["case"].rows == 15
    # the day's report is written and kept, and it shows the suite results just stored
    html = (tmp_path / "home" / "reports" / "quality" / f"{yesterday.isoformat()}.html").read_text("utf-8")
    assert (
        "数据质量报告" in html
        and (tmp_path / "home" / "reports" / "quality" / f"{yesterday.isoformat()}.json").exists()
    )
