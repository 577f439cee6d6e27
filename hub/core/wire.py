"""A message's bytes exactly as they came over the wire (AMQP).

py-amqp decodes a message body by its ``content_encoding`` property before kombu sees
it (``Channel.auto_decode``): a department that publishes a GBK document with
``content_encoding: gbk`` — a plain AMQP client does, kombu does not — would hand the
hub a ``str``. Re-encoding that as UTF-8 leaves an XML declaration saying GBK in front
of UTF-8 bytes (the whole message quarantined as ``encoding_invalid``) and changes the
digest that becomes the message id. So the hub's consuming channels keep bodies as bytes
(:func:`raw_channel`), and :func:`original_bytes` is the one way to read a body: the bytes
unchanged, or — on a channel that decoded anyway — encoded back with the codec that
decoded them, which gives the same bytes.

Used by the worker's partition consumers (``hub.bus.consumers``), the worker itself
(``hub.worker.process``) and the department-broker adapter (``adapters.amqp``).
"""

from __future__ import annotations

import codecs
from typing import Any, Protocol, TypeVar


class _Delivered(Protocol):
    @property
    def body(self) -> Any: ...
    @property
    def content_encoding(self) -> str | None: ...


C = TypeVar("C")


def raw_channel(channel: C) -> C:
    """``channel`` with py-amqp's body decoding turned off (a no-op on transports without it)."""
    if hasattr(channel, "auto_decode"):
        channel.auto_decode = False
    return channel


def original_bytes(message: _Delivered) -> bytes:
    """The body of a delivered message as the publisher sent it."""
    body = message.body
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    encoding = message.content_encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:  # py-amqp decodes only with codecs it knows; a str here came as UTF-8
        encoding = "utf-8"
    return str(body).encode(encoding)
