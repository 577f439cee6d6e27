# Airflow 3.3 with the hub installed, so the DAGs in dags/ import `hub` in every Airflow
# component (api-server, scheduler, dag-processor, triggerer, celery workers).
# The official image brings the Celery and PostgreSQL providers the CeleryExecutor needs.
# Build from the repository root:  docker build -f docker/airflow.Dockerfile -t govhub/airflow .
FROM apache/airflow:3.3.2-python3.11

USER root
COPY --chown=airflow:0 pyproject.toml constraints.txt README.md /opt/govhub/
COPY --chown=airflow:0 hub /opt/govhub/hub
COPY --chown=airflow:0 adapters /opt/govhub/adapters
COPY --chown=airflow:0 devices /opt/govhub/devices
COPY --chown=airflow:0 govhub_verify /opt/govhub/govhub_verify
COPY --chown=airflow:0 schemas /opt/govhub/schemas
COPY --chown=airflow:0 mappings /opt/govhub/mappings
COPY --chown=airflow:0 catalog /opt/govhub/catalog
COPY --chown=airflow:0 dags /opt/airflow/dags
USER airflow
# Editable, so the hub finds schemas/, mappings/ and catalog/ beside its code.
# Keep the image's Airflow exactly at the version the hub is tested with, and the Celery
# provider and celery at the set tests/engines runs (the airflow-celery extra: celery 5.7.0
# with provider 3.26.0 crashes at start).
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -c /opt/govhub/constraints.txt -e "/opt/govhub[airflow-celery]"
