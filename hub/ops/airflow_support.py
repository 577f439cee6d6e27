"""What the DAG files share: default arguments, which catalogue systems each DAG loops
over, and late resolution of endpoints (an Airflow connection ``govhub_<system id>``,
when defined, overrides the catalogue's endpoint — so operators can repoint a peer from
the Airflow UI or ``AIRFLOW_CONN_GOVHUB_<ID>`` without editing the catalogue).

Nothing here opens a connection at import; DAG files call these at parse time only to
read the catalogue (a local file) and inside tasks for everything else. Tasks never use
Airflow's metadata database.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from hub.catalog.systems import get_system, systems
from hub.core import clock
from hub.core.config import load_settings
from hub.db.engine import engine_for, ensure_schema
from hub.ops.jobs import record
from hub.ops.logs import install_masking

log = logging.getLogger("govhub.airflow")


def dag_logger(dag_id: str) -> logging.Logger:
    """The logger a DAG file's tasks write to (``govhub.dags.<dag_id>``): it reaches the
    task log like Airflow's own, and every record is masked (``engine()`` installs that)."""
    return logging.getLogger(f"govhub.dags.{dag_id}")


def run_time(context=None) -> datetime:
    """The time the current DAG run is for, as naive CST (the hub's time).

    The end of the run's data interval: with Airflow 3's default cron timetable
    (CronTriggerTimetable) that is its logical date, the moment it was scheduled for;
    with an interval timetable, the moment its interval closed and the run became due.
    Else the logical date, else the run's ``run_after`` (a manual run may have no logical
    date), else the hub clock. So re-running an old run (``airflow tasks clear``,
    ``airflow dags test DAG DATE``) works on that run's time, not on today's."""
    if context is None:
        from airflow.sdk import get_current_context  # deferred: Airflow is there only inside a task

        context = get_current_context()
    run = context.get("dag_run")
    for value in (context.get("data_interval_end"), context.get("logical_date"), getattr(run, "run_after", None)):
        if value is not None:
            return _cst(value)
    return clock.now()


def run_day(context=None, days_back: int = 0) -> date:
    """The CST date of :func:`run_time`, ``days_back`` days earlier (1: the run's
    "yesterday", the day a daily job checks)."""
    return (run_time(context) - timedelta(days=days_back)).date()


def _cst(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # Airflow's times are UTC
        value = value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(value.timestamp(), clock.CST).replace(tzinfo=None)


def task_succeeded(context) -> None:
    """Task callback: the job's last success, for the DAG-freshness metric (hub.ops.jobs)."""
    _record_job(context, ok=True)


def task_failed(context) -> None:
    _record_job(context, ok=False)


def _record_job(context, ok: bool) -> None:
    ti = context.get("task_instance") or context.get("ti")
    job = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
    try:
        record(engine(), job, ok, None if ok else str(context.get("exception") or "failed"))
    except Exception as exc:  # noqa: BLE001 — bookkeeping never fails a task; the metric goes stale and alerts
        log.warning("could not record %s of %s: %s", "success" if ok else "failure", job, type(exc).__name__)


DEFAULT_ARGS = {
    "owner": "govhub",
    "on_success_callback": task_succeeded,
    "on_failure_callback": task_failed,
    "retries": load_settings().dag_retries,  # 0 in tests that provoke a failure
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}
# The earliest logical date a run may have. Runs are not caught up (catchup=False), so this
# only bounds which old runs can be (re-)run: a run checks its own day (run_day), and a
# run dated before START would do nothing.
START = datetime(2024, 1, 1)


def systems_publishing(kind: str):
    return [s for s in systems().values() if kind in s.publishes]


def systems_receiving(kind: str):
    return [s for s in systems().values() if kind in s.receives]


def task_id(system_id: str) -> str:
    return system_id.replace("-", "_")


def engine():
    """The hub database, for use inside a task (migrated only when behind: ``govhub init``
    migrates it before the DAGs run; tasks starting at once take turns under a lock)."""
    install_masking()  # the task log is Airflow's: mask what reaches it
    settings = load_settings()
    ensure_schema(settings.db_url)
    return engine_for(settings.db_url)


def endpoint(system_id: str) -> str:
    """The adapter URL for a system: the Airflow connection ``govhub_<id>`` if one exists
    (its URI is used as it is), else the catalogue's endpoint."""
    conn_id = f"govhub_{task_id(system_id)}"
    try:
        from airflow.sdk import BaseHook  # deferred: Airflow is there only inside Airflow (optional)

        return BaseHook.get_connection(conn_id).get_uri()
    except Exception:  # noqa: BLE001 — no such connection: the catalogue decides
        url = get_system(system_id).endpoint
        if not url:
            raise ValueError(
                f"system {system_id} has no endpoint: set it in the catalogue or define the Airflow "
                f"connection {conn_id}"
            ) from None
        return url


def run_failed(context) -> None:
    """DAG-level failure callback: a run that failed or ran past its ``dagrun_timeout``
    (the deadline) is an alert for the data engineers — records may reach the province late."""
    run = context.get("dag_run")
    reason = context.get("reason") or "failed"
    log.error(
        "ALERT %s run %s %s: records it should move may reach the peer late; see the task logs",
        getattr(run, "dag_id", "?"),
        getattr(run, "run_id", "?"),
        reason,
    )
