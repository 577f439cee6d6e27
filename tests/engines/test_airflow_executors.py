"""The DAGs under Airflow's real scheduler, not ``airflow dags test``: api-server,
scheduler, dag-processor and triggerer from the project's venv, once with the
LocalExecutor and once with the CeleryExecutor (Redis as the broker, one
``airflow celery worker``). Three DAGs are triggered at once through the REST API
against the sandbox peers on a hub database that ``govhub init`` prepared (as the README
tells an operator); the test waits (bounded) for them, checks the hub's tables and
``job_run``, and that every process it started is gone afterwards."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from hub.core.config import ROOT
from hub.db.engine import engine_for
from hub.db.tables import LIBRARY
from hub.ops.jobs import last_runs
from hub.wiring import standard_pipeline
from sandbox import province_soap, sharing_rest
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.engines.airflow_stack import AirflowStack, airflow_env, free_port, wait_for
from tests.helpers import xml_doc

DAGS = ["item_catalog_sync", "case_report_upward", "reconcile"]
CASES = 25


@pytest.fixture
def peers(catalog):
    """The province's SOAP item catalogue and the sharing platform (receives cases,
    answers reconciliation), both sandbox peers speaking the real protocols."""
    province = province_soap.ProvinceState(username="govhub", password="pw")
    p_base, p_stop = run_in_thread(province_soap.make_app(province))
    sharing = sharing_rest.SharingState()
    s_base, s_stop = run_in_thread(sharing_rest.make_app(sharing, api_key="sharing-key"))
    catalog.update(
        "prov",
        publishes=["item"],
        endpoint=f"soap://{p_base.split('://')[1]}/exchange?username=govhub&password=pw"
        "&pull=GetItemCatalogue&pull.region_code=3205",
    )
    catalog.add(
        {
            "id": "sz-sharing",
            "name": "苏州市政务数据共享平台",
            "level": "city",
            "region_code": "320500",
            "receives": ["case"],
            "endpoint": f"rest://{s_base.split('://')[1]}/api?push_path=/case&api_key_env=SHARING_KEY&retries=0",
        }
    )
    yield province, sharing
    p_stop()
    s_stop()


def _hub(pg_database, tmp_path) -> dict[str, str]:
    """The hub's settings for every Airflow process, and `govhub init` run first."""
    env = {
        "GOVHUB_DB_URL": pg_database,
        "GOVHUB_HOME": str(tmp_path / "hub-home"),
        "GOVHUB_DAG_RETRIES": "0",
        "SHARING_KEY": "sharing-key",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli", "init"],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    cases = [r for r, _ in Generator(seed=81, departments=["常熟市行政审批局"]).records("case", CASES)]
    standard_pipeline(engine_for(pg_database)).ingest(io.BytesIO(xml_doc(cases, message_id="engines-1")), "dept-a")
    return env


@pytest.mark.parametrize("executor", ["LocalExecutor", "CeleryExecutor"])
def test_dags_run_under_the_real_scheduler(executor, request, airflow_meta_db, pg_database, peers, tmp_path):
    started = time.monotonic()
    province, sharing = peers
    extra = _hub(pg_database, tmp_path)
    if executor == "CeleryExecutor":
        broker = request.getfixturevalue("celery_redis")
        extra |= {"AIRFLOW__CELERY__BROKER_URL": broker, "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2"}
    home = tmp_path / "airflow"
    home.mkdir()
    port = free_port()
    stack = AirflowStack(
        home, airflow_env(home, airflow_meta_db, executor, port, extra), port, executor == "CeleryExecutor"
    )
    try:
        stack.start()
        stack.ready(DAGS)
        runs = {d: stack.trigger(d) for d in DAGS}  # all three at once
        states = stack.wait_runs(runs, timeout=300)
        failed = {d: stack.task_states(d, runs[d]) for d, s in states.items() if s != "success"}
        assert not failed, (failed, stack.logs(stack.procs))
        tasks = sum(len(stack.task_states(d, r)) for d, r in runs.items())
        if stack.celery:  # the tasks really went through the broker to the Celery worker

            def worker_done() -> bool:  # Celery logs a task's end just after the task reported it
                log = (home / "celery-worker.log").read_text("utf-8", "replace")
                return len(re.findall(r"Task execute_workload\[[-\w]+\] succeeded", log)) == tasks

            wait_for(f"the Celery worker to log {tasks} tasks succeeded", worker_done, 30, every=0.5)
    finally:
        leftover = stack.stop()
    assert leftover == [], f"process groups still alive after stop: {leftover}"

    engine = engine_for(pg_database)
    with engine.connect() as conn:
        items = conn.execute(select(func.count()).select_from(LIBRARY["item"])).scalar_one()
    assert items == len(province.items) > 0
    assert sorted(sharing.cases) == sorted(
        r["case_no"] for r, _ in Generator(seed=81, departments=["常熟市行政审批局"]).records("case", CASES)
    )
    jobs = {r["job"]: r for r in last_runs(engine)}
    for job in (
        "item_catalog_sync.prov.pull_and_diff",
        "case_report_upward.sz_sharing.deliver",
        "reconcile.sz_sharing.compare_yesterday",
    ):
        assert jobs[job]["successes"] >= 1 and jobs[job]["failures"] == 0 and jobs[job]["last_success_at"], jobs
    print(f"\n{executor}: 3 DAG runs succeeded in {time.monotonic() - started:.0f} s (start to stop)")
