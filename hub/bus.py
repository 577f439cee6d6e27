"""The bus topology (kombu), declared in one place, and the helpers around it.

| exchange | type | routing key | bound queues |
|---|---|---|---|
| ``govhub.inbound`` | direct | ``inbound`` | ``govhub.inbound`` — raw messages from adapters, consumed by ``govhub worker`` |
| ``govhub.events`` | topic | ``{kind}.{region}.{system}`` | subscribers' own queues (e.g. ``case.3205#``) |
| ``govhub.dlx`` | topic | original key | ``govhub.dead`` — what the broker itself dead-letters |

On RabbitMQ the inbound queue is a durable quorum queue with a delivery limit and a
dead-letter exchange, and publishing waits for publisher confirms. The embedded
transport (``hub.bus_transport``) ignores broker arguments, so the hub never relies on
broker dead-lettering: a message that fails for good is written to the quarantine
before it is acknowledged, on every transport.
"""

from __future__ import annotations

import logging

from kombu import Connection, Exchange, Producer, Queue
from sqlalchemy import Engine, select, update

import hub.bus_transport  # noqa: F401  (registers the govhub+sqlite transport)
from hub import clock
from hub.config import Settings
from hub.models import outbox

log = logging.getLogger("govhub.bus")

INBOUND = Exchange("govhub.inbound", "direct", durable=True)
EVENTS = Exchange("govhub.events", "topic", durable=True)
DLX = Exchange("govhub.dlx", "topic", durable=True)
DELIVERY_LIMIT = 10  # a message redelivered this often is quarantined as poison
PUBLISH_RETRY = {"max_retries": 12, "interval_start": 0.5, "interval_step": 1.0, "interval_max": 3.0}

INBOUND_QUEUE = Queue(
    "govhub.inbound",
    INBOUND,
    routing_key="inbound",
    durable=True,
    queue_arguments={
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": DLX.name,
        "x-delivery-limit": DELIVERY_LIMIT + 5,  # the broker's backstop behind the hub's own limit
    },
)
DEAD_QUEUE = Queue("govhub.dead", DLX, routing_key="#", durable=True, queue_arguments={"x-queue-type": "quorum"})


def connect(settings: Settings, **transport_options) -> Connection:
    url = settings.broker_url
    if settings.embedded_broker:
        settings.home.mkdir(parents=True, exist_ok=True)
        opts = {"visibility_timeout": settings.bus_visibility_timeout, **transport_options}
        return Connection(url, transport_options=opts)
    return Connection(url, transport_options={"confirm_publish": True, **transport_options}, heartbeat=30)


def declare(conn: Connection) -> None:
    """Declare every exchange and hub queue (idempotent; every process does it)."""
    ch = conn.default_channel
    for ex in (INBOUND, EVENTS, DLX):
        ex(ch).declare()
    for q in (INBOUND_QUEUE, DEAD_QUEUE):
        q(ch).declare()


def subscriber_queue(name: str, binding_key: str) -> Queue:
    """A durable queue for a subscriber of record events (``case.320581.*``, ``#``...)."""
    return Queue(name, EVENTS, routing_key=binding_key, durable=True)


def publish_inbound(conn: Connection, body: bytes, system: str, message_id: str,
                    kind: str | None = None, fmt: str | None = None, filename: str | None = None) -> None:
    """Put a raw message from an adapter on the inbound queue (confirmed on RabbitMQ)."""
    headers = {"system": system, "message_id": message_id}
    if kind:
        headers["kind"] = kind
    if fmt:
        headers["format"] = fmt
    if filename:
        headers["filename"] = filename
    producer = Producer(conn.default_channel)
    producer.publish(
        body,
        exchange=INBOUND,
        routing_key="inbound",
        declare=[INBOUND_QUEUE],
        content_type="application/octet-stream",
        content_encoding="binary",
        headers=headers,
        message_id=message_id,
        delivery_mode=2,
        retry=True,
        # rides out a broker restart (~30 s); past that the caller gets the error to report
        retry_policy=PUBLISH_RETRY,
    )


def publish_dead(conn: Connection, body: bytes, headers: dict, reason: str, message: str) -> None:
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
        headers={**{k: v for k, v in headers.items() if isinstance(v, (str, int))},
                 "x-govhub-reason": reason, "x-govhub-error": message[:1000]},
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
                headers={"kind": r["kind"], "event": r["event"]},
                delivery_mode=2,
                retry=True,
            )
        db.execute(update(outbox).where(outbox.c.id.in_([r["id"] for r in rows])).values(published_at=clock.now()))
    log.debug("relayed %d outbox events", len(rows))
    return len(rows)
