"""Cutting a message's prepared records into batches (one transaction each), marking its
last batch (which also records the message and logs it), and what a sender is told of
each record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Connection

from hub.ingest.batch import Key, Prepared


def batches(prepared: Iterable[Prepared], size: int) -> Iterator[list[Prepared]]:
    """Cut batches; a key repeated inside a batch starts a new one, so each record is
    classified against what the database holds after its predecessor."""
    batch: list[Prepared] = []
    keys: set[Key] = set()
    for p in prepared:
        if len(batch) >= size or (p.key is not None and p.key in keys):
            yield batch
            batch, keys = [], set()
        batch.append(p)
        if p.key is not None:
            keys.add(p.key)
    if batch:
        yield batch


# (connection, the last batch's counts): records the message and logs it in that batch's transaction
Finish = Callable[[Connection, Counter[str]], None]


def last_marked(cut: Iterator[list[Prepared]], on_last: Callable[[], object]) -> Iterator[tuple[list[Prepared], bool]]:
    """Each batch with whether it is the message's last; ``on_last`` runs once the records
    are exhausted, before the last batch is handed on (the bytes are stored before it commits)."""
    held = next(cut, None)
    for batch in cut:
        yield held, False  # type: ignore[misc]
        held = batch
    if held is not None:
        on_last()
        yield held, True


def record_result(p: Prepared) -> dict[str, Any]:
    """What a sender is told of one record."""
    return {
        "seq": p.seq,
        "key": p.key_text,
        "outcome": p.outcome,
        "detail": p.detail,
        "reason": p.defect.reason if p.defect else None,
        "message": p.defect.message if p.defect else None,
    }
