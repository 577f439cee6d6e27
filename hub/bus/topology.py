"""The bus topology (kombu), declared in one place, and the helpers around it.

| exchange | type | routing key | bound queues |
|---|---|---|---|
| ``govhub.inbound`` | direct | ``inbound.{i}`` | ``govhub.inbound.{i}``, i < ``GOVHUB_BUS_PARTITIONS`` — raw messages from adapters, one partition each, consumed by ``govhub worker`` |
| (default) | — | — | ``govhub.workers`` — never holds messages; its consumer count is the number of live workers |
| ``govhub.events`` | topic | ``{kind}.{region}.{system}`` | subscribers' own queues (e.g. ``case.3205#``) |
| ``govhub.dlx`` | topic | original key | ``govhub.dead`` — what the broker itself dead-letters |

On RabbitMQ each inbound partition is a durable quorum queue with a delivery limit, a
dead-letter exchange and a single active consumer (so a partition is processed in order
by one worker at a time, and another worker takes over when it dies), and publishing
waits for publisher confirms. A message with records of many cases is split by case key
onto the partitions by ``hub.ingest.partitions.publish_inbound`` (docs/scaleout.md). The queue ``govhub.inbound``
of earlier versions is no longer declared; a worker drains it while it exists. The embedded
transport (``hub.bus.transport``) ignores broker arguments, so the hub never relies on
broker dead-lettering: a message that fails for good is written to the quarantine
before it is acknowledged, on every transport.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, Protocol

from kombu import Connection, Exchange, Producer, Queue
from sqlalchemy import Engine, select, update

import hub.bus.transport  # noqa: F401  (registers the govhub+sqlite transport)
from hub.core import clock, correlation
from hub.core.config import Settings, load_settings
from hub.db.tables import outbox

log = logging.getLogger("govhub.bus")

INBOUND = Exchange("govhub.inbound", "direct", durable=True)
EVENTS = Exchange("govhub.events", "topic", durable=True)
DLX = Exchange("govhub.dlx", "topic", durable=True)
DELIVERY_LIMIT = 10  # a message redelivered this often is quarantined as poison
PUBLISH_RETRY = {"max_retries": 12, "interval_start": 0.5, "interval_step": 1.0, "interval_max": 3.0}

_INBOUND_ARGS = {
    "x-queue-type": "quorum",
    "x-dead-letter-exchange": DLX.name,
    "x-delivery-limit": DELIVERY_LIMIT + 5,  # the broker's backstop behind the hub's own limit
}
# The single queue of earlier versions: no longer declared, only drained (docs/scaleout.md).
LEGACY_INBOUND_QUEUE = Queue(
    "govhub.inbound", INBOUND, routing_key="inbound", durable=True, queue_arguments=_INBOUND_ARGS
)
WORKERS_QUEUE = Queue("govhub.workers", durable=True, queue_arguments={"x-queue-type": "quorum"})


class InboundPart(Protocol):
    """One part of a raw message, as ``hub.ingest.partitions.Part`` makes it."""

    @property
    def index(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def headers(self) -> dict[str, Any]: ...
    @property
    def content_type(self) -> str: ...


def partition_queue(i: int) -> Queue:
    """Inbound partition ``i``: one active consumer at a time keeps its order."""
    return Queue(
        f"govhub.inbound.{i}",
        INBOUND,
        routing_key=f"inbound.{i}",
        durable=True,
        queue_arguments={**_INBOUND_ARGS, "x-single-active-consumer": True},
    )


def partitions(conn: Connection) -> int:
    """The inbound partitions of the bus ``conn`` is connected to (set by :func:`connect`;
    from the environment for a connection made elsewhere)."""
    n: int | None = getattr(conn, "govhub_partitions", None)
    if n is None:
        n = load_settings({**os.environ, "GOVHUB_BROKER_URL": conn.as_uri(include_password=False)}).bus_partitions
    return n


def inbound_queues(conn: Connection) -> list[Queue]:
    return [partition_queue(i) for i in range(partitions(conn))]


DEAD_QUEUE = Queue("govhub.dead", DLX, routing_key="#", durable=True, queue_arguments={"x-queue-type": "quorum"})


def connect(settings: Settings, **transport_options: Any) -> Connection:
    url = settings.broker_url
    if settings.embedded_broker:
        settings.home.mkdir(parents=True, exist_ok=True)
        opts = {"visibility_timeout": settings.bus_visibility_timeout, **transport_options}
        conn = Connection(url, transport_options=opts)
    else:
        conn = Connection(url, transport_options={"confirm_publish": True, **transport_options}, heartbeat=30)
    # the hub's own facts about the bus, kept on the kombu connection
    conn.govhub_partitions = settings.bus_partitions  # type: ignore[attr-defined]
    conn.govhub_embedded = settings.embedded_broker  # type: ignore[attr-defined]
    return conn


def declare(conn: Connection) -> None:
    """Declare every exchange and hub queue (idempotent; every process does it)."""
    ch = conn.default_channel
    for ex in (INBOUND, EVENTS, DLX):
        ex(ch).declare()
    for q in (*inbound_queues(conn), DEAD_QUEUE, WORKERS_QUEUE):
        q(ch).declare()


def queue_exists(conn: Connection, queue: Queue) -> int | None:
    """The message count of ``queue`` when it exists, else None (a passive declare, on a
    channel of its own: the broker closes the channel when the queue is missing)."""
    ch = conn.channel()
    try:
        count: int = queue(ch).queue_declare(passive=True).message_count
        return count
    except conn.channel_errors:
        return None
    finally:
        try:
            ch.close()
        except Exception:  # noqa: BLE001 — already closed by the broker
            pass


def subscriber_queue(name: str, binding_key: str) -> Queue:
    """A durable queue for a subscriber of record events (``case.320581.*``, ``#``...)."""
    return Queue(name, EVENTS, routing_key=binding_key, durable=True)


def publish_parts(conn: Connection, parts: Sequence[InboundPart]) -> int:
    """Put the parts of one raw message (``hub.ingest.partitions.Part``: index, body,
    headers, content_type) on their inbound partitions (confirmed on RabbitMQ), under one
    correlation id. Returns the parts published. Splitting a message into parts is the
    ingest's business: ``hub.ingest.partitions.publish_inbound``."""
    producer = Producer(conn.default_channel)
    cid = correlation.current() or correlation.new_id()  # one id for all parts: they are one message
    for part in parts:
        part.headers.setdefault(correlation.BUS_HEADER, cid)
        producer.publish(
            part.body,
            exchange=INBOUND,
            routing_key=f"inbound.{part.index}",
            declare=[partition_queue(part.index)],
            content_type=part.content_type,
            content_encoding="binary",
            headers=part.headers,
            message_id=part.headers["message_id"],
            delivery_mode=2,
            retry=True,
            # rides out a broker restart (~30 s); past that the caller gets the error to report
            retry_policy=PUBLISH_RETRY,
        )
    return len(parts)


def publish_dead(conn: Connection, body: bytes, headers: dict[str, Any], reason: str, message: str) -> None:
    """Copy a message the hub gave up on to the dead-letter exchange, with the reason in
    its headers (the record of it is already in the quarantine; this is for operators
    and tools watching ``govhub.dead``)."""
    Producer(conn.default_channel).publish(
        body,
        exchange=DLX,
        routing_key=f"dead.{headers.get('system') or 'unknown'}",
        declare=[DEAD_QUEUE],
        content_type="application/octet-stream",
        content_encoding="binary",
        headers={
            **{k: v for k, v in headers.items() if isinstance(v, (str, int))},
            "x-govhub-reason": reason,
            "x-govhub-error": message[:1000],
        },
        delivery_mode=2,
        retry=True,
    )


def relay_outbox(engine: Engine, conn: Connection, limit: int = 1000) -> int:
    """Publish pending outbox events, oldest first; mark them published.

    At-least-once: a crash after publishing and before the commit publishes those
    events again; the outbox id travels as ``message_id`` so subscribers can dedupe."""
    producer = Producer(conn.default_channel)
    with engine.begin() as db:
        q = select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
        if db.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)  # competing relays take disjoint rows
        rows = db.execute(q).mappings().all()
        if not rows:
            return 0
        for r in rows:
            producer.publish(
                r["body"],
                exchange=EVENTS,
                routing_key=r["routing_key"],
                serializer="json",
                message_id=f"outbox-{r['id']}",
                headers={
                    "kind": r["kind"],
                    "event": r["event"],
                    correlation.BUS_HEADER: (r["body"] or {}).get(correlation.BUS_HEADER) or "",
                },
                delivery_mode=2,
                retry=True,
            )
        db.execute(update(outbox).where(outbox.c.id.in_([r["id"] for r in rows])).values(published_at=clock.now()))
    log.debug("relayed %d outbox events", len(rows))
    return len(rows)
