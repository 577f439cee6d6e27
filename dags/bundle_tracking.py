"""bundle_tracking — every 5 minutes: finish any bundle (套餐) split that a crash
interrupted, then derive each open bundle's status from its parts' cases and publish
the changes (see hub/domains/bundles.py)."""

from datetime import timedelta

from airflow.sdk import DAG, task

from hub.ops.airflow_support import DEFAULT_ARGS, START, dag_logger, engine

log = dag_logger("bundle_tracking")

with DAG(
    dag_id="bundle_tracking",
    description="套餐: resume interrupted splits, join part statuses into bundle status",
    schedule=timedelta(minutes=5),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["govhub", "bundles"],
) as dag:

    @task(task_id="resume_splits")
    def resume_splits() -> dict:
        from hub.domains.bundles import resume

        counts = resume(engine())
        log.info("bundle splits resumed: %s", counts)
        return counts

    @task(task_id="join_parts")
    def join_parts() -> dict:
        from hub.domains.bundles import join

        counts = join(engine())
        log.info("bundle statuses: %s", counts)
        return counts

    resume_splits() >> join_parts()
