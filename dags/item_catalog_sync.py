"""item_catalog_sync — daily (and on demand): pull the item catalogue (事项库) from each
system that publishes it, store new versions only where something changed, publish
new / changed / withdrawn events. One task group per publishing system."""

from airflow.sdk import DAG, task, task_group

from hub.ops.airflow_support import DEFAULT_ARGS, START, dag_logger, endpoint, engine, systems_publishing, task_id

log = dag_logger("item_catalog_sync")

with DAG(
    dag_id="item_catalog_sync",
    description="事项库同步: pull the province item catalogue, version and diff it",
    schedule="@daily",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["govhub", "catalogue"],
) as dag:
    for system in systems_publishing("item"):

        @task_group(group_id=task_id(system.id))
        def sync_group(system_id=system.id):
            @task(task_id="pull_and_diff")
            def pull_and_diff(system_id: str) -> dict:
                from adapters.registry import open_adapter
                from hub.domains import items as catalogue

                with open_adapter(endpoint(system_id)) as adapter:
                    counts = catalogue.sync_items(engine(), system_id, adapter=adapter)
                log.info("item catalogue from %s: %s", system_id, counts)
                return counts

            pull_and_diff(system_id)

        sync_group()
