"""The benchmark's records: realistic ~25-field cases (办件) written once, streaming, as
the three shapes the stages read — a canonical XML batch (the hub's XML ingress), JSON
lines (cut into REST pushes) and CSV (the COPY baseline) — so every stage sees the same
records and 2,000,000 of them never sit in memory.

The light profile is the generator's full case without its lists (steps, special
procedures, materials): every scalar field the case has, optional ones absent as a
sender leaves them out; still valid against the case XSD and dictionary.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import msgspec

from hub.model.dictionary import kind as dictionary_kind
from synth.generator import Generator, write_xml

DEPARTMENT = "常熟市行政审批局"  # every record is this department's, so REST pushes are authorised
LISTS = frozenset(f.name for f in dictionary_kind("case").fields if f.type == "list")
COLUMNS = tuple(f.name for f in dictionary_kind("case").fields if f.type != "list")


def light_cases(n: int, seed: int = 2026, today=None) -> Iterator[dict]:
    g = Generator(seed=seed, departments=[DEPARTMENT], today=today)
    for _ in range(n):
        rec = g.case()
        for name in LISTS:
            rec.pop(name, None)
        yield rec


def write_all(n: int, folder: Path, seed: int = 2026, progress=None) -> dict[str, Path]:
    """Write cases.xml, cases.jsonl and cases.csv with the same ``n`` records."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"xml": folder / "cases.xml", "jsonl": folder / "cases.jsonl", "csv": folder / "cases.csv"}
    enc = msgspec.json.Encoder().encode
    with open(paths["jsonl"], "wb") as jf, open(paths["csv"], "w", encoding="utf-8", newline="") as cf:
        rows = csv.writer(cf)
        rows.writerow(COLUMNS)

        def tee():
            for i, rec in enumerate(light_cases(n, seed), 1):
                jf.write(enc(rec) + b"\n")
                rows.writerow([rec.get(c, "") for c in COLUMNS])
                if progress and i % 10_000 == 0:
                    progress(10_000)
                yield rec

        write_xml(tee(), "case", paths["xml"], message_id=f"bench-{n}-{seed}")
    return paths


def _column_types() -> dict[str, str]:
    # deferred: the COPY stage imports this module for COLUMNS; its peak RSS must not include the hub's tables
    from sqlalchemy.dialects import postgresql

    from hub.db.tables import _column_type

    fields = {f.name: f for f in dictionary_kind("case").fields}
    return {c: _column_type(fields[c]).compile(dialect=postgresql.dialect()) for c in COLUMNS}


COLUMN_TYPES = _column_types()  # the library's own column types, so COPY writes what the hub writes
