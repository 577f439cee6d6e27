"""The hub's clock: every time it stores or compares is naive China Standard Time
(UTC+8, no daylight saving), whatever zone the server runs in.

Domain time (when a record was stored, which day a job checks, how late a case is)
comes from :func:`now`; it reads the installed clock, which is the wall clock unless
something installed another:

- tests install a :class:`FrozenClock` (moves only when told: ``set``/``advance``) or a
  :class:`TickingClock` (starts where told and runs on with real time; ``set``/``advance``
  jump it) with :func:`install` or :func:`using`, or through the ``clock`` fixture;
- a process started with ``GOVHUB_CLOCK`` set (see ``hub.core.config``) runs on a
  ticking clock from that time: ``2026-11-22T10:00:00`` starts there when the process
  starts; ``2026-11-22T10:00:00@1795000000.5`` reads that time at that unix second (what
  :func:`environ` hands to a child process so it agrees with its parent).

Not domain time, so on the real clock: latency and duration measurements (monotonic
timers, metrics), bus leases, log record times, and the request timestamps of
authentication (HMAC ``X-Govhub-Timestamp``, WS-Security ``wsu:Created``), which are
checked against the peer's real clock.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

CST = timezone(timedelta(hours=8), "CST")
ENV = "GOVHUB_CLOCK"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in CST."""

    def now(self) -> datetime:
        return datetime.now(CST).replace(tzinfo=None)

    def __repr__(self) -> str:
        return "SystemClock()"


def _naive_cst(at: datetime | date | str) -> datetime:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if not isinstance(at, datetime):
        at = datetime.combine(at, datetime.min.time())
    if at.tzinfo is not None:
        at = at.astimezone(CST).replace(tzinfo=None)
    return at


class FrozenClock:
    """Stands still at ``at`` (naive CST, an aware datetime, a date or ISO text) until
    :meth:`set` or :meth:`advance` moves it."""

    def __init__(self, at: datetime | date | str, on_change: Callable[[FrozenClock], None] | None = None):
        self._at = _naive_cst(at)
        self.on_change = on_change

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime | date | str) -> datetime:
        self._reset(_naive_cst(at))
        return self.now()

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Moves the clock on by ``delta`` or ``timedelta(**parts)`` (``advance(seconds=2)``)."""
        step = (delta or timedelta()) + timedelta(**parts)
        self._reset(self.now() + step)
        return self.now()

    def _reset(self, at: datetime) -> None:
        self._at = at
        if self.on_change:
            self.on_change(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.now().isoformat()!r})"


class TickingClock(FrozenClock):
    """Reads ``start`` now and runs on with real (monotonic) time; :meth:`set` and
    :meth:`advance` jump it. Keeps what waits for time to pass (backoffs, settle times)
    working as in production, on another day."""

    def __init__(self, start: datetime | date | str, on_change: Callable[[FrozenClock], None] | None = None):
        super().__init__(start, on_change)
        self._t0 = _time.monotonic()

    def now(self) -> datetime:
        return self._at + timedelta(seconds=_time.monotonic() - self._t0)

    def _reset(self, at: datetime) -> None:
        self._t0 = _time.monotonic()
        super()._reset(at)


def parse_env(value: str | None, wall: float | None = None) -> TickingClock | None:
    """The clock ``GOVHUB_CLOCK`` asks for (None when it is unset or empty):
    ``TIME`` or ``TIME@UNIX_SECONDS``; TIME is ISO 8601, naive CST unless it has an offset."""
    if not value or not value.strip():
        return None
    text, _, anchor = value.strip().partition("@")
    try:
        start = _naive_cst(text)
        if anchor:
            wall = _time.time() if wall is None else wall
            start += timedelta(seconds=wall - float(anchor))
    except ValueError:
        raise ValueError(
            f"{ENV}={value!r}: use an ISO time such as 2026-11-22T10:00:00 "
            f"(optionally @<unix seconds> when it was that time)"
        ) from None
    return TickingClock(start)


SYSTEM = SystemClock()


def _from_environment() -> Clock:
    import os

    return parse_env(os.environ.get(ENV)) or SYSTEM


_clock: Clock = _from_environment()


def now() -> datetime:
    """Naive CST, from the installed clock."""
    return _clock.now()


def today() -> date:
    return _clock.now().date()


def current() -> Clock:
    return _clock


def is_system() -> bool:
    """True while the wall clock is installed (hot paths may then use faster sources)."""
    return _clock is SYSTEM


def install(clock: Clock | None) -> Clock:
    """Makes ``clock`` (None: the wall clock) the hub's clock; returns the one it replaces."""
    global _clock
    previous, _clock = _clock, (clock or SYSTEM)
    return previous


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """``with clock.using(FrozenClock("2026-11-22T10:00")) as c: ... c.advance(hours=1)``."""
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)


def environ() -> dict[str, str]:
    """``{"GOVHUB_CLOCK": ...}`` for a child process to run on the time this process reads
    now (and tick on from there); empty on the wall clock."""
    if is_system():
        return {}
    return {ENV: f"{now().isoformat()}@{_time.time():.6f}"}
