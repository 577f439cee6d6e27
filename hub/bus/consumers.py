"""A worker's subscriptions to the inbound partitions, and its fair share of them.

Every worker subscribes to every partition queue, each on a channel of its own. The
broker's single-active-consumer makes one subscriber per queue the active one and the
others its stand-ins, in the order they subscribed; when the active worker dies (or
closes the channel) the next one takes over, and the messages it had not acknowledged
go back to the head of the queue, so order within the partition holds.

The broker (RabbitMQ 3.10 here) picks the first subscriber, so the worker that starts
first would be active on every partition. To share the load, each worker counts the
live workers (the consumers of ``govhub.workers``, a queue every worker subscribes to
and nobody publishes to) and, when it is busy on more than ``ceil(P / workers)``
partitions, hands one back: it closes that partition's channel (the broker activates
the next subscriber) and subscribes again at the back of the line. The only state is
the broker's; a worker that dies simply stops being counted.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from kombu import Connection, Consumer, Queue
from kombu.message import Message

from hub.bus import topology as bus
from hub.core.wire import raw_channel

log = logging.getLogger("govhub.worker")

ACCEPT = ["application/octet-stream", "application/x-govhub-part+msgpack"]


class PartitionConsumers:
    """Subscriptions of one worker; call :meth:`rebalance` between messages."""

    def __init__(
        self,
        conn: Connection,
        on_message: Callable[[Message], None],
        control: Connection | None = None,
        busy_window: float = 10.0,
        check_every: float = 2.0,
    ) -> None:
        self.conn = conn
        # questions to the broker go over another connection: a reply awaited on the
        # consuming one would have deliveries handled inside the wait
        self.control = control or conn
        self.on_message = on_message
        self.busy_window = busy_window
        self.check_every = check_every
        self.partitions = bus.inbound_queues(conn)
        self.shared = not getattr(conn, "govhub_embedded", False) and len(self.partitions) > 1
        self._subs: dict[str, tuple[Any, Consumer, Queue]] = {}
        self._last_message: dict[str, float] = {}
        self._checked = 0.0
        self.handoffs = 0

    def start(self) -> None:
        queues = list(self.partitions)
        pending = bus.queue_exists(self.conn, bus.LEGACY_INBOUND_QUEUE)
        if pending is not None:  # the single queue of earlier versions: drain it too (competing)
            log.info("draining the earlier inbound queue govhub.inbound (%d messages waiting)", pending)
            queues.append(bus.LEGACY_INBOUND_QUEUE)
        for q in queues:
            self._subscribe(q)
        if self.shared:
            self._roster = self.conn.channel()
            Consumer(self._roster, queues=[bus.WORKERS_QUEUE], on_message=lambda m: m.ack(), prefetch_count=1).consume()

    def _subscribe(self, queue: Queue) -> None:
        channel = raw_channel(self.conn.channel())  # bodies as sent (a GBK document stays GBK)
        consumer = Consumer(
            channel,
            queues=[queue],
            accept=ACCEPT,
            prefetch_count=1,
            on_message=lambda m, name=queue.name: self._received(name, m),
        )
        consumer.consume()
        self._subs[queue.name] = (channel, consumer, queue)
        log.debug("subscribed to %s on channel %s", queue.name, channel.channel_id)

    def _received(self, name: str, message: Message) -> None:
        self._last_message[name] = time.monotonic()
        self.on_message(message)

    def workers(self) -> int:
        """Live workers: the consumers of ``govhub.workers`` (this one included)."""
        ch = self.control.channel()
        try:
            consumers: int = bus.WORKERS_QUEUE(ch).queue_declare(passive=True).consumer_count
            return max(1, consumers)
        finally:
            ch.close()

    def busy(self) -> list[str]:
        now = time.monotonic()
        names = {q.name for q in self.partitions}
        return sorted(n for n, t in self._last_message.items() if n in names and now - t < self.busy_window)

    def rebalance(self) -> None:
        if not self.shared or time.monotonic() - self._checked < self.check_every:
            return
        self._checked = time.monotonic()
        workers = self.workers()
        fair = math.ceil(len(self.partitions) / workers)
        busy = self.busy()
        log.debug("fair share: %d workers, %d partitions each, busy on %s", workers, fair, busy)
        if len(busy) > fair:
            self.hand_off(busy[-1])

    def hand_off(self, name: str) -> None:
        """Give up being the active consumer of one partition (stay a stand-in)."""
        channel, _consumer, queue = self._subs.pop(name)
        log.debug("closing channel %s of %s", channel.channel_id, name)
        channel.close()  # unacknowledged deliveries go back to the head of the queue
        self._last_message.pop(name, None)
        self._subscribe(queue)
        self.handoffs += 1
        log.info("handed partition %s to the next worker (fair share reached)", name)

    def close(self) -> None:
        for channel, _c, _q in self._subs.values():
            try:
                channel.close()
            except Exception:  # noqa: BLE001 — the connection is going away anyway
                pass
        self._subs.clear()
