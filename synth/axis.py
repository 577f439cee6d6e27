"""Time: integer seconds since local midnight of a base day, formatted through tables.

Day index 0 is ``today - _PAST_DAYS``; "now" (the horizon) is the end of yesterday.
:class:`TimeAxis` gives the generator its per-day tables and the helpers that move a
moment into office hours and format it.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

_OPEN_S, _CLOSE_S = 30600, 63000  # office hours 08:30–17:30
_DAY = 86400


@lru_cache(maxsize=1)
def _tod() -> tuple[str, ...]:
    """'HH:MM:SS' for every second of a day: formatting a datetime becomes two lookups."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))


_PAST_DAYS = 8000  # the time axis reaches ~22 years back (enterprises, licences)…
_FUTURE_DAYS = 2200  # …and ~6 years ahead (validity ends, future_apply defects)


@lru_cache(maxsize=4)
def _axis(today: date) -> tuple[tuple[str, ...], tuple[str, ...], tuple[bool, ...], tuple[int, ...], tuple[int, ...]]:
    """Per-day tables around ``today``: 'YYYY-MM-DD', 'YYYYMMDD', is-workday, the workday
    list and, per day, the index in that list of the first workday on or after it.

    Workdays are Monday–Friday: public holidays and swapped weekends are not modelled
    (the generator needs plausible office days, not the official calendar).
    """
    o0 = today.toordinal() - _PAST_DAYS
    n = _PAST_DAYS + _FUTURE_DAYS
    days = [date.fromordinal(o0 + d) for d in range(n)]
    daystr = tuple(d.isoformat() for d in days)
    day8 = tuple(s.replace("-", "") for s in daystr)
    work = tuple(d.weekday() < 5 for d in days)
    wdays = tuple(d for d in range(n) if work[d])
    nxt, j = [], 0
    for d in range(n):
        while j < len(wdays) and wdays[j] < d:
            j += 1
        nxt.append(j)
    return daystr, day8, work, wdays, tuple(nxt)


_BIRTH_FIRST = date(1940, 1, 1)
_BIRTH_LAST = date(2006, 12, 31)


@lru_cache(maxsize=1)
def _birth_days() -> tuple[str, ...]:
    """Every YYYYMMDD from 1940-01-01 to 2006-12-31 (birth dates of ID numbers)."""
    o0 = _BIRTH_FIRST.toordinal()
    return tuple(date.fromordinal(o).strftime("%Y%m%d") for o in range(o0, _BIRTH_LAST.toordinal() + 1))


class TimeAxis:
    """The generator's clock: "now" is the end of the day before ``self.today``."""

    today: date

    def _init_time_axis(self) -> None:
        # Time axis: day index 0 = base; "now" (the horizon) = yesterday 23:59:59.
        self._base = self.today - timedelta(days=_PAST_DAYS)
        self._today_idx = _PAST_DAYS
        self._daystr, self._day8, self._work, self._wdays, self._next_w = _axis(self.today)
        self._births = _birth_days()
        self._horizon = self._today_idx * _DAY - 1
        self._win0, self._winlen = self._today_idx - 365, 365
        self._tod = _tod()

    def _fmt(self, t: int) -> str:
        return f"{self._daystr[t // _DAY]} {self._tod[t % _DAY]}"

    def _parse(self, s: str) -> int:
        """Canonical datetime → seconds on the generator's axis (for defects)."""
        d = date.fromisoformat(s[:10]).toordinal() - self._base.toordinal()
        return d * _DAY + int(s[11:13]) * 3600 + int(s[14:16]) * 60 + int(s[17:19])

    def _biz(self, t: int) -> int:
        """The first office-hours moment at or after ``t``."""
        d, s = divmod(t, _DAY)
        if self._work[d]:
            if s < _OPEN_S:
                return d * _DAY + _OPEN_S
            if s < _CLOSE_S:
                return t
        return self._wdays[self._next_w[d + 1]] * _DAY + _OPEN_S

    def _rand_time(self, days_back: int) -> int:
        return (self._today_idx - days_back) * _DAY + int(self._r() * days_back * _DAY)

    def _date_at(self, day: int) -> str:
        """'YYYY-MM-DD' of day index ``day``, also beyond the tables' end."""
        return self._daystr[day] if 0 <= day < len(self._daystr) else (self._base + timedelta(days=day)).isoformat()
