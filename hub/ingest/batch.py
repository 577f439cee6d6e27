"""A batch on its way to the store: its prepared records, the message they came in
(:class:`BatchContext`), and what the store's observers are handed.

``hub.ingest.classify`` decides each record's outcome, ``hub.ingest.writers`` writes the
rows of each outcome, ``hub.ingest.store`` runs both in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from hub.catalog.systems import System
from hub.model.defects import Defect
from hub.model.dictionary import Kind

if TYPE_CHECKING:
    from hub.ingest.decode import RawRecord


# Called inside the batch's transaction with (conn, ctx, the outbox rows just written).
BatchObserver = Callable[[Connection, "BatchContext", list[dict[str, Any]]], None]
# a record's natural key (its kind's key fields), and what the library holds for it: (id, version, payload_hash, source_time)
Key = tuple[Any, ...]
Held = tuple[Any, ...]


@dataclass(slots=True)
class Prepared:
    seq: int
    record: dict[str, Any] | None
    defect: Defect | None
    key: Key | None
    hash: str
    raw: RawRecord  # for the original payload when quarantined
    outcome: str = ""
    detail: str = ""
    version: int | None = None

    _key_text: str | None = None

    @property
    def key_text(self) -> str | None:
        if self._key_text is None and self.key is not None:
            self._key_text = "|".join(map(str, self.key))  # asked for by lineage, outbox and results
        return self._key_text

    # A record that passed the checks has its canonical record and key; a defective one its defect.
    @property
    def canonical(self) -> dict[str, Any]:
        assert self.record is not None, "a defective record has no canonical record"
        return self.record

    @property
    def natural_key(self) -> Key:
        assert self.key is not None, "a defective record has no key"
        return self.key

    @property
    def problem(self) -> Defect:
        assert self.defect is not None, "a good record has no defect"
        return self.defect


@dataclass(frozen=True)
class BatchContext:
    system: str
    kind: Kind
    message_id: str
    mapping: str
    schema_version: str
    received_at: datetime
    report_to: tuple[str, ...] = ()  # peers that get every stored record (hub.outbound.delivery)
    correction_of: int | None = None  # an administrator's correct-and-retry of this quarantine id
    corrected_by: str | None = None
    # the sending system: an update may replace only a stored row it owns (hub.ingest.classify)
    sender: System | None = None


# a record of the batch with the id of the lineage row written for it
Written = list[tuple[Prepared, int]]
