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
    govhub calendar add-workdays|is-workday|show   the official working-day calendar
    govhub devices serve|check|stats         hall devices: HTTP + line listener, queue statistics
    govhub quality suites|check|batch|docs   data-quality suites, day and batch checks, Data Docs
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from hub.core import correlation
from hub.ops import logs
from hub.core.config import load_settings


def _settings():
    return load_settings()


def _engine(migrate: bool = True):
    from hub.db.engine import engine_for, migrate as run_migrations

    s = _settings()
    if migrate:
        run_migrations(s.db_url)
    return engine_for(s.db_url)


def _fail(message: str) -> None:
    from hub.model.masking import mask_text

    click.echo(click.style("error: ", fg="red", bold=True) + mask_text(message), err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default=lambda: load_settings().log_level, show_default="$GOVHUB_LOG_LEVEL, else WARNING")
def main(log_level: str) -> None:
    """govhub: integration hub for government-service data (政务服务数据交换)."""
    logs.setup(log_level.upper())


@main.command()
def init() -> None:
    """Create the database or bring it to the latest schema."""
    from hub.db.engine import current_revision

    s = _settings()
    _engine()
    click.echo(f"database ready at revision {current_revision(s.db_url)}: {_safe_url(s.db_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url.split("@")[-1]


class _ByteProgress(io.RawIOBase):
    """A raw stream over a binary file that advances the progress bar with the bytes read."""

    def __init__(self, f, bar):
        self._f, self._bar = f, bar

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._f.readinto(b) or 0
        self._bar.update(n)
        return n


@main.command()
@click.option("--system", "system_id", required=True, help="connected system id (catalog/systems.yaml)")
@click.option("--format", "fmt", type=click.Choice(["xml", "jsonl", "json", "csv"]), help="default: from the file")
@click.option("--kind", help="message kind, when the format does not say (case, item, licence, ...)")
@click.option("--message-id", help="the sender's message id (default: from the document, else the file digest)")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ingest(system_id, fmt, kind, message_id, as_json, files) -> None:
    """Ingest files; every record ends stored, duplicate or quarantined."""
    from tqdm import tqdm

    from hub.model.mapping import MappingError
    from hub.ingest.pipeline import file_message_id
    from hub.wiring import standard_pipeline
    from hub.catalog.systems import CatalogError, get_system

    try:
        system = get_system(system_id)
    except CatalogError as exc:
        _fail(str(exc))
    engine = _engine()
    s = _settings()
    pipeline = standard_pipeline(engine, batch_size=s.batch_size)
    summaries = []
    for path in files:
        digest = file_message_id(path)
        mid = message_id or digest
        with open(path, "rb") as raw, tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name,
                                         disable=as_json or not sys.stderr.isatty(), leave=False) as bar:
            try:
                summary = pipeline.ingest(io.BufferedReader(_ByteProgress(raw, bar)), system, fmt=fmt, kind=kind,
                                          message_id=mid, filename=path.name, digest=digest.removeprefix("sha256:")[:32])
            except (CatalogError, MappingError) as exc:
                _fail(f"{path}: {exc}")
        summaries.append(summary)
        if not as_json:
            d = summary.as_dict()
            click.echo(f"{path.name}: {d['received']:,} received → {d['stored']:,} stored, {d['duplicate']:,} duplicate, "
                       f"{d['quarantined']:,} quarantined" + (f" ({_reasons(d['quarantined_by_reason'])})" if d['quarantined'] else ""))
    _relay(engine)
    if as_json:
        click.echo(json.dumps([x.as_dict() for x in summaries], ensure_ascii=False, indent=2))


def _reasons(reasons: dict) -> str:
    return ", ".join(f"{r} {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))


def _relay(engine) -> int:
    """Publish the outbox events the ingest produced (the worker does this continuously)."""
    from hub.bus import topology as bus

    total = 0
    with bus.connect(_settings()) as conn:
        bus.declare(conn)
        while n := bus.relay_outbox(engine, conn):
            total += n
    return total


@main.command()
@click.option("--system", "system_id", required=True)
@click.option("--kind")
@click.option("--format", "fmt", type=click.Choice(["xml", "jsonl", "json", "csv"]))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def publish(system_id, kind, fmt, files) -> None:
    """Put files on the bus as inbound messages (what an adapter does)."""
    from hub.bus import topology as bus
    from hub.ingest.partitions import publish_inbound
    from hub.ingest.pipeline import file_message_id
    from hub.catalog.systems import CatalogError, get_system

    try:
        get_system(system_id)
    except CatalogError as exc:
        _fail(str(exc))
    done = 0
    try:
        with bus.connect(_settings()) as conn:
            bus.declare(conn)
            for path in files:
                with correlation.bound(None) as cid:  # each file is an ingress
                    publish_inbound(conn, path.read_bytes(), system_id, file_message_id(path), kind=kind, fmt=fmt,
                                        filename=path.name)
                click.echo(f"published {path.name} ({path.stat().st_size:,} bytes) for {system_id}, correlation id {cid}")
                done += 1
    except Exception as exc:  # noqa: BLE001 — a broker error of any kind: say what was not published
        left = ", ".join(p.name for p in files[done:])
        _fail(f"the bus did not confirm {left} ({type(exc).__name__}: {exc}); {done} of {len(files)} published. "
              "Run the same command again when the broker is back: message ids are the files' digests, "
              "so a file already on the bus is recognised as a duplicate")


@main.command()
@click.argument("system_id")
@click.option("--url", help="adapter URL of the drop (default: the system's endpoint in the catalogue)")
@click.option("--limit", type=int, help="at most this many files or messages")
def poll(system_id, url, limit) -> None:
    """Ingest what a system's drop holds now (SFTP folder, local folder, AMQP queue),
    acknowledging each file only after it is committed."""
    from hub.ingest.drop import poll_drop
    from adapters.errors import AdapterError
    from adapters.registry import open_adapter
    from hub.wiring import standard_pipeline
    from hub.catalog.systems import CatalogError, get_system

    try:
        system = get_system(system_id)
    except CatalogError as exc:
        _fail(str(exc))
    url = url or system.endpoint
    if not url:
        _fail(f"system {system_id} has no endpoint in the catalogue; pass --url sftp://... or file:///...")
    engine = _engine()
    try:
        with open_adapter(url) as drop:
            counts = poll_drop(drop, system_id, standard_pipeline(engine, batch_size=_settings().batch_size), limit=limit)
    except AdapterError as exc:
        _fail(f"{exc.message} ({'will succeed later, retry' if exc.transient else 'fix the configuration'})")
    _relay(engine)
    click.echo(f"{counts['files']} files: {counts['stored']:,} stored, {counts['duplicate']:,} duplicate, "
               f"{counts['quarantined']:,} quarantined")


@main.command()
@click.option("--idle-exit", type=float, help="stop after the queue has been idle this many seconds")
@click.option("--metrics-port", type=int, help="serve Prometheus metrics on this port (GET /metrics)")
def worker(idle_exit, metrics_port) -> None:
    """Consume the inbound queue: ingest, commit, then acknowledge; relay events."""
    from hub.worker.process import Worker

    s = _settings()
    engine = _engine()
    if metrics_port:
        from hub.ops import metrics

        metrics.serve(metrics_port, engine, s)
    click.echo(f"worker consuming govhub.inbound.0-{s.bus_partitions - 1} on {_safe_url(s.broker_url)}; database {_safe_url(s.db_url)}", err=True)
    handled = Worker(s, engine).run(idle_exit=idle_exit)
    click.echo(f"worker stopped: {dict(handled)}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="server processes")
def serve(host, port, workers) -> None:
    """Serve the REST and SOAP ingress on one port (OpenAPI at /openapi.json, WSDL at /soap/push?wsdl)."""
    import uvicorn

    _engine()  # migrate once, before the server processes start
    click.echo(f"govhub listening on http://{host}:{port} — REST /api/v1, SOAP /soap/push?wsdl, /openapi.json", err=True)
    uvicorn.run("hub.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", proxy_headers=True)


@main.command()
@click.option("--peer")
@click.option("--status", type=click.Choice(["pending", "acknowledged", "sent", "superseded", "dead"]))
@click.option("--limit", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def deliveries(peer, status, limit, as_json) -> None:
    """Outbound deliveries: totals per peer and status, and the latest records."""
    from hub.outbound import delivery

    engine = _engine()
    totals = delivery.summary(engine)
    rows = delivery.listing(engine, peer=peer, status=status, limit=limit)
    if as_json:
        click.echo(json.dumps({"totals": totals, "deliveries": rows}, ensure_ascii=False, indent=2, default=str))
        return
    if not totals:
        click.echo("no deliveries")
        return
    click.echo("对端 peer            状态 status        数量 count  最早 oldest")
    for t in totals:
        click.echo(f"{t['peer']:<20} {t['status']:<16} {t['count']:>10,}  {t['oldest']}")
    click.echo("")
    for r in rows:
        click.echo(f"#{r['id']:<7} {r['peer']:<16} {r['kind']:<8} {r['record_key'][:40]:<40} v{r['record_version']:<3} "
                   f"{r['status']:<12} tries={r['attempts']} {r['peer_ref'] or ''} {(r['last_error'] or '')[:80]}")


@main.command()
@click.option("--peer")
@click.option("--loop", is_flag=True, help="keep delivering until interrupted")
def deliver(peer, loop) -> None:
    """Send due outbound deliveries now (the worker does this continuously)."""
    import time

    from hub.outbound.delivery import Deliverer

    d = Deliverer(_engine())
    try:
        while True:
            done = d.run_once(peer)
            if done:
                click.echo(", ".join(f"{k} {v}" for k, v in sorted(done.items())))
            if not loop:
                break
            time.sleep(1.0)
    finally:
        d.close()


@main.command()
@click.option("--peer")
@click.option("--id", "ids", type=int, multiple=True)
def replay(peer, ids) -> None:
    """Send dead-letter deliveries again (after the peer or the data was fixed)."""
    from hub.outbound.delivery import Deliverer, replay as do_replay

    engine = _engine()
    n = do_replay(engine, peer=peer, ids=list(ids) or None)
    click.echo(f"{n} dead deliveries queued again")
    if n:
        d = Deliverer(engine)
        try:
            done = d.run_once(peer)
        finally:
            d.close()
        click.echo(", ".join(f"{k} {v}" for k, v in sorted(done.items())) or "nothing due yet")


@main.group()
def sync() -> None:
    """Pull from the systems that publish to the hub (what the DAGs schedule)."""


@sync.command("items")
@click.argument("system_id")
def sync_items(system_id) -> None:
    """Pull the item catalogue from SYSTEM, store changed versions, publish the diff."""
    from adapters.errors import AdapterError
    from hub.domains import items as catalogue

    engine = _engine()
    try:
        counts = catalogue.sync_items(engine, system_id)
    except AdapterError as exc:
        _fail(f"{exc.message} ({'retry later' if exc.transient else 'fix the endpoint or credentials'})")
    _relay(engine)
    click.echo(f"{counts['pulled']} items pulled: {counts['new']} new, {counts['changed']} changed, "
               f"{counts['withdrawn']} withdrawn; {counts['quarantined']} quarantined")


@main.group()
def catalog() -> None:
    """The item catalogue's versions (事项版本)."""


@catalog.command("versions")
@click.argument("item_code")
def catalog_versions(item_code) -> None:
    from hub.domains import items as catalogue

    vs = catalogue.versions(_engine(), item_code)
    if not vs:
        _fail(f"no item {item_code} in the catalogue")
    for v in vs:
        click.echo(f"version {v['item_version']:<6} revision {v['revision']:<3} {v['status']:<4} updated {v['updated_at']}"
                   f"  {len(v['revisions'])} earlier revision(s) in the history")


@catalog.command("diff")
@click.argument("item_code")
@click.option("--from", "v_from", required=True, help="item version (as the province numbers them)")
@click.option("--to", "v_to", required=True)
@click.option("--json", "as_json", is_flag=True)
def catalog_diff(item_code, v_from, v_to, as_json) -> None:
    """Field-level differences between two versions of an item (版本比对)."""
    from hub.domains import items as catalogue

    try:
        diff = catalogue.diff_versions(_engine(), item_code, v_from, v_to)
    except LookupError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(diff, ensure_ascii=False, indent=2))
        return
    if not diff:
        click.echo("no differences")
    for field, d in diff.items():
        click.echo(f"{d['label']} ({field}):\n  - {d['from']}\n  + {d['to']}")


@main.group()
def report() -> None:
    """Report records upward (融通上报) by watermark; backfill a date range; the data-quality report."""


@report.command("run")
@click.argument("peer")
@click.option("--kind", default="case", show_default=True)
def report_run(peer, kind) -> None:
    from hub.outbound import reporting

    r = reporting.run(_engine(), peer, kind)
    click.echo(json.dumps(r.as_dict(), ensure_ascii=False))


@report.command("backfill")
@click.argument("peer")
@click.option("--kind", default="case", show_default=True)
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="exclusive")
def report_backfill(peer, kind, start, end) -> None:
    """Queue every record changed in [FROM, TO) again for PEER, and deliver."""
    from hub.outbound import reporting
    from hub.outbound.delivery import Deliverer

    engine = _engine()
    n = reporting.backfill(engine, peer, kind, start, end)
    d = Deliverer(engine)
    try:
        done = d.run_once(peer)
    finally:
        d.close()
    click.echo(f"{n} records queued again for {peer}; delivered now: {dict(done)}")


@main.group()
def libraries() -> None:
    """The people, enterprise and project libraries (人员库, 企业库, 投资项目库)."""


@libraries.command("refresh")
@click.argument("system_id")
@click.option("--from-start", is_flag=True, help="forget the stored cursor and read the whole feed again")
def libraries_refresh(system_id, from_start) -> None:
    """Pull SYSTEM's change feed and merge it field by field by catalog/precedence.yaml."""
    from sqlalchemy import delete

    from adapters.errors import AdapterError
    from hub.domains.libraries.merge import refresh, refresh_cursor

    engine = _engine()
    if from_start:
        with engine.begin() as conn:
            conn.execute(delete(refresh_cursor).where(refresh_cursor.c.system == system_id))
    try:
        counts = refresh(engine, system_id)
    except AdapterError as exc:
        _fail(f"{exc.message} ({'retry later' if exc.transient else 'fix the endpoint or credentials'})")
    _relay(engine)
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@main.command()
@click.argument("peer")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="default: yesterday (China Standard Time)")
def reconcile(peer, day) -> None:
    """Compare per item what was delivered to PEER for a day with what it holds (对账)."""
    from datetime import timedelta

    from adapters.errors import AdapterError
    from hub.core import clock
    from hub.outbound.reconcile import reconcile as run_reconcile

    the_day = day.date() if day else (clock.now() - timedelta(days=1)).date()
    try:
        counts = run_reconcile(_engine(), peer, the_day)
    except AdapterError as exc:
        _fail(f"{exc.message} ({'retry later' if exc.transient else 'fix the endpoint or credentials'})")
    click.echo(f"{the_day}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@main.group()
def bundles() -> None:
    """Bundle applications (套餐): split into department items, track, join."""


@bundles.command("split")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def bundles_split(file) -> None:
    """Store bundle applications from FILE (one JSON object or an array) and dispatch their parts."""
    from collections import Counter

    from hub.domains.bundles import BundleError, split

    try:
        apps = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        _fail(f"{file}: not JSON ({exc})")
    engine = _engine()
    total: Counter = Counter()
    for app in apps if isinstance(apps, list) else [apps]:
        try:
            total.update(split(engine, app))
        except BundleError as exc:
            _fail(str(exc))
    _relay(engine)
    click.echo(", ".join(f"{k} {v}" for k, v in sorted(total.items())))


@bundles.command("join")
def bundles_join() -> None:
    """Derive each open bundle's status from its parts; publish the changes."""
    from hub.domains.bundles import join

    engine = _engine()
    counts = join(engine)
    _relay(engine)
    click.echo(json.dumps(counts, ensure_ascii=False))


@bundles.command("resume")
def bundles_resume() -> None:
    """Finish bundle splits a crash interrupted."""
    from hub.domains.bundles import resume

    engine = _engine()
    counts = resume(engine)
    _relay(engine)
    click.echo(json.dumps(counts, ensure_ascii=False))


@main.group()
def licences() -> None:
    """The licence catalogue (证照目录), sync to the province, expiry reminders."""


@licences.group("catalogue")
def licences_catalogue() -> None:
    """Versions of the licence catalogue."""


@licences_catalogue.command("load")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--operator", default="system", show_default=True)
def licences_catalogue_load(path, operator) -> None:
    from hub.domains.licences import LicenceCatalogueError, load_catalogue

    try:
        counts = load_catalogue(_engine(), path, operator=operator)
    except LicenceCatalogueError as exc:
        _fail(str(exc))
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@licences_catalogue.command("diff")
@click.argument("code")
@click.argument("v1", type=int)
@click.argument("v2", type=int)
def licences_catalogue_diff(code, v1, v2) -> None:
    from hub.domains.licences import catalogue_diff

    try:
        click.echo(json.dumps(catalogue_diff(_engine(), code, v1, v2), ensure_ascii=False, indent=2, default=str))
    except LookupError as exc:
        _fail(str(exc))


@licences.command("sync")
@click.argument("peer")
def licences_sync(peer) -> None:
    """Send locally issued licences to PEER (the province licence library)."""
    from hub.domains.licences import sync_to_province

    click.echo(json.dumps(sync_to_province(_engine(), peer), ensure_ascii=False))


@licences.command("remind")
@click.option("--days", default="30,7", show_default=True)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]))
def licences_remind(days, today) -> None:
    """Raise licence.expiring events before expiry (once per licence and threshold)."""
    from hub.domains.licences import expiry_reminders

    engine = _engine()
    counts = expiry_reminders(engine, [int(d) for d in days.split(",")], today.date() if today else None)
    _relay(engine)
    click.echo(json.dumps(counts, ensure_ascii=False))


@main.group()
def supervision() -> None:
    """Electronic supervision (电子监察): warnings, 督办 workflow, reporting upward."""


@supervision.command("scan")
@click.option("--now", type=click.DateTime(), help="evaluate as of this time (China Standard Time)")
def supervision_scan(now) -> None:
    """Evaluate open cases against catalog/monitoring_rules.yaml; raise each finding once."""
    from hub.domains.supervision.scan import scan

    engine = _engine()
    counts = scan(engine, now)
    _relay(engine)
    click.echo(json.dumps(counts, ensure_ascii=False, default=str))


@supervision.command("list")
@click.option("--status")
@click.option("--case-no")
@click.option("--limit", default=50, show_default=True)
def supervision_list(status, case_no, limit) -> None:
    from hub.domains.supervision.scan import list_supervision

    for r in list_supervision(_engine(), status=status, case_no=case_no, limit=limit):
        click.echo(f"{r['supervision_no']:<40} {r['level']:<6} {r['rule_type']:<4} {r['status']:<4} {r['dept_name']:<20} {r['raised_time']}")


def _workflow(action):
    @click.argument("supervision_no")
    @click.option("--actor", required=True)
    @click.option("--note")
    def command(supervision_no, actor, note) -> None:
        from hub.domains.supervision.scan import WorkflowError, workflow

        try:
            click.echo(json.dumps(workflow(_engine(), supervision_no, action, actor, note), ensure_ascii=False, default=str))
        except WorkflowError as exc:
            _fail(str(exc))
    command.__doc__ = f"督办: {action} a supervision record."
    return command


for _action in ("assign", "acknowledge", "resolve"):
    supervision.command(_action)(_workflow(_action))


@supervision.command("report")
@click.argument("peer")
def supervision_report(peer) -> None:
    """Report supervision records to PEER (the province) by watermark."""
    from hub.domains.supervision.scan import report as do_report

    click.echo(json.dumps(do_report(_engine(), peer), ensure_ascii=False, default=str))


@main.group()
def evaluations() -> None:
    """好差评: follow-ups of bad reviews."""


@evaluations.command("follow-ups")
@click.option("--days", default=5, show_default=True, help="working days to close a 差评 follow-up")
def evaluations_follow_ups(days) -> None:
    from hub.domains.evaluations import open_follow_ups

    click.echo(json.dumps(open_follow_ups(_engine(), days=days), ensure_ascii=False, default=str))


@evaluations.command("close")
@click.argument("eval_no")
@click.option("--actor", required=True)
@click.option("--note", required=True)
@click.option("--source")
def evaluations_close(eval_no, actor, note, source) -> None:
    from hub.domains.evaluations import close_follow_up

    try:
        click.echo(json.dumps(close_follow_up(_engine(), eval_no, actor, note, source_system=source), ensure_ascii=False, default=str))
    except (LookupError, ValueError) as exc:
        _fail(str(exc))


@evaluations.command("overdue")
def evaluations_overdue() -> None:
    """Follow-ups past due: flagged once, with an evaluation.follow_up_overdue event."""
    from hub.domains.evaluations import overdue

    engine = _engine()
    rows = overdue(engine)
    _relay(engine)
    click.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=2))


@evaluations.command("show")
@click.argument("eval_no")
def evaluations_show(eval_no) -> None:
    from hub.domains.evaluations import linked

    try:
        click.echo(json.dumps(linked(_engine(), eval_no), ensure_ascii=False, default=str, indent=2))
    except LookupError as exc:
        _fail(str(exc))


@main.group()
def notify() -> None:
    """Case milestone and supervision messages for the SMS gateway (短信网关)."""


@notify.command("collect")
@click.option("--since", type=click.DateTime(), help="only cases changed since (China Standard Time)")
def notify_collect(since) -> None:
    from hub.domains.notifications import collect

    click.echo(json.dumps(collect(_engine(), since=since), ensure_ascii=False, default=str))


@notify.command("send")
@click.option("--gateway", required=True, help="rest://host:port/?push_path=/sms&api_key_env=GOVHUB_SMS_KEY")
@click.option("--per-phone-per-day", default=3, show_default=True)
@click.option("--per-minute", default=60, show_default=True)
def notify_send(gateway, per_phone_per_day, per_minute) -> None:
    from hub.domains.notifications import send

    click.echo(json.dumps(send(_engine(), gateway, per_phone_per_day=per_phone_per_day, per_minute=per_minute),
                          ensure_ascii=False, default=str))


@main.command("hash-secret")
@click.option("--password", "kind", flag_value="password", default=True, help="a WS-Security password (pbkdf2)")
@click.option("--api-key", "kind", flag_value="api_key", help="a REST API key (sha256)")
def hash_secret(kind) -> None:
    """Hash a secret read from standard input, for the credentials in the catalogue."""
    from hub.catalog.access import hash_password, sha256_hex

    secret = click.get_text_stream("stdin").read().strip()
    if not secret:
        _fail("send the secret on standard input, e.g.  printf %s \"$KEY\" | govhub hash-secret --api-key")
    click.echo(hash_password(secret) if kind == "password" else sha256_hex(secret))


@main.command()
@click.option("--json", "as_json", is_flag=True)
def stats(as_json) -> None:
    """Records received, stored, duplicate and quarantined, per source system."""
    from hub.ops import stats as st

    data = st.counts(_engine())
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else st.render(data))


@main.command()
@click.argument("kind")
@click.argument("n", type=int)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["xml", "jsonl", "dept_b_csv", "dept_c_jsonl"]), default="xml", show_default=True)
@click.option("--defect-rate", type=float, default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--encoding", default="utf-8", show_default=True, help="for XML: utf-8, gbk or gb18030")
@click.option("--department", help="only this department: credit code or name, e.g. 11320581MBL65F0H1L (常熟市行政审批局)")
@click.option("--region", help="only this GB2260 county (e.g. 320581) or prefecture (default 320500 苏州市)")
def generate(kind, n, out, fmt, defect_rate, seed, encoding, department, region) -> None:
    """Write N synthetic records of KIND (with a share of defective ones)."""
    from synth import generator
    from synth.scope import scoped_generator

    try:
        g = scoped_generator(kind, seed, department=department, region=region)
    except ValueError as e:
        _fail(str(e))
    records = (r for r, _d in g.records(kind, n, defect_rate=defect_rate))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        if fmt == "xml":
            count = generator.write_xml(records, kind, f, encoding=encoding)
        elif fmt == "jsonl":
            count = generator.write_jsonl(records, f)
        elif fmt == "dept_b_csv":
            count = generator.write_dept_b_csv(records, f)
        else:
            count = generator.write_dept_c_jsonl(records, f)
    click.echo(f"wrote {count:,} {kind} records to {out}")


@main.group()
def schemas() -> None:
    """The XSD and JSON Schema files generated from schemas/dictionary/."""


@schemas.command("build")
def schemas_build() -> None:
    from hub.model.schemagen import write_all

    written = write_all()
    click.echo("\n".join(f"wrote {p}" for p in written) or "schemas are up to date")


@schemas.command("check")
def schemas_check() -> None:
    from hub.model.schemagen import generated

    stale = [str(p) for p, c in generated().items() if not p.exists() or p.read_bytes() != c]
    if stale:
        _fail("out of date (run `govhub schemas build`): " + ", ".join(stale))
    click.echo("schemas are up to date")


@main.command()
@click.option("--records", default=2000, show_default=True, help="case records per department")
@click.option("--keep", is_flag=True, help="keep the previous demo database instead of starting fresh")
def demo(records, keep) -> None:
    """Run the main job end to end on the embedded default (SQLite + embedded bus)."""
    from demo.run import run

    run(records=records, keep=keep)


from devices.cli import devices  # noqa: E402  (command groups of their own modules)
from hub.cli.report import quality as report_quality  # noqa: E402
from hub.cli.quality import quality  # noqa: E402
from hub.cli.quarantine import quarantine  # noqa: E402
from hub.cli.calendar import calendar  # noqa: E402

main.add_command(calendar)
main.add_command(devices)
report.add_command(report_quality)
main.add_command(quality)
main.add_command(quarantine)

if __name__ == "__main__":
    main()
