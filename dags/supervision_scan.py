"""supervision_scan — every 5 minutes: re-evaluate open cases (and those concluded since
the last scan) with the monitoring rules (catalog/monitoring_rules.yaml), raising each
supervision record once (see hub/domains/supervision/scan.py), then report new and changed
supervision records to each platform that receives them, by a watermark that advances
only past acknowledged records (see hub/outbound/reporting.py)."""

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

log = dag_logger("supervision_scan")

with DAG(
    dag_id="supervision_scan",
    description="电子监察: monitoring-rule scan and supervision reporting upward",
    schedule=timedelta(minutes=5),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(minutes=10),
    on_failure_callback=run_failed,
    tags=["govhub", "supervision", "reporting"],
) as dag:

    @task(task_id="scan")
    def scan() -> dict:
        from hub.domains.supervision.scan import scan as run_scan

        result = run_scan(engine())
        log.info(
            "supervision scan: %s cases, %s findings, %s raised", result["cases"], result["findings"], result["raised"]
        )
        return {k: v for k, v in result.items() if k != "supervision_nos"}

    scanned = scan()

    for peer in systems_receiving("supervision"):

        @task_group(group_id=task_id(peer.id))
        def report_group(peer_id=peer.id):
            @task(task_id="queue_changes")
            def queue_changes(peer_id: str) -> int:
                from hub.outbound import reporting

                n = reporting.enqueue_changes(engine(), peer_id, "supervision")
                log.info("queued %s changed supervision records for %s", n, peer_id)
                return n

            @task(task_id="deliver")
            def deliver(peer_id: str, queued: int) -> dict:
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
            def advance(peer_id: str) -> str | None:
                from hub.outbound import reporting

                at = reporting.advance_acknowledged(engine(), peer_id, "supervision")
                log.info("acknowledged through %s", at)
                return at.isoformat() if at else None

            queued = queue_changes(peer_id)
            delivered = deliver(peer_id, queued)
            delivered >> advance(peer_id)

        scanned >> report_group()
