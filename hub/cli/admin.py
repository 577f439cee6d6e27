"""Setting the hub up: ``govhub init``, ``govhub hash-secret`` and ``govhub schemas build|check``.

govhub init                              create or upgrade the database; declare the bus topology
govhub hash-secret [--api-key]           hash a secret for the catalogue's credentials
govhub schemas build|check               regenerate the XSD / JSON Schema files
"""

from __future__ import annotations

import click

from hub.cli.common import fail, open_engine, safe_url, settings
from hub.db.engine import current_revision


@click.command()
def init() -> None:
    """Create the database or bring it to the latest schema, and declare the bus topology
    (exchanges, inbound partition queues, dead-letter exchange) on RabbitMQ, so that
    department systems can publish to ``govhub.inbound`` before any worker has run."""
    s = settings()
    open_engine()
    click.echo(f"database ready at revision {current_revision(s.db_url)}: {safe_url(s.db_url)}")
    if not s.embedded_broker:
        _declare_bus(s)


def _declare_bus(s) -> None:
    from kombu.exceptions import OperationalError  # kombu wraps a refused connect in it

    from hub.bus import topology as bus  # deferred: kombu and amqp, not needed for `govhub --help`

    with bus.connect(s) as conn:
        try:
            conn.ensure_connection(max_retries=3, interval_start=1, interval_step=1)
            bus.declare(conn)
        except (OperationalError, *conn.connection_errors, *conn.channel_errors, OSError) as exc:
            fail(
                f"the database is ready but the broker at {safe_url(s.broker_url)} was not: {exc}; "
                "start RabbitMQ (or fix GOVHUB_BROKER_URL) and run `govhub init` again"
            )
        n = bus.partitions(conn)
    click.echo(
        f"bus ready: exchanges govhub.inbound, govhub.events, govhub.dlx; queues govhub.inbound.0..{n - 1}, "
        f"govhub.dead: {safe_url(s.broker_url)}"
    )


@click.command("hash-secret")
@click.option("--password", "kind", flag_value="password", default=True, help="a WS-Security password (pbkdf2)")
@click.option("--api-key", "kind", flag_value="api_key", help="a REST API key (sha256)")
def hash_secret(kind) -> None:
    """Hash a secret read from standard input, for the credentials in the catalogue."""
    from hub.catalog.authn import hash_password, sha256_hex  # deferred: the catalogue's pydantic models (~20 ms)

    # click.open_file("-") is standard input as the same text stream click.get_text_stream("stdin")
    # gave (deprecated since click 8.5, and untyped through click's module __getattr__)
    secret = click.open_file("-").read().strip()
    if not secret:
        fail('send the secret on standard input, e.g.  printf %s "$KEY" | govhub hash-secret --api-key')
    click.echo(hash_password(secret) if kind == "password" else sha256_hex(secret))


@click.group()
def schemas() -> None:
    """The XSD and JSON Schema files generated from schemas/dictionary/."""


@schemas.command("build")
def schemas_build() -> None:
    from hub.model.schemagen import write_all  # deferred: lxml

    written = write_all()
    click.echo("\n".join(f"wrote {p}" for p in written) or "schemas are up to date")


@schemas.command("check")
def schemas_check() -> None:
    from hub.model.schemagen import generated  # deferred: lxml

    stale = [str(p) for p, c in generated().items() if not p.exists() or p.read_bytes() != c]
    if stale:
        fail("out of date (run `govhub schemas build`): " + ", ".join(stale))
    click.echo("schemas are up to date")
