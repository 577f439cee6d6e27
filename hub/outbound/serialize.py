"""Canonical records → the canonical contract on the wire (XML batch or JSON batch),
for outbound deliveries and pulls. The inverse of ``decode`` for canonical senders."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, tuple_

from hub.db.tables import LIBRARY
from hub.model import xmlwrite
from hub.model.canonical import json_ready
from hub.model.dictionary import Kind
from hub.model.dictionary import kind as dictionary_kind


def _ordered(k: Kind, rec: Mapping[str, Any]) -> dict[str, Any]:
    """A record in the dictionary's field order, values as canonical text (None left out)."""
    out: dict[str, Any] = {}
    for f in k.fields:
        v = rec.get(f.name)
        if v is None:
            continue
        if f.type == "list":
            subs = f.fields or ()
            out[f.name] = [{s.name: json_ready(e[s.name]) for s in subs if e.get(s.name) is not None} for e in v]
        else:
            out[f.name] = json_ready(v)
    return out


def to_xml(kind: str, records: Sequence[Mapping[str, Any]], message_id: str | None = None) -> bytes:
    """The canonical batch document, written by the hub's one canonical XML writer."""
    k: Kind = dictionary_kind(kind)
    return xmlwrite.to_bytes(kind, (_ordered(k, rec) for rec in records), message_id=message_id or None)


def to_json(kind: str, records: Sequence[Mapping[str, Any]], message_id: str | None = None) -> bytes:
    body: dict[str, Any] = {"records": [{k: json_ready(v) for k, v in r.items() if v is not None} for r in records]}
    if message_id:
        body = {"message_id": message_id, **body}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def load_records(
    conn: Connection, kind: str, keys: list[str], source_system: str | None = None
) -> dict[str, dict[str, Any]]:
    """Current library rows by record key (as in lineage: key fields joined by '|')."""
    k = dictionary_kind(kind)
    t = LIBRARY[kind]
    if len(k.key) == 1:
        q = select(t).where(t.c[k.key[0]].in_(keys))
    else:
        q = select(t).where(tuple_(*[t.c[n] for n in k.key]).in_([tuple(x.split("|")) for x in keys]))
    if k.key_scoped_by_source and source_system:
        q = q.where(t.c.source_system == source_system)
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(q).mappings():
        key = "|".join(str(row[n]) for n in k.key)
        out[key] = {f.name: row[f.name] for f in k.fields if row[f.name] is not None}
    return out
