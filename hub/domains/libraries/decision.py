"""What merging one offered record into its library row decides, field by field, by the
declared precedence (``hub.domains.libraries.precedence``): the values after the merge,
the fields changed, the provenance to keep and the conflicts to record. Pure: nothing
here reads or writes the database; ``hub.domains.libraries.merge_batch`` writes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.domains.libraries.precedence import KindPrecedence
from hub.ingest.store import text_hash
from hub.model.canonical import json_ready
from hub.model.dictionary import Kind


def _value_hash(value) -> str:
    """Digest of one field value, equal for a value as canonicalised and as stored."""
    return text_hash(json.dumps(json_ready(value), ensure_ascii=False, sort_keys=True, default=str))


@dataclass
class _Merge:
    """What merging one offered record into the library decided."""

    values: dict  # the record's values after the merge (every dictionary field)
    changed: list[str] = field(default_factory=list)
    provenance: dict[str, tuple] = field(default_factory=dict)  # field → (source, source time, value digest) to store
    conflicts: list[tuple] = field(
        default_factory=list
    )  # (field, kept source, kept value, offered value, offered digest)
    row: dict | None = None  # the library row before, None for a new record


def _decide(
    k: Kind,
    kp: KindPrecedence,
    source: str,
    offered: dict,
    row: dict | None,
    provenance: Mapping[str, Mapping[Any, Any]],
) -> _Merge:
    """Merge one offered canonical record into its library row (None: not held yet) by
    precedence; ``provenance`` maps field → its ``field_provenance`` row. Pure."""
    when = offered.get("source_time")
    if row is None:
        values = {f.name: offered.get(f.name) for f in k.fields}
        return _Merge(
            values,
            changed=[n for n, v in values.items() if v is not None],
            provenance={
                n: (source, when, _value_hash(v)) for n, v in values.items() if v is not None and _merged(k, n)
            },
        )
    out = _Merge({f.name: row[f.name] for f in k.fields}, row=row)
    inherited = {}  # fields whose value came with the row's own source, without provenance of their own
    for f in k.fields:
        name, new = f.name, offered.get(f.name)
        if new is None or not _merged(k, name):
            continue
        old, new_hash = row[name], _value_hash(new)
        old_hash = None if old is None else _value_hash(old)
        prov = provenance.get(name)
        if prov is not None and prov["value_hash"] == old_hash:
            kept, kept_time = prov["source_system"], prov["source_time"]
        else:
            kept, kept_time = row["source_system"], row["source_time"]
            if old is not None:
                inherited[name] = (kept, kept_time, old_hash)
        wins = kp.wins(name, source, when, kept, kept_time)
        if old is None or (new_hash != old_hash and wins):
            out.values[name] = new
            out.changed.append(name)
            out.provenance[name] = (source, when, new_hash)
        elif new_hash == old_hash:
            if wins and (kept, kept_time) != (source, when):
                out.provenance[name] = (source, when, new_hash)  # confirmed by a source that would have won it
        elif kept != source:
            out.conflicts.append((name, kept, old, new, new_hash))
        # else: the same source's own older value — stale, nothing to record
    if out.changed:
        # the row's source becomes the merging system: the values it keeps from its former
        # source must not be attributed to the new one
        out.provenance = {**inherited, **out.provenance}
    return out


def _merged(k: Kind, name: str) -> bool:
    return name not in k.key and name != "source_time"
