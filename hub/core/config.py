"""Settings, read from the environment once.

| variable | default | meaning |
|---|---|---|
| ``GOVHUB_HOME`` | ``./var`` | where the embedded database, bus and reports live |
| ``GOVHUB_DB_URL`` | ``sqlite:///$GOVHUB_HOME/govhub.db`` | SQLAlchemy URL of the hub database (``postgresql+psycopg://...`` in production) |
| ``GOVHUB_BROKER_URL`` | ``govhub+sqlite:///$GOVHUB_HOME/bus.db`` | kombu URL of the bus (``amqp://...`` for RabbitMQ) |
| ``GOVHUB_BATCH_SIZE`` | ``2000`` | records per database transaction in the pipeline |
| ``GOVHUB_BUS_VISIBILITY_TIMEOUT`` | ``300`` | embedded bus: seconds before an unacknowledged message is delivered again |
| ``GOVHUB_LOG_FORMAT`` | ``text`` | ``json``: one JSON object per log line, with the correlation id (see ``hub.ops.logs``) |
| ``GOVHUB_QUALITY_BATCH`` | ``on`` | batch quality suite after each ingested message: ``on``, ``deferred`` (``govhub quality batch --pending``) or ``off`` |
| ``GOVHUB_BUS_PARTITIONS`` | ``4`` on RabbitMQ, ``1`` embedded | inbound partitions (queues ``govhub.inbound.<i>``), keyed by case; see docs/scaleout.md |
| ``GOVHUB_LOG_LEVEL`` | ``WARNING`` | log level of the CLI and of a server process uvicorn spawned (``--log-level`` wins) |
| ``GOVHUB_METRICS`` | ``on`` | ``off`` (or ``0``, ``false``, ``no``) removes ``/metrics`` from the API (see ``hub.ops.metrics``) |
| ``GOVHUB_METRICS_TOKEN`` | unset | bearer token Prometheus sends to ``/metrics`` (API and worker); without it only an administrator's ``X-Api-Key`` reads the API's ``/metrics`` (``hub.api.metrics_auth``) |
| ``GOVHUB_DOCS`` | ``off`` | ``on`` (or ``1``) serves ``/docs`` and ``/openapi.json``; off in production |
| ``GOVHUB_CURSOR_KEY`` | ``govhub-cursor-v1`` | signs pull cursors (``hub.api.cursor``); the same on every API replica |
| ``GOVHUB_PERSON_KEY`` | ``$GOVHUB_HOME/person.key`` | key of the person hashes of hall device events (``devices.events``) |
| ``GOVHUB_DAG_RETRIES`` | ``2`` | retries of a failed Airflow task (``hub.ops.airflow_support``) |
| ``GOVHUB_CATALOG`` | ``catalog/systems.yaml`` | the connected systems (``hub.catalog.systems``) |
| ``GOVHUB_HALLS`` | ``catalog/halls.yaml`` | the halls whose devices may send (``devices.halls``) |
| ``GOVHUB_BUNDLES`` | ``catalog/bundles.yaml`` | bundle definitions (``hub.domains.bundles``) |
| ``GOVHUB_PRECEDENCE`` | ``catalog/precedence.yaml`` | field precedence of the resource libraries (``hub.domains.libraries.precedence``) |
| ``GOVHUB_LICENCE_CATALOGUE`` | ``catalog/licence_catalogue.yaml`` | the licence catalogue 证照目录 (``hub.domains.licences``) |
| ``GOVHUB_NOTIFICATION_TEMPLATES`` | ``catalog/notification_templates.yaml`` | SMS templates (``hub.domains.notifications``) |
| ``GOVHUB_QUALITY_REASONS`` | ``catalog/quality_reasons.yaml`` | Chinese labels of quarantine reasons (``hub.quality.reasons``) |
| ``GOVHUB_MONITORING_RULES`` | ``catalog/monitoring_rules.yaml`` | monitoring rules (``hub.domains.supervision.rules``) |
| ``GOVHUB_CALENDAR_OVERRIDES`` | ``catalog/calendar/overrides.yaml`` | working-day calendar overrides (``hub.model.calendar``) |
| ``GOVHUB_MAPPINGS`` | ``mappings/`` | the folder of mapping files (``hub.model.mapping``) |
| ``GOVHUB_DATA_SOURCE_CODE`` | ``100`` | the hub's 3-digit data-source code (数据来源代码) on every row of a peer format that asks for it (``$data_source``, docs/outbound-formats.md) |
| ``GOVHUB_AUDIT_RETENTION_DAYS`` | ``365`` | days the exchange log's message bytes (``$GOVHUB_HOME/objects``) are kept; ``govhub audit verify`` takes an older missing object as pruned (read by ``hub.audit.objects``; ``govhub audit archive`` packages and prunes older sealed segments) |
| ``GOVHUB_CLOCK`` | unset (the wall clock) | test/ops hook: the hub's time (naive CST, ISO 8601) when the process starts, ticking on from there, e.g. ``2026-11-22T10:00:00``; ``TIME@UNIX_SECONDS`` reads TIME at that instant (read by ``hub.core.clock``, not by ``load_settings``) |

The catalogue files are read by ``hub.core.catalogfile``. Test-only hooks stay where they
act: ``GOVHUB_FAULT_PAUSE`` and ``GOVHUB_FAULT_MARKER`` (``hub.core.faults``).

The URLs carry credentials, so each may instead be read from a file (a Docker or
Kubernetes secret): ``GOVHUB_DB_URL_FILE``, ``GOVHUB_BROKER_URL_FILE``, and so may the
metrics token (``GOVHUB_METRICS_TOKEN_FILE``). The variable
itself wins when both are set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS_DIR = ROOT / "schemas"
MAPPINGS_DIR = ROOT / "mappings"
CATALOG_DIR = ROOT / "catalog"


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    broker_url: str
    batch_size: int
    bus_visibility_timeout: float = 300.0
    quality_batch: str = "on"
    bus_partitions: int = 1
    log_level: str = "WARNING"
    log_format: str = "text"
    metrics: bool = True
    metrics_token: str | None = field(default=None, repr=False)
    docs: bool = False
    cursor_key: str = field(default="govhub-cursor-v1", repr=False)
    person_key: str | None = field(default=None, repr=False)
    dag_retries: int = 2
    catalog_file: Path = CATALOG_DIR / "systems.yaml"
    halls_file: Path = CATALOG_DIR / "halls.yaml"
    bundles_file: Path = CATALOG_DIR / "bundles.yaml"
    precedence_file: Path = CATALOG_DIR / "precedence.yaml"
    licence_catalogue_file: Path = CATALOG_DIR / "licence_catalogue.yaml"
    notification_templates_file: Path = CATALOG_DIR / "notification_templates.yaml"
    quality_reasons_file: Path = CATALOG_DIR / "quality_reasons.yaml"
    monitoring_rules_file: Path = CATALOG_DIR / "monitoring_rules.yaml"
    calendar_overrides_file: Path = CATALOG_DIR / "calendar" / "overrides.yaml"
    mappings_dir: Path = MAPPINGS_DIR
    data_source_code: str = "100"

    @property
    def embedded_db(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url.startswith(("amqp", "pyamqp"))


def secret(env: Mapping[str, str], name: str) -> str | None:
    """``name`` from the environment, or the content of the file ``name_FILE`` names
    (surrounding whitespace dropped: secret files often end with a newline)."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise RuntimeError(
            f"{name}_FILE={path} cannot be read ({exc.strerror}); mount the secret or unset the variable"
        ) from None


def default_log_level(env: Mapping[str, str] | None = None) -> str:
    """``GOVHUB_LOG_LEVEL``, else WARNING: also the CLI's ``--log-level`` default, which is
    read without the rest of the settings so that ``govhub --help`` works with any environment."""
    env = os.environ if env is None else env
    return env.get("GOVHUB_LOG_LEVEL") or "WARNING"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    home = Path(env.get("GOVHUB_HOME") or ROOT / "var").resolve()
    broker_url = secret(env, "GOVHUB_BROKER_URL") or f"govhub+sqlite:///{home / 'bus.db'}"
    embedded = not broker_url.startswith(("amqp", "pyamqp"))
    return Settings(
        home=home,
        db_url=secret(env, "GOVHUB_DB_URL") or f"sqlite:///{home / 'govhub.db'}",
        broker_url=broker_url,
        batch_size=int(env.get("GOVHUB_BATCH_SIZE") or 2000),
        bus_visibility_timeout=float(env.get("GOVHUB_BUS_VISIBILITY_TIMEOUT") or 300),
        quality_batch=_choice(env, "GOVHUB_QUALITY_BATCH", ("on", "deferred", "off")),
        bus_partitions=_partitions(env.get("GOVHUB_BUS_PARTITIONS"), embedded),
        log_level=default_log_level(env),
        log_format=(env.get("GOVHUB_LOG_FORMAT") or "text").lower(),
        metrics=(env.get("GOVHUB_METRICS") or "on").lower() not in ("off", "0", "false", "no"),
        metrics_token=secret(env, "GOVHUB_METRICS_TOKEN"),
        docs=(env.get("GOVHUB_DOCS") or "off").lower() in ("on", "1", "true", "yes"),
        cursor_key=env.get("GOVHUB_CURSOR_KEY") or "govhub-cursor-v1",
        person_key=env.get("GOVHUB_PERSON_KEY") or None,
        dag_retries=int(env.get("GOVHUB_DAG_RETRIES", 2)),
        data_source_code=_data_source_code(env.get("GOVHUB_DATA_SOURCE_CODE")),
        **{name: Path(env.get(var) or default) for name, (var, default) in CATALOGUE_FILES.items()},
    )


# Settings field → (its variable, its default): the files ``hub.core.catalogfile`` reads.
CATALOGUE_FILES = {
    "catalog_file": ("GOVHUB_CATALOG", CATALOG_DIR / "systems.yaml"),
    "halls_file": ("GOVHUB_HALLS", CATALOG_DIR / "halls.yaml"),
    "bundles_file": ("GOVHUB_BUNDLES", CATALOG_DIR / "bundles.yaml"),
    "precedence_file": ("GOVHUB_PRECEDENCE", CATALOG_DIR / "precedence.yaml"),
    "licence_catalogue_file": ("GOVHUB_LICENCE_CATALOGUE", CATALOG_DIR / "licence_catalogue.yaml"),
    "notification_templates_file": ("GOVHUB_NOTIFICATION_TEMPLATES", CATALOG_DIR / "notification_templates.yaml"),
    "quality_reasons_file": ("GOVHUB_QUALITY_REASONS", CATALOG_DIR / "quality_reasons.yaml"),
    "monitoring_rules_file": ("GOVHUB_MONITORING_RULES", CATALOG_DIR / "monitoring_rules.yaml"),
    "calendar_overrides_file": ("GOVHUB_CALENDAR_OVERRIDES", CATALOG_DIR / "calendar" / "overrides.yaml"),
    "mappings_dir": ("GOVHUB_MAPPINGS", MAPPINGS_DIR),
}


def _data_source_code(value: str | None) -> str:
    code = (value or "100").strip()
    if len(code) != 3 or not code.isdigit():
        raise ValueError(
            f"GOVHUB_DATA_SOURCE_CODE={code!r}: the data-source code is the 3 digits the province registered "
            "for this hub (e.g. 100)"
        )
    return code


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = (env.get(name) or allowed[0]).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: use one of {', '.join(allowed)}")
    return value


def _partitions(value: str | None, embedded: bool) -> int:
    # The embedded transport has no single-active-consumer: one partition, one worker.
    if embedded:
        return 1
    try:
        n = int(value or 4)
    except ValueError:
        raise ValueError(f"GOVHUB_BUS_PARTITIONS must be a whole number, not {value!r}") from None
    if not 1 <= n <= 64:
        raise ValueError(f"GOVHUB_BUS_PARTITIONS must be between 1 and 64, not {n}")
    return n
