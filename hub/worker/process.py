"""``govhub worker``: consumes the inbound partitions, runs the pipeline, relays the outbox.

Several workers share the partitions (``hub.bus.consumers``); a message part
(``hub.ingest.partitions``) is ingested with its records' sequence numbers in the parent.

A message is acknowledged only after its records are committed (stored, duplicate or
quarantined). What happens when it cannot be:

- the database is unreachable (transient): the message is put back and retried after
  a back-off; nothing is lost and nothing is acknowledged;
- the message itself is unusable (unknown system, no message id, bad headers: terminal):
  it is written to the quarantine with its reason and then acknowledged;
- processing keeps failing for an unexpected reason: after ``DELIVERY_LIMIT``
  deliveries it is quarantined as ``processing_failed`` with the last error, then
  acknowledged, so one poison message cannot block the queue.
"""

from __future__ import annotations

import io
import logging
import signal
import threading
import time
from collections import Counter

from kombu.exceptions import OperationalError as BrokerUnreachable  # kombu wraps a refused connect in it
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from hub.audit.chain import LogUnavailable
from hub.bus import topology as bus
from hub.bus.consumers import PartitionConsumers
from hub.catalog.systems import CatalogError
from hub.core import correlation
from hub.core.config import Settings
from hub.core.errors import InputError
from hub.core.faults import pause_point
from hub.core.message_id import fit_message_id, message_id_problem
from hub.core.wire import original_bytes
from hub.ingest.partitions import PartUnreadable, ingest_part, is_part
from hub.ingest.pipeline import Pipeline
from hub.ingest.rows import (  # quarantine_message: also imported from here (devices.gateway, tests)
    quarantine_message,
    text_hash,
)
from hub.model.dictionary import DictionaryError
from hub.model.mapping import MappingError
from hub.model.masking import mask_text
from hub.model.outcomes import Reason
from hub.outbound.delivery import Deliverer
from hub.wiring import standard_pipeline

log = logging.getLogger("govhub.worker")


class Terminal(InputError):
    """A message no retry can take: it is quarantined whole with ``reason``."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message, reason=reason)


class Worker:
    def __init__(self, settings: Settings, engine: Engine, pipeline: Pipeline | None = None):
        self.settings = settings
        self.engine = engine
        self.pipeline = pipeline or standard_pipeline(engine, batch_size=settings.batch_size, home=settings.home)
        self.handled: Counter[str] = Counter()
        self._stop = False
        self._backoff = 0.5
        self._conn = None
        self.deliverer = Deliverer(engine)

    def stop(self, *_):
        self._stop = True

    def handle(self, body: bytes, headers: dict, content_type: str | None = None) -> None:
        """Process one inbound message; raises only for transient trouble."""
        system = headers.get("system")
        message_id = headers.get("message_id")
        kind = headers.get("kind")
        if not system or not message_id:
            raise Terminal(Reason.MESSAGE_INVALID, "an inbound message needs the headers 'system' and 'message_id'")
        message_id = fit_message_id(message_id)  # a publisher's over-long id kept recognisable, as for files
        why = message_id_problem(message_id)
        if why is not None:  # no retry makes it storable: quarantined at once
            raise Terminal(Reason.MESSAGE_INVALID, why)
        try:
            if is_part(content_type):
                summary = ingest_part(self.pipeline, self.engine, body)
            else:
                summary = self.pipeline.ingest(
                    io.BytesIO(body),
                    system,
                    fmt=headers.get("format"),
                    kind=kind,
                    message_id=message_id,
                    filename=headers.get("filename"),
                    channel="bus",
                )
        except (CatalogError, MappingError, DictionaryError, PartUnreadable) as exc:
            raise Terminal(Reason.MESSAGE_INVALID, str(exc)) from None
        except InputError as exc:  # e.g. a batch's message_id attribute over 128 characters
            raise Terminal(Reason.MESSAGE_INVALID, str(exc)) from None
        self.handled.update(summary.counts)
        pause_point("before_ack")

    def on_message(self, body, message) -> None:
        headers = dict(message.headers or {})
        raw = original_bytes(message)  # the bytes as published, whatever content_encoding says
        deliveries = int(headers.get("x-delivery-count") or 0) + 1
        try:
            self.handle(raw, headers, message.content_type)
        except Terminal as exc:
            self._give_up(raw, headers, exc.reason, exc.message, message)
        except (OperationalError, DBAPIError, LogUnavailable) as exc:
            # the exchange log refusing is the database's trouble, not the message's: put back, never quarantined
            if isinstance(exc, DBAPIError) and not exc.connection_invalidated and not isinstance(exc, OperationalError):
                return self._poison_or_retry(raw, headers, deliveries, message, exc)
            log.warning(
                "database unavailable (%s); message put back, retrying in %.1fs", type(exc).__name__, self._backoff
            )
            message.requeue()
            time.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, 30)
        except Exception as exc:  # noqa: BLE001 — anything else is judged by its delivery count
            self._poison_or_retry(raw, headers, deliveries, message, exc)
        else:
            # outside the try: an ack lost with the connection is the bus's trouble, not the
            # message's (it was committed; the redelivery will be all duplicates)
            message.ack()
            self._backoff = 0.5

    def _poison_or_retry(self, raw, headers, deliveries, message, exc) -> None:
        if deliveries >= bus.DELIVERY_LIMIT:
            log.error(
                "message %s failed %d times; quarantined: %s",
                headers.get("message_id"),
                deliveries,
                mask_text(str(exc)),
            )
            self._give_up(
                raw,
                headers,
                Reason.PROCESSING_FAILED,
                f"failed {deliveries} times; last error: {type(exc).__name__}: {exc}",
                message,
            )
        else:
            log.warning(
                "message %s failed (%s: %s); put back (delivery %d of %d)",
                headers.get("message_id"),
                type(exc).__name__,
                mask_text(str(exc))[:300],
                deliveries,
                bus.DELIVERY_LIMIT,
            )
            message.requeue()

    def _deliver(self) -> Counter:
        try:
            return self.deliverer.run_once()
        except (OperationalError, DBAPIError, LogUnavailable) as exc:  # the next loop tries again
            log.warning("delivery pass skipped: %s", type(exc).__name__)
            return Counter()

    def _give_up(self, raw: bytes, headers: dict, reason: str, text: str, message) -> None:
        """Quarantine (the hub's own dead-letter store), copy to govhub.dlx, then ack."""
        quarantine_message(
            self.engine,
            headers.get("system") or "unknown",
            headers.get("kind") or "unknown",
            fit_message_id(str(headers.get("message_id") or f"body:{text_hash(raw.hex())}")),
            raw,
            reason,
            text,
            "worker",
        )
        if self._conn is not None:
            bus.publish_dead(self._conn, raw, headers, reason, mask_text(text))
        message.ack()

    def run(self, idle_exit: float | None = None, max_messages: int | None = None) -> Counter:
        """Consume until stopped (SIGTERM/SIGINT), or until the queue has been idle for
        ``idle_exit`` seconds, or ``max_messages`` were handled."""
        if _in_main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        handled = 0
        idle_since = time.monotonic()
        reconnect_in = 1.0
        while True:  # one pass per broker connection: a lost connection is made again
            try:
                # Publishing gets a connection of its own: waiting for a publisher confirm reads the
                # connection, and on the consuming one that would handle deliveries inside the relay
                # instead of in this loop (which must come round to rebalance the partitions).
                with bus.connect(self.settings) as conn, bus.connect(self.settings) as pub:
                    bus.declare(conn)
                    bus.declare(pub)  # the embedded transport keeps exchanges per connection
                    self._conn = pub
                    wire = conn.connection
                    self.consumers = PartitionConsumers(conn, self._count, control=pub)
                    self.consumers.start()
                    try:
                        reconnect_in = 1.0
                        while not self._stop:
                            try:
                                conn.drain_events(timeout=0.5)
                                handled += 1
                                idle_since = time.monotonic()
                            except TimeoutError:
                                conn.heartbeat_check()
                            self.consumers.rebalance()
                            relayed = self._relay(pub)
                            delivered = self._deliver()
                            if conn.connection is not wire:
                                # the consuming connection was replaced under the consumers, whose
                                # channels died with the old one: start over, or the worker would idle forever
                                raise _Reconnect("the connection was replaced")
                            if relayed or delivered:
                                idle_since = time.monotonic()
                            if max_messages is not None and handled >= max_messages:
                                break
                            if idle_exit is not None and time.monotonic() - idle_since > idle_exit:
                                break
                    finally:
                        self.consumers.close()
                    while self._relay(pub):
                        pass
                break
            except (_Reconnect, *_bus_errors(self.settings)) as exc:
                if self._stop:
                    break
                log.warning(
                    "bus connection lost (%s: %s); reconnecting in %.0fs", type(exc).__name__, exc, reconnect_in
                )
                time.sleep(reconnect_in)
                reconnect_in = min(reconnect_in * 2, 30)
                idle_since = time.monotonic()
        self.deliverer.close()
        return self.handled

    def _relay(self, conn) -> int:
        try:
            return bus.relay_outbox(self.engine, conn)
        except (OperationalError, DBAPIError) as exc:  # the database is away: the events wait in the outbox
            log.warning("outbox relay skipped: %s", type(exc).__name__)
            return 0

    def _count(self, message) -> None:
        with correlation.bound(correlation.accept((message.headers or {}).get(correlation.BUS_HEADER))):
            self.on_message(message.body, message)


class _Reconnect(Exception):
    pass


def _bus_errors(settings: Settings) -> tuple:
    """What the transport raises when the broker connection is lost (kombu knows them)."""
    probe = bus.connect(settings)
    return (BrokerUnreachable, *probe.recoverable_connection_errors, *probe.recoverable_channel_errors)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
