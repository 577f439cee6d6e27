"""licence_sync — hourly: keep the licence catalogue (证照目录) versioned from
catalog/licence_catalogue.yaml, send locally issued licences to each system that
receives them (the province licence library), and raise expiry reminders as events
30 and 7 days before a licence expires (once per licence and threshold)."""

from datetime import timedelta

from airflow.sdk import DAG, task, task_group

from hub.ops.airflow_support import DEFAULT_ARGS, START, dag_logger, endpoint, engine, systems_receiving, task_id

log = dag_logger("licence_sync")

with DAG(
    dag_id="licence_sync",
    description="电子证照同步: catalogue versions, sync to the province library, expiry reminders",
    schedule=timedelta(hours=1),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["govhub", "licences"],
) as dag:

    @task(task_id="load_catalogue")
    def load_catalogue() -> dict:
        from hub.domains.licences import load_catalogue

        counts = load_catalogue(engine())
        log.info("licence catalogue: %s", counts)
        return counts

    @task(task_id="expiry_reminders")
    def expiry_reminders() -> dict:
        from hub.domains.licences import expiry_reminders

        counts = expiry_reminders(engine())
        log.info("expiry reminders: %s", counts)
        return counts

    catalogue = load_catalogue()
    catalogue >> expiry_reminders()
    for peer in systems_receiving("licence"):

        @task_group(group_id=task_id(peer.id))
        def sync_group(peer_id=peer.id):
            @task(task_id="send_licences")
            def send_licences(peer_id: str) -> dict:
                from hub.domains.licences import sync_to_province
                from hub.outbound.delivery import Deliverer

                d = Deliverer(engine(), resolve=endpoint)
                try:
                    result = sync_to_province(d.engine, peer_id, deliverer=d)
                finally:
                    d.close()
                log.info("licences to %s: %s", peer_id, result)
                return result

            send_licences(peer_id)

        catalogue >> sync_group()
