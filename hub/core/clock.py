"""The hub's clock: every time it stores or compares is naive China Standard Time
(UTC+8, no daylight saving), whatever zone the server runs in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def now() -> datetime:
    return datetime.now(CST).replace(tzinfo=None)
