"""``govhub audit archive``: move the exchange log's old segment out of the database —
verify, package, and only then prune.

1. The whole chain is verified (entries, links, checkpoints, bytes); at a break nothing
   is archived.
2. The segment ends at the last checkpoint over entries older than the retention period
   (``--older-than DAYS``, default ``GOVHUB_AUDIT_RETENTION_DAYS``), so it is sealed: it
   starts after the previous archive.
3. It is written to one zip (``govhub-archive/1``): ``entries.jsonl`` (with their stored
   hashes), ``checkpoint.json`` with ``certificate.pem`` (and ``tsa.pem``), the message
   bytes under ``objects/sha256/<hex>`` and ``manifest.json``. The zip is read back and
   checked against what was meant to be in it.
4. Only then, in one transaction, the entries are deleted and the archive recorded in
   ``exchange_log_archive`` (``govhub audit verify`` goes on from its last hash); then the
   bytes no later entry names are removed from the object store.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from hub.audit.chain import utc_stamp
from hub.audit.objects import ObjectStore, retention_days
from hub.audit.sealcheck import Pins
from hub.audit.verify import verify
from hub.core import clock
from hub.db.tables import audit_checkpoint, exchange_log, exchange_log_archive

FORMAT = "govhub-archive/1"


class ArchiveError(RuntimeError):
    """Nothing was archived; the message says why and what to do."""


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def archive(
    engine: Engine, store: ObjectStore, out_dir: Path, older_than_days: int, pins: Pins | None = None
) -> dict[str, Any] | None:
    """Archive and prune the sealed segment older than ``older_than_days``; the archive's
    row, or None when no checkpoint seals entries that old yet."""
    res = verify(engine, objects=store, retention_days=retention_days(), pins=pins)
    if not res.holds:
        raise ArchiveError(
            f"the exchange log breaks at seq {res.break_seq}: {res.problem}; nothing archived "
            "(investigate with govhub audit verify first)"
        )
    cutoff = utc_stamp(clock.now() - timedelta(days=older_than_days))
    with engine.connect() as conn:
        old = conn.execute(select(func.max(exchange_log.c.seq)).where(exchange_log.c.at <= cutoff)).scalar()
        first = conn.execute(select(func.min(exchange_log.c.seq))).scalar()
        if old is None or first is None:
            return None
        cp_row = (
            conn.execute(
                select(audit_checkpoint)
                .where(audit_checkpoint.c.seq <= old, audit_checkpoint.c.seq >= first)
                .order_by(audit_checkpoint.c.seq.desc(), audit_checkpoint.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if cp_row is None:
            return None
        cp = dict(cp_row)
        rows = conn.execute(
            select(exchange_log).where(exchange_log.c.seq <= cp["seq"]).order_by(exchange_log.c.seq)
        ).mappings()
        entries = [dict(r) for r in rows]
    path, digest, objects = _write(out_dir, entries, cp, store)
    return _prune(engine, store, entries, path, digest, objects)


def _write(
    out_dir: Path, entries: list[dict[str, Any]], cp: dict[str, Any], store: ObjectStore
) -> tuple[Path, str, set[str]]:
    first, last = entries[0]["seq"], entries[-1]["seq"]
    members: dict[str, bytes] = {
        "manifest.json": _json({"format": FORMAT, "first_seq": first, "last_seq": last, "entries": len(entries)}),
        "entries.jsonl": b"".join(_json(e) + b"\n" for e in entries),
        "checkpoint.json": _json(cp["signed"]),
        "certificate.pem": str(cp["certificate"]).encode("ascii"),
    }
    if cp.get("tsa_certificate"):
        members["tsa.pem"] = str(cp["tsa_certificate"]).encode("ascii")
    objects: set[str] = set()
    for e in entries:
        data = store.read(e["digest"])
        if data is not None and e["digest"] not in objects:  # missing: pruned by retention earlier
            objects.add(e["digest"])
            members["objects/" + e["digest"].replace(":", "/")] = data
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"exchange-log-{first:010d}-{last:010d}.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the bytes hold personal data
    with os.fdopen(fd, "wb") as f:
        f.write(buffer.getvalue())
        f.flush()
        os.fsync(f.fileno())
    _check_written(path, members)
    return path, "sha256:" + hashlib.sha256(buffer.getvalue()).hexdigest(), objects


def _check_written(path: Path, members: dict[str, bytes]) -> None:
    """Read the zip back from disk: every member whole, before anything is pruned."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = [n for n, data in members.items() if zf.read(n) != data]
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise ArchiveError(f"the archive {path} cannot be read back ({exc}); nothing pruned") from None
    if bad:
        raise ArchiveError(f"the archive {path} does not hold {bad[0]} as written; nothing pruned")


def _prune(
    engine: Engine, store: ObjectStore, entries: list[dict[str, Any]], path: Path, digest: str, objects: set[str]
) -> dict[str, Any]:
    first, last = entries[0], entries[-1]
    row = {
        "first_seq": first["seq"],
        "last_seq": last["seq"],
        "last_hash": last["hash"],
        "first_at": first["at"],
        "last_at": last["at"],
        "entries": len(entries),
        "objects": len(objects),
        "path": str(path),
        "digest": digest,
        "archived_at": clock.now(),
    }
    with engine.begin() as conn:
        conn.execute(insert(exchange_log_archive).values(**row))
        conn.execute(delete(exchange_log).where(exchange_log.c.seq <= last["seq"]))
        names, still = sorted(objects), set[str]()
        for i in range(0, len(names), 500):
            q = select(exchange_log.c.digest).where(exchange_log.c.digest.in_(names[i : i + 500]))
            still.update(conn.execute(q).scalars())
    for d in objects - still:  # bytes a later entry names (a redelivery) stay
        store.path(d).unlink(missing_ok=True)
    return row
