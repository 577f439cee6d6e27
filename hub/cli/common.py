"""What every ``govhub`` command module shares: settings and the database, the error
exit, the bus relay after a command that wrote events, and output helpers.

Command modules import from here, never from ``hub.cli.main`` (which only assembles
the command tree) nor each other's private names.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from adapters.errors import AdapterError
from hub.core.config import Settings, load_settings
from hub.db.engine import engine_for, ensure_schema
from hub.model.masking import mask_text

F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    return load_settings()


def open_engine() -> Engine:
    """The configured database, created or migrated to the latest schema first (under a
    lock, and only when it is behind)."""
    s = settings()
    ensure_schema(s.db_url)
    return engine_for(s.db_url)


def fail(message: str, *, mask: bool = True) -> NoReturn:
    """``error: MESSAGE`` on standard error and exit status 2: the user can fix it.

    The message is masked (ID and mobile numbers) unless ``mask=False``; the quality
    and device commands print theirs as they are, as they always have."""
    click.echo(click.style("error: ", fg="red", bold=True) + (mask_text(message) if mask else message), err=True)
    sys.exit(2)


def fail_adapter(
    exc: AdapterError, *, transient: str = "retry later", terminal: str = "fix the endpoint or credentials"
) -> NoReturn:
    """An adapter error, with what to do about it: wait, or fix the configuration."""
    fail(f"{exc.message} ({transient if exc.transient else terminal})")


def safe_url(url: str) -> str:
    """A database or broker URL without its password; a multi-host broker URL
    (``amqp://u:p@h1//;amqp://u:p@h2//``, kombu's failover list) without any host's."""
    if ";" in url:
        return ";".join(safe_url(part) for part in url.split(";"))
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — not an SQLAlchemy URL (amqp://...): keep the host part
        return url.split("@")[-1]


def relay(engine: Engine) -> int:
    """Publish the outbox events a command produced (the worker does this continuously)."""
    from hub.bus import topology as bus  # deferred: kombu and amqp, not needed for `govhub --help`

    total = 0
    with bus.connect(settings()) as conn:
        bus.declare(conn)
        while n := bus.relay_outbox(engine, conn):
            total += n
    return total


def json_option(help: str | None = None) -> Callable[[F], F]:
    """``--json``: print machine-readable output (the parameter is ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def dumps(data: Any, *, indent: int | None = None) -> str:
    """JSON as the commands print it: Chinese as is, dates and decimals as strings."""
    return json.dumps(data, ensure_ascii=False, indent=indent, default=str)


def counts_line(counts: Mapping[str, Any]) -> str:
    """``stored 3, duplicate 1``: a result's counts in their own order."""
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad_right(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns."""
    return text + " " * max(width - display_width(text), 0)


def pad_left(text: str, width: int) -> str:
    """``text`` right-aligned in ``width`` terminal columns."""
    return " " * max(width - display_width(text), 0) + text
