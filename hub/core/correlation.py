"""Correlation ids: one id follows a record from ingress to delivery, so one grep of the
logs finds every line about it.

The id is set where a message enters the hub — a REST or SOAP push (the caller's
``X-Correlation-ID`` header, or a new id), an SFTP file, ``govhub publish`` — and kept
in a context variable, which the log filter stamps on every line. It travels on as the
bus message header ``correlation_id`` (to the worker), in the outbox event body and its
AMQP headers (to subscribers), and in the ``delivery`` rows (to the outbound delivery's
log lines).
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

HEADER = "X-Correlation-ID"  # HTTP
BUS_HEADER = "correlation_id"  # AMQP message headers, outbox event bodies
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")  # what a caller may choose; anything else is replaced

_current: ContextVar[str | None] = ContextVar("govhub_correlation_id", default=None)


def new_id() -> str:
    return uuid.uuid4().hex


def current() -> str | None:
    return _current.get()


def accept(value: str | None) -> str:
    """A caller's id if it is a sane token (never log what a caller injects), else a new one."""
    return value if value and _VALID.match(value) else new_id()


@contextlib.contextmanager
def bound(cid: str | None) -> Iterator[str]:
    """Run a block under ``cid`` (a new id when None); yields the id in force."""
    cid = cid or new_id()
    token = _current.set(cid)
    try:
        yield cid
    finally:
        _current.reset(token)


class CorrelationFilter(logging.Filter):
    """Stamps ``record.correlation_id`` (``-`` outside any ingress) on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", None):
            record.correlation_id = _current.get() or "-"
        return True
