"""Vendor formats of hall devices (厂商报文格式): one YAML file per format in this folder.

A vendor file is data, checked when loaded; a bad one fails with its file, line and key.

| key | meaning |
|---|---|
| ``name``, ``version`` | the format's name (= the file name; the ``{vendor}`` of ``POST /devices/{vendor}``) |
| ``format`` | ``json`` (an object or an array of objects), ``lines`` (one event per line), ``xml`` |
| ``encoding`` | how the bytes are written (``utf-8``, ``gbk``, …); XML honours its own declaration |
| ``separator``, ``assign``, ``max_line`` | ``lines``: ``key=value;key=value``, at most ``max_line`` bytes a line |
| ``root_element``, ``record_element`` | ``xml``: the document element and the element of one event |
| ``time_format`` | ``epoch_ms``, ``epoch_s``, ``iso`` or a ``strptime`` pattern; times without a zone are CST |
| ``type_field``, ``types`` | the field that says what happened; each vendor code → ``{kind, action}`` |
| ``fields`` | canonical field → the vendor's field name |
| ``code_tables`` | ``status`` / ``satisfaction`` → ``{vendor code: canonical value}`` |
"""

from __future__ import annotations

import codecs
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devices.events import QUEUE_ACTIONS, WINDOW_STATUSES, QueueAction
from hub.core import catalogfile
from hub.core.errors import ConfigError

VENDORS_DIR = Path(__file__).resolve().parent

# Canonical fields a vendor maps, and which of them each kind of event needs mapped.
MAPPABLE = (
    "device_id",
    "seq",
    "occurred_at",
    "ticket_no",
    "item_code",
    "window_no",
    "staff_id",
    "status",
    "satisfaction",
    "id_number",
    "case_no",
    "comment",
)
ALWAYS = ("device_id", "seq", "occurred_at")
NEEDS = {
    "queue": ("ticket_no", "item_code", "window_no"),
    "window": ("window_no", "status"),
    "evaluation": ("window_no", "satisfaction"),
    "id_read": ("id_number",),
}
CODED = {"status": WINDOW_STATUSES, "satisfaction": (1, 2, 3, 4, 5)}


class VendorError(ConfigError):
    """A vendor file is wrong; the message names the file, line and key."""

    reason = "vendors_invalid"


class UnknownVendor(VendorError):
    """No vendor format of that name."""

    reason = "vendor_unknown"


class EventType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["queue", "window", "evaluation"]
    action: QueueAction | None = None

    @model_validator(mode="after")
    def _action(self):
        if (self.kind == "queue") != (self.action is not None):
            raise ValueError(f"action: queue types need one of {', '.join(QUEUE_ACTIONS)}; other kinds take none")
        return self


class Vendor(BaseModel):
    """One vendor format, as loaded from ``devices/vendors/<name>.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int
    format: Literal["json", "lines", "xml"]
    encoding: str = "utf-8"
    separator: str | None = None
    assign: str = "="
    max_line: int = Field(2048, ge=64, le=65536)  # the line listener cuts lines at 64 KiB
    root_element: str | None = None
    record_element: str | None = None
    time_format: str
    type_field: str
    types: dict[str, EventType]
    fields: dict[str, str]
    code_tables: dict[str, dict[str, str | int]] = {}

    @field_validator("types", "code_tables", mode="before")
    @classmethod
    def _str_keys(cls, v):
        # YAML reads unquoted codes (0, 1, …) as numbers; vendors send them as text.
        if isinstance(v, dict):
            return {str(k): ({str(c): x for c, x in t.items()} if isinstance(t, dict) else t) for k, t in v.items()}
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v):
        try:
            return codecs.lookup(v).name
        except LookupError:
            raise ValueError(f"unknown encoding {v!r}") from None

    @field_validator("time_format")
    @classmethod
    def _time_format(cls, v):
        if v not in ("epoch_ms", "epoch_s", "iso"):
            sample = datetime(2026, 3, 2, 9, 5, 7)
            try:
                ok = "%" in v and datetime.strptime(sample.strftime(v), v) == sample
            except ValueError:
                ok = False
            if not ok:
                raise ValueError("time_format is epoch_ms, epoch_s, iso or a strptime pattern down to the second")
        return v

    @field_validator("fields")
    @classmethod
    def _fields(cls, v):
        unknown = sorted(set(v) - set(MAPPABLE))
        if unknown:
            raise ValueError(f"unknown canonical fields {unknown}; known: {', '.join(MAPPABLE)}")
        missing = [f for f in ALWAYS if f not in v]
        if missing:
            raise ValueError(f"every vendor maps {', '.join(ALWAYS)}; missing: {', '.join(missing)}")
        return v

    @field_validator("code_tables")
    @classmethod
    def _code_tables(cls, v):
        for field, table in v.items():
            if field not in CODED:
                raise ValueError(f"code tables exist for {', '.join(CODED)}, not {field!r}")
            wrong = [x for x in table.values() if x not in CODED[field]]
            if wrong:
                raise ValueError(f"{field}: {wrong} are not canonical values ({', '.join(map(str, CODED[field]))})")
        return v

    def problems(self) -> tuple[list[str], str] | None:
        """The first cross-key problem, as (keys, message): pydantic checks each key alone."""
        if self.format == "lines" and not self.separator:
            return ["format"], "format: lines needs a separator"
        if self.format == "xml" and not (self.root_element and self.record_element):
            return ["format"], "format: xml needs root_element and record_element"
        for code, t in self.types.items():
            for need in NEEDS[t.kind] + (NEEDS["id_read"] if t.action == "id_read" else ()):
                if need not in self.fields:
                    return ["types", code], f"a {t.kind} event needs fields.{need}"
        return None


def load_vendor(path: Path) -> Vendor:
    source = catalogfile.read(path, VendorError, "the vendor format")
    if not isinstance(source.data, dict):
        raise VendorError(f"{path}: a vendor file is a YAML mapping")

    def check(spec: Vendor) -> None:
        problem = spec.problems()
        if problem:
            raise catalogfile.Problem(*problem)
        if spec.name != path.stem:
            raise catalogfile.Problem(["name"], f"{spec.name!r} must match the file name")

    return catalogfile.validate(source, Vendor, VendorError, check=check)


_vendors_in = catalogfile.per_path(lambda folder: {p.stem: load_vendor(p) for p in sorted(folder.glob("*.yaml"))})


def vendors() -> dict[str, Vendor]:
    return _vendors_in(VENDORS_DIR)


def get_vendor(name: str) -> Vendor:
    try:
        return vendors()[name]
    except KeyError:
        raise UnknownVendor(f"unknown vendor format {name!r}; known: {', '.join(sorted(vendors()))}") from None
