"""Getting records in: ``govhub ingest``, ``publish``, ``poll``, ``worker`` and ``serve``.

govhub ingest --system ID FILE...        ingest files (XML, JSON lines, JSON, CSV)
govhub publish --system ID FILE...       put files on the bus for `govhub worker`
govhub poll SYSTEM                       ingest a system's SFTP / folder / AMQP drop
govhub worker                            consume the bus, store, relay events, deliver
govhub serve                             REST and SOAP ingress on one port
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from adapters.errors import AdapterError
from adapters.registry import open_adapter
from hub.cli.common import fail, fail_adapter, json_option, open_engine, relay, safe_url, settings
from hub.core import correlation

if TYPE_CHECKING:
    from hub.catalog.systems import System

FORMATS = ["xml", "jsonl", "json", "csv"]
files_argument = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


class ByteProgress(io.RawIOBase):
    """A raw stream over a binary file that advances the progress bar with the bytes read."""

    def __init__(self, f, bar):
        self._f, self._bar = f, bar

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._f.readinto(b) or 0
        self._bar.update(n)
        return n


def system_or_fail(system_id: str) -> System:
    from hub.catalog.systems import CatalogError, get_system  # deferred: its pydantic models (~20 ms)

    try:
        return get_system(system_id)
    except CatalogError as exc:
        fail(str(exc))


def reasons_text(reasons: dict) -> str:
    """Quarantine reasons, most frequent first: ``id_check_char 3, missing 1``."""
    return ", ".join(f"{r} {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))


def summary_line(name: str, d: dict) -> str:
    """One file's outcome: ``cases.xml: 10 received → 8 stored, 1 duplicate, 1 quarantined (...)``."""
    line = (
        f"{name}: {d['received']:,} received → {d['stored']:,} stored, {d['duplicate']:,} duplicate, "
        f"{d['quarantined']:,} quarantined"
    )
    return line + (f" ({reasons_text(d['quarantined_by_reason'])})" if d["quarantined"] else "")


@click.command()
@click.option("--system", "system_id", required=True, help="connected system id (catalog/systems.yaml)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="default: from the file")
@click.option("--kind", help="message kind, when the format does not say (case, item, licence, ...)")
@click.option("--message-id", help="the sender's message id (default: from the document, else the file digest)")
@json_option("print the summary as JSON")
@files_argument
def ingest(system_id, fmt, kind, message_id, as_json, files) -> None:
    """Ingest files; every record ends stored, duplicate or quarantined."""
    # deferred: the pipeline loads psycopg, prometheus_client and lxml (~170 ms of every start)
    from hub.catalog.systems import CatalogError
    from hub.ingest.pipeline import file_message_id
    from hub.model.mapping import MappingError
    from hub.wiring import standard_pipeline

    system = system_or_fail(system_id)
    engine = open_engine()
    pipeline = standard_pipeline(engine, batch_size=settings().batch_size)
    summaries = []
    for path in files:
        digest = file_message_id(path)
        with (
            open(path, "rb") as raw,
            tqdm(
                total=path.stat().st_size,
                unit="B",
                unit_scale=True,
                desc=path.name,
                disable=as_json or not sys.stderr.isatty(),
                leave=False,
            ) as bar,
        ):
            try:
                summary = pipeline.ingest(
                    io.BufferedReader(ByteProgress(raw, bar)),
                    system,
                    fmt=fmt,
                    kind=kind,
                    message_id=message_id or digest,
                    filename=path.name,
                    digest=digest.removeprefix("sha256:")[:32],
                    channel="cli",
                )
            except (CatalogError, MappingError) as exc:
                fail(f"{path}: {exc}")
        summaries.append(summary)
        if not as_json:
            click.echo(summary_line(path.name, summary.as_dict()))
    relay(engine)
    if as_json:
        click.echo(json.dumps([x.as_dict() for x in summaries], ensure_ascii=False, indent=2))


@click.command()
@click.option("--system", "system_id", required=True)
@click.option("--kind")
@click.option("--format", "fmt", type=click.Choice(FORMATS))
@files_argument
def publish(system_id, kind, fmt, files) -> None:
    """Put files on the bus as inbound messages (what an adapter does)."""
    from hub.bus import topology as bus  # deferred: kombu and amqp
    from hub.ingest.partitions import publish_inbound  # deferred: psycopg, prometheus_client, lxml
    from hub.ingest.pipeline import file_message_id

    system_or_fail(system_id)
    done = 0
    try:
        with bus.connect(settings()) as conn:
            bus.declare(conn)
            for path in files:
                with correlation.bound(None) as cid:  # each file is an ingress
                    publish_inbound(
                        conn,
                        path.read_bytes(),
                        system_id,
                        file_message_id(path),
                        kind=kind,
                        fmt=fmt,
                        filename=path.name,
                    )
                click.echo(
                    f"published {path.name} ({path.stat().st_size:,} bytes) for {system_id}, correlation id {cid}"
                )
                done += 1
    except Exception as exc:  # noqa: BLE001 — a broker error of any kind: say what was not published
        left = ", ".join(p.name for p in files[done:])
        fail(
            f"the bus did not confirm {left} ({type(exc).__name__}: {exc}); {done} of {len(files)} published. "
            "Run the same command again when the broker is back: message ids are the files' digests, "
            "so a file already on the bus is recognised as a duplicate"
        )


@click.command()
@click.argument("system_id")
@click.option("--url", help="adapter URL of the drop (default: the system's endpoint in the catalogue)")
@click.option("--limit", type=int, help="at most this many files or messages")
def poll(system_id, url, limit) -> None:
    """Ingest what a system's drop holds now (SFTP folder, local folder, AMQP queue),
    acknowledging each file only after it is committed."""
    # deferred: the pipeline loads psycopg, prometheus_client and lxml
    from hub.ingest.drop import poll_drop
    from hub.wiring import standard_pipeline

    system = system_or_fail(system_id)
    url = url or system.endpoint
    if not url:
        fail(f"system {system_id} has no endpoint in the catalogue; pass --url sftp://... or file:///...")
    engine = open_engine()
    try:
        with open_adapter(url) as drop:
            counts = poll_drop(
                drop, system_id, standard_pipeline(engine, batch_size=settings().batch_size), limit=limit
            )
    except AdapterError as exc:
        fail_adapter(exc, transient="will succeed later, retry", terminal="fix the configuration")
    relay(engine)
    click.echo(
        f"{counts['files']} files: {counts['stored']:,} stored, {counts['duplicate']:,} duplicate, "
        f"{counts['quarantined']:,} quarantined"
    )


@click.command()
@click.option("--idle-exit", type=float, help="stop after the queue has been idle this many seconds")
@click.option("--metrics-port", type=int, help="serve Prometheus metrics on this port (GET /metrics)")
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="address of the metrics port; another than loopback needs GOVHUB_METRICS_TOKEN (scrapes send it)",
)
def worker(idle_exit, metrics_port, metrics_host) -> None:
    """Consume the inbound queue: ingest, commit, then acknowledge; relay events."""
    from hub.audit.schedule import running as checkpoints_running  # deferred: cryptography, the TSA client
    from hub.worker.process import Worker  # deferred: kombu and the pipeline (psycopg, lxml...)

    s = settings()
    engine = open_engine()
    if metrics_port:
        from hub.ops import metrics  # deferred: prometheus_client, only with --metrics-port

        try:
            metrics.serve(metrics_port, engine, s, addr=metrics_host)
        except metrics.MetricsNotProtected as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(
        f"worker consuming govhub.inbound.0-{s.bus_partitions - 1} on {safe_url(s.broker_url)}; "
        f"database {safe_url(s.db_url)}",
        err=True,
    )
    with checkpoints_running(engine):  # the exchange log's signed checkpoints, and one at shutdown
        handled = Worker(s, engine).run(idle_exit=idle_exit)
    click.echo(f"worker stopped: {dict(handled)}", err=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="server processes")
def serve(host, port, workers) -> None:
    """Serve the REST and SOAP ingress on one port (OpenAPI at /openapi.json, WSDL at /soap/push?wsdl)."""
    import uvicorn  # deferred: the ASGI server, only for `govhub serve`

    from hub.audit.schedule import running as checkpoints_running  # deferred: cryptography, the TSA client

    engine = open_engine()  # migrate once, before the server processes start
    click.echo(
        f"govhub listening on http://{host}:{port} — REST /api/v1, SOAP /soap/push?wsdl, /openapi.json", err=True
    )
    with checkpoints_running(engine):  # the exchange log's signed checkpoints, and one at shutdown
        uvicorn.run(
            "hub.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            proxy_headers=True,
        )
