"""reconcile — daily: for the run's yesterday (China Standard Time: the day before the
run's data interval ends, so a re-run of an old run checks that run's day), compare per item what was
delivered to each receiving platform with what it reports holding; each mismatch is a
discrepancy record (对账). One task group per receiving system."""

from airflow.sdk import DAG, task, task_group

from hub.ops.airflow_support import DEFAULT_ARGS, START, dag_logger, engine, run_day, systems_receiving, task_id

log = dag_logger("reconcile")

with DAG(
    dag_id="reconcile",
    description="对账: per item and day, what we sent vs what the peer holds",
    schedule="@daily",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["govhub", "reporting"],
) as dag:
    for peer in systems_receiving("case"):

        @task_group(group_id=task_id(peer.id))
        def reconcile_group(peer_id=peer.id):
            @task(task_id="compare_yesterday")
            def compare_yesterday(peer_id: str) -> dict:
                from hub.outbound.reconcile import reconcile

                day = run_day(days_back=1)
                counts = reconcile(engine(), peer_id, day)
                log.info("reconcile %s for %s: %s", peer_id, day, counts)
                return counts

            compare_yesterday(peer_id)

        reconcile_group()
