"""The hand-built job's model: one mapped class per case, merged by its case number."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column
from sqlalchemy.orm import DeclarativeBase

from bench.records import COLUMNS
from hub.db.tables import _column_type
from hub.model.dictionary import kind as dictionary_kind


class Base(DeclarativeBase):
    pass


_FIELDS = {f.name: f for f in dictionary_kind("case").fields}
BenchCase = type(
    "BenchCase",
    (Base,),
    {
        "__tablename__": "bench_orm_case",
        **{c: Column(_column_type(_FIELDS[c]), primary_key=(c == "case_no")) for c in COLUMNS},
    },
)
_DATETIMES = [c for c in COLUMNS if _FIELDS[c].type == "datetime"]
_DECIMALS = [c for c in COLUMNS if _FIELDS[c].type == "decimal"]


def from_json(rec: dict) -> dict:
    """What such a job does to a record: parse the times and amounts, nothing else."""
    for c in _DATETIMES:
        if c in rec:
            rec[c] = datetime.fromisoformat(rec[c])
    for c in _DECIMALS:
        if c in rec:
            rec[c] = Decimal(rec[c])
    return rec
