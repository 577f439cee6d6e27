"""The ``govhub`` command line.

govhub init                              create or upgrade the database
govhub ingest --system ID FILE...        ingest files (XML, JSON lines, JSON, CSV)
govhub publish --system ID FILE...       put files on the bus for `govhub worker`
govhub worker                            consume the bus, store, relay events, deliver
govhub poll SYSTEM                       ingest a system's SFTP / folder / AMQP drop
govhub sync items SYSTEM                 pull the item catalogue, version and diff it
govhub catalog versions|diff ITEM        an item's versions; field diff between two
govhub report run|backfill PEER          report upward by watermark; re-send a date range
govhub report quality --html P --json P  the data-quality report (数据质量报告)
govhub libraries refresh SYSTEM          merge a sharing platform's changes by field precedence
govhub reconcile PEER [--day]            per item and day, what we sent vs what the peer holds
govhub bundles split|join|resume         bundle applications (套餐)
govhub licences catalogue|sync|remind    licence catalogue versions, sync, expiry reminders
govhub supervision scan|list|assign|acknowledge|resolve|report   电子监察 and 督办
govhub evaluations follow-ups|close|overdue|show   好差评 follow-ups
govhub notify collect|send               milestone messages through the SMS gateway
govhub stats [--json]                    received / stored / duplicate / quarantined
govhub quarantine list|show|retry|reject|history|export   the quarantine workflow (masked)
govhub generate KIND N FILE              synthetic records for tests and demos
govhub schemas build|check               regenerate the XSD / JSON Schema files
govhub demo                              the whole flow on the embedded default
govhub serve                             REST and SOAP ingress on one port
govhub deliveries | deliver | replay     outbound deliveries, their receipts, dead letters
govhub export --peer P --kind K --out F  a kind in the peer's format (as delivery sends it), to a file
govhub calendar add-workdays|is-workday|show   the official working-day calendar
govhub devices serve|check|stats         hall devices: HTTP + line listener, queue statistics
govhub quality suites|check|batch|docs   data-quality suites, day and batch checks, Data Docs
govhub audit verify [--from D --to D]    re-check the exchange log's chain and stored bytes
govhub audit checkpoint|export|archive   sign its head; one message's evidence package; archive and prune
"""

from __future__ import annotations

import click

from devices.cli import devices
from hub.cli.admin import hash_secret, init, schemas
from hub.cli.audit import audit
from hub.cli.bundles import bundles
from hub.cli.calendar import calendar
from hub.cli.deliveries import deliver, deliveries, export, replay
from hub.cli.demo import demo
from hub.cli.evaluations import evaluations
from hub.cli.generate import generate
from hub.cli.ingest import ingest, poll, publish, serve, worker
from hub.cli.items import catalog, sync
from hub.cli.libraries import libraries
from hub.cli.licences import licences
from hub.cli.notify import notify
from hub.cli.quality import quality
from hub.cli.quarantine import quarantine
from hub.cli.report import reconcile, report
from hub.cli.stats import stats
from hub.cli.supervision import supervision
from hub.core.config import default_log_level
from hub.ops import logs


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default=default_log_level(), show_default=True)
def main(log_level: str) -> None:
    """govhub: integration hub for government-service data (政务服务数据交换)."""
    logs.setup(log_level.upper())


COMMANDS = (
    init,
    hash_secret,
    schemas,  # setting up
    ingest,
    publish,
    poll,
    worker,
    serve,  # records in
    deliveries,
    deliver,
    replay,
    export,
    report,
    reconcile,  # records out, and checking them
    sync,
    catalog,
    libraries,
    licences,
    bundles,  # the domains
    supervision,
    evaluations,
    notify,
    calendar,
    quarantine,
    quality,
    stats,  # data quality and operations
    audit,  # the exchange log (存证)
    generate,
    demo,  # development checkout
    devices,  # hall devices (devices/cli.py)
)
for command in COMMANDS:
    main.add_command(command)

if __name__ == "__main__":
    main()
