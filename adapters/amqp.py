"""``amqp://`` / ``amqps://`` — a queue and an exchange on a department's OWN broker
(RabbitMQ or any AMQP 0-9-1 broker), through kombu / py-amqp. Not the hub's bus
(``hub.bus.topology``): this is how the hub reads from and writes to other systems' brokers.

    amqp://hub:secret@10.32.5.90:5672/cs?queue=cs.to-hub&exchange=cs.from-hub&routing_key=case

Connection string
    ``amqp[s]://USER[:PASSWORD]@HOST[:PORT]/VHOST`` — vhost ``/`` is written ``//`` or ``/%2F``.
Options (query string, or keyword arguments to ``open_adapter``)
    queue          the queue ``read`` takes messages from (required to read)
    exchange       the exchange ``write`` publishes to (default ``""``: the default exchange)
    routing_key    the routing key for ``write`` (default: ``queue``)
    password_env   the name of an environment variable holding the password (when the URL has none)
    timeout        seconds for connecting and for a publisher confirm (default 10)
The adapter never declares anything on the peer's broker (its topology is the peer's):
the queue and exchange are checked passively, and a missing one is a ``ConfigError``.

Behaviour
- read(limit): ``basic.get`` with manual ack, one message at a time, until ``limit`` or
  the queue is empty. ``Envelope.handle`` is the kombu message; the message id is the
  ``message_id`` property, else ``amqp:sha256:<digest of the body>``; headers are copied,
  and ``system``/``kind``/``format``/``filename`` headers fill the envelope's fields.
- ack: ``basic.ack`` on the channel that delivered it. Unacknowledged messages go back to
  the queue when the connection closes or drops — a redelivery with the same message id.
- write: publishes persistent (delivery_mode 2), mandatory, with publisher confirms;
  returns ``Receipt("acknowledged")`` only once the broker confirmed it. A message no
  queue is bound for is returned by the broker → ``ConfigError``; a nack, or no confirm
  within ``timeout`` → ``TransientError`` (it may have arrived after all: a retry sends it
  again with the same ``message_id`` for the peer to deduplicate).

Errors: refused / dropped connections and confirm timeouts → ``TransientError``;
ACCESS_REFUSED (bad credentials, no permission) and NOT_ALLOWED (vhost) → ``AuthError``;
NOT_FOUND (queue, exchange) and PRECONDITION_FAILED → ``ConfigError``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import amqp.exceptions as amqp_errors
from kombu import Connection, Producer, Queue
from kombu.exceptions import OperationalError

from adapters.base import Adapter, Capabilities, Envelope, Receipt
from adapters.errors import AdapterError, AuthError, ConfigError, TransientError
from hub.core.wire import original_bytes, raw_channel

OPTIONS = frozenset({"queue", "exchange", "routing_key", "password_env", "timeout"})
ENVELOPE_HEADERS = ("system", "kind", "format", "filename")


def body_message_id(body: bytes) -> str:
    return "amqp:sha256:" + hashlib.sha256(body).hexdigest()[:40]


class AmqpAdapter(Adapter):
    scheme = "amqp"
    # ordered=False: a message put back after a lost connection comes round again later
    capabilities = Capabilities(read=True, write=True, ack=True, ordered=False)

    def __init__(self, url: str, **options):
        super().__init__(url, **options)
        unknown = sorted(set(self.options) - OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown amqp:// option(s) {', '.join(unknown)}; known: {', '.join(sorted(OPTIONS))}", peer=self.peer
            )
        p = self.parts
        try:
            p.port  # noqa: B018 — reading .port is what validates it (urllib raises ValueError)
        except ValueError:
            raise ConfigError(f"the port in {self.peer!r} is not a number", peer=self.peer) from None
        if not p.hostname:
            raise ConfigError("an amqp:// URL needs a host: amqp://USER:PASSWORD@HOST[:PORT]/VHOST", peer=self.peer)
        try:
            self.timeout = float(self.option("timeout", 10))
        except ValueError:
            raise ConfigError(
                f"option timeout must be a number of seconds, not {self.option('timeout')!r}", peer=self.peer
            ) from None
        self.queue = self.option("queue")
        self.exchange = self.option("exchange", "")
        self.routing_key = self.option("routing_key", self.queue or "")
        password = None
        var = self.option("password_env")
        if var:
            if var not in os.environ:
                raise ConfigError(
                    f"password_env names the environment variable {var}, which is not set", peer=self.peer
                )
            password = os.environ[var]
        self.user = unquote(p.username) if p.username else "guest"
        # the URL without the adapter's options: kombu would take them as its own
        broker_url = f"{p.scheme}://{p.netloc}{p.path or '/'}"
        self._kombu = dict(
            hostname=broker_url,
            password=password,
            connect_timeout=self.timeout,
            transport_options={"confirm_publish": True},
        )
        self._conn: Connection | None = None
        self._rx = None  # channel for basic.get and its acks
        self._tx = None  # channel in confirm mode for publishing

    # -- connection ---------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = Connection(**{k: v for k, v in self._kombu.items() if v is not None})
            try:
                conn.ensure_connection(max_retries=0)  # one attempt: retrying is the caller's policy
            except BaseException:
                conn.release()
                raise
            self._conn = conn
        return self._conn

    def _channel(self, which: str):
        if getattr(self, which) is None:
            setattr(self, which, raw_channel(self._connection().channel()))  # bodies stay bytes
        return getattr(self, which)

    def _discard(self, which: str) -> None:
        """Forget a channel the broker closed. py-amqp reopens it as the same object, but
        the deliveries taken on it are back in the queue and can no longer be acked: a
        fresh channel makes ``ack`` of such an envelope say so."""
        channel = getattr(self, which)
        setattr(self, which, None)
        if channel is not None:
            try:
                channel.close()
            except Exception:  # noqa: BLE001 — it is already broken
                pass

    def _drop(self) -> None:
        conn, self._conn, self._rx, self._tx = self._conn, None, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # noqa: BLE001
                pass

    @contextmanager
    def _broker(self, doing: str, channel: str | None = None):
        """Translate what py-amqp, kombu and the socket raise while ``doing`` something."""
        try:
            yield
        except AdapterError:
            raise
        except amqp_errors.AccessRefused as exc:
            if channel:
                self._discard(channel)
            else:
                self._drop()
            raise AuthError(
                f"{doing}: the broker refused {self.user}: {exc.reply_text} — check the user, password "
                "and its permissions on the vhost",
                peer=self.peer,
            ) from None
        except amqp_errors.NotAllowed as exc:
            self._drop()
            raise AuthError(
                f"{doing}: {exc.reply_text} — check the vhost in the URL and that {self.user} may use it",
                peer=self.peer,
            ) from None
        except amqp_errors.NotFound as exc:
            if channel:
                self._discard(channel)
            raise ConfigError(
                f"{doing}: {exc.reply_text} — the peer must create it, or correct the URL options", peer=self.peer
            ) from None
        except amqp_errors.PreconditionFailed as exc:
            if channel:
                self._discard(channel)
            raise ConfigError(
                f"{doing}: {exc.reply_text} — the broker refuses this as it is configured", peer=self.peer
            ) from None
        except amqp_errors.MessageNacked:
            self._discard("_tx")
            raise TransientError(
                f"{doing}: the broker refused to take the message (nack); retry later", peer=self.peer
            ) from None
        except (OSError, OperationalError, amqp_errors.ConnectionError, amqp_errors.ChannelError) as exc:
            # OSError covers refused connections and socket timeouts (also a confirm that never came)
            self._drop()
            raise TransientError(f"{doing}: {type(exc).__name__}: {exc}", peer=self.peer) from None

    def _check_queue(self) -> None:
        """Passive declare on a throwaway channel: a 404 closes the channel it happens on."""
        ch = self._connection().channel()
        try:
            ch.queue_declare(queue=self.queue, passive=True)
        finally:
            ch.close()

    # -- adapter --------------------------------------------------------------------------

    def read(self, limit: int | None = None) -> Iterator[Envelope]:
        if not self.queue:
            raise ConfigError("to read, an amqp:// adapter needs ?queue=NAME", peer=self.peer)
        taken = 0
        while limit is None or taken < limit:
            with self._broker(f"get from queue {self.queue}", "_rx"):
                message = Queue(self.queue, no_declare=True).bind(self._channel("_rx")).get(no_ack=False)
            if message is None:
                return
            taken += 1
            yield self._envelope(message)

    @staticmethod
    def _envelope(message) -> Envelope:
        body = original_bytes(message)  # a GBK body stays GBK: digest and parsing see the sent bytes
        headers = dict(message.headers or {})
        fields = {k: headers[k] for k in ENVELOPE_HEADERS if isinstance(headers.get(k), str)}
        message_id = message.properties.get("message_id") or body_message_id(body)
        return Envelope(body, message_id, headers=headers, handle=message, **fields)

    def ack(self, envelope: Envelope) -> None:
        message: Any = envelope.handle  # the kombu message this adapter read
        if message.acknowledged:
            return
        if message.channel is not self._rx:
            raise TransientError(
                "the connection that delivered this message is gone; the broker will deliver it "
                "again (the hub turns it into duplicates)",
                peer=self.peer,
            )
        with self._broker(f"ack on queue {self.queue}", "_rx"):
            message.ack()

    def write(self, envelope: Envelope) -> Receipt:
        if not self.routing_key and not self.exchange:
            raise ConfigError(
                "to write, an amqp:// adapter needs ?exchange=NAME&routing_key=KEY (or ?queue=NAME)", peer=self.peer
            )
        headers = {
            k: v if isinstance(v, (str, int, float, bool, bytes)) else str(v) for k, v in envelope.headers.items()
        }
        headers.update({k: getattr(envelope, k) for k in ENVELOPE_HEADERS if getattr(envelope, k)})
        returned = []
        target = f"exchange {self.exchange!r} with key {self.routing_key!r}"
        with self._broker(f"publish to {target}", "_tx"):
            channel = self._channel("_tx")
            on_return = lambda exc, *_: returned.append(exc)  # noqa: E731
            channel.events["basic_return"].add(on_return)
            try:
                Producer(channel, auto_declare=False).publish(
                    envelope.body,
                    exchange=self.exchange,
                    routing_key=self.routing_key,
                    mandatory=True,
                    delivery_mode=2,
                    message_id=envelope.message_id,
                    headers=headers,
                    content_type="application/octet-stream",
                    content_encoding="binary",
                    timeout=self.timeout,
                )
            finally:
                channel.events["basic_return"].discard(on_return)
        if returned:
            raise ConfigError(
                f"the broker has no queue bound to {target}; the message was returned "
                f"({returned[0]}) — the peer must bind one, or correct the URL options",
                peer=self.peer,
            )
        return Receipt("acknowledged", envelope.message_id, f"confirmed by {self.parts.hostname}")

    def ping(self) -> None:
        with self._broker("connect", None):
            self._connection()
            if self.queue:
                self._check_queue()
            if self.exchange:
                ch = self._connection().channel()
                try:
                    ch.exchange_declare(exchange=self.exchange, type="direct", passive=True)
                finally:
                    ch.close()

    def close(self) -> None:
        self._drop()
