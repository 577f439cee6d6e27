"""What a sender is told record by record, kept within a bound.

A push of 20 MiB can hold hundreds of thousands of records: an answer with one entry per
record (and the list behind it) would cost more memory than the records themselves.
``RecordResults`` is handed to ``Pipeline.store`` as its ``results`` and keeps the
results of the first ``limit`` records and of the first ``limit`` defects; the
counts of every outcome are in the pipeline's ``Summary``, and the quarantine listing
(filtered by message id) holds every defect.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

RESULTS_KEPT = 1000  # records' results, and again defects, kept for an answer


class ResultSink(Protocol):
    """Where ``Pipeline.store`` hands each batch's per-record results: a list, or ``RecordResults``."""

    def extend(self, results: Iterable[dict[str, Any]], /) -> None: ...


class RecordResults:
    """A bounded list of per-record results (dicts with ``seq key outcome detail reason message``)."""

    def __init__(self, limit: int = RESULTS_KEPT):
        self.limit = limit
        self.kept: list[dict[str, Any]] = []
        self.defects_kept = 0
        self.seen = 0
        self.truncated = False  # a record's result was left out

    def extend(self, results: Iterable[dict[str, Any]]) -> None:
        for r in results:
            self.seen += 1
            defect = r["outcome"] == "quarantined"
            if self.seen <= self.limit or (defect and self.defects_kept < self.limit):
                self.kept.append(r)
                self.defects_kept += defect
            else:
                self.truncated = True

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.kept)

    def __len__(self) -> int:
        return len(self.kept)
