"""One writer per wire format for the peers' formats (outbound mappings): the rows an
``OutboundMapping`` made → the document's bytes, in the mapping's encoding.

A writer is ``write(mapping, rows, header) -> bytes``; ``WRITERS`` holds one per format.
Empty values are left out (an optional element absent, an empty JSON key absent, an
empty CSV cell). A writer raises ``OutboundDefect`` when a value cannot be put in the
encoding (a character GBK lacks, in a CSV file; XML writes a character reference).

- ``xml``: ``<root xmlns="namespace" header…>`` then one element per row, its fields as
  child elements in the mapping's order.
- ``json``: ``{header…, "<row name>": [ {field: value, …}, … ], …}``, row names in the
  mapping's order (a row kind without rows is absent).
- ``csv``: a header line with the peer's field names, then one line per row (one row kind).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence

from lxml import etree

from hub.model.outmapping import OutboundDefect, OutboundMapping, Row

Writer = Callable[[OutboundMapping, Sequence[Row], dict[str, str]], bytes]


def write_xml(m: OutboundMapping, rows: Sequence[Row], header: dict[str, str]) -> bytes:
    doc = m.spec.document
    ns = doc.namespace

    def q(name: str) -> str:
        return f"{{{ns}}}{name}" if ns else name

    root = etree.Element(q(doc.root), nsmap={None: ns} if ns else None)
    for k, v in header.items():
        if v != "":
            root.set(k, v)
    for row in rows:
        el = etree.SubElement(root, q(row.name))
        for k, v in row.values.items():
            if v != "":
                etree.SubElement(el, q(k)).text = v
    out: bytes = etree.tostring(root, xml_declaration=True, encoding=m.spec.encoding.upper(), pretty_print=True)
    return out


def write_json(m: OutboundMapping, rows: Sequence[Row], header: dict[str, str]) -> bytes:
    body: dict[str, object] = {k: v for k, v in header.items() if v != ""}
    for rs in m.spec.rows:
        these = [{k: v for k, v in r.values.items() if v != ""} for r in rows if r.name == rs.name]
        if these:
            body[rs.name] = these
    return _encoded(m, json.dumps(body, ensure_ascii=False, indent=1))


def write_csv(m: OutboundMapping, rows: Sequence[Row], header: dict[str, str]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(list(m.spec.rows[0].fields))
    for r in rows:
        w.writerow(list(r.values.values()))
    return _encoded(m, buf.getvalue())


def _encoded(m: OutboundMapping, text: str) -> bytes:
    try:
        return text.encode(m.spec.encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise OutboundDefect(
            "encoding",
            "",
            f"the character {bad!r} (U+{ord(bad[0]):04X}) cannot be written in {m.spec.encoding} ({m.name}); "
            "correct the record or give the peer a wider encoding (gb18030)",
        ) from None


WRITERS: dict[str, Writer] = {"xml": write_xml, "json": write_json, "csv": write_csv}
