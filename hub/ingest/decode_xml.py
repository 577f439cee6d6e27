"""Reading an XML batch document: streamed with the hardened parser of ``hub.model.xmlsafe``,
each record element validated against the kind's XSD when the sender speaks the canonical
contract, then turned into a dict. A document refused before parsing, or broken off part
way, comes out as one defective record after the records already read."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from functools import cache
from typing import IO, Any

from lxml import etree

from hub.core.message_id import check_message_id
from hub.ingest.decode_records import MessageInfo, RawRecord
from hub.model import xmlsafe
from hub.model.defects import Defect
from hub.model.dictionary import Kind
from hub.model.mapping import Mapping
from hub.model.masking import mask_text
from hub.model.outcomes import Reason
from hub.model.schemagen import xsd_path


@cache
def xml_schema(kind: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(xsd_path(kind))))


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


def _read_prolog(el: Any, k: Kind, canonical: bool, info: MessageInfo, seq: int, rule: str) -> RawRecord | None:
    """Check the document around its first record and fill in ``info`` from the root: a
    DOCTYPE is refused (raises), a canonical document under another root element is the
    defective record returned; None when reading goes on."""
    tree = el.getroottree()
    if tree.docinfo.doctype:
        raise xmlsafe.XmlRefused(Reason.XML_FORBIDDEN, "XML with a DOCTYPE is refused; send plain XML")
    root = tree.getroot()
    if canonical and root.tag != f"{{{k.namespace}}}{k.batch}":
        return RawRecord(
            seq,
            None,
            Defect(Reason.SCHEMA_INVALID, f"root element must be {k.batch} in namespace {k.namespace}", rule),
            _element=el,
        )
    info.attributes = dict(root.attrib)
    mid = root.get("message_id")  # the sender's id, under the one rule (a 4xx at the ingress, never a 500)
    info.message_id = check_message_id(mid, "the batch's message_id attribute") if mid else None
    info.batch_no = root.get("batch_no")
    return None


def _xml_record(seq: int, el: Any, schema: etree.XMLSchema | None, rule: str, list_fields: frozenset[str]) -> RawRecord:
    """One record element: validated against the XSD (when there is one), then as a dict."""
    rec = RawRecord(seq, None, _element=el)
    if schema is not None and not schema.validate(el):
        err = schema.error_log.last_error
        msg = mask_text(err.message) if err else "does not match the schema"
        rec.defect = Defect(Reason.SCHEMA_INVALID, f"record {seq}: {msg}", rule, _xml_error_field(msg))
    else:
        rec.data = (_valid_element_to_dict if schema is not None else _element_to_dict)(el, list_fields)
    return rec


def _release(window: deque[Any], el: Any, keep: int) -> None:
    """Remember ``el`` and free the oldest element once more than ``keep`` are held, so a
    long document is read in bounded memory."""
    window.append(el)
    if len(window) > keep:
        old = window.popleft()
        parent = old.getparent()
        old.clear(keep_tail=False)
        while old.getprevious() is not None:
            del parent[0]


def _broken_off(seq: int, exc: etree.XMLSyntaxError) -> RawRecord:
    """The record standing for the rest of a document that is not well-formed after ``seq``."""
    return RawRecord(
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
    try:
        events = xmlsafe.iterparse(safe, tag=tag)
        for _event, el in events:
            seq += 1
            if seq == 1:
                wrong_root = _read_prolog(el, k, canonical, info, seq, rule)
                if wrong_root is not None:
                    yield wrong_root
                    return
            if canonical and (misplaced := misplaced_record(el, k)) is not None:
                yield RawRecord(seq, None, Defect(Reason.SCHEMA_INVALID, misplaced, rule), _element=el)
                return
            yield _xml_record(seq, el, schema, rule, list_fields)
            _release(window, el, keep)
        if seq == 0:
            empty = _no_records(events.root, f"{{{k.namespace}}}{k.batch}" if canonical else None, tag)
            if empty is not None:
                yield RawRecord(1, None, Defect(*empty, rule), f"(document without records: {empty[1]})")
    except xmlsafe.XmlRefused as exc:
        yield RawRecord(
            seq + 1, None, Defect(exc.reason, exc.message, "decode:xml"), f"(document refused after record {seq})"
        )
    except etree.XMLSyntaxError as exc:
        yield _broken_off(seq, exc)


def misplaced_record(el: Any, k: Kind) -> str | None:
    """Why a canonical record element does not sit directly in the batch element, or None.
    Each record passes the XSD on its own, so a record wrapped in an unknown element
    (``<cases><wrapper><case>``) would otherwise be read as if it were in the batch: the
    canonical contract has nothing between the batch and its records, and the rest of such
    a document is not read."""
    parent = el.getparent()
    if parent is None or parent.getparent() is None:
        return None  # directly in the root, which the prolog check held to be the batch element
    name = parent.tag if isinstance(parent.tag, str) else "?"
    return (
        f"a <{k.record}> record inside <{_local(name)}>: records sit directly in <{k.batch}>, and unknown "
        "elements between the batch and its records are refused; nothing after it was read"
    )


def refuse_nesting(batch: Any, k: Kind) -> str | None:
    """Why a whole canonical batch element (already parsed, as a SOAP Body holds it) has
    something other than records directly inside it, or None: such a document is refused
    before any of it is stored."""
    record = f"{{{k.namespace}}}{k.record}"
    for child in batch:
        if isinstance(child.tag, str) and child.tag != record:
            return (
                f"<{k.batch}> holds <{_local(child.tag)}>: only <{k.record}> records in namespace "
                f"{k.namespace} may sit directly in the batch; unknown elements between the batch and its "
                "records are refused, and nothing of this push was stored"
            )
    return None


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
