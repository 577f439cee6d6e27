"""Decoding: bytes of one message → raw records (one per case, item, licence...).

Formats: ``xml`` (a batch document; streamed with a hardened parser and validated per
record against the kind's XSD when the sender speaks the canonical contract), ``jsonl``
(one JSON object per line), ``json`` (an array, or an object with ``records``), ``csv``
(header row; decoded per line so one badly encoded row does not sink the file).

Readers never raise for bad content: a record that cannot be decoded comes out with a
``Defect`` and its original text, so it can be quarantined and counted. When a document
breaks off (truncated, not well-formed) the rest comes out as one defective record.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

import fastjsonschema
from lxml import etree

from hub.model import xmlsafe
from hub.model.defects import Defect
from hub.model.dictionary import Kind
from hub.model.mapping import Mapping
from hub.model.masking import mask_text
from hub.model.outcomes import Reason
from hub.model.schemagen import json_schema_path, xsd_path

MAX_LINE = 1 << 20  # one JSON line / CSV row larger than 1 MiB is refused, not buffered
TOO_DEEP = "is nested too deeply to read (hundreds of levels of arrays or objects); send flat records"


@dataclass(slots=True)
class RawRecord:
    seq: int
    data: dict[str, Any] | None
    defect: Defect | None = None
    _payload: str | None = None
    _element: Any = None
    payload_encoding: str = "text"

    @property
    def payload(self) -> str:
        if self._payload is None and self._element is not None:
            self._payload = etree.tostring(self._element, encoding="unicode")
        return self._payload or ""


@dataclass
class MessageInfo:
    """What the document says about itself (filled in while reading)."""

    message_id: str | None = None
    batch_no: str | None = None
    encoding: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@cache
def xml_schema(kind: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(xsd_path(kind))))


@cache
def json_validator(kind: str) -> Callable[[Any], Any]:
    validate: Callable[[Any], Any] = fastjsonschema.compile(
        json.loads(json_schema_path(kind).read_text(encoding="utf-8"))
    )
    return validate


def _raw_payload(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


# ---------------------------------------------------------------- XML


def _xml_error_field(msg: str) -> str | None:
    # libxml2 names the element: "Element '{urn:govhub:case:1}case_type': ..."
    if "Element '" in msg:
        name = msg.split("Element '", 1)[1].split("'", 1)[0]
        return name.rsplit("}", 1)[-1]
    return None


_LOCAL: dict[str, str] = {}  # "{ns}name" → "name"; a handful of distinct tags per kind


def _local(tag: str) -> str:
    name = _LOCAL.get(tag)
    if name is None:
        name = _LOCAL[tag] = tag.rsplit("}", 1)[-1]
    return name


def _element_to_dict(el: Any, list_fields: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in el:
        tag = child.tag
        if tag.__class__ is not str:  # comments and processing instructions
            continue
        name = _LOCAL.get(tag) or _local(tag)
        if name in list_fields or len(child):
            out[name] = [_element_to_dict(e, _NO_LISTS) for e in child if e.tag.__class__ is str]
        else:
            out[name] = child.text or ""
    return out


_NO_LISTS: frozenset[str] = frozenset()


def _valid_element_to_dict(el: Any, list_fields: frozenset[str]) -> dict[str, Any]:
    """The same for a record the XSD has just passed: only list fields have children,
    and the parser already dropped comments and processing instructions."""
    out: dict[str, Any] = {}
    local = _LOCAL
    for child in el:
        name = local.get(child.tag) or _local(child.tag)
        if name in list_fields:
            out[name] = [_element_to_dict(e, _NO_LISTS) for e in child if e.tag.__class__ is str]
        else:
            out[name] = child.text or ""
    return out


def read_xml(stream: IO[bytes], mapping: Mapping, info: MessageInfo, keep: int = 4096) -> Iterator[RawRecord]:
    k: Kind = mapping.kind
    seq = 0
    try:
        safe, info.encoding = xmlsafe.open_xml(stream)
    except xmlsafe.XmlRefused as exc:
        yield RawRecord(1, None, Defect(exc.reason, exc.message, "decode:xml"), "(document refused before parsing)")
        return
    canonical = mapping.spec.canonical
    tag = f"{{{k.namespace}}}{k.record}" if canonical else f"{{*}}{mapping.record_element}"
    schema = xml_schema(k.kind) if canonical else None
    rule = f"xsd:{k.schema_version}"
    list_fields = frozenset(f.name for f in k.lists)
    window: deque[Any] = deque()  # the elements not yet cleared
    checked_prolog = False
    try:
        events = xmlsafe.iterparse(safe, tag=tag)
        for _event, el in events:
            seq += 1
            if not checked_prolog:
                checked_prolog = True
                tree = el.getroottree()
                if tree.docinfo.doctype:
                    raise xmlsafe.XmlRefused(Reason.XML_FORBIDDEN, "XML with a DOCTYPE is refused; send plain XML")
                root = tree.getroot()
                if canonical and root.tag != f"{{{k.namespace}}}{k.batch}":
                    yield RawRecord(
                        seq,
                        None,
                        Defect(
                            Reason.SCHEMA_INVALID, f"root element must be {k.batch} in namespace {k.namespace}", rule
                        ),
                        _element=el,
                    )
                    return
                info.attributes = dict(root.attrib)
                info.message_id = root.get("message_id")
                info.batch_no = root.get("batch_no")
            rec = RawRecord(seq, None, _element=el)
            if schema is not None and not schema.validate(el):
                err = schema.error_log.last_error
                msg = mask_text(err.message) if err else "does not match the schema"
                rec.defect = Defect(Reason.SCHEMA_INVALID, f"record {seq}: {msg}", rule, _xml_error_field(msg))
            else:
                rec.data = (_valid_element_to_dict if schema is not None else _element_to_dict)(el, list_fields)
            yield rec
            window.append(el)
            if len(window) > keep:
                old = window.popleft()
                parent = old.getparent()
                old.clear(keep_tail=False)
                while old.getprevious() is not None:
                    del parent[0]
        if seq == 0:
            empty = _no_records(events.root, f"{{{k.namespace}}}{k.batch}" if canonical else None, tag)
            if empty is not None:
                yield RawRecord(1, None, Defect(*empty, rule), f"(document without records: {empty[1]})")
    except xmlsafe.XmlRefused as exc:
        yield RawRecord(
            seq + 1, None, Defect(exc.reason, exc.message, "decode:xml"), f"(document refused after record {seq})"
        )
    except etree.XMLSyntaxError as exc:
        yield RawRecord(
            seq + 1,
            None,
            Defect(
                Reason.XML_MALFORMED,
                f"XML is not well-formed after record {seq}: {mask_text(str(exc))}; "
                "the records before it were processed, send the rest again as a new message",
                "decode:xml",
            ),
            f"(document broken off after record {seq}: {mask_text(str(exc))})",
        )


def _no_records(root: Any, batch_tag: str | None, record_tag: str) -> tuple[str, str] | None:
    """Why a document in which no record element matched is a defect (its records are in
    another namespace, or it is another document), or None for an empty batch — without
    this a batch in namespace ``urn:govhub:case:2`` read as zero records, silently."""
    if root is None:
        return None
    if root.getroottree().docinfo.doctype:
        return Reason.XML_FORBIDDEN, "XML with a DOCTYPE is refused; send plain XML"
    if (batch_tag is None or root.tag == batch_tag) and not any(isinstance(c.tag, str) for c in root):
        return None  # an empty batch: nothing was sent, nothing is lost
    name = root.tag if isinstance(root.tag, str) else "?"
    return Reason.SCHEMA_INVALID, (
        f"the document (root <{_local(name)}> in namespace {name[1:].split('}')[0] if name.startswith('{') else 'none'}) "
        f"holds no {record_tag.replace('{*}', '')} records; check the namespace and the element names"
    )


# ---------------------------------------------------------------- JSON


def _json_record(seq: int, obj: Any, mapping: Mapping, raw: str) -> RawRecord:
    if not isinstance(obj, dict):
        return RawRecord(
            seq, None, Defect(Reason.JSON_MALFORMED, f"record {seq} is not a JSON object", "decode:json"), raw
        )
    if mapping.spec.canonical:
        try:
            json_validator(mapping.kind.kind)(obj)
        except Exception as exc:  # noqa: BLE001 — JsonSchemaException, or RecursionError/TypeError on hostile input: each quarantines the record
            name = getattr(exc, "name", "") or ""
            field_name = name.split(".", 1)[1].split(".")[0].split("[")[0] if "." in name else None
            return RawRecord(
                seq,
                None,
                Defect(
                    Reason.SCHEMA_INVALID,
                    f"record {seq}: {mask_text(str(exc))}",
                    f"jsonschema:{mapping.kind.schema_version}",
                    field_name,
                ),
                raw,
            )
    return RawRecord(seq, obj, None, raw)


def read_jsonl(stream: IO[bytes], mapping: Mapping, info: MessageInfo) -> Iterator[RawRecord]:
    enc = mapping.spec.encoding
    seq = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            seq += 1
            while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
                line = stream.readline(MAX_LINE)
            yield RawRecord(
                seq,
                None,
                Defect(Reason.RECORD_TOO_LARGE, f"record {seq} is larger than {MAX_LINE} bytes", "decode:jsonl"),
                "(oversized line not kept)",
            )
            continue
        if not line.strip():
            continue
        seq += 1
        try:
            text = line.decode(enc)
        except UnicodeDecodeError:
            payload, penc = _raw_payload(line)
            yield RawRecord(
                seq,
                None,
                Defect(Reason.ENCODING_INVALID, f"record {seq} is not valid {enc.upper()}", "decode:jsonl"),
                payload,
                payload_encoding=penc,
            )
            continue
        if seq == 1:
            text = text.lstrip("\ufeff")  # a byte-order mark from a Windows export, as the CSV reader allows
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:  # json.loads' only ValueError
            yield RawRecord(
                seq,
                None,
                Defect(
                    Reason.JSON_MALFORMED,
                    f"record {seq} is not valid JSON: {exc.msg} at column {exc.colno}",
                    "decode:jsonl",
                ),
                text.rstrip("\n"),
            )
            continue
        except RecursionError:  # the C decoder recurses per level: 10,000 nested arrays exhaust the stack
            yield RawRecord(
                seq, None, Defect(Reason.JSON_MALFORMED, f"record {seq} {TOO_DEEP}", "decode:jsonl"), text.rstrip("\n")
            )
            continue
        yield _json_record(seq, obj, mapping, text.rstrip("\n"))


def read_json(stream: IO[bytes], mapping: Mapping, info: MessageInfo) -> Iterator[RawRecord]:
    data = stream.read()
    try:
        doc = json.loads(data.decode(mapping.spec.encoding))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = TOO_DEEP if isinstance(exc, RecursionError) else f"is not valid JSON: {mask_text(str(exc))}"
        payload, penc = _raw_payload(data)
        yield RawRecord(
            1, None, Defect(Reason.JSON_MALFORMED, f"the body {why}", "decode:json"), payload, payload_encoding=penc
        )
        return
    if isinstance(doc, dict):
        info.message_id = doc.get("message_id") if isinstance(doc.get("message_id"), str) else None
        records = doc.get("records")
        if not isinstance(records, list):
            yield RawRecord(
                1,
                None,
                Defect(
                    Reason.JSON_MALFORMED, "a JSON batch is an array or an object with a 'records' array", "decode:json"
                ),
                data.decode(mapping.spec.encoding, "replace"),
            )
            return
    elif isinstance(doc, list):
        records = doc
    else:
        yield RawRecord(
            1,
            None,
            Defect(
                Reason.JSON_MALFORMED, "a JSON batch is an array or an object with a 'records' array", "decode:json"
            ),
            data.decode(mapping.spec.encoding, "replace"),
        )
        return
    for seq, obj in enumerate(records, 1):
        yield _json_record(seq, obj, mapping, json.dumps(obj, ensure_ascii=False))


# ---------------------------------------------------------------- CSV


def read_csv(stream: IO[bytes], mapping: Mapping, info: MessageInfo) -> Iterator[RawRecord]:
    enc = mapping.spec.encoding
    header: list[str] | None = None
    seq = 0
    pending: list[bytes] = []
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line and not pending:
            return
        if line:
            pending.append(line)
            joined = b"".join(pending)
            if joined.count(b'"') % 2 == 1 and len(joined) <= MAX_LINE:
                continue  # a quoted field spans lines
        else:
            joined = b"".join(pending)
        pending = []
        if not joined.strip():
            continue
        if header is None:
            try:
                text = joined.decode(enc).lstrip("\ufeff")
                header = next(csv.reader([text]))
            except (UnicodeDecodeError, StopIteration, csv.Error):
                payload, penc = _raw_payload(joined)
                yield RawRecord(
                    1,
                    None,
                    Defect(Reason.CSV_MALFORMED, f"the CSV header row cannot be read as {enc.upper()}", "decode:csv"),
                    payload,
                    payload_encoding=penc,
                )
                return
            header = [h.strip() for h in header]
            header_line = text.rstrip("\r\n") + "\n"  # kept with each row so a quarantined row reads on its own
            continue
        seq += 1
        if len(joined) > MAX_LINE:
            yield RawRecord(
                seq,
                None,
                Defect(Reason.RECORD_TOO_LARGE, f"row {seq} is larger than {MAX_LINE} bytes", "decode:csv"),
                "(oversized row not kept)",
            )
            continue
        try:
            text = joined.decode(enc)
        except UnicodeDecodeError:
            payload, penc = _raw_payload(joined)
            yield RawRecord(
                seq,
                None,
                Defect(Reason.ENCODING_INVALID, f"row {seq} is not valid {enc.upper()}", "decode:csv"),
                payload,
                payload_encoding=penc,
            )
            continue
        try:
            row = next(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            yield RawRecord(
                seq, None, Defect(Reason.CSV_MALFORMED, f"row {seq}: {exc}", "decode:csv"), text.rstrip("\r\n")
            )
            continue
        if len(row) != len(header):
            yield RawRecord(
                seq,
                None,
                Defect(
                    Reason.CSV_MALFORMED,
                    f"row {seq} has {len(row)} columns; the header has {len(header)}",
                    "decode:csv",
                ),
                text.rstrip("\r\n"),
            )
            continue
        yield RawRecord(seq, dict(zip(header, row)), None, header_line + text.rstrip("\r\n"), payload_encoding="csv")


READERS = {"xml": read_xml, "jsonl": read_jsonl, "json": read_json, "csv": read_csv}


def sniff_format(head: bytes, filename: str | None = None) -> str:
    if filename:
        for ext, fmt in (
            (".xml", "xml"),
            (".jsonl", "jsonl"),
            (".ndjson", "jsonl"),
            (".json", "json"),
            (".csv", "csv"),
        ):
            if filename.lower().endswith(ext):
                return fmt
    s = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if s.startswith(b"<"):
        return "xml"
    if s.startswith(b"["):
        return "json"
    if s.startswith(b"{"):
        first = s.split(b"\n", 1)[0].rstrip()
        return "jsonl" if first.endswith(b"}") else "json"
    return "csv"


_KIND_NS = re.compile(rb'xmlns(?::\w+)?=["\']urn:govhub:([a-z]+):\d+["\']')


def sniff_kind(head: bytes) -> str | None:
    """The message kind a canonical XML document declares by its namespace."""
    m = _KIND_NS.search(head)
    return m.group(1).decode("ascii") if m else None


def read(stream: IO[bytes], mapping: Mapping, info: MessageInfo, **kw: Any) -> Iterator[RawRecord]:
    return READERS[mapping.spec.format](stream, mapping, info, **kw)
