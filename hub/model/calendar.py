"""The official Chinese working-day calendar (工作日历).

| | |
|---|---|
| base data | ``holidays.China``, PUBLIC category: statutory holidays, their 调休 days off and the swapped working weekends (the package's ``weekend_workdays``). HALF_DAY days (妇女节, 青年节, …) concern some groups only: offices stay open, so they are workdays here |
| overrides | ``catalog/calendar/overrides.yaml`` (or ``$GOVHUB_CALENDAR_OVERRIDES``): a listed date wins; a year in ``complete_years`` ignores the package for that year |
| counting | 次日起算: ``add_workdays(d, n)`` is the n-th working day *after* ``d``; ``d`` itself never counts, whatever it is; ``add_workdays(d, 0) == d`` |
| intervals | ``workdays_between(a, b)`` counts working days in ``(a, b]``, so ``workdays_between(d, add_workdays(d, n)) == n`` |
| natural days | ``add_natural_days(d, n)`` is ``d + n``, moved to the next working day when that is a day off (民法典 第二百零三条) |
| years | 2001–2100 (the package is checked against the State Council notices from 2001; its lunar tables end in 2100); ``provisional(year)`` is true after the last notice the package carries unless the override file completes the year |
| speed | the package is read once per year (process-wide); each calendar keeps one sorted tuple of working-day ordinals per year, so counting is a bisection, not a walk |
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import holidays
from holidays.constants import PUBLIC
from holidays.countries.china import ChinaStaticHolidays
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.core import catalogfile
from hub.core.config import CATALOG_DIR, load_settings
from hub.core.errors import ConfigError, InputError

FIRST_YEAR, LAST_YEAR = 2001, 2100
DEFAULT_OVERRIDES = CATALOG_DIR / "calendar" / "overrides.yaml"
OVERRIDES_ENV = "GOVHUB_CALENDAR_OVERRIDES"
# The last year whose State Council notice (with its swapped workdays) the package carries;
# later years are the package's estimate: statutory days only, no 调休.
PACKAGE_LAST_NOTICE_YEAR = max(ChinaStaticHolidays.special_public_holidays)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarError(InputError):
    """A date the calendar cannot answer for (outside 2001–2100, negative count)."""

    reason = "calendar_out_of_range"


class OverridesError(CalendarError, ConfigError):
    """The override file is unreadable or invalid; the message names the file and line."""

    reason = "calendar_overrides_invalid"


class DayOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    type: Literal["holiday", "workday"]
    note: str = Field(min_length=1)

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, v: object) -> object:
        # Strict: YAML ints or datetimes are typos here, not dates to guess at.
        if not isinstance(v, str) or not _ISO_DATE.fullmatch(v):
            raise ValueError("expected a date written YYYY-MM-DD")
        return date.fromisoformat(v)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("note must say why")
        return v


class OverridesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    complete_years: dict[int, str] = {}
    days: list[DayOverride] = []

    @field_validator("complete_years")
    @classmethod
    def _years(cls, v: dict[int, str]) -> dict[int, str]:
        for year, source in v.items():
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise ValueError(f"year {year} outside {FIRST_YEAR}–{LAST_YEAR}")
            if not str(source).strip():
                raise ValueError(f"year {year}: name the notice it was transcribed from")
        return v


@dataclass(frozen=True)
class Overrides:
    days: dict[date, DayOverride]
    complete_years: dict[int, str]
    path: Path | None = None


NO_OVERRIDES = Overrides({}, {})


def load_overrides(path: str | Path) -> Overrides:
    """Read and validate an override file; raise ``OverridesError`` naming file and line."""
    parsed = catalogfile.load(
        path,
        OverridesFile,
        OverridesError,
        "calendar overrides",
        dates_as_text=True,
        unique=[catalogfile.Unique("days", key="date", at="index")],
    )
    return Overrides({d.date: d for d in parsed.days}, dict(parsed.complete_years), Path(path))


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarError(f"year {year} is outside the official calendar ({FIRST_YEAR}–{LAST_YEAR})")


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(i) for i in range((date(year + 1, 1, 1) - first).days)]


@cache
def _package_year(year: int) -> tuple[tuple[int, ...], dict[date, str]]:
    """The package's working days of ``year`` (ordinals) and its names for the days off."""
    cn = holidays.China(years=year, categories=(PUBLIC,), language="zh_CN")
    days = _days_of(year)
    return tuple(d.toordinal() for d in days if cn.is_working_day(d)), {d: cn[d] for d in days if d in cn}


@cache
def _mondays_to_fridays(year: int) -> tuple[int, ...]:
    return tuple(d.toordinal() for d in _days_of(year) if d.weekday() < 5)


@dataclass(frozen=True)
class ScheduleDay:
    """A day that is not what Monday-to-Friday would make it, and who says so."""

    date: date
    workday: bool
    source: Literal["override", "package"]
    note: str


class OfficialCalendar:
    """Working days on the official calendar.

    ``overrides_path``: an override file to load; ``overrides``: already loaded ones (e.g.
    from another store). Neither means the package alone.
    """

    def __init__(self, overrides_path: str | Path | None = None, *, overrides: Overrides | None = None):
        if overrides_path is not None and overrides is not None:
            raise ValueError("give overrides_path or overrides, not both")
        self.overrides = load_overrides(overrides_path) if overrides_path is not None else overrides or NO_OVERRIDES
        self._years: dict[int, tuple[int, ...]] = {}

    def __repr__(self) -> str:
        return f"OfficialCalendar({str(self.overrides.path) if self.overrides.path else None!r})"

    def _workday_ordinals(self, year: int) -> tuple[int, ...]:
        cached = self._years.get(year)
        if cached is None:
            _check_year(year)
            complete = year in self.overrides.complete_years
            cached = _mondays_to_fridays(year) if complete else _package_year(year)[0]
            listed = {d.toordinal(): o.type == "workday" for d, o in self.overrides.days.items() if d.year == year}
            if listed:
                cached = tuple(sorted({o for o in cached if o not in listed} | {o for o, w in listed.items() if w}))
            self._years[year] = cached
        return cached

    def is_workday(self, d: date) -> bool:
        ordinals = self._workday_ordinals(d.year)
        i = bisect_right(ordinals, d.toordinal())
        return i > 0 and ordinals[i - 1] == d.toordinal()

    def add_workdays(self, d: date, n: int) -> date:
        """The n-th working day after ``d`` (``d`` itself not counted); ``d`` when n is 0."""
        if n < 0:
            raise CalendarError(f"working-day count must be 0 or more, not {n}")
        if n == 0:
            return d
        year, ordinal = d.year, d.toordinal()
        while True:
            ordinals = self._workday_ordinals(year)
            i = bisect_right(ordinals, ordinal)
            if n <= len(ordinals) - i:
                return date.fromordinal(ordinals[i + n - 1])
            n -= len(ordinals) - i
            year += 1

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``; negative when ``end`` is before ``start``."""
        if end < start:
            return -self.workdays_between(end, start)
        full_years = sum(len(self._workday_ordinals(y)) for y in range(start.year, end.year))
        return (
            full_years
            + bisect_right(self._workday_ordinals(end.year), end.toordinal())
            - bisect_right(self._workday_ordinals(start.year), start.toordinal())
        )

    def add_natural_days(self, d: date, n: int, *, roll_forward: bool = True) -> date:
        """``d + n`` days; with ``roll_forward`` a period ending on a day off ends on the
        next working day instead (民法典 第二百零三条). n = 0 is ``d`` unchanged."""
        if n < 0:
            raise CalendarError(f"day count must be 0 or more, not {n}")
        end = d + timedelta(days=n)
        if roll_forward and n > 0 and not self.is_workday(end):
            end = self.add_workdays(end, 1)
        return end

    def provisional(self, year: int) -> bool:
        """True when ``year``'s days off are the package's estimate, not a published notice."""
        return year > PACKAGE_LAST_NOTICE_YEAR and year not in self.overrides.complete_years

    def schedule(self, year: int) -> list[ScheduleDay]:
        """The days of ``year`` that differ from Monday-to-Friday, for checking against a notice."""
        _check_year(year)
        names = _package_year(year)[1]
        out = []
        for d in _days_of(year):
            works, listed = self.is_workday(d), self.overrides.days.get(d)
            if works == (d.weekday() < 5):
                continue
            if listed is not None:
                out.append(ScheduleDay(d, works, "override", listed.note))
            else:
                out.append(ScheduleDay(d, works, "package", names.get(d, "调休上班" if works else "")))
        return out


def overrides_path() -> Path:
    """The override file in force: ``$GOVHUB_CALENDAR_OVERRIDES`` or the catalogue's."""
    return load_settings().calendar_overrides_file


def default_calendar() -> OfficialCalendar:
    """The process-wide calendar; re-read when the override file changes on disk."""
    path = overrides_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise OverridesError(f"{path}: cannot read calendar overrides: {exc.strerror or exc}") from None
    return _calendar_at(str(path), stamp)


@lru_cache(maxsize=4)
def _calendar_at(path: str, _mtime_ns: int) -> OfficialCalendar:
    return OfficialCalendar(path)
