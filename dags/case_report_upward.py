"""case_report_upward — every 5 minutes: report new and changed cases to each platform
that receives them, by a watermark that advances only past acknowledged records; reruns
and overlapping runs send nothing twice (see hub/reporting.py). A run that has not
finished 10 minutes after it started is failed by ``dagrun_timeout`` and raises the
deadline alert (``on_failure_callback``). Airflow 3.3's own DeadlineAlert is not used:
with it, ``airflow dags test`` crashes after a successful run (deadline_alert lookup)."""

from datetime import timedelta

from airflow.sdk import DAG, task, task_group

from hub.airflow_support import DEFAULT_ARGS, START, endpoint, engine, run_failed, systems_receiving, task_id

with DAG(
    dag_id="case_report_upward",
    description="办件融通上报: incremental case reporting to city/province platforms",
    schedule=timedelta(minutes=5),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(minutes=10),
    on_failure_callback=run_failed,
    tags=["govhub", "reporting"],
) as dag:
    for peer in systems_receiving("case"):

        @task_group(group_id=task_id(peer.id))
        def report_group(peer_id=peer.id):
            @task(task_id="queue_changes")
            def queue_changes(peer_id: str) -> int:
                from hub import reporting

                n = reporting.enqueue_changes(engine(), peer_id, "case")
                print(f"queued {n} changed cases for {peer_id}")
                return n

            @task(task_id="deliver")
            def deliver(peer_id: str, queued: int) -> dict:
                from hub.delivery import Deliverer

                d = Deliverer(engine(), resolve=endpoint)
                try:
                    done = dict(d.run_once(peer_id))
                finally:
                    d.close()
                print(f"delivered to {peer_id}: {done}")
                if done.get("retry"):
                    raise RuntimeError(f"{peer_id} is not accepting deliveries ({done}); they stay queued")
                return done

            @task(task_id="advance_watermark", trigger_rule="all_done")
            def advance(peer_id: str) -> str | None:
                from hub import reporting

                at = reporting.advance_acknowledged(engine(), peer_id, "case")
                print(f"acknowledged through {at}")
                return at.isoformat() if at else None

            delivered = deliver(peer_id, queue_changes(peer_id))
            delivered >> advance(peer_id)

        report_group()
