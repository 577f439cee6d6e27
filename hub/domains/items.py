"""The item catalogue (事项库): daily sync from the province, versions, field-level diffs.

``sync_items`` pulls every item of the region from the province through the system's
adapter (e.g. SOAP ``GetItemCatalogue``) and stores it through the ordinary pipeline,
so an unchanged item is a duplicate and nothing new is stored; then it compares the
catalogue before and after, field by field:

- **new** — an item code the catalogue did not have;
- **changed** — a new version of an item, or the same version with other content (its
  previous values are in ``record_history``);
- **withdrawn** — an item in use before that the province no longer lists: it is set to
  ``取消`` (with history), not deleted.

Each difference becomes an outbox event (``item.new`` / ``item.changed`` with the diff /
``item.withdrawn``) on the bus for subscribers (department systems, queue machines).
Running it again with the same catalogue changes nothing and publishes nothing.
"""

from __future__ import annotations

import io
import logging

from sqlalchemy import Engine, func, insert, select, update

from adapters.registry import open_adapter
from hub.catalog.systems import CatalogError, get_system
from hub.core import clock
from hub.core.errors import NotFound
from hub.db.tables import LIBRARY, outbox, record_history
from hub.ingest.decode import MessageInfo, read
from hub.ingest.store import EVENTS_EXCHANGE
from hub.model.canonical import json_ready
from hub.model.dictionary import kind as dictionary_kind
from hub.model.mapping import canonical_mapping
from hub.model.outcomes import RECORD_OUTCOMES
from hub.wiring import standard_pipeline

log = logging.getLogger("govhub.catalogue")
WITHDRAWN = "取消"


def _current(conn, region_prefix: str | None) -> dict[str, dict]:
    """The catalogue now: per item code, the row received last."""
    t = LIBRARY["item"]
    latest = select(func.max(t.c.id).label("id")).group_by(t.c.item_code)
    q = select(t).where(t.c.id.in_(latest))
    if region_prefix:
        q = q.where(t.c.region_code.like(f"{region_prefix}%"))
    return {r["item_code"]: dict(r) for r in conn.execute(q).mappings()}


def diff_fields(kind: str, old: dict, new: dict) -> dict[str, dict]:
    """Field-level differences between two versions of a record (版本比对)."""
    out = {}
    for f in dictionary_kind(kind).fields:
        if f.name == "source_time":
            continue
        a, b = json_ready(old.get(f.name)), json_ready(new.get(f.name))
        if a != b:
            out[f.name] = {"label": f.label, "from": a, "to": b}
    return out


def sync_items(engine: Engine, system_id: str, adapter=None) -> dict:
    system = get_system(system_id)
    prefix = system.region_prefix
    with engine.connect() as conn:
        before = _current(conn, prefix)
    pipeline = standard_pipeline(engine)
    counts = {"pulled": 0, "stored": 0, "duplicate": 0, "quarantined": 0}
    seen: set[str] = set()
    own = adapter is None
    if adapter is None:
        if not system.endpoint:
            raise CatalogError(
                f"system {system_id} has no endpoint in the catalogue; add its item-catalogue URL to sync from it"
            )
        adapter = open_adapter(system.endpoint)
    try:
        _pull(pipeline, system, adapter, counts, seen)
    finally:
        if own:
            adapter.close()
    now = clock.now()
    with engine.begin() as conn:
        after = _current(conn, prefix)
        events = _new_and_changed(before, after)
        for code, row in after.items():
            if code not in seen and row["status"] != WITHDRAWN and counts["pulled"]:
                _withdraw(conn, row, system.id, now)
                events.append(
                    ("withdrawn", code, row, {"status": {"label": "事项状态", "from": row["status"], "to": WITHDRAWN}})
                )
        if events:
            _publish(conn, system.id, now, events)
    for event in ("new", "changed", "withdrawn"):
        counts[event] = sum(1 for e in events if e[0] == event)
    log.info("item catalogue from %s: %s", system.id, counts)
    return counts


def _pull(pipeline, system, adapter, counts: dict, seen: set[str]) -> None:
    """Ingests every catalogue message the adapter reads, counting the records' outcomes
    and noting the item codes listed."""
    for envelope in adapter.read():
        summary = pipeline.ingest(
            io.BytesIO(envelope.body), system, fmt="xml", kind="item", message_id=envelope.message_id
        )
        counts["pulled"] += summary.received
        for o in RECORD_OUTCOMES:
            counts[o] += summary.counts[o]
        seen.update(_item_codes(envelope.body))


def _new_and_changed(before: dict[str, dict], after: dict[str, dict]) -> list[tuple[str, str, dict, dict]]:
    """The items new to the catalogue, and those changed (with their field-level diff)."""
    events: list[tuple[str, str, dict, dict]] = []
    for code, row in after.items():
        old = before.get(code)
        if old is None:
            events.append(("new", code, row, {}))
        elif old["id"] != row["id"] or old["payload_hash"] != row["payload_hash"]:
            changes = diff_fields("item", old, row)
            if changes:
                events.append(("changed", code, row, changes))
    return events


def _publish(conn, system_id: str, now, events: list[tuple[str, str, dict, dict]]) -> None:
    """One outbox event per difference: ``item.new`` / ``item.changed`` / ``item.withdrawn``."""
    conn.execute(
        insert(outbox),
        [
            {
                "exchange": EVENTS_EXCHANGE,
                "routing_key": f"item.{row['region_code']}.{system_id}",
                "kind": "item",
                "record_key": f"{code}|{row['item_version']}",
                "event": event,
                "body": {
                    "event": f"item.{event}",
                    "item_code": code,
                    "item_version": row["item_version"],
                    "item_name": row["item_name"],
                    "region_code": row["region_code"],
                    "changes": changes,
                },
                "created_at": now,
            }
            for event, code, row, changes in events
        ],
    )


def _item_codes(body: bytes) -> set[str]:
    """Item codes a catalogue message lists, valid or not (a message seen before is not
    prepared again by the pipeline, but its items are still listed)."""
    return {
        raw.data["item_code"]
        for raw in read(io.BytesIO(body), canonical_mapping("item", "xml"), MessageInfo())
        if raw.data and raw.data.get("item_code")
    }


def _withdraw(conn, row: dict, system_id: str, now) -> None:
    t = LIBRARY["item"]
    values = {f.name: json_ready(row[f.name]) for f in dictionary_kind("item").fields if row[f.name] is not None}
    conn.execute(
        insert(record_history).values(
            kind="item",
            record_id=row["id"],
            record_key=f"{row['item_code']}|{row['item_version']}",
            version=row["version"],
            source_system=row["source_system"],
            source_time=row["source_time"],
            recorded_at=now,
            lineage_id=None,
            reason="withdrawn",
            changed_fields=["status"],
            values=values,
        )
    )
    conn.execute(
        update(t)
        .where(t.c.id == row["id"])
        .values(status=WITHDRAWN, version=row["version"] + 1, updated_at=now, source_system=system_id)
    )


def versions(engine: Engine, item_code: str) -> list[dict]:
    """Every stored version of an item, oldest first, with the in-place revisions of
    each version from the history."""
    t = LIBRARY["item"]
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.item_code == item_code).order_by(t.c.id)).mappings().all()
        hist = (
            conn.execute(
                select(record_history)
                .where(record_history.c.kind == "item", record_history.c.record_key.like(f"{item_code}|%"))
                .order_by(record_history.c.id)
            )
            .mappings()
            .all()
        )
    out = []
    for r in rows:
        revisions = [
            dict(h["values"], _revision=h["version"], _recorded_at=str(h["recorded_at"]), _reason=h["reason"])
            for h in hist
            if h["record_id"] == r["id"]
        ]
        out.append(
            {
                "item_version": r["item_version"],
                "revision": r["version"],
                "status": r["status"],
                "updated_at": str(r["updated_at"]),
                "record": {k: json_ready(r[k]) for k in r.keys()},
                "revisions": revisions,
            }
        )
    return out


def diff_versions(engine: Engine, item_code: str, v_from: str, v_to: str) -> dict[str, dict]:
    """Field diff between two versions (``item_version`` values as the province numbers
    them); raises ``NotFound`` (a ``LookupError``) naming the versions that exist."""
    vs = {v["item_version"]: v["record"] for v in versions(engine, item_code)}
    missing = [v for v in (v_from, v_to) if v not in vs]
    if missing:
        raise NotFound(
            f"item {item_code} has no version {', '.join(missing)}; stored versions: {', '.join(vs) or 'none'}"
        )
    return diff_fields("item", vs[v_from], vs[v_to])
