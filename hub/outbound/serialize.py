"""Canonical records → the canonical contract on the wire (XML batch or JSON batch),
for outbound deliveries and pulls. The inverse of ``decode`` for canonical senders."""

from __future__ import annotations

import json

from lxml import etree
from sqlalchemy import Connection, select

from hub.model.canonical import json_ready
from hub.model.dictionary import Kind, kind as dictionary_kind
from hub.db.tables import LIBRARY
from sqlalchemy import tuple_


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(json_ready(value))


def to_xml(kind: str, records: list[dict], message_id: str | None = None) -> bytes:
    k: Kind = dictionary_kind(kind)
    ns = k.namespace
    root = etree.Element(f"{{{ns}}}{k.batch}", nsmap={None: ns})
    if message_id:
        root.set("message_id", message_id)
    for rec in records:
        el = etree.SubElement(root, f"{{{ns}}}{k.record}")
        for f in k.fields:
            v = rec.get(f.name)
            if v is None:
                continue
            if f.type == "list":
                wrapper = etree.SubElement(el, f"{{{ns}}}{f.name}")
                for entry in v:
                    item = etree.SubElement(wrapper, f"{{{ns}}}{f.record}")
                    for sub in f.fields or ():
                        if entry.get(sub.name) is not None:
                            etree.SubElement(item, f"{{{ns}}}{sub.name}").text = _text(entry[sub.name])
            else:
                etree.SubElement(el, f"{{{ns}}}{f.name}").text = _text(v)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def to_json(kind: str, records: list[dict], message_id: str | None = None) -> bytes:
    body = {"records": [{k: json_ready(v) for k, v in r.items() if v is not None} for r in records]}
    if message_id:
        body = {"message_id": message_id, **body}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def load_records(conn: Connection, kind: str, keys: list[str], source_system: str | None = None) -> dict[str, dict]:
    """Current library rows by record key (as in lineage: key fields joined by '|')."""
    k = dictionary_kind(kind)
    t = LIBRARY[kind]
    if len(k.key) == 1:
        q = select(t).where(t.c[k.key[0]].in_(keys))
    else:
        q = select(t).where(tuple_(*[t.c[n] for n in k.key]).in_([tuple(x.split("|")) for x in keys]))
    if k.key_scoped_by_source and source_system:
        q = q.where(t.c.source_system == source_system)
    out = {}
    for row in conn.execute(q).mappings():
        key = "|".join(str(row[n]) for n in k.key)
        out[key] = {f.name: row[f.name] for f in k.fields if row[f.name] is not None}
    return out
