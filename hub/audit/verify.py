"""Re-checking the exchange log over the database: every entry's hash, every ``prev`` link,
the sequence without gaps, and the stored bytes' digests.

Entries are read in ``seq`` order, a page at a time (a long chain is not held in memory). The
first break stops the check: after it nothing can be trusted to be what it was. An object
missing from the store is a break too, unless it is older than the retention period
(``GOVHUB_AUDIT_RETENTION_DAYS``): then it was pruned, and only its entry is evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from hub.audit import checkpoint, sealcheck
from hub.audit.chain import FIELDS, GENESIS, entry_hash, length, utc_stamp
from hub.audit.objects import ObjectStore
from hub.db.tables import exchange_log, exchange_log_archive

PAGE = 1000


@dataclass
class Result:
    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_at: str | None = None
    last_at: str | None = None
    objects_checked: int = 0
    objects_pruned: int = 0
    checkpoints_checked: int = 0
    break_seq: int | None = None
    problem: str | None = None

    @property
    def holds(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "holds": self.holds}


def verify(
    engine: Engine,
    start: date | None = None,
    end: date | None = None,
    objects: ObjectStore | None = None,
    retention_days: int = 365,
    progress: Callable[[int], None] | None = None,
    pins: sealcheck.Pins | None = None,
) -> Result:
    """Check the entries whose ``at`` falls on ``start`` … ``end`` (UTC days, both included;
    all when omitted), and each checkpoint at its seq among them. The first entry's ``prev``
    is checked against the entry before it (or the last archived one)."""
    store = objects or ObjectStore()
    horizon = utc_stamp() if retention_days <= 0 else _days_ago(retention_days)
    res = Result()
    with engine.connect() as conn:
        prev_hash, expected_seq = _before(conn, start)
        seals = _by_seq(checkpoint.in_range(conn, expected_seq or 1, None))
        for row in _entries(conn, start, end):
            res.first_seq = res.first_seq or row["seq"]
            res.first_at = res.first_at or row["at"]
            problem = _check_entry(row, prev_hash, expected_seq)
            if problem is None:
                problem = _check_object(row, store, horizon, res)
            if problem is None:
                problem = _check_seals(seals.pop(row["seq"], []), row["hash"], pins or sealcheck.Pins(), res)
            if problem is not None:
                gap = expected_seq is not None and row["seq"] != expected_seq
                res.break_seq, res.problem = (expected_seq if gap else row["seq"]), problem
                return res
            res.checked += 1
            res.last_seq, res.last_at = row["seq"], row["at"]
            prev_hash, expected_seq = row["hash"], row["seq"] + 1
            if progress is not None:
                progress(1)
        if end is None:  # entries removed from the end: the head row still counts them
            head = length(conn)
            if head > (res.last_seq or 0) and res.checked:
                res.break_seq = (res.last_seq or 0) + 1
                res.problem = f"entries {res.break_seq}–{head} are missing (the head is at {head})"
            beyond = [cp for seq, cps in seals.items() if seq > (res.last_seq or 0) for cp in cps]
            if res.holds and beyond:  # a checkpoint over entries the log does not hold
                cp = beyond[0]
                res.break_seq = cp["seq"]
                res.problem = f"checkpoint #{cp['id']} names seq {cp['seq']}, past the last entry (a forged checkpoint, or entries removed)"
    return res


def _check_seals(cps: list[dict[str, Any]], head_hash: str, pins: sealcheck.Pins, res: Result) -> str | None:
    for cp in cps:
        problem = sealcheck.check(cp, head_hash, pins)
        if problem is not None:
            return problem
        res.checkpoints_checked += 1
    return None


def _by_seq(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(int(row["seq"]), []).append(row)
    return out


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _before(conn: Connection, start: date | None) -> tuple[str | None, int | None]:
    """The hash and the next seq expected before the first entry checked: the chain's start,
    or (from a date) the entry just before it, taken as it stands."""
    if start is None:
        archived = conn.execute(
            select(exchange_log_archive.c.last_seq, exchange_log_archive.c.last_hash)
            .order_by(exchange_log_archive.c.last_seq.desc())
            .limit(1)
        ).first()
        return (str(archived[1]), int(archived[0]) + 1) if archived else (GENESIS, 1)
    row = conn.execute(
        select(exchange_log.c.seq, exchange_log.c.hash)
        .where(exchange_log.c.at < start.isoformat())
        .order_by(exchange_log.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return GENESIS, 1
    return str(row[1]), int(row[0]) + 1


def _entries(conn: Connection, start: date | None, end: date | None) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        q = select(exchange_log).where(exchange_log.c.seq > after).order_by(exchange_log.c.seq).limit(PAGE)
        if start is not None:
            q = q.where(exchange_log.c.at >= start.isoformat())
        if end is not None:
            q = q.where(exchange_log.c.at < (end + timedelta(days=1)).isoformat())
        rows = [dict(r) for r in conn.execute(q).mappings()]
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1]["seq"]


def _check_entry(row: dict[str, Any], prev_hash: str | None, expected_seq: int | None) -> str | None:
    if expected_seq is not None and row["seq"] != expected_seq:
        return f"entry {expected_seq} is missing (the next entry is {row['seq']})"
    if prev_hash is not None and row["prev"] != prev_hash:
        return "its prev does not match the previous entry's hash (an entry before it was removed or altered)"
    entry = {k: row[k] for k in FIELDS}
    if entry_hash(entry) != row["hash"]:
        return "its content does not match its hash (the entry was altered)"
    return None


def _check_object(row: dict[str, Any], store: ObjectStore, horizon: str, res: Result) -> str | None:
    path = store.path(row["digest"])
    if not path.exists():
        if row["at"] < horizon:
            res.objects_pruned += 1
            return None
        return f"the bytes of message {row['message_id']} ({row['digest']}) are missing from the object store"
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    res.objects_checked += 1
    if "sha256:" + h.hexdigest() != row["digest"]:
        return f"the stored bytes of message {row['message_id']} do not match their digest (they were altered)"
    return None
