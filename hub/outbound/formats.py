"""A peer's own format on the way out: records → the document an outbound mapping
describes, validated against the peer's published schema before it leaves, and the
peer's per-row receipts read back (docs/outbound-formats.md).

``render`` writes what can be written and says what cannot: a record the format cannot
express (``OutboundDefect``) or whose rows the schema refuses is left out of the document
and reported as a defect with the reason, never dropped silently. A peer without
``formats:`` for a kind gets the canonical contract (``hub.outbound.serialize``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from hub.core.config import load_settings
from hub.model.mapping import get_outbound_mapping
from hub.model.outmapping import OutboundDefect, OutboundMapping, Row
from hub.outbound.writers import WRITERS


@dataclass(frozen=True)
class Item:
    """One record to write: its key for rows and receipts (a delivery id), the record, and
    whether the peer holds it already (``update``) or not (``new``)."""

    key: str
    record: dict[str, Any]
    seen_before: bool = False


@dataclass
class Rendered:
    mapping: OutboundMapping
    body: bytes | None  # None: nothing of the batch could be written
    rows: dict[str, list[str]] = field(default_factory=dict)  # item key → its row ids in the document
    defects: dict[str, str] = field(default_factory=dict)  # item key → why it cannot go out

    @property
    def schema(self) -> Path | None:
        return self.mapping.schema


def format_for(peer_formats: dict[str, str], kind: str) -> OutboundMapping | None:
    name = peer_formats.get(kind)
    return get_outbound_mapping(name) if name else None


def batch_number(message_id: str, code: str | None = None) -> str:
    """18 digits: the data-source code and 15 digits of the message id's digest, so the
    same batch sent again carries the same number."""
    code = code or load_settings().data_source_code
    return code + f"{int(hashlib.sha256(message_id.encode()).hexdigest()[:15], 16) % 10**15:015d}"


def sync_type(m: OutboundMapping, item: Item) -> str:
    """``new`` the first time the peer gets the record, then ``update``; ``delete`` for a
    withdrawal (``delete_when``) of a record the peer holds (one it never held goes as new,
    with its status)."""
    if not item.seen_before:
        return "new"
    return "delete" if m.is_delete(item.record) else "update"


def render(m: OutboundMapping, items: Sequence[Item], message_id: str, now: datetime) -> Rendered:
    code = load_settings().data_source_code
    meta = {"$batch_no": batch_number(message_id, code), "$sync_time": now, "$data_source": code}
    out = Rendered(m, None)
    rows: dict[str, list[Row]] = {}
    for it in items:
        try:
            rows[it.key] = m.rows(it.record, {**meta, "$sync_type": sync_type(m, it)}, it.key)
        except OutboundDefect as d:
            out.defects[it.key] = f"{d.reason}: {d.message}"
    header = m.header(meta)
    problem = _write_and_check(m, [r for rs in rows.values() for r in rs], header)[1]
    if problem is not None:  # find the records the format or the schema refuses, one at a time
        for key in list(rows):
            alone = _write_and_check(m, rows[key], header)[1]
            if alone is not None:
                out.defects[key] = alone
                del rows[key]
    if rows:
        body, problem = _write_and_check(m, [r for rs in rows.values() for r in rs], header)
        if problem is not None:  # each record validates alone but not together: hold them all, say why
            out.defects.update({k: f"the batch as a whole: {problem}" for k in rows})
            rows = {}
        out.body = body if rows else None
    out.rows = {k: [r.row_id for r in rs] for k, rs in rows.items()}
    return out


def _write_and_check(m: OutboundMapping, rows: list[Row], header: dict[str, str]) -> tuple[bytes | None, str | None]:
    try:
        body = WRITERS[m.spec.format](m, rows, header)
    except OutboundDefect as d:
        return None, f"{d.reason}: {d.message}"
    problem = validate(m, body)
    return body, (f"schema_invalid: {problem}" if problem else None)


def validate(m: OutboundMapping, body: bytes) -> str | None:
    """The first way ``body`` breaks the peer's schema, or None (also when it has none)."""
    path = m.schema
    if path is None:
        return None
    if path.suffix == ".xsd":
        schema = _xsd(str(path))
        doc = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        if schema.validate(doc):
            return None
        err = schema.error_log.filter_from_errors()[0]
        message = _VALUE_RE.sub("The value", err.message)  # the value may be personal data: named by its element only
        return f"{path.name} line {err.line}: {message}"
    import fastjsonschema  # deferred: only JSON and CSV peers need it

    check = _json_schema(str(path))
    if m.spec.format == "csv":
        docs: list[Any] = list(csv.DictReader(io.StringIO(body.decode(m.spec.encoding))))
    else:
        docs = [json.loads(body.decode(m.spec.encoding))]
    for i, doc in enumerate(docs):
        try:
            check(doc)
        except fastjsonschema.JsonSchemaValueException as e:
            return f"{path.name}: {'line ' + str(i + 2) + ': ' if m.spec.format == 'csv' else ''}{e.message}"
    return None


_VALUE_RE = re.compile(r"The value '[^']*'")


@cache
def _xsd(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path, etree.XMLParser(resolve_entities=False, no_network=True)))


@cache
def _json_schema(path: str) -> Callable[[Any], Any]:
    import fastjsonschema

    check: Callable[[Any], Any] = fastjsonschema.compile(json.loads(Path(path).read_text(encoding="utf-8")))
    return check


@dataclass(frozen=True)
class RowReceipt:
    accepted: bool
    code: str = ""
    message: str = ""


def read_receipts(m: OutboundMapping, answer: bytes | None) -> dict[str, RowReceipt]:
    """The peer's per-row receipts in its answer (XML elements or JSON objects named by the
    mapping's ``receipts``), by row id; empty when the format declares none."""
    spec = m.spec.receipts
    if spec is None or not answer:
        return {}
    out: dict[str, RowReceipt] = {}
    if answer.lstrip()[:1] in (b"{", b"["):
        data = json.loads(answer)
        entries = data.get(spec.row, []) if isinstance(data, dict) else data
        for e in entries:
            out[str(e.get(spec.row_id))] = RowReceipt(
                str(e.get(spec.status)) in spec.accepted, str(e.get(spec.code) or ""), str(e.get(spec.message) or "")
            )
        return out
    root = etree.fromstring(answer, etree.XMLParser(resolve_entities=False, no_network=True))
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname == spec.row:
            got = {etree.QName(c).localname: (c.text or "") for c in el if isinstance(c.tag, str)} | dict(el.attrib)
            out[str(got.get(spec.row_id))] = RowReceipt(
                got.get(spec.status, "") in spec.accepted, got.get(spec.code, ""), got.get(spec.message, "")
            )
    return out
