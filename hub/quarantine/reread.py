"""Reading a quarantined record again for a retry: where it is read (the plan: its source
system and mapping as the catalogue and the mapping files say now), its kept or corrected
payload decoded into one record, the department's authorisation, and the masked
field-by-field changes a correction made."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from sqlalchemy import Engine

from hub.catalog.access import authorise_record
from hub.catalog.systems import CatalogError, System, _systems_at, get_system
from hub.ingest import decode
from hub.ingest.pipeline import Pipeline
from hub.model.defects import Defect
from hub.model.mapping import Mapping, MappingError, get_mapping, reload_mappings
from hub.model.masking import mask_payload
from hub.quarantine.actions import QuarantineActionError
from hub.quarantine.payload import PayloadError, as_message, flatten

RULE = "quarantine:retry"  # the "rule" of a defect found by the retry itself (no record in the payload)


@dataclass(frozen=True)
class _Plan:
    system: System
    mapping: Mapping
    fmt: str


def _fmt_from_label(label: str) -> str | None:
    name = label.split("@", 1)[0]
    if name.startswith("canonical_"):
        return name.rpartition("_")[2]
    try:
        return get_mapping(name).spec.format
    except MappingError:
        return None


def _fmt_from_payload(payload: str, encoding: str) -> str:
    if encoding == "csv":
        return "csv"
    s = payload.lstrip()
    return "xml" if s.startswith("<") else "jsonl"


class _Planner:
    """Where a quarantined record is read again: system and mapping, resolved once per run."""

    def __init__(self, engine: Engine, pipeline: Pipeline | None = None):
        self.pipeline = pipeline or Pipeline(engine)
        self._rules: dict[str, object] = {}

    def plan(self, row: dict) -> _Plan:
        if row["seq"] == 0 or row["mapping"] in ("-", ""):
            raise QuarantineActionError(
                409,
                "whole_message",
                f"#{row['id']} is a whole message that could not be read "
                f"({row['reason']}); the sender must send it again — then reject this entry with a note",
            )
        if row["message_id"].startswith("refresh:"):
            raise QuarantineActionError(
                409,
                "library_refresh",
                f"#{row['id']} came from a resource-library refresh, which merges "
                "by field precedence; correct it at the sharing platform and refresh again — then reject "
                "this entry with a note",
            )
        try:
            system = get_system(row["source_system"])
        except CatalogError:
            raise QuarantineActionError(
                409,
                "unknown_system",
                f"#{row['id']} came from {row['source_system']}, which the "
                "catalogue no longer lists; add it back or reject this entry",
            ) from None
        fmt = _fmt_from_label(row["mapping"]) or _fmt_from_payload(row["payload"], row["payload_encoding"])
        name = row["mapping"].split("@", 1)[0]
        try:
            mapping = get_mapping(name)
        except MappingError:  # renamed or removed since: what the catalogue names now
            mapping = system.mapping_for(row["kind"], fmt)
        if mapping.kind.kind != row["kind"]:
            raise QuarantineActionError(
                409,
                "kind_changed",
                f"mapping {mapping.label} now reads {mapping.kind.kind}, "
                f"not {row['kind']}; fix the mapping or reject this entry",
            )
        return _Plan(system, mapping, fmt)

    def rules(self, system: System):
        if system.id not in self._rules:
            self._rules[system.id] = self.pipeline._rules_for(system)
        return self._rules[system.id]


def _read_one(row: dict, text: str, encoding: str, plan: _Plan, given: bool) -> decode.RawRecord:
    try:
        body = as_message(text, encoding, plan.fmt, plan.mapping)
    except PayloadError as exc:
        raise QuarantineActionError(422, "bad_correction", str(exc)) from None
    raws = list(decode.read(io.BufferedReader(io.BytesIO(body)), plan.mapping, decode.MessageInfo()))
    if given and len(raws) != 1:
        raise QuarantineActionError(
            422,
            "bad_correction",
            f"a corrected record holds exactly one {row['kind']} record in the form "
            f"the source sends ({plan.fmt}); this one holds {len(raws)}",
        )
    if not raws:
        return decode.RawRecord(
            row["seq"],
            None,
            Defect(
                "payload_unreadable",
                "the kept payload holds no readable record; give the whole corrected record "
                "(govhub quarantine retry ID --payload FILE)",
                RULE,
            ),
            text,
        )
    raw = raws[0]
    raw.seq = row["seq"]
    return raw


def _authorise(system: System, kind: str):
    # a corrected record is authorised as the pipeline authorises every record it stores
    return lambda record: authorise_record(system, kind, record)


def _masked_changes(kind: str, mapping: str, before: dict | None, after: dict | None) -> dict:
    if before is None or after is None:
        return {"(record)": ["(unreadable)" if before is None else "(whole record)", "(replaced)"]}
    fb, fa = flatten(before), flatten(after)
    changed = sorted(k for k in fb.keys() | fa.keys() if fb.get(k) != fa.get(k))
    if not changed:
        return {}
    mb = flatten(json.loads(mask_payload(kind, json.dumps(before, ensure_ascii=False), "text", mapping)))
    ma = flatten(json.loads(mask_payload(kind, json.dumps(after, ensure_ascii=False), "text", mapping)))
    return {k: [mb.get(k), ma.get(k)] for k in changed}


def reload_configuration() -> None:
    """Read mappings and the catalogue again, so a retry sees the fix just made."""
    reload_mappings()
    _systems_at.cache_clear()
