"""What may an authenticated system do? Authorisation from its catalogue entry (who is
calling is ``hub.catalog.authn``).

- a department pushes only the kinds it ``may_push``, only for its own department
  (``dept_code``) and regions; a platform pulls only what it ``may_pull``, only for its
  own region.
"""

from __future__ import annotations

from hub.catalog.systems import System
from hub.core.errors import AccessDenied

__all__ = ["AccessDenied", "authorise_pull", "authorise_push", "authorise_record"]


def authorise_push(system: System, kind: str) -> None:
    if kind not in system.may_push:
        raise AccessDenied(
            403,
            "forbidden_kind",
            f"system {system.id} may not push {kind} records (allowed: {', '.join(system.may_push) or 'none'})",
        )


def authorise_record(system: System, kind: str, record: dict) -> None:
    """A department may push only records of its own department and regions."""
    if system.level == "department" and system.dept_code and record.get("dept_code") not in (None, system.dept_code):
        raise AccessDenied(
            403,
            "forbidden_department",
            f"system {system.id} may push only records of its own department; "
            "this record names another department's item",
        )
    region = record.get("region_code")
    if region is not None and not system.covers_region(region):
        raise AccessDenied(403, "forbidden_region", f"system {system.id} may not push records for region {region}")


def authorise_pull(system: System, kind: str, region: str | None) -> str:
    """Returns the region prefix the pull is limited to."""
    if kind not in system.may_pull:
        raise AccessDenied(403, "forbidden_kind", f"system {system.id} may not pull {kind} records")
    if region and not region.startswith(system.region_prefix):
        raise AccessDenied(
            403, "forbidden_region", f"system {system.id} may pull only its own region ({system.region_code})"
        )
    return region or system.region_prefix
