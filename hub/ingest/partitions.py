"""Inbound partitions keyed by case: split a message at the ingress, ingest one part.

A message from a source system carries a batch of records of many cases. To let several
workers share the load while each case's records are still applied in the order they
were sent, the publisher splits the message by record key: every record goes to
partition ``crc32(kind|key) mod P``, and each partition queue has one active consumer at
a time (``hub.bus.topology``). Records of one case therefore travel through one queue, in order.

A part is an envelope (msgpack) holding the decoded raw records of one partition with
their sequence numbers *in the parent message*, their original text (for the
quarantine) and any decode defect. Its message id is ``<parent>#<i>/<P>``: publishing
the parent again yields the same parts under the same ids with the same bytes, so the
hub's message-level idempotency (``ingest_message``) works per part, and the lineage of
all ``<parent>#…`` parts together accounts for every record of the parent
(``received = stored + duplicate + quarantined``). docs/scaleout.md has the trade-offs.

A message that cannot be split (unknown system, no mapping for it) goes whole to the
partition of its system, where the worker quarantines it as before.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec
from kombu import Connection
from sqlalchemy import Engine

from hub.audit.objects import ObjectStore
from hub.bus import topology as bus
from hub.catalog.systems import CatalogError, get_system
from hub.core import clock
from hub.core.errors import InputError
from hub.core.message_id import MAX_MESSAGE_ID, fit_message_id
from hub.ingest import decode
from hub.ingest.decode import MessageInfo, RawRecord
from hub.ingest.pipeline import OpenMessage, Pipeline, Summary, body_digest
from hub.ingest.store import BatchContext, message_seen
from hub.model.canonical import FieldDefect, _compile, _Compiled, _run
from hub.model.defects import Defect
from hub.model.dictionary import DictionaryError
from hub.model.dictionary import kind as dictionary_kind
from hub.model.mapping import Mapping, MappingApplyError, MappingError
from hub.model.outcomes import Reason

PART_CONTENT_TYPE = "application/x-govhub-part+msgpack"
PART_SEPARATOR = "#"


class Envelope(msgspec.Struct, array_like=True, frozen=True):
    parent: str  # the message id of the whole message
    index: int
    parts: int
    system: str
    kind: str
    format: str
    # (seq in the parent, decoded data or None, original text, its encoding, defect or None)
    records: list[tuple[int, dict[Any, Any] | None, str, str, tuple[str, str, str, str | None] | None]]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Envelope).decode


@dataclass(frozen=True)
class Part:
    index: int
    body: bytes
    headers: dict[str, Any]
    content_type: str
    records: int


def part_id(parent: str, index: int, parts: int) -> str:
    """``parent#index/parts``, within the 128 characters a message id may have: a long
    parent (a publisher's id) is shortened to make room for the suffix."""
    suffix = f"{PART_SEPARATOR}{index}/{parts}"
    return fit_message_id(parent, MAX_MESSAGE_ID - len(suffix)) + suffix


def partition_of(kind: str, key: tuple[Any, ...], partitions: int) -> int:
    """The partition of a record key (stable across processes and releases: crc32)."""
    text = kind + "|" + "|".join(str(k) for k in key)
    return zlib.crc32(text.encode("utf-8")) % partitions


def _whole(
    body: bytes, system: str, message_id: str, partitions: int, kind: str | None, fmt: str | None, filename: str | None
) -> Part:
    headers = {"system": system, "message_id": message_id}
    for name, value in (("kind", kind), ("format", fmt), ("filename", filename)):
        if value:
            headers[name] = value
    index = zlib.crc32(system.encode("utf-8")) % partitions
    return Part(index, body, headers, "application/octet-stream", 0)


def split(
    body: bytes,
    system: str,
    message_id: str,
    partitions: int,
    kind: str | None = None,
    fmt: str | None = None,
    filename: str | None = None,
) -> list[Part]:
    """The parts to publish for one inbound message (one whole part when ``partitions``
    is 1 or the message cannot be read with the system's mapping)."""
    if partitions <= 1:
        return [_whole(body, system, message_id, partitions, kind, fmt, filename)]
    try:
        sys_ = get_system(system)
        stream = io.BufferedReader(io.BytesIO(body))
        head = stream.peek(4096)[:4096]
        fmt_ = fmt or decode.sniff_format(head, filename)
        kind_ = kind
        if kind_ is None and fmt_ == "xml" and not any(k.endswith("/xml") for k in sys_.mappings):
            kind_ = decode.sniff_kind(head)
        mapping = sys_.mapping_for(kind_, fmt_)
    except (CatalogError, MappingError, DictionaryError):
        return [_whole(body, system, message_id, partitions, kind, fmt, filename)]
    k = mapping.kind
    info = MessageInfo()
    buckets: dict[int, list[Any]] = {}
    for raw in decode.read(stream, mapping, info):
        key = _key(raw, mapping)
        index = partition_of(k.kind, key, partitions) if key is not None else raw.seq % partitions
        d = raw.defect
        buckets.setdefault(index, []).append(
            (
                raw.seq,
                raw.data,
                raw.payload,
                raw.payload_encoding,
                None if d is None else (d.reason, d.message, d.rule, d.field),
            )
        )
    # the document's own id wins, as in Pipeline.open; a publisher's over-long id is fitted
    parent = fit_message_id(info.message_id or message_id)
    if not buckets:  # an empty batch: nothing to split, the worker records it as before
        return [_whole(body, system, message_id, partitions, kind, fmt, filename)]
    parts: list[Part] = []
    for index in sorted(buckets):
        sub = part_id(parent, index, partitions)
        env = Envelope(parent, index, partitions, sys_.id, k.kind, fmt_, buckets[index])
        headers = {
            "system": sys_.id,
            "message_id": sub,
            "kind": k.kind,
            "format": fmt_,
            "parent_message_id": parent,
            "part": f"{index}/{partitions}",
        }
        parts.append(Part(index, _encode(env), headers, PART_CONTENT_TYPE, len(buckets[index])))
    return parts


@cache
def _key_converters(kind: str) -> _Compiled:
    # only the key fields, converted exactly as canonicalise converts them (the whole
    # record would cost the publisher as much again as decoding it)
    k = dictionary_kind(kind)
    return _compile(tuple(k.field(n) for n in k.key), as_json=False)


def _key(raw: RawRecord, mapping: Mapping) -> tuple[Any, ...] | None:
    """The canonical key of a raw record, or None when it has none (it will be
    quarantined by the worker, so any partition keeps the accounting right)."""
    if raw.defect is not None or raw.data is None:
        return None
    k = mapping.kind
    try:
        mapped = mapping.apply(raw.data)
        rec = _run(_key_converters(k.kind), {n: mapped.get(n) for n in k.key})
        return tuple(rec[n] for n in k.key)
    except (MappingApplyError, FieldDefect):
        return None


class PartUnreadable(InputError):
    """A message part whose envelope cannot be read (it is quarantined whole)."""

    reason = Reason.MESSAGE_INVALID


def is_part(content_type: str | None) -> bool:
    return content_type == PART_CONTENT_TYPE


def ingest_part(pipeline: Pipeline, engine: Engine, body: bytes) -> Summary:
    """Ingest one part: the records keep their sequence numbers in the parent message.

    Mirrors ``Pipeline.open`` for records that were decoded by the publisher."""
    try:
        env = _decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise PartUnreadable(f"a message part that cannot be read: {exc}") from None
    system = get_system(env.system)
    mapping = system.mapping_for(env.kind, env.format)
    k = mapping.kind
    mid = part_id(env.parent, env.index, env.parts)
    digest = body_digest(body)
    ctx = BatchContext(
        system.id,
        k,
        mid,
        mapping.label,
        k.schema_version,
        clock.now().replace(microsecond=0),
        system.report_to,
        sender=system,
    )
    with engine.connect() as conn:
        seen = message_seen(conn, system.id, mid, digest)
    raws = (
        RawRecord(seq, data, None if d is None else Defect(*d), payload, payload_encoding=enc)
        for seq, data, payload, enc, d in env.records
    )
    capture = (pipeline.objects or ObjectStore()).capture(io.BytesIO(body))  # the part as the bus carried it
    m = OpenMessage(system, mapping, env.format, ctx, seen, raws, digest, capture, channel="bus")
    return pipeline.store(m, pipeline.prepared(m))


def publish_inbound(
    conn: Connection,
    body: bytes,
    system: str,
    message_id: str,
    kind: str | None = None,
    fmt: str | None = None,
    filename: str | None = None,
) -> int:
    """Put a raw message from an adapter on the inbound partitions (confirmed on
    RabbitMQ): split by case key into one part per partition when there are several,
    whole onto the only one otherwise. Returns the parts published.

    Publishing the same message again publishes the same parts under the same ids, so
    a publisher that is unsure whether it got through simply publishes again."""
    parts = split(body, system, message_id, bus.partitions(conn), kind=kind, fmt=fmt, filename=filename)
    return bus.publish_parts(conn, parts)
