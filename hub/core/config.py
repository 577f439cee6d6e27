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
| ``GOVHUB_CLOCK`` | unset (the wall clock) | test/ops hook: the hub's time (naive CST, ISO 8601) when the process starts, ticking on from there, e.g. ``2026-11-22T10:00:00``; ``TIME@UNIX_SECONDS`` reads TIME at that instant (read by ``hub.core.clock``, not by ``load_settings``) |

The URLs carry credentials, so each may instead be read from a file (a Docker or
Kubernetes secret): ``GOVHUB_DB_URL_FILE``, ``GOVHUB_BROKER_URL_FILE``. The variable
itself wins when both are set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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

    @property
    def embedded_db(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url.startswith(("amqp", "pyamqp"))


def secret(env, name: str) -> str | None:
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
        raise RuntimeError(f"{name}_FILE={path} cannot be read ({exc.strerror}); mount the secret or unset the variable") from None


def load_settings(env: dict[str, str] | None = None) -> Settings:
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
    )


def _choice(env, name: str, allowed: tuple[str, ...]) -> str:
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
