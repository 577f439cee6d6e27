"""What may an authenticated system do? Authorisation from its catalogue entry (who is
calling is ``hub.catalog.authn``).

- a system pushes only the kinds it ``may_push``, and each record only if it owns it:
  by the owner fields its kind declares in the data dictionary (a department's own
  ``dept_code``, its regions) or, for the resource libraries, by being a listed writer
  (``hub.catalog.writers``). The ingest pipeline asks this of every record it stores,
  whatever the ingress, and of the stored row an update would replace.
- a platform pulls only what it ``may_pull``, only for its own region.
"""

from __future__ import annotations

from typing import Any

from hub.catalog.systems import System
from hub.catalog.writers import writers
from hub.core.errors import AccessDenied
from hub.model import dictionary
from hub.model.dictionary import Owner

__all__ = ["AccessDenied", "authorise_held", "authorise_pull", "authorise_push", "authorise_record"]


def authorise_push(system: System, kind: str) -> None:
    if kind not in system.may_push:
        raise AccessDenied(
            403,
            "forbidden_kind",
            f"system {system.id} may not push {kind} records (allowed: {', '.join(system.may_push) or 'none'})",
        )


def authorise_record(system: System, kind: str, record: dict[str, Any]) -> None:
    """May ``system`` write this record? By the owner its kind declares in the data
    dictionary (``owner:``): a record lacking an owner field is refused (``owner_missing``);
    a department writes only records naming its own department (``forbidden_department``),
    any system only in its regions (``forbidden_region``); a library record only a listed
    writer (``forbidden_writer``). A platform without a ``dept_code`` (province, city) is
    trusted for its regions; a department the catalogue gives no ``dept_code`` owns nothing."""
    owner = dictionary.kind(kind).owner
    if owner.writers and system.id not in writers(kind):
        raise AccessDenied(
            403,
            "forbidden_writer",
            f"system {system.id} is not a writer of {kind} records (catalog/precedence.yaml kinds.{kind}.writers)",
        )
    missing = [f for f in owner.fields if record.get(f) in (None, "")]
    if missing:
        raise AccessDenied(
            403, "owner_missing", f"the record names no {', '.join(missing)}: whose it is cannot be checked"
        )
    _owns(system, kind, owner, record)


def authorise_held(system: System, kind: str, held: dict[str, Any]) -> None:
    """May ``system`` change the record the library holds (an update of a key not scoped by
    source: a licence number, an item code)? Only if the stored row is its own, whatever
    the new record claims: B cannot revoke A's licence by sending it under A's issuer code.
    A stored owner field left empty by an older version is not held against the writer."""
    _owns(system, kind, dictionary.kind(kind).owner, held, stored=True)


def _owns(system: System, kind: str, owner: Owner, values: dict[str, Any], stored: bool = False) -> None:
    which = "the stored record" if stored else "this record"
    if owner.dept and values.get(owner.dept) not in (None, ""):
        if system.dept_code:
            if values[owner.dept] != system.dept_code:
                raise AccessDenied(
                    403,
                    "forbidden_department",
                    f"system {system.id} may write only its own department's {kind} records; "
                    f"{which} belongs to another department ({owner.dept})",
                )
        elif system.level == "department":
            raise AccessDenied(
                403,
                "forbidden_department",
                f"system {system.id} is a department without a dept_code in the catalogue: it owns no {kind} records",
            )
    region = values.get(owner.region) if owner.region else None
    if region not in (None, "") and not system.covers_region(str(region)):
        raise AccessDenied(
            403, "forbidden_region", f"system {system.id} may not write {kind} records of region {region} ({which})"
        )


def authorise_pull(system: System, kind: str, region: str | None) -> str:
    """Returns the region prefix the pull is limited to."""
    if kind not in system.may_pull:
        raise AccessDenied(403, "forbidden_kind", f"system {system.id} may not pull {kind} records")
    if region and not region.startswith(system.region_prefix):
        raise AccessDenied(
            403, "forbidden_region", f"system {system.id} may pull only its own region ({system.region_code})"
        )
    return region or system.region_prefix
