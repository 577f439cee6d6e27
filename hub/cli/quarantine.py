"""``govhub quarantine``: the quarantine workflow from the command line (隔离区处理).

    govhub quarantine list [--system --kind --reason --rule --status --since]   quarantined records
    govhub quarantine show ID                                                  one record, masked
    govhub quarantine retry ID --set SQRZJHM=... --operator NAME --note TEXT    correct and retry
    govhub quarantine retry ID --payload FILE --operator NAME --note TEXT      a whole corrected record
    govhub quarantine retry --rule mapping:dept_b_case_csv --operator NAME     every open record of a rule
    govhub quarantine reject ID --operator NAME --note TEXT                     close it, nothing stored
    govhub quarantine history ID                                               actions and lineage
    govhub quarantine export ID --out FILE --operator NAME                     the original, to correct it

Exit status 2 when the action cannot be done (the message says what to do instead).
Personal data is masked in everything printed; ``export`` alone writes the original
record, to a file only its owner can read, and the export is traced.
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import click

from hub.cli.common import dumps, fail, json_option, open_engine, pad_left, pad_right
from hub.model.masking import mask_text
from hub.quarantine.view import STATUSES, list_records, show

# The commands defer `hub.quarantine.workflow`: a retry runs the ingest pipeline, which
# loads psycopg, prometheus_client and lxml (~170 ms of every start).

STATUS_LABELS = {"open": "待处理", "retried": "已更正入库", "rejected": "已驳回"}
OUTCOME_LABELS = {
    "stored": "入库 stored",
    "duplicate": "重复 duplicate",
    "quarantined": "仍隔离 still quarantined",
    "rejected": "驳回 rejected",
    "exported": "导出 exported",
}
ACTION_LABELS = {"correct": "更正重试 correct", "retry": "重试 retry", "reject": "驳回 reject", "export": "导出 export"}


def _run(fn, *args, **kwargs):
    """Workflow refusals are the user's to fix: a message and exit status 2."""
    from hub.quarantine.workflow import WorkflowError  # deferred: the ingest pipeline

    try:
        return fn(*args, **kwargs)
    except WorkflowError as exc:
        fail(exc.message)


def _echo(text: str) -> None:
    """Everything this group prints is masked once more, whatever it is built from."""
    click.echo(mask_text(text))


def _short(value, width: int = 60) -> str:
    text = str(value)
    return text if len(text) <= width else text[:width] + f"…({len(text)} chars)"


def _changes(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--set takes FIELD=VALUE, e.g. --set SQRZJHM=320581199001011234 (got {pair!r})")
        out[name.strip()] = value
    return out


@click.group()
def quarantine() -> None:
    """Quarantined records: list, show (masked), correct and retry, reject (隔离区)."""


@quarantine.command("list")
@click.option("--system", help="source system id")
@click.option("--kind")
@click.option("--reason", help="reason code, e.g. id_check_char")
@click.option("--rule", help="rule, e.g. case.identity or mapping:dept_b_case_csv (every version)")
@click.option("--status", type=click.Choice([*STATUSES, "all"]), default="open", show_default=True)
@click.option("--since", type=click.DateTime(), help="received at or after (China Standard Time)")
@click.option("--limit", default=50, show_default=True)
@json_option()
def quarantine_list(system, kind, reason, rule, status, since, limit, as_json) -> None:
    """Quarantined records, newest first (messages masked)."""
    rows = list_records(
        open_engine(), system=system, reason=reason, kind=kind, status=status, limit=limit, rule=rule, since=since
    )
    if as_json:
        _echo(dumps(rows, indent=2))
        return
    if not rows:
        _echo("没有符合条件的隔离记录 no quarantined records match")
        return
    _echo(
        f"{pad_right('编号 id', 9)} {pad_right('来源 system', 16)} {pad_right('类型 kind', 11)} "
        f"{pad_right('原因 reason', 24)} {pad_right('字段 field', 20)} {pad_right('状态 status', 12)} "
        f"{pad_left('尝试 tries', 10)}  说明 message"
    )
    for r in rows:
        _echo(
            f"#{r['id']:<8} {r['source_system']:<16} {r['kind']:<11} {r['reason']:<24} {r['field'] or '-':<20} "
            f"{r['status']:<12} {r['attempts']:>10}  {r['message'][:90]}"
        )


_SHOW_LABELS = (
    ("id", "编号 id"),
    ("source_system", "来源系统 system"),
    ("kind", "类型 kind"),
    ("message_id", "消息 message"),
    ("seq", "序号 seq"),
    ("received_at", "接收时间 received"),
    ("reason", "原因 reason"),
    ("field", "字段 field"),
    ("rule", "规则 rule"),
    ("schema_version", "标准版本 schema"),
    ("mapping", "映射 mapping"),
    ("status", "状态 status"),
    ("resolved_by", "处理人 by"),
    ("resolved_at", "处理时间 at"),
    ("note", "备注 note"),
    ("message", "说明 message"),
)


def _show_lines(row: dict) -> list[str]:
    lines = []
    for key, label in _SHOW_LABELS:
        value = row[key]
        if key == "status":
            value = f"{value} ({STATUS_LABELS.get(value, value)})"
        if value is not None:
            lines.append(f"{pad_left(label, 24)}: {value}")
    return lines


@quarantine.command("show")
@click.argument("qid", type=int)
@json_option()
def quarantine_show(qid, as_json) -> None:
    """One quarantined record: reason, rule, versions, and the payload with personal data masked."""
    row = show(open_engine(), qid)
    if row is None:
        fail(f"no quarantined record #{qid}; `govhub quarantine list` shows the ids")
    if as_json:
        _echo(dumps(row, indent=2))
        return
    _echo("\n".join(_show_lines(row)))
    _echo(f"{pad_left('原始记录 payload', 24)}:\n{row['payload']}")


def _attempt_line(a) -> str:
    d = a if isinstance(a, dict) else a.as_dict()
    head = f"#{d['quarantine_id']} {ACTION_LABELS.get(d['action'], d['action'])} → {OUTCOME_LABELS.get(d['outcome'], d['outcome'])}"
    if d["outcome"] == "quarantined":
        return f"{head}: {d['reason']} ({d['rule']}) {d['message']}"
    return f"{head} ({d['detail']}), 记录 key {d['record_key']}, 血缘 lineage #{d['lineage_id']}"


@quarantine.command("retry")
@click.argument("qid", type=int, required=False)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="FIELD=VALUE",
    help="correct a field, by the record's own name (SQRZJHM, sqr.zjhm, steps.0.end_time) or its canonical name",
)
@click.option(
    "--payload",
    "payload_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a whole corrected record (UTF-8), in the form `export` writes",
)
@click.option("--rule", help="retry every open record of this rule (after a fix of the mapping or rules)")
@click.option("--system", help="with --rule or alone: only this source system")
@click.option("--kind")
@click.option("--reason")
@click.option("--operator", required=True, help="who you are; kept with the action")
@click.option("--note", help="why (required for one record)")
@json_option()
def quarantine_retry(qid, sets, payload_file, rule, system, kind, reason, operator, note, as_json) -> None:
    """Correct and retry one record (ID), or retry every open record of a rule after a fix.

    The record goes through its source system's mapping, the dictionary and the rules
    again; if it passes it is stored and its lineage names the correction and OPERATOR.
    If it still fails it stays open and the attempt is kept."""
    engine = open_engine()
    if qid is not None:
        if rule or system or kind or reason:
            fail("give either one record ID or --rule/--system/--kind/--reason, not both")
        _retry_one(engine, qid, sets, payload_file, operator, note, as_json)
        return
    if sets or payload_file:
        fail("--set and --payload correct one record: give its ID")
    _retry_matching(engine, operator, note, as_json, rule=rule, system=system, kind=kind, reason=reason)


def _retry_one(engine, qid, sets, payload_file, operator, note, as_json) -> None:
    from hub.quarantine.workflow import retry  # deferred: the ingest pipeline

    payload = payload_file.read_text(encoding="utf-8-sig") if payload_file else None
    if not (note or "").strip():
        fail("say why with --note TEXT; it is kept with the correction")
    attempt = _run(retry, engine, qid, operator, note, changes=_changes(sets) or None, payload=payload)
    if as_json:
        _echo(dumps(attempt.as_dict(), indent=2))
        return
    _echo(_attempt_line(attempt))
    for path, (before, after) in attempt.changes.items():
        _echo(f"   {path}: {_short(before)} → {_short(after)}")
    if attempt.outcome == "quarantined":
        _echo(f"仍在隔离区，尝试已记录 still open, the attempt is kept: govhub quarantine history {qid}")


def _retry_matching(engine, operator, note, as_json, **match) -> None:
    from hub.quarantine.workflow import matching_ids, retry_matching  # deferred: the ingest pipeline

    ids = _run(matching_ids, engine, **match) if any(match.values()) else None
    if ids is None:
        fail("say which records: an ID, or --rule R (and/or --system, --kind, --reason)")
    with click.progressbar(length=len(ids), label="重试 retrying", file=sys.stderr, show_pos=True) as bar:
        summary = _run(
            retry_matching, engine, operator, **match, note=note, ids=ids, on_record=lambda _a: bar.update(1)
        )
    if as_json:
        _echo(dumps(summary.as_dict(), indent=2))
        return
    d = summary.as_dict()
    line = (
        f"{d['retried']:,} retried → stored {d['stored']:,}, duplicate {d['duplicate']:,}, "
        f"still quarantined {d['still_quarantined']:,}"
    )
    if d["still_quarantined_by_reason"]:
        by_reason = sorted(d["still_quarantined_by_reason"].items(), key=lambda x: -x[1])
        line += " (" + ", ".join(f"{r} {n}" for r, n in by_reason) + ")"
    _echo(f"重试 {line}")
    if d["skipped"]:
        _echo(
            "未重试 not retryable: "
            + ", ".join(f"{r} {n}" for r, n in d["skipped"].items())
            + " — see docs/quarantine.md; reject them with a note once the sender has sent them again"
        )


@quarantine.command("reject")
@click.argument("qid", type=int)
@click.option("--operator", required=True)
@click.option("--note", required=True, help="why it is rejected; kept with it")
def quarantine_reject(qid, operator, note) -> None:
    """Reject a record: it stays in the quarantine, closed, with who, when and why."""
    from hub.quarantine.workflow import reject  # deferred: the ingest pipeline

    done = _run(reject, open_engine(), qid, operator, note)
    _echo(f"#{qid} 已驳回 rejected by {done['resolved_by']} at {done['resolved_at']}: {done['note']}")


@quarantine.command("history")
@click.argument("qid", type=int)
@json_option()
def quarantine_history(qid, as_json) -> None:
    """What happened to a record: every action (who, when, outcome) and its lineage."""
    from hub.quarantine.workflow import history  # deferred: the ingest pipeline

    h = _run(history, open_engine(), qid)
    if as_json:
        _echo(dumps(h, indent=2))
        return
    _echo("\n".join(_show_lines(h["quarantine"])))
    _echo("\n处理记录 actions:")
    if not h["actions"]:
        _echo("  (none)")
    for a in h["actions"]:
        text = (
            f"  {a['at']}  {ACTION_LABELS.get(a['action'], a['action'])} by {a['operator']} → "
            f"{OUTCOME_LABELS.get(a['outcome'], a['outcome'])}"
        )
        if a["detail"]:
            text += f" ({a['detail']})"
        if a["mapping"]:
            text += f", mapping {a['mapping']}"
        _echo(text)
        if a["message"]:
            _echo(f"      说明 message: {a['message']}")
        for path, (before, after) in (a["changes"] or {}).items():
            _echo(f"      {path}: {_short(before)} → {_short(after)}")
        if a["note"]:
            _echo(f"      备注 note: {a['note']}")
    _echo("\n血缘 lineage:")
    for r in h["lineage"]:
        by = f", corrected by {r['corrected_by']} (更正自隔离 #{r['correction_of']})" if r["correction_of"] else ""
        if r.get("superseded_by"):  # kept as evidence, no longer counted (docs/quarantine.md)
            by += f", superseded by #{r['superseded_by']} (已被更正取代)"
        _echo(
            f"  #{r['id']} {r['received_at']} {r['source_system']} {r['message_id']}#{r['seq']} "
            f"→ {r['outcome']} ({r['detail']}) key {r['record_key'] or '-'} mapping {r['mapping']}{by}"
        )


@quarantine.command("export")
@click.argument("qid", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--operator", required=True)
@click.option("--note")
def quarantine_export(qid, out, operator, note) -> None:
    """Write the original record (unmasked) to a file only you can read, to correct it
    and retry with --payload. The export is traced."""
    from hub.quarantine.workflow import export  # deferred: the ingest pipeline

    payload, encoding = _run(export, open_engine(), qid, operator, note)
    data = base64.b64decode(payload) if encoding == "base64" else payload.encode("utf-8")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    _echo(
        f"#{qid} written to {out} ({len(data):,} bytes, mode 600); correct it, then "
        f"govhub quarantine retry {qid} --payload {out} --operator {operator} --note ..."
    )
