"""case_report_upward — every 5 minutes: report new and changed cases (and evaluations,
好差评, where the peer receives them) to each platform that receives them, by a watermark
that advances only past acknowledged records; reruns and overlapping runs send nothing
twice (see hub/outbound/reporting.py). A run that has not finished 10 minutes after it started is
failed by ``dagrun_timeout`` and raises the deadline alert (``on_failure_callback``).
Airflow 3.3's own DeadlineAlert is not used: with it, ``airflow dags test`` crashes after
a successful run (deadline_alert lookup)."""

from datetime import timedelta

from airflow.sdk import DAG, task, task_group

from hub.ops.airflow_support import (
    DEFAULT_ARGS,
    START,
    dag_logger,
    endpoint,
    engine,
    run_failed,
    systems_receiving,
    task_id,
)

log = dag_logger("case_report_upward")

KINDS = ("case", "evaluation")
PEERS = {p.id: p for kind in KINDS for p in systems_receiving(kind)}

with DAG(
    dag_id="case_report_upward",
    description="办件融通上报: incremental case (and 好差评) reporting to city/province platforms",
    schedule=timedelta(minutes=5),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(minutes=10),
    on_failure_callback=run_failed,
    tags=["govhub", "reporting"],
) as dag:
    for peer in PEERS.values():

        @task_group(group_id=task_id(peer.id))
        def report_group(peer_id=peer.id, kinds=tuple(k for k in KINDS if k in peer.receives)):
            @task(task_id="queue_changes")
            def queue_changes(peer_id: str, kinds: tuple) -> dict:
                from hub.outbound import reporting

                queued = {kind: reporting.enqueue_changes(engine(), peer_id, kind) for kind in kinds}
                log.info("queued for %s: %s", peer_id, queued)
                return queued

            @task(task_id="deliver")
            def deliver(peer_id: str, queued: dict) -> dict:
                from hub.outbound.delivery import Deliverer

                d = Deliverer(engine(), resolve=endpoint)
                try:
                    done = dict(d.run_once(peer_id))
                finally:
                    d.close()
                log.info("delivered to %s: %s", peer_id, done)
                if done.get("retry"):
                    raise RuntimeError(f"{peer_id} is not accepting deliveries ({done}); they stay queued")
                return done

            @task(task_id="advance_watermark", trigger_rule="all_done")
            def advance(peer_id: str, kinds: tuple) -> dict:
                from hub.outbound import reporting

                marks = {kind: reporting.advance_acknowledged(engine(), peer_id, kind) for kind in kinds}
                log.info("acknowledged through %s", marks)
                return {k: v.isoformat() if v else None for k, v in marks.items()}

            delivered = deliver(peer_id, queue_changes(peer_id, kinds))
            delivered >> advance(peer_id, kinds)

        report_group()
