"""Prometheus metrics: ``GET /metrics`` on the API, ``govhub worker --metrics-port N``.

The figures that must agree across processes are read at scrape time from where the
hub keeps them, so every API process and worker reports the same numbers:

| metric | labels | from |
|---|---|---|
| ``govhub_records_{received,stored,duplicate,quarantined}_total`` | system, kind | ``ingest_counter`` (as ``govhub stats``: current outcomes, a corrected record under stored/duplicate, never twice) |
| ``govhub_quarantine_records`` | system, reason | ``quarantine`` |
| ``govhub_queue_messages`` | queue | passive declare of ``govhub.inbound`` / ``govhub.dead`` on the bus |
| ``govhub_delivery_pending``, ``govhub_delivery_dead``, ``govhub_delivery_defect`` | peer | ``delivery`` (defects: records the peer's format cannot express or the peer refused) |
| ``govhub_delivery_oldest_pending_age_seconds`` | peer | ``delivery`` (age of the oldest pending record) |
| ``govhub_job_last_success_timestamp_seconds``, ``govhub_job_seconds_since_success`` | job | ``job_run`` (hub.ops.jobs) |
| ``govhub_exchange_log_entries`` | | ``exchange_log_head`` (the chain's length, hub.audit) |
| ``govhub_exchange_log_checkpoint_age_seconds`` | | ``audit_checkpoint`` (age of the last signed checkpoint; absent before the first) |
| ``govhub_exchange_log_verify_failures_total`` | | ``job_run`` of ``audit.verify`` (each ``govhub audit verify`` that found a break) |
| ``govhub_collector_up`` | part | 1 when that part (database, bus) could be read |

Process-local: ``govhub_batch_duration_seconds`` (histogram per kind: one store
transaction in this process).

``/metrics`` shows counts only — no record, key or personal data — yet it tells anyone
how busy each department is, so it needs a credential: ``Authorization: Bearer`` the
metrics token (``GOVHUB_METRICS_TOKEN`` or ``GOVHUB_METRICS_TOKEN_FILE``, what Prometheus
sends) or, on the API, an administrator's ``X-Api-Key`` (``hub.api.metrics_auth``). The
worker's ``--metrics-port`` listens on 127.0.0.1 unless told another ``--metrics-host``,
which it accepts only with a token set. ``GOVHUB_METRICS=off`` removes ``/metrics`` from
the API.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from datetime import datetime
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from sqlalchemy import Engine, func, select

from hub.audit import chain
from hub.bus import topology as bus
from hub.core import clock
from hub.core.config import Settings, load_settings
from hub.db.tables import audit_checkpoint, delivery
from hub.ingest.counters import BATCH_SECONDS, timed_batch  # noqa: F401  (process-local instruments, default registry)
from hub.model.outcomes import RECORD_OUTCOMES, DeliveryStatus
from hub.ops import stats
from hub.ops.jobs import job_run

log = logging.getLogger("govhub.metrics")

QUEUES = ("govhub.inbound", "govhub.dead")
VERIFY_JOB = "audit.verify"  # govhub audit verify records each run under it (hub.ops.jobs)


def _epoch(naive_cst: datetime) -> float:
    return naive_cst.replace(tzinfo=clock.CST).timestamp()


class HubCollector:
    """Reads the shared figures at each scrape (a few indexed aggregate queries)."""

    def __init__(self, engine: Engine, settings: Settings | None = None):
        self.engine, self.settings = engine, settings

    def collect(self):
        up = GaugeMetricFamily("govhub_collector_up", "1 when this part could be read for this scrape", labels=["part"])
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except Exception as exc:  # noqa: BLE001 — a scrape reports the outage instead of failing
            log.warning("metrics: database unreadable: %s", type(exc).__name__)
            up.add_metric(["database"], 0)
        if self.settings is not None:
            try:
                yield self._queues(self.settings)
                up.add_metric(["bus"], 1)
            except Exception as exc:  # noqa: BLE001
                log.warning("metrics: bus unreadable: %s", type(exc).__name__)
                up.add_metric(["bus"], 0)
        yield up

    def _database(self):
        data = stats.counts(self.engine)
        yield from _record_families(data)
        yield _quarantine_family(data)

        now = clock.now()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(delivery.c.peer, delivery.c.status, func.count(), func.min(delivery.c.created_at))
                .where(delivery.c.status.in_((DeliveryStatus.PENDING, DeliveryStatus.DEAD, DeliveryStatus.DEFECT)))
                .group_by(delivery.c.peer, delivery.c.status)
            ).all()
            jobs = conn.execute(select(job_run.c.job, job_run.c.last_success_at)).all()
            entries = chain.length(conn)
            failures = conn.execute(select(job_run.c.failures).where(job_run.c.job == VERIFY_JOB)).scalar()
            sealed = conn.execute(select(func.max(audit_checkpoint.c.taken_at))).scalar()
        yield from _delivery_families(rows, now)
        yield from _job_families(jobs, now)
        yield GaugeMetricFamily("govhub_exchange_log_entries", "Entries in the exchange log (its head seq)", entries)
        age = GaugeMetricFamily(
            "govhub_exchange_log_checkpoint_age_seconds", "Seconds since the exchange log's last signed checkpoint"
        )
        if sealed is not None:
            age.add_metric([], max(0.0, (now - sealed).total_seconds()))
        yield age
        yield CounterMetricFamily(
            "govhub_exchange_log_verify_failures",
            "govhub audit verify runs that found a break in the exchange log",
            failures or 0,
        )

    def _queues(self, settings: Settings) -> GaugeMetricFamily:
        fam = GaugeMetricFamily("govhub_queue_messages", "Messages ready on a hub queue", labels=["queue"])
        with bus.connect(settings) as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
            # every inbound partition, the queue of a hub before partitions (while it drains), the dead letters
            for q in (*bus.inbound_queues(conn), bus.LEGACY_INBOUND_QUEUE, bus.DEAD_QUEUE):
                n = bus.queue_exists(conn, q)
                if n is None and q is bus.LEGACY_INBOUND_QUEUE:
                    continue  # not there: nothing to drain
                fam.add_metric([q.name], n or 0)
        return fam


def _record_families(data: dict) -> list[CounterMetricFamily]:
    """``govhub_records_*_total`` per source system and kind, from ``ingest_counter``."""
    families = {
        o: CounterMetricFamily(
            f"govhub_records_{o}",
            f"Records {o} per source system and kind (received = stored + duplicate + quarantined)",
            labels=["system", "kind"],
        )
        for o in ("received", *RECORD_OUTCOMES)
    }
    for src in data["sources"]:
        for o, fam in families.items():
            fam.add_metric([src["system"], src["kind"]], src[o])
    return list(families.values())


def _quarantine_family(data: dict) -> GaugeMetricFamily:
    """``govhub_quarantine_records`` per source system and reason."""
    reasons = GaugeMetricFamily(
        "govhub_quarantine_records", "Quarantined records per source system and reason", labels=["system", "reason"]
    )
    for system, by in data["quarantined_by_reason"].items():
        for reason, n in by.items():
            reasons.add_metric([system, reason], n)
    return reasons


def _delivery_families(rows, now: datetime) -> tuple[GaugeMetricFamily, ...]:
    """Pending, dead and defect deliveries per peer, and the age of the oldest pending one."""
    pending = GaugeMetricFamily("govhub_delivery_pending", "Records waiting to be delivered to a peer", labels=["peer"])
    dead = GaugeMetricFamily("govhub_delivery_dead", "Dead deliveries (need govhub replay) per peer", labels=["peer"])
    defect = GaugeMetricFamily(
        "govhub_delivery_defect",
        "Records a peer's format cannot express or the peer refused (govhub deliveries --status defect)",
        labels=["peer"],
    )
    lag = GaugeMetricFamily(
        "govhub_delivery_oldest_pending_age_seconds",
        "Age of the oldest record still waiting for a peer (delivery lag)",
        labels=["peer"],
    )
    seen_pending = set()
    for peer, status, n, oldest in rows:
        if status == DeliveryStatus.PENDING:
            pending.add_metric([peer], n)
            lag.add_metric([peer], max(0.0, (now - oldest).total_seconds()))
            seen_pending.add(peer)
        elif status == DeliveryStatus.DEFECT:
            defect.add_metric([peer], n)
        else:
            dead.add_metric([peer], n)
    for peer, _status, *_ in rows:  # a peer with only dead letters has no lag, but its series stays
        if peer not in seen_pending:
            pending.add_metric([peer], 0)
            lag.add_metric([peer], 0)
            seen_pending.add(peer)
    return pending, dead, defect, lag


def _job_families(jobs, now: datetime) -> tuple[GaugeMetricFamily, ...]:
    """When each sync job last succeeded, and how long ago (DAG freshness)."""
    last = GaugeMetricFamily(
        "govhub_job_last_success_timestamp_seconds", "When a sync job last succeeded (Unix time)", labels=["job"]
    )
    since = GaugeMetricFamily(
        "govhub_job_seconds_since_success",
        "Seconds since a sync job last succeeded (DAG freshness)",
        labels=["job"],
    )
    for job, at in jobs:
        if at is not None:
            last.add_metric([job], _epoch(at))
            since.add_metric([job], max(0.0, (now - at).total_seconds()))
    return last, since


def registry(engine: Engine, settings: Settings | None) -> CollectorRegistry:
    """The hub's figures plus this process's own instruments."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(HubCollector(engine, settings))
    reg.register(_ProcessLocal(REGISTRY))
    return reg


class _ProcessLocal:
    def __init__(self, source):
        self.source = source

    def collect(self):
        return self.source.collect()


def render(reg: CollectorRegistry) -> bytes:
    return generate_latest(reg)


def metrics_enabled(settings: Settings | None = None) -> bool:
    # The process's setting (GOVHUB_METRICS), whatever settings the app was built with.
    return load_settings().metrics


def metrics_endpoint(engine: Engine, settings: Settings):
    from fastapi import Response  # deferred: only the API needs FastAPI; the worker serves /metrics without it

    reg = registry(engine, settings)

    def metrics():  # sync: FastAPI runs it in the thread pool, off the event loop
        return Response(render(reg), media_type=CONTENT_TYPE_LATEST)

    return metrics


def bearer_ok(authorization: str | None, token: str | None) -> bool:
    """``Authorization: Bearer <token>`` names the metrics token (compared in constant time)."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class MetricsNotProtected(ValueError):
    """Metrics asked for on a non-loopback address without a token."""


def _loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return addr == "localhost"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def serve(port: int, engine: Engine, settings: Settings, addr: str = "127.0.0.1"):
    """Serve ``/metrics`` from a background thread (for ``govhub worker``); returns the server.
    With a metrics token set, a scrape must send it; without one, only a loopback address."""
    token = settings.metrics_token
    if not token and not _loopback(addr):
        raise MetricsNotProtected(
            f"metrics on {addr} would be readable by anyone who reaches it: set GOVHUB_METRICS_TOKEN "
            "(or GOVHUB_METRICS_TOKEN_FILE) or keep --metrics-host 127.0.0.1"
        )
    app = make_wsgi_app(registry(engine, settings))

    def guarded(environ, start_response):
        if token and not bearer_ok(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"send Authorization: Bearer <GOVHUB_METRICS_TOKEN>\n"]
        return app(environ, start_response)

    server = make_server(addr, port, guarded, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    log.info("metrics on http://%s:%d/metrics%s", addr, port, " (bearer token required)" if token else "")
    return server
