"""When each sync job last succeeded (``job_run``), so monitoring can tell a DAG that
silently stopped moving records (``govhub_job_seconds_since_success``).

Airflow tasks record themselves through the callbacks in ``hub.ops.airflow_support``
(every DAG's ``default_args``), under ``<dag_id>.<task_id>``; CLI jobs may call
``record`` directly. The table is the hub's, so the hub's metrics read it without
touching Airflow's metadata database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Engine, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.core import clock
from hub.db.tables import metadata
from hub.model.masking import mask_text

job_run = Table(
    "job_run",
    metadata,
    Column("job", String(200), primary_key=True, comment="<dag_id>.<task_id>, or a CLI job's name"),
    Column("last_success_at", DateTime(), nullable=True),
    Column("last_failure_at", DateTime(), nullable=True),
    Column("last_error", Text(), nullable=True, comment="masked"),
    Column("successes", BigInteger(), nullable=False, default=0),
    Column("failures", BigInteger(), nullable=False, default=0),
    comment="同步任务最近一次成功/失败",
)


def record(engine: Engine, job: str, ok: bool, error: str | None = None, at: datetime | None = None) -> None:
    at = at or clock.now().replace(microsecond=0)
    with engine.begin() as conn:
        ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(job_run)
        if ok:
            row = {"job": job, "last_success_at": at, "successes": 1, "failures": 0}
            change = {"last_success_at": at, "successes": job_run.c.successes + 1}
        else:
            row = {
                "job": job,
                "last_failure_at": at,
                "last_error": mask_text(error or "")[:2000],
                "successes": 0,
                "failures": 1,
            }
            change = {"last_failure_at": at, "last_error": row["last_error"], "failures": job_run.c.failures + 1}
        conn.execute(ins.values(**row).on_conflict_do_update(index_elements=["job"], set_=change))


def last_runs(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(job_run).order_by(job_run.c.job)).mappings()]
