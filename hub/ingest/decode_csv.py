"""Reading CSV: a header row, then one record per row. The body is decoded row by row, so
one badly encoded or malformed row is quarantined on its own and does not sink the file;
each kept row carries the header line, so a quarantined row reads on its own."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

from hub.ingest.decode_records import MAX_LINE, MessageInfo, RawRecord, raw_payload
from hub.model.defects import Defect
from hub.model.mapping import Mapping
from hub.model.outcomes import Reason


def _csv_rows(stream: IO[bytes]) -> Iterator[bytes]:
    """The non-blank rows of the body, as bytes: a quoted field may span lines (up to
    ``MAX_LINE`` bytes, beyond which the row is handed over as it stands)."""
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
        yield joined


def _csv_header(joined: bytes, enc: str) -> tuple[list[str], str] | RawRecord:
    """The column names and the header line kept with each row, or the defective record
    when the header row cannot be read."""
    try:
        text = joined.decode(enc).lstrip("\ufeff")
        header = next(csv.reader([text]))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        payload, penc = raw_payload(joined)
        return RawRecord(
            1,
            None,
            Defect(Reason.CSV_MALFORMED, f"the CSV header row cannot be read as {enc.upper()}", "decode:csv"),
            payload,
            payload_encoding=penc,
        )
    return [h.strip() for h in header], text.rstrip("\r\n") + "\n"


def _csv_record(seq: int, joined: bytes, header: list[str], header_line: str, enc: str) -> RawRecord:
    """One data row: its record, or the defect that kept it from being read."""
    if len(joined) > MAX_LINE:
        return RawRecord(
            seq,
            None,
            Defect(Reason.RECORD_TOO_LARGE, f"row {seq} is larger than {MAX_LINE} bytes", "decode:csv"),
            "(oversized row not kept)",
        )
    try:
        text = joined.decode(enc)
    except UnicodeDecodeError:
        payload, penc = raw_payload(joined)
        return RawRecord(
            seq,
            None,
            Defect(Reason.ENCODING_INVALID, f"row {seq} is not valid {enc.upper()}", "decode:csv"),
            payload,
            payload_encoding=penc,
        )
    try:
        row = next(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        return RawRecord(
            seq, None, Defect(Reason.CSV_MALFORMED, f"row {seq}: {exc}", "decode:csv"), text.rstrip("\r\n")
        )
    if len(row) != len(header):
        return RawRecord(
            seq,
            None,
            Defect(
                Reason.CSV_MALFORMED,
                f"row {seq} has {len(row)} columns; the header has {len(header)}",
                "decode:csv",
            ),
            text.rstrip("\r\n"),
        )
    return RawRecord(seq, dict(zip(header, row)), None, header_line + text.rstrip("\r\n"), payload_encoding="csv")


def read_csv(stream: IO[bytes], mapping: Mapping, info: MessageInfo) -> Iterator[RawRecord]:
    enc = mapping.spec.encoding
    rows = _csv_rows(stream)
    first = next(rows, None)
    if first is None:
        return
    header = _csv_header(first, enc)
    if isinstance(header, RawRecord):
        yield header
        return
    columns, header_line = header
    for seq, joined in enumerate(rows, 1):
        yield _csv_record(seq, joined, columns, header_line, enc)
