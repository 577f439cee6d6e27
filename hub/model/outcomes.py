"""What became of a record, a delivery or a quarantined record, and why a record was
quarantined: every such word the hub stores, counts or answers with is defined here once.

They are ``StrEnum`` members, so each *is* its string: ``Outcome.STORED == "stored"``,
same hash, and ``f"{Outcome.STORED}"``, ``str()``, ``json.dumps``, msgspec, CSV, XML and
database drivers all give ``stored``. ``repr()`` is the string's too (``'stored'``), so a
logged or printed ``Counter`` of outcomes reads as it did with bare strings: database
rows, JSON answers, reports and log lines are byte-identical.

- :class:`Outcome` — ``lineage.outcome``, a push's counts, a quarantine action's outcome;
- :class:`Detail` — ``lineage.detail`` beside a stored or duplicate outcome (a quarantined
  one holds the :class:`Reason`);
- :class:`DeliveryStatus` — ``delivery.status`` (and an adapter's ``Receipt.status``);
- :class:`QuarantineStatus` — ``quarantine.status``;
- :class:`Reason` — quarantine reason codes (隔离原因); ``catalog/quality_reasons.yaml``
  holds the Chinese label of each (a unit test checks every member has one). Device
  gateways keep their own small vocabulary (``devices.framing.REASONS``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Outcome", "Detail", "DeliveryStatus", "QuarantineStatus", "Reason", "RECORD_OUTCOMES", "DELIVERED"]


class _Word(StrEnum):
    """A word the hub stores and answers with; its repr is the plain string's."""

    __repr__ = str.__repr__


class Outcome(_Word):
    STORED = "stored"  # a new record, a new version, or a stale one kept in history
    DUPLICATE = "duplicate"  # nothing new: the same content, message or quarantined record again
    QUARANTINED = "quarantined"  # refused, kept in the quarantine with its reason
    REJECTED = "rejected"  # quarantine action: an administrator closed the record without storing it
    EXPORTED = "exported"  # quarantine action: the record's payload was exported for correction


RECORD_OUTCOMES = (Outcome.STORED, Outcome.DUPLICATE, Outcome.QUARANTINED)  # what can become of a received record


class Detail(_Word):
    NEW = "new"  # stored: first version
    UPDATED = "updated"  # stored: a new version
    STALE = "stale"  # stored in history only: older than the current version
    MERGED = "merged"  # stored: a resource-library refresh merged fields
    SAME_CONTENT = "same_content"  # duplicate: the current version already holds it
    SAME_MESSAGE = "same_message"  # duplicate: the message was ingested before
    UNCHANGED = "unchanged"  # duplicate: a library refresh brought nothing new
    ALREADY_QUARANTINED = "already_quarantined"  # duplicate: the same bad record is in the quarantine


class DeliveryStatus(_Word):
    PENDING = "pending"  # waiting for (another) attempt
    ACKNOWLEDGED = "acknowledged"  # the peer confirmed it holds the message
    SENT = "sent"  # handed over; the protocol has no confirmation
    SUPERSEDED = "superseded"  # a later version of the record was delivered instead
    DEAD = "dead"  # refused or out of attempts; `govhub deliveries retry` revives it
    DEFECT = (
        "defect"  # the peer's format cannot express it, or the peer refused its rows; `govhub replay --status defect`
    )


DELIVERED = (DeliveryStatus.ACKNOWLEDGED, DeliveryStatus.SENT)


class QuarantineStatus(_Word):
    OPEN = "open"
    RETRIED = "retried"  # corrected and stored (or found a duplicate)
    REJECTED = "rejected"  # closed without storing


class Reason(_Word):
    # the message as a whole
    XML_FORBIDDEN = "xml_forbidden"
    XML_MALFORMED = "xml_malformed"
    JSON_MALFORMED = "json_malformed"
    CSV_MALFORMED = "csv_malformed"
    ENCODING_INVALID = "encoding_invalid"
    RECORD_TOO_LARGE = "record_too_large"
    MESSAGE_INVALID = "message_invalid"
    PROCESSING_FAILED = "processing_failed"
    MAPPING_ERROR = "mapping_error"
    # shape: XSD / JSON Schema and the data dictionary
    SCHEMA_INVALID = "schema_invalid"
    FIELD_REQUIRED = "field_required"
    FIELD_FORMAT = "field_format"
    FIELD_TYPE = "field_type"
    FIELD_ENUM = "field_enum"
    FIELD_RANGE = "field_range"
    FIELD_TOO_LONG = "field_too_long"
    FIELD_UNKNOWN = "field_unknown"
    CODE_TABLE_MISS = "code_table_miss"
    # codes (GB 11643, GB 32100, GB 11714, GB/T 2260, licence identifiers)
    ID_LENGTH = "id_length"
    ID_FORMAT = "id_format"
    ID_BIRTH_DATE = "id_birth_date"
    ID_ADDRESS = "id_address"
    ID_CHECK_CHAR = "id_check_char"
    ID_INCONSISTENT = "id_inconsistent"
    USCC_LENGTH = "uscc_length"
    USCC_FORMAT = "uscc_format"
    USCC_REGISTRATION_DEPT = "uscc_registration_dept"
    USCC_DIVISION = "uscc_division"
    USCC_CHECK_CHAR = "uscc_check_char"
    ORG_FORMAT = "org_format"
    ORG_CHECK_CHAR = "org_check_char"
    ORG_CODE_INCONSISTENT = "org_code_inconsistent"
    LICENCE_ID_FORMAT = "licence_id_format"
    LICENCE_ID_CHECK_CHAR = "licence_id_check_char"
    DIVISION_FORMAT = "division_format"
    DIVISION_UNKNOWN = "division_unknown"
    PROJECT_CODE_FORMAT = "project_code_format"
    # domain rules
    TIME_ORDER = "time_order"
    TIME_FUTURE = "time_future"
    PROMISE_EXCEEDS_LEGAL = "promise_exceeds_legal"
    STATUS_INCONSISTENT = "status_inconsistent"
    FEE_INCONSISTENT = "fee_inconsistent"
    # access
    FORBIDDEN_DEPARTMENT = "forbidden_department"
    FORBIDDEN_REGION = "forbidden_region"
    FORBIDDEN_KIND = "forbidden_kind"
    FORBIDDEN_WRITER = "forbidden_writer"  # a library record from a system not among the kind's writers
    OWNER_MISSING = "owner_missing"  # the record lacks the field(s) naming its owner
