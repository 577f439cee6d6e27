"""``govhub demo``: the main job end to end on the embedded default — no server needed.

It generates realistic data (with a share of defective records), ingests the province
item catalogue and the sharing platform's people and enterprises from files, lets three
department systems push cases over the bus in three different formats (canonical XML in
GBK, a legacy GBK CSV, nested JSON lines), runs the worker, redelivers a message, sends
corrections, tries two hostile XML documents, relays the events, and prints what
happened; then it starts the sandbox peers and shows every protocol end to end (REST and
SOAP pushes, an SFTP drop, the province's SOAP catalogue, reporting upward, dispatch to
a department that is down for a while). Every number it prints comes from the database
or from the peers themselves.
"""

from __future__ import annotations

import io
import os
import shutil
import time

import click
from kombu import Consumer

from demo import audit as demo_audit
from demo import outbound as demo_outbound
from demo import protocols as demo_protocols
from demo import quarantine as demo_quarantine
from demo import stats as demo_stats
from hub.bus import topology as bus
from hub.catalog.systems import get_system
from hub.core import clock
from hub.core.config import load_settings
from hub.db.engine import engine_for, migrate
from hub.ingest.partitions import publish_inbound
from hub.model.dictionary import kind as dictionary_kind
from hub.ops import stats
from hub.quality import report as quality_report
from hub.wiring import standard_pipeline
from hub.worker.process import Worker
from synth.generator import Generator, write_dept_b_csv, write_dept_c_jsonl, write_jsonl, write_xml

BOMB = b"""<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><cases xmlns="urn:govhub:case:1"><case><case_no>&c;</case_no></case></cases>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<cases xmlns="urn:govhub:case:1"><case><case_no>&x;</case_no></case></cases>"""


def _say(step: str, text: str) -> None:
    click.echo(click.style(f"{step} ", fg="cyan", bold=True) + text)


def _line(summary) -> str:
    d = summary.as_dict()
    out = f"{d['received']:,} received → {d['stored']:,} stored, {d['duplicate']:,} duplicate, {d['quarantined']:,} quarantined"
    if d["quarantined_by_reason"]:
        out += (
            " ("
            + ", ".join(f"{r} {n}" for r, n in sorted(d["quarantined_by_reason"].items(), key=lambda x: -x[1]))
            + ")"
        )
    return out


def run(records: int = 2000, keep: bool = False, seed: int = 20261121) -> dict:
    env = dict(os.environ)
    explicit = bool(env.get("GOVHUB_DB_URL") or env.get("GOVHUB_BROKER_URL"))
    if not env.get("GOVHUB_HOME"):
        env["GOVHUB_HOME"] = str(load_settings({}).home / "demo")
        # the demo's own process too: what reads the settings itself (the exchange log's
        # object store, the domains' pipelines) must keep its files in the demo's home
        os.environ["GOVHUB_HOME"] = env["GOVHUB_HOME"]
    settings = load_settings(env)
    if not explicit and not keep and settings.home.exists():
        shutil.rmtree(settings.home)  # the demo's own folder only: a fresh run each time
    settings.home.mkdir(parents=True, exist_ok=True)
    inbox = settings.home / "inbox"
    inbox.mkdir(exist_ok=True)
    started = time.monotonic()

    click.echo(click.style("govhub demo", bold=True) + f" — database {settings.db_url}, bus {settings.broker_url}")
    migrate(settings.db_url)
    engine = engine_for(settings.db_url)
    pipeline = standard_pipeline(engine, batch_size=settings.batch_size)
    g = Generator(seed=seed)

    with bus.connect(settings) as conn:  # a subscriber that watches case events, as a department would
        bus.declare(conn)
        tap = bus.subscriber_queue("govhub.demo.events", "#")
        tap(conn.default_channel).declare()

    # 1. files from the province and the sharing platform
    _say(
        "1.",
        "江苏省一体化政务服务平台 (js-province) publishes the item catalogue; 苏州市数据共享平台 (sz-sharing) sends people, enterprises, projects",
    )
    # the whole implementation list (实施清单), so every case's item is in the catalogue
    for kind, system, fmt, n in (
        ("item", "js-province", "xml", g.implementation_list_size),
        ("licence", "js-province", "xml", 200),
        ("person", "sz-sharing", "jsonl", 300),
        ("enterprise", "sz-sharing", "jsonl", 150),
        ("project", "sz-sharing", "xml", 60),
    ):
        path = inbox / f"{dictionary_kind(kind).batch}.{fmt}"
        rows = (r for r, _ in g.records(kind, n, defect_rate=0.03))
        with open(path, "wb") as f:
            (write_xml(rows, kind, f, message_id=f"demo-{kind}") if fmt == "xml" else write_jsonl(rows, f))
        with open(path, "rb") as f:
            s = pipeline.ingest(f, system, fmt=fmt, kind=kind, message_id=f"demo-{kind}", filename=path.name)
        click.echo(f"   {path.name:<18} {_line(s)}")

    # 2. departments push cases over the bus, each in its own format
    _say("2.", f"three department systems push {records:,} case records each over the bus")
    chunk = 500
    pushed = []
    writers = (
        (
            "cs-approval",
            "常熟市行政审批局, canonical XML in GBK",
            "xml",
            lambda rows, f, mid: write_xml(rows, "case", f, encoding="gbk", message_id=mid),
        ),
        (
            "zjg-housing",
            "张家港市住建局, legacy CSV in GBK",
            "csv",
            lambda rows, f, mid: write_dept_b_csv(rows, f, on_unmapped="keep"),
        ),
        (
            "tc-market",
            "太仓市市场监管局, nested JSON lines",
            "jsonl",
            lambda rows, f, mid: write_dept_c_jsonl(rows, f, on_unmapped="keep"),
        ),
    )
    with bus.connect(settings) as conn:
        bus.declare(conn)
        for system, label, fmt, write in writers:
            # each department sends its own cases: the hub quarantines any other department's
            dept = next(name for name, code, _ in g.departments if code == get_system(system).dept_code)
            cases = Generator(seed=seed, departments=[dept])
            rows = [r for r, _ in cases.records("case", records, defect_rate=0.05)]
            for i in range(0, len(rows), chunk):
                mid = f"{system}-{i // chunk + 1:04d}"
                buf = io.BytesIO()
                write(iter(rows[i : i + chunk]), buf, mid)
                publish_inbound(conn, buf.getvalue(), system, mid, kind="case", fmt=fmt)
                pushed.append((system, mid, buf.getvalue(), rows[i : i + chunk]))
            click.echo(f"   {system:<12} {label}: {len(rows):,} records in {-(-len(rows) // chunk)} messages")
    handled = Worker(settings, engine, pipeline).run(idle_exit=1.0)
    click.echo(
        f"   worker: {sum(handled.values()):,} records → {handled['stored']:,} stored, "
        f"{handled['duplicate']:,} duplicate, {handled['quarantined']:,} quarantined"
    )

    # 3. the same message arrives again; corrections arrive later
    _say("3.", "a message is delivered twice, and one department sends corrections")
    system, mid, body, rows = pushed[0]
    with bus.connect(settings) as conn:
        publish_inbound(conn, body, system, mid, kind="case", fmt="xml")
    again = Worker(settings, engine, pipeline).run(idle_exit=1.0)
    click.echo(f"   {mid} delivered again: {again['duplicate']:,} duplicates, {again['stored']:,} stored")
    corrected = [dict(r, case_name=(r.get("case_name") or "") + "（更正）") for r in rows[:50]]
    buf = io.BytesIO()
    write_xml(iter(corrected), "case", buf, encoding="gbk", message_id=f"{system}-corrections")
    with bus.connect(settings) as conn:
        publish_inbound(conn, buf.getvalue(), system, f"{system}-corrections", kind="case", fmt="xml")
    fixes = Worker(settings, engine, pipeline).run(idle_exit=1.0)
    click.echo(
        f"   corrections: {fixes['stored']:,} updated (previous values kept in record_history), "
        f"{fixes['quarantined']:,} still defective"
    )

    # 4. hostile documents
    _say("4.", "two hostile XML documents (entity expansion, external entity)")
    for name, doc in (("xml-bomb", BOMB), ("xxe", XXE)):
        s = pipeline.ingest(io.BytesIO(doc), "cs-approval", fmt="xml", message_id=f"demo-{name}")
        click.echo(f"   {name:<18} refused: {_line(s)}")

    # 5. events
    with bus.connect(settings) as conn:
        bus.declare(conn)
        while bus.relay_outbox(engine, conn):
            pass
        seen = []
        with Consumer(
            conn.channel(), queues=[tap], callbacks=[lambda b, m: (seen.append(b), m.ack())], accept=["json"]
        ):
            while True:
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    break
    _say(
        "5.",
        f"{len(seen):,} record events published on govhub.events (routing key kind.region.system), "
        f"e.g. {seen[0]['kind']}.{seen[0]['region_code']}.{seen[0]['source_system']}"
        if seen
        else "no events",
    )

    protocols = demo_protocols.run(settings, engine, pipeline, _say)
    worked = demo_quarantine.run(engine, _say)
    demo_outbound.run(engine, pipeline, _say)
    demo_audit.run(engine, settings.home, _say)  # 存证: checkpoint, export, the offline verifier

    data = stats.counts(engine)
    click.echo()
    click.echo(stats.render(data))
    t = data["total"]
    ok = t["received"] == t["stored"] + t["duplicate"] + t["quarantined"]
    click.echo()
    click.echo(
        click.style("✓" if ok else "✗", fg="green" if ok else "red", bold=True)
        + f" every record accounted for: received {t['received']:,} = stored {t['stored']:,} + duplicate "
        f"{t['duplicate']:,} + quarantined {t['quarantined']:,}   ({time.monotonic() - started:.1f}s)"
    )
    home = settings.home
    click.echo(
        f"Look around: GOVHUB_HOME={home} govhub stats | govhub quarantine list | govhub quarantine show ID"
        " | govhub quarantine history ID"
    )
    html, js = quality_report.write_daily(engine, quality_report.daily_dir(home), clock.now().date())
    click.echo(click.style("数据质量报告 quality report: ", bold=True) + f"{html}  (JSON: {js.name} next to it)")
    demo_stats.run(engine, home)  # 绩效统计: the performance figures and report (demo/stats.py)
    return {"stats": data, "events": len(seen), "quality_report": str(html), **protocols, "quarantine": worked}
