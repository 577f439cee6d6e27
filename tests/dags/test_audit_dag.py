"""The ``audit_checkpoint_verify`` DAG (issue #21) runs with ``airflow dags test`` against this
test's hub database: it signs the exchange log's head and verifies the run's yesterday;
after an entry of yesterday is altered, the task fails at that seq and the failure counts."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select, text

from hub.audit.signing import generate_identity
from hub.db.tables import exchange_log
from hub.ops.jobs import last_runs
from hub.ops.metrics import VERIFY_JOB
from hub.wiring import standard_pipeline
from tests.helpers import xml_doc
from tests.integration.test_rest_ingress import cases_of

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_checkpoint_verify_dag_verifies_yesterday_and_fails_at_a_break(
    run_dag, engine, tmp_path, clock, monkeypatch
):
    monkeypatch.setenv("GOVHUB_HOME", str(tmp_path / "home"))  # the DAG's home: the object store it checks
    today = clock.now().date()
    clock.set(datetime.combine(today - timedelta(days=1), time(10)))  # 02:00 UTC yesterday
    pipe = standard_pipeline(engine)
    for i in range(3):
        doc = xml_doc([r for r, _ in cases_of("常熟市行政审批局", 2, seed=120 + i)], message_id=f"y{i}")
        pipe.ingest(io.BytesIO(doc), "dept-a", channel="cli")
    clock.set(datetime.combine(today, time(10)))
    generate_identity("govhub-dag", tmp_path / "audit")
    env = {
        "GOVHUB_AUDIT_KEY_FILE": str(tmp_path / "audit" / "audit-key.pem"),
        "GOVHUB_AUDIT_CERT_FILE": str(tmp_path / "audit" / "audit-cert.pem"),
    }
    proc = run_dag("audit_checkpoint_verify", **env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "state=success" in out, out[-4000:]
    assert "3 entries hold, checkpoint at seq 3" in out, out[-4000:]

    with engine.begin() as conn:
        conn.execute(text("UPDATE exchange_log SET message_id = 'rewritten' WHERE seq = 2"))
    proc = run_dag("audit_checkpoint_verify", **env)
    out = proc.stdout + proc.stderr
    assert "the exchange log breaks at seq 2" in out and "state=success" not in out, out[-4000:]
    runs = {r["job"]: r for r in last_runs(engine)}
    assert runs[VERIFY_JOB]["failures"] == 1 and runs[VERIFY_JOB]["successes"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(exchange_log.c.message_id).where(exchange_log.c.seq == 2)).scalar() == "rewritten"
