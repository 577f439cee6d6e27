"""reconcile — daily: for yesterday (China Standard Time), compare per item what was
delivered to each receiving platform with what it reports holding; each mismatch is a
discrepancy record (对账). One task group per receiving system."""

from airflow.sdk import DAG, task, task_group

from hub.ops.airflow_support import DEFAULT_ARGS, START, engine, systems_receiving, task_id

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
                from datetime import timedelta

                from hub.core import clock
                from hub.outbound.reconcile import reconcile

                day = (clock.now() - timedelta(days=1)).date()
                counts = reconcile(engine(), peer_id, day)
                print(f"reconcile {peer_id} for {day}: {counts}")
                return counts

            compare_yesterday(peer_id)

        reconcile_group()
