"""performance_stats — every 15 minutes: bring the performance figures (绩效统计, table
``perf_day``) up to date from what changed since the last run — the cases, evaluations and
supervision records changed since their watermarks and the new hall queue events — and
aggregate again every day they touch, a late correction's old day included (see
hub/domains/performance/refresh.py). Wiring only: the logic lives in the hub."""

from datetime import timedelta

from airflow.sdk import DAG, task

from hub.ops.airflow_support import DEFAULT_ARGS, START, dag_logger, engine, run_failed

log = dag_logger("performance_stats")

with DAG(
    dag_id="performance_stats",
    description="绩效统计: incremental day figures per region, department, item, window and handler",
    schedule=timedelta(minutes=15),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(minutes=14),
    on_failure_callback=run_failed,
    tags=["govhub", "statistics"],
) as dag:

    @task(task_id="refresh")
    def refresh() -> dict:
        from hub.domains.performance.refresh import refresh as run_refresh

        result = run_refresh(engine())
        log.info("performance figures: %s cases read, %s days aggregated again", result["cases"], len(result["days"]))
        return {"cases": result["cases"], "days": len(result["days"])}

    refresh()
