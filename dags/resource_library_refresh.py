"""resource_library_refresh — hourly: pull person and enterprise (and project) updates
from each system that publishes them (the sharing platform), merge them field by field
by catalog/precedence.yaml, keep history, record conflicts. One task group per system."""

from datetime import timedelta

from airflow.sdk import DAG, task, task_group

from hub.ops.airflow_support import DEFAULT_ARGS, START, dag_logger, endpoint, engine, systems_publishing, task_id

log = dag_logger("resource_library_refresh")

SOURCES = {s.id: s for kind in ("person", "enterprise", "project") for s in systems_publishing(kind)}

with DAG(
    dag_id="resource_library_refresh",
    description="资源库更新: merge people/enterprise updates from the sharing platform by field precedence",
    schedule=timedelta(hours=1),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["govhub", "libraries"],
) as dag:
    for system in SOURCES.values():

        @task_group(group_id=task_id(system.id))
        def refresh_group(system_id=system.id):
            @task(task_id="merge_updates")
            def merge_updates(system_id: str) -> dict:
                from adapters.registry import open_adapter
                from hub.domains.libraries.merge import refresh, stored_cursor

                db = engine()
                cursor = stored_cursor(db, system_id)
                with open_adapter(endpoint(system_id), **({"cursor": cursor} if cursor else {})) as adapter:
                    counts = refresh(db, system_id, adapter=adapter)
                log.info("library refresh from %s: %s", system_id, counts)
                return counts

            merge_updates(system_id)

        refresh_group()
