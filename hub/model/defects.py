"""The shape of a problem with one received record, shared by every pipeline stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Defect:
    reason: str  # machine reason code, e.g. id_check_char, schema_invalid
    message: str  # readable, says what to fix; personal data masked
    rule: str  # which check found it: "xsd:case/1", "case.identity", "decode:xml"...
    field: str | None = None
