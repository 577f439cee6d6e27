"""audit_checkpoint_verify — daily: sign the exchange log's head (存证检查点), then verify the
run's yesterday (UTC) — entries, links, checkpoints, stored bytes. A break fails the task and
counts in govhub_exchange_log_verify_failures_total. Logic: hub.ops.audit_checks."""

from airflow.sdk import DAG, task

from hub.ops.airflow_support import DEFAULT_ARGS, START, dag_logger, engine, run_day

log = dag_logger("audit_checkpoint_verify")

with DAG(
    dag_id="audit_checkpoint_verify",
    description="存证: sign the exchange log's head and verify yesterday's segment",
    schedule="@daily",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["govhub", "audit"],
) as dag:

    @task(task_id="verify_yesterday")
    def verify_yesterday() -> dict:
        from hub.ops.audit_checks import checkpoint_and_verify

        day = run_day(days_back=1)
        result = checkpoint_and_verify(engine(), day)
        log.info(
            "exchange log %s: %s entries hold, checkpoint at seq %s", day, result["checked"], result["checkpoint_seq"]
        )
        return result

    verify_yesterday()
