"""data_quality_daily — daily: for the run's yesterday (China Standard Time: the day
before the run's data interval ends, so a re-run of an old run checks that run's day), run each kind's
expectation suite on the day's stored records per source system, and the feed-health
checks (silent source, volume drop/jump, null-rate and quarantine-rate jumps) against the
trailing 30 days; results go to ``quality_run`` (see hub/quality/daily.py, docs/quality.md).

Messages ingested with ``GOVHUB_QUALITY_BATCH=deferred`` get their batch checks first.
Then the day's quality report (数据质量报告, HTML and JSON) is written and kept under
``$GOVHUB_HOME/reports/quality/<day>.html`` (see hub/quality/report.py)."""

from airflow.sdk import DAG, task

from hub.ops.airflow_support import DEFAULT_ARGS, START, dag_logger, engine, run_day, run_failed

log = dag_logger("data_quality_daily")

with DAG(
    dag_id="data_quality_daily",
    description="数据质量: daily suites and feed health per source system",
    schedule="@daily",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    on_failure_callback=run_failed,
    tags=["govhub", "quality"],
) as dag:

    @task(task_id="check_pending_messages")
    def check_pending_messages() -> dict:
        from hub.quality.batch import check_pending

        checked, failed = check_pending(engine())
        log.info("batch checks of deferred messages: %s checked, %s with failed expectations", checked, failed)
        return {"checked": checked, "failed": failed}

    @task(task_id="check_yesterday")
    def check_yesterday() -> dict:
        from hub.quality.daily import check_day

        day = run_day(days_back=1)
        summaries = check_day(engine(), day)
        failed = [s for s in summaries if s["suite_failed"] or s["feed_failed"]]
        log.info(
            "data quality for %s: %d source/kind pairs checked, %d with findings", day, len(summaries), len(failed)
        )
        for s in failed:
            log.info("  %s/%s: suite %s feed %s", s["source_system"], s["kind"], s["suite_failed"], s["feed_failed"])
        return {"day": day.isoformat(), "pairs": len(summaries), "with_findings": len(failed)}

    @task(task_id="write_report")
    def write_report(checked: dict) -> dict:
        from datetime import date

        from hub.core.config import load_settings
        from hub.quality.report import daily_dir, write_daily

        html_path, json_path = write_daily(
            engine(), daily_dir(load_settings().home), date.fromisoformat(checked["day"])
        )
        log.info("quality report for %s: %s", checked["day"], html_path)
        return {"html": str(html_path), "json": str(json_path)}

    checked = check_yesterday()
    check_pending_messages() >> checked
    write_report(checked)
