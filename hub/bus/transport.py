"""An embedded kombu transport on SQLite that keeps messages across crashes.

Why not kombu's own embedded transports: memory, filesystem and SQLAlchemy hold
unacknowledged messages in the consuming process and put them back only on a clean
shutdown, so a consumer killed between receive and commit loses the message; they also
keep exchange bindings per process. This transport leases instead, like SQS:

- a received message stays in the table, invisible for ``visibility_timeout`` seconds;
  ``ack`` deletes it; a consumer that dies simply lets the lease run out and the
  message is delivered again (``x-delivery-count`` in its headers says how often);
- bindings live in the same database, so a publisher in one process routes to queues a
  worker declared in another.

Connection string: ``govhub+sqlite:////abs/path/bus.db`` (registered as ``govhub``).
Transport options: ``visibility_timeout`` (seconds, default 300), ``polling_interval``.
Like every kombu virtual transport it ignores broker-side arguments (dead-letter
exchanges, quorum queues): the hub dead-letters into its own quarantine instead.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, virtual

TRANSPORT_ALIASES.setdefault("govhub", "hub.bus.transport:Transport")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bus_message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    visible_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_bus_message_queue ON bus_message (queue, visible_at, id);
CREATE TABLE IF NOT EXISTS bus_binding (
    exchange TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    pattern TEXT NOT NULL,
    queue TEXT NOT NULL,
    PRIMARY KEY (exchange, routing_key, pattern, queue)
);
CREATE TABLE IF NOT EXISTS bus_queue (name TEXT PRIMARY KEY);
"""

TAG_PREFIX = "govhub-sqlite:"


class QoS(virtual.QoS):
    restore_at_shutdown = False  # unacked rows stay in the table; their lease decides

    def ack(self, delivery_tag: Any) -> None:
        self.channel._delete_row(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if requeue:
            self.channel._release_row(delivery_tag)
        else:
            self.channel._delete_row(delivery_tag)
        self._quick_ack(delivery_tag)

    def restore_unacked(self) -> list[Any]:
        # A clean close makes our leased messages visible again at once.
        self._flush()
        # kombu declares ``_delivered = None`` at class level; QoS.__init__ makes it a dict
        for tag in list(self._delivered):  # type: ignore[call-overload]
            self.channel._release_row(tag)
        self._delivered.clear()  # type: ignore[attr-defined]
        return []


class Channel(virtual.Channel):
    QoS = QoS
    supports_fanout = True  # makes kombu hand every binding to _queue_bind (persisted below)
    _lock = threading.Lock()

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        opts = connection.client.transport_options
        self.visibility_timeout = float(opts.get("visibility_timeout", 300))
        self._db = self._open(connection.client.hostname or "")

    @staticmethod
    def _open(target: str) -> sqlite3.Connection:
        path = target.split("sqlite://", 1)[-1] if "sqlite://" in target else target
        path = path[1:] if path.startswith("//") else path
        if not path:
            raise ValueError("govhub+sqlite needs a file path: govhub+sqlite:////abs/path/bus.db")
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        db.executescript(_SCHEMA)
        return db

    # -- queues and messages
    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO bus_queue(name) VALUES (?)", (queue,))

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return self._db.execute("SELECT 1 FROM bus_queue WHERE name=?", (queue,)).fetchone() is not None

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO bus_message(queue, payload, visible_at) VALUES (?, ?, ?)",
                (queue, json.dumps(message), time.time()),
            )

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            row = self._db.execute(
                "UPDATE bus_message SET visible_at=?, deliveries=deliveries+1 "
                "WHERE id = (SELECT id FROM bus_message WHERE queue=? AND visible_at<=? ORDER BY id LIMIT 1) "
                "RETURNING id, payload, deliveries",
                (now + self.visibility_timeout, queue, now),
            ).fetchone()
        if row is None:
            raise Empty()
        row_id, payload, deliveries = row
        message: dict[str, Any] = json.loads(payload)
        # One stored row per queue: the row id is the delivery tag, so ack removes
        # exactly this queue's copy even when a topic exchange fanned the message out.
        message["properties"]["delivery_tag"] = f"{TAG_PREFIX}{row_id}"
        message.setdefault("headers", {})["x-delivery-count"] = deliveries - 1
        message["redelivered"] = deliveries > 1
        return message

    def _row_id(self, delivery_tag: Any) -> int | None:
        tag = str(delivery_tag)
        return int(tag[len(TAG_PREFIX) :]) if tag.startswith(TAG_PREFIX) else None

    def _delete_row(self, delivery_tag: Any) -> None:
        row_id = self._row_id(delivery_tag)
        if row_id is not None:
            with self._lock:
                self._db.execute("DELETE FROM bus_message WHERE id=?", (row_id,))

    def _release_row(self, delivery_tag: Any) -> None:
        row_id = self._row_id(delivery_tag)
        if row_id is not None:
            with self._lock:
                self._db.execute("UPDATE bus_message SET visible_at=? WHERE id=?", (time.time(), row_id))

    def _purge(self, queue: str) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM bus_message WHERE queue=?", (queue,)).rowcount

    def _size(self, queue: str) -> int:
        size: int = self._db.execute("SELECT count(*) FROM bus_message WHERE queue=?", (queue,)).fetchone()[0]
        return size

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self._db.execute("DELETE FROM bus_message WHERE queue=?", (queue,))
            self._db.execute("DELETE FROM bus_binding WHERE queue=?", (queue,))
            self._db.execute("DELETE FROM bus_queue WHERE name=?", (queue,))

    # -- bindings shared between processes
    def _queue_bind(self, exchange: str, routing_key: str | None, pattern: str | None, queue: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO bus_binding(exchange, routing_key, pattern, queue) VALUES (?, ?, ?, ?)",
                (exchange, routing_key or "", pattern or "", queue),
            )

    def _put_fanout(self, exchange: str, message: dict[str, Any], routing_key: str, **kwargs: Any) -> None:
        for _rk, _pattern, queue in self.get_table(exchange):
            self._put(queue, message, **kwargs)

    def get_table(self, exchange: str) -> list[tuple[Any, ...]]:
        return [
            tuple(r)
            for r in self._db.execute(
                "SELECT routing_key, pattern, queue FROM bus_binding WHERE exchange=?", (exchange,)
            )
        ]

    def queue_unbind(
        self,
        queue: str,
        exchange: str | None = None,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM bus_binding WHERE queue=? AND exchange=? AND routing_key=?",
                (queue, exchange, routing_key or ""),
            )

    def close(self) -> None:
        super().close()
        try:
            self._db.close()
        except sqlite3.Error:
            pass


class Transport(virtual.Transport):
    Channel = Channel
    polling_interval = 0.05
    default_port = 0  # type: ignore[assignment]  # kombu annotates the base attribute as None
    driver_type = "sqlite"
    driver_name = "sqlite3"
    implements = virtual.Transport.implements.extend(
        asynchronous=False, exchange_type=frozenset(["direct", "topic", "fanout"])
    )
    # kombu types its error tuples as one-element tuples; every transport extends them
    connection_errors = virtual.Transport.connection_errors + (sqlite3.OperationalError,)  # type: ignore[assignment]
    channel_errors = virtual.Transport.channel_errors + (sqlite3.DatabaseError,)  # type: ignore[assignment]

    def driver_version(self) -> str:
        return sqlite3.sqlite_version
