"""Named value transforms that mappings refer to (``transform: datetime``).

Each transform takes the source value (and the field spec's options) and returns the
canonical lexical value, or raises ``ValueError`` with a message for the quarantine.
Adding one is adding a function and a line in ``TRANSFORMS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

CST = timezone(timedelta(hours=8), "CST")


def to_datetime(value: Any, fmt: str | None = None) -> str:
    s = str(value).strip()
    if fmt:
        try:
            dt = datetime.strptime(s, fmt)
        except ValueError:
            raise ValueError(f"time does not match the format {fmt}") from None
    else:
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise ValueError("time is not ISO 8601 (yyyy-MM-ddTHH:mm:ss[+08:00])") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(CST).replace(tzinfo=None)  # canonical times are China Standard Time
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def to_date(value: Any, fmt: str | None = None) -> str:
    s = str(value).strip()
    try:
        d = datetime.strptime(s, fmt).date() if fmt else datetime.fromisoformat(s).date()
    except ValueError:
        raise ValueError(f"date does not match the format {fmt or 'yyyy-MM-dd'}") from None
    return d.isoformat()


def fen_to_yuan(value: Any, fmt: str | None = None) -> str:
    try:
        return str((Decimal(str(value).strip()) / 100).quantize(Decimal("0.01")))
    except InvalidOperation:
        raise ValueError("amount in fen is not a number") from None


def parse_json(value: Any, fmt: str | None = None) -> Any:
    if isinstance(value, (list, dict)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        raise ValueError("value is not valid JSON") from None


def strip(value: Any, fmt: str | None = None) -> str:
    return str(value).strip()


def upper(value: Any, fmt: str | None = None) -> str:
    return str(value).strip().upper()


def yes_no(value: Any, fmt: str | None = None) -> bool:
    s = str(value).strip().lower()
    if s in ("是", "y", "yes", "true", "1"):
        return True
    if s in ("否", "n", "no", "false", "0"):
        return False
    raise ValueError("expected 是/否")


# a transform: (source value, the field's format option) -> canonical value
Transform = Callable[[Any, str | None], Any]

TRANSFORMS: dict[str, Transform] = {
    "datetime": to_datetime,
    "date": to_date,
    "fen_to_yuan": fen_to_yuan,
    "json": parse_json,
    "strip": strip,
    "upper": upper,
    "yes_no": yes_no,
}
