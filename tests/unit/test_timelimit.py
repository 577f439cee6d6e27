"""hub.domains.timelimit: the official calendar, the override file, the deadline engine, the CLI.

Known facts are the State Council notices as carried by holidays 0.109. The property
tests compare the bisection-based calendar and the interval-based engine with a naive
day-by-day oracle written here from the raw ``holidays.China`` data (its days off and its
``weekend_workdays``) and the weekday rule.
"""

from __future__ import annotations

import os
import time as time_module
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.cli.calendar import calendar as calendar_cli
from hub.core import clock as hub_clock
from hub.domains.timelimit import (
    CalendarError,
    OfficialCalendar,
    OverridesError,
    Policy,
    TimeLimitError,
    compute_deadlines,
    default_calendar,
)
from hub.model.calendar import (
    DEFAULT_OVERRIDES,
    OVERRIDES_ENV,
    PACKAGE_LAST_NOTICE_YEAR,
    DayOverride,
    Overrides,
    load_overrides,
)

D = date.fromisoformat
T = datetime.fromisoformat
PROPERTY = settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---------------------------------------------------------------- the oracle

ORACLE_YEARS = range(2001, 2033)
PACKAGE_OFF: set[date] = set()
PACKAGE_SWAPPED: set[date] = set()
for _y in ORACLE_YEARS:
    _cn = holidays.China(years=_y)
    PACKAGE_OFF.update(d for d in _cn if d.year == _y)
    PACKAGE_SWAPPED.update(_cn.weekend_workdays)
# Days where the calendar is most likely to go wrong: holidays, swaps, year ends.
HOT = sorted(PACKAGE_OFF | PACKAGE_SWAPPED | {date(y, 12, 31) for y in ORACLE_YEARS})


class Oracle:
    """Working days by the rules, one day at a time."""

    def __init__(self, overrides: dict[date, bool] | None = None, complete: frozenset[int] = frozenset()):
        self.overrides, self.complete = overrides or {}, complete

    def works(self, d: date) -> bool:
        if d in self.overrides:
            return self.overrides[d]
        weekend = d.weekday() >= 5
        if d.year in self.complete:
            return not weekend
        return d in PACKAGE_SWAPPED if weekend else d not in PACKAGE_OFF

    def add(self, d: date, n: int) -> date:
        while n:
            d += timedelta(days=1)
            n -= self.works(d)
        return d

    def between(self, a: date, b: date) -> int:
        sign = 1 if b >= a else -1
        lo, hi = min(a, b), max(a, b)
        return sign * sum(self.works(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))


ORACLE = Oracle()


@pytest.fixture(scope="module")
def cal() -> OfficialCalendar:
    return OfficialCalendar()


def write_overrides(path: Path, days: dict[date, bool], complete: dict[int, str] | None = None) -> Path:
    lines = ["version: 1", "complete_years:" + ("" if complete else " {}")]
    lines += [f"  {y}: {src}" for y, src in (complete or {}).items()]
    lines.append("days:" + ("" if days else " []"))
    lines += [
        f"  - {{date: {d.isoformat()}, type: {'workday' if w else 'holiday'}, note: test}}" for d, w in days.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- known facts


def _span(a: str, b: str) -> list[date]:
    return [D(a) + timedelta(days=i) for i in range((D(b) - D(a)).days + 1)]


@pytest.mark.parametrize(
    "days_off, swapped",
    [
        (_span("2025-10-01", "2025-10-08"), ["2025-09-28", "2025-10-11"]),  # 国庆节+中秋节 2025
        (_span("2025-01-28", "2025-02-04"), ["2025-01-26", "2025-02-08"]),  # 春节 2025
        (_span("2025-05-01", "2025-05-05"), ["2025-04-27"]),  # 劳动节 2025
        (_span("2026-01-01", "2026-01-03"), ["2026-01-04"]),  # 元旦 2026
        (_span("2026-02-15", "2026-02-23"), ["2026-02-14", "2026-02-28"]),  # 春节 2026
        (_span("2026-10-01", "2026-10-07"), ["2026-09-20", "2026-10-10"]),  # 国庆节 2026
        (_span("2002-01-01", "2002-01-03"), ["2001-12-29", "2001-12-30"]),  # swap in the previous year
    ],
    ids=[
        "national-day-2025",
        "spring-2025",
        "labour-2025",
        "new-year-2026",
        "spring-2026",
        "national-day-2026",
        "new-year-2002",
    ],
)
def test_official_schedule(cal, days_off, swapped):
    assert [d for d in days_off if cal.is_workday(d)] == []
    assert all(cal.is_workday(D(s)) for s in swapped)
    assert D(swapped[0]).weekday() >= 5  # a weekend made a workday


def test_half_day_observances_are_workdays(cal):
    assert cal.is_workday(D("2024-03-08"))  # 妇女节, a Friday
    assert cal.is_workday(D("2023-06-01"))  # 儿童节, a Thursday


@pytest.mark.parametrize(
    "start, n, expected",
    [
        ("2025-09-30", 0, "2025-09-30"),
        ("2025-09-30", 1, "2025-10-09"),  # the day after National Day week
        ("2025-09-26", 1, "2025-09-28"),  # a swapped working Sunday
        ("2025-10-01", 1, "2025-10-09"),  # start on a holiday: still the next working day
        ("2025-12-31", 1, "2026-01-04"),  # across the year: 1-3 Jan off, Sunday 4 Jan works
        ("2025-12-31", 3, "2026-01-06"),
        ("2026-02-13", 1, "2026-02-14"),  # working Saturday before the 2026 Spring Festival
        ("2026-02-14", 1, "2026-02-24"),
        ("2025-03-03", 5, "2025-03-10"),  # plain weeks: Monday + 5 = next Monday
    ],
)
def test_add_workdays_known(cal, start, n, expected):
    assert cal.add_workdays(D(start), n) == D(expected)
    assert cal.workdays_between(D(start), D(expected)) == n
    assert cal.workdays_between(D(expected), D(start)) == -n


def test_add_natural_days_rolls_off_days_forward(cal):
    assert cal.add_natural_days(D("2025-09-25"), 7) == D("2025-10-09")  # 2 Oct is off
    assert cal.add_natural_days(D("2025-09-25"), 7, roll_forward=False) == D("2025-10-02")
    assert cal.add_natural_days(D("2025-10-02"), 0) == D("2025-10-02")
    assert cal.add_natural_days(D("2025-09-26"), 2) == D("2025-09-28")  # working Sunday


def test_years_and_counts_outside_the_calendar(cal):
    with pytest.raises(CalendarError, match="2000"):
        cal.is_workday(D("2000-06-01"))
    with pytest.raises(CalendarError, match="2101"):
        cal.add_workdays(D("2100-12-30"), 5)
    with pytest.raises(CalendarError, match="0 or more"):
        cal.add_workdays(D("2025-01-01"), -1)


def test_provisional_years(cal):
    assert PACKAGE_LAST_NOTICE_YEAR == 2026  # holidays 0.109; update README when it moves
    assert not cal.provisional(2026) and cal.provisional(2027)


# ---------------------------------------------------------------- the override file


def test_override_wins_both_ways(tmp_path, cal):
    path = write_overrides(tmp_path / "o.yaml", {D("2025-10-09"): False, D("2025-10-04"): True})
    over = OfficialCalendar(path)
    assert cal.is_workday(D("2025-10-09")) and not over.is_workday(D("2025-10-09"))
    assert not cal.is_workday(D("2025-10-04")) and over.is_workday(D("2025-10-04"))
    assert over.add_workdays(D("2025-09-30"), 1) == D("2025-10-04")
    assert over.add_workdays(D("2025-09-30"), 2) == D("2025-10-10")
    assert over.workdays_between(D("2025-09-30"), D("2025-10-10")) == 2


def test_complete_year_ignores_the_package_estimate(tmp_path, cal):
    assert not cal.is_workday(D("2027-02-09"))  # the package's estimated 补假 Tuesday
    path = write_overrides(
        tmp_path / "o.yaml", {D("2027-02-07"): True, D("2027-02-10"): False}, complete={2027: "test notice"}
    )
    over = OfficialCalendar(path)
    assert over.is_workday(D("2027-02-09"))  # not in the notice: a plain Tuesday
    assert over.is_workday(D("2027-02-07"))  # listed working Sunday
    assert not over.is_workday(D("2027-02-10"))  # listed holiday
    assert not over.is_workday(D("2027-02-06"))  # unlisted Saturday
    assert not over.provisional(2027)
    assert {(s.date, s.source) for s in over.schedule(2027)} == {
        (D("2027-02-07"), "override"),
        (D("2027-02-10"), "override"),
    }


def test_shipped_overrides_agree_with_the_package(cal):
    shipped = OfficialCalendar(DEFAULT_OVERRIDES)
    assert 2026 in shipped.overrides.complete_years
    assert {d.year for d in shipped.overrides.days} <= set(shipped.overrides.complete_years)
    days = [D("2026-01-01") + timedelta(days=i) for i in range(365)]
    assert [d for d in days if shipped.is_workday(d) != cal.is_workday(d)] == []


GOOD_DAY = "  - {date: 2026-10-09, type: holiday, note: ok}"


@pytest.mark.parametrize(
    "body, line, message",
    [
        # line 1 is "version: 1"
        (["days:", GOOD_DAY, "  - {date: 2026-02-30, type: holiday, note: x}"], 4, "days.1.date"),
        (["days:", "  - {date: 2026-2-3, type: holiday, note: x}"], 3, "YYYY-MM-DD"),
        (["days:", "  - {date: 20260203, type: holiday, note: x}"], 3, "YYYY-MM-DD"),
        (["days:", GOOD_DAY, GOOD_DAY.replace("holiday", "holyday")], 4, "days.1.type"),
        (["days:", "  - date: 2026-10-09", "    type: holiday"], 3, "days.0.note"),
        (["days:", "  - {date: 2026-10-09, type: holiday, note: '  '}"], 3, "note must say why"),
        (["days:", GOOD_DAY, "  - {date: 2026-10-09, type: workday, note: again}"], 4, "listed twice"),
        (["days:", "  - {date: 2026-10-09, type: holiday, note: x, when: now}"], 3, "days.0.when"),
        (["complete_years:", "  2027: a", "  2027: b"], 4, "duplicate key 2027"),
        (["complete_years:", "  1999: a"], 3, "outside"),
        (["days:", "  - {date: 2026-10-09, type: holiday"], 4, ""),  # YAML syntax
        (["dayz: []"], 2, "dayz"),
    ],
    ids=[
        "impossible-date",
        "short-date",
        "int-date",
        "bad-type",
        "missing-note",
        "blank-note",
        "duplicate-date",
        "unknown-key",
        "duplicate-key",
        "year-range",
        "yaml-syntax",
        "top-level-key",
    ],
)
def test_bad_override_file_names_file_and_line(tmp_path, body, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text("\n".join(["version: 1", *body]) + "\n", encoding="utf-8")
    with pytest.raises(OverridesError) as err:
        OfficialCalendar(path)
    assert str(err.value).startswith(f"{path}:{line}:"), str(err.value)
    assert message in str(err.value)


def test_missing_or_empty_override_file(tmp_path):
    with pytest.raises(OverridesError, match="cannot read"):
        OfficialCalendar(tmp_path / "none.yaml")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    with pytest.raises(OverridesError, match="empty.yaml"):
        OfficialCalendar(tmp_path / "empty.yaml")


def test_default_calendar_follows_env_and_file_changes(tmp_path, monkeypatch):
    path = write_overrides(tmp_path / "o.yaml", {D("2025-10-09"): False})
    monkeypatch.setenv(OVERRIDES_ENV, str(path))
    first = default_calendar()
    assert default_calendar() is first and not first.is_workday(D("2025-10-09"))
    write_overrides(path, {})
    os.utime(path, ns=(time_module.time_ns(), time_module.time_ns() + 10**9))
    assert default_calendar().is_workday(D("2025-10-09"))


# ---------------------------------------------------------------- calendar properties

any_day = st.dates(D("2001-01-01"), D("2030-12-31"))
hot_day = st.builds(lambda d, k: d + timedelta(days=k), st.sampled_from(HOT), st.integers(-12, 12))
days = st.one_of(hot_day, any_day).filter(lambda d: D("2001-01-01") <= d <= D("2030-12-31"))


@PROPERTY
@given(start=days, n=st.integers(0, 250), offset=st.integers(-400, 400))
def test_calendar_arithmetic_matches_the_oracle(cal, start, n, offset):
    end = cal.add_workdays(start, n)
    assert end == ORACLE.add(start, n)
    assert cal.workdays_between(start, end) == n
    assert n == 0 or cal.is_workday(end)
    other = min(max(start + timedelta(days=offset), D("2001-01-01")), D("2030-12-31"))
    assert cal.workdays_between(start, other) == ORACLE.between(start, other) == -cal.workdays_between(other, start)
    assert cal.is_workday(other) == ORACLE.works(other)


def in_memory(days: dict[date, bool], complete: dict[int, str]) -> Overrides:
    """What ``load_overrides`` returns for such a file (file parsing has its own tests)."""
    listed = {
        d: DayOverride(date=d.isoformat(), type="workday" if w else "holiday", note="test") for d, w in days.items()
    }
    return Overrides(listed, complete)


def test_in_memory_overrides_equal_the_loaded_file(tmp_path):
    days, complete = {D("2027-02-07"): True, D("2027-02-10"): False}, {2027: "test notice"}
    loaded = load_overrides(write_overrides(tmp_path / "o.yaml", days, complete))
    assert (loaded.days, loaded.complete_years) == (in_memory(days, complete).days, complete)


@PROPERTY
@given(
    start=days,
    n=st.integers(0, 120),
    flips=st.dictionaries(st.integers(0, 150), st.booleans(), max_size=8),
    complete=st.booleans(),
)
def test_overrides_match_the_oracle(start, n, flips, complete):
    listed = {start + timedelta(days=k): w for k, w in flips.items()}
    years = {start.year: "test"} if complete else {}
    over = OfficialCalendar(overrides=in_memory(listed, years))
    oracle = Oracle(listed, frozenset(years))
    end = start + timedelta(days=n)
    assert over.add_workdays(start, n) == oracle.add(start, n)
    assert over.workdays_between(start, end) == oracle.between(start, end)


# ---------------------------------------------------------------- the engine: semantics


def case(**kw) -> dict:
    base = {
        "case_no": "C1",
        "case_type": "承诺件",
        "apply_time": "2025-03-03 09:00:00",
        "accept_time": "2025-03-03 10:00:00",
        "promise_days": 5,
        "promise_unit": "工作日",
        "legal_days": 20,
        "legal_unit": "工作日",
        "special_procedures": [],
    }
    base.update(kw)
    return base


def proc(kind: str, start: str, end: str | None = None, days: int | None = None, seq: int = 1) -> dict:
    return {"seq": seq, "kind": kind, "start_time": start, "end_time": end, "days": days, "approver": "张三"}


NOW = T("2025-03-04 12:00:00")


def test_counting_starts_the_day_after_acceptance(cal):
    d = compute_deadlines(case(), NOW, cal)
    assert d.promised_deadline == T("2025-03-10 23:59:59")  # Mon + 5 working days
    assert d.legal_deadline == T("2025-03-31 23:59:59")
    assert (d.elapsed_days, d.remaining_days, d.paused, d.finished) == (1, 4, False, False)
    assert d.state() == "on_time"


def test_immediate_case_uses_apply_time(cal):
    d = compute_deadlines(
        case(case_type="即办件", accept_time=None, promise_days=0, legal_days=None), T("2025-03-03 15:00:00"), cal
    )
    assert d.promised_deadline == T("2025-03-03 23:59:59") and d.legal_deadline is None
    assert d.state() == "due_soon"  # due today
    assert d.state(T("2025-03-04 08:00:00")) == "overdue"


def test_cases_without_a_clock(cal):
    with pytest.raises(TimeLimitError, match="accept_time"):
        compute_deadlines(case(accept_time=None), NOW, cal)
    with pytest.raises(TimeLimitError, match="neither"):
        compute_deadlines(case(promise_days=None, legal_days=None), NOW, cal)
    with pytest.raises(TimeLimitError, match="unit"):
        compute_deadlines(case(promise_unit="小时"), NOW, cal)


def test_no_promise_means_the_legal_limit(cal):
    d = compute_deadlines(case(promise_days=None, promise_unit=None), NOW, cal)
    assert d.promised_deadline == d.legal_deadline == T("2025-03-31 23:59:59")


def test_suspension_stops_the_clock(cal):
    # Suspended Wed 10:00 .. Fri 09:00: Wed and Thu do not count.
    d = compute_deadlines(
        case(special_procedures=[proc("挂起", "2025-03-05 10:00:00", "2025-03-07 09:00:00")]),
        T("2025-03-07 12:00:00"),
        cal,
    )
    assert d.promised_deadline == T("2025-03-12 23:59:59")
    assert d.legal_deadline == T("2025-04-02 23:59:59")
    assert (d.suspended_days, d.elapsed_days, d.paused) == (2, 2, False)


def test_same_day_suspension_costs_nothing(cal):
    d = compute_deadlines(
        case(special_procedures=[proc("挂起", "2025-03-05 10:00:00", "2025-03-05 16:00:00")]),
        NOW + timedelta(days=3),
        cal,
    )
    assert d.promised_deadline == T("2025-03-10 23:59:59") and d.suspended_days == 0


def test_suspended_on_the_last_day_is_not_late(cal):
    d = compute_deadlines(
        case(special_procedures=[proc("检验", "2025-03-10 16:00:00", "2025-03-12 09:00:00")]),
        T("2025-03-12 12:00:00"),
        cal,
    )
    assert d.promised_deadline == T("2025-03-12 23:59:59")
    assert d.state() == "due_soon"


def test_overlapping_pauses_count_once(cal):
    one = [proc("听证", "2025-03-05 09:00:00", "2025-03-12 09:00:00")]
    both = one + [proc("专家评审", "2025-03-06 09:00:00", "2025-03-10 09:00:00", seq=2)]
    at = T("2025-03-20 09:00:00")
    assert (
        compute_deadlines(case(special_procedures=both), at, cal).promised_deadline
        == compute_deadlines(case(special_procedures=one), at, cal).promised_deadline
        == T("2025-03-17 23:59:59")
    )


def test_open_suspension_pauses_now(cal):
    c = case(special_procedures=[proc("中止", "2025-03-05 10:00:00")])
    d = compute_deadlines(c, T("2025-03-06 12:00:00"), cal)
    later = compute_deadlines(c, T("2025-03-07 12:00:00"), cal)
    assert d.paused and later.paused
    assert (d.elapsed_days, later.elapsed_days) == (1, 1)  # the clock stands still
    assert d.promised_deadline == T("2025-03-12 23:59:59")  # as if resumed on the 7th
    assert later.promised_deadline == T("2025-03-13 23:59:59")  # one day later per day paused
    assert not compute_deadlines(c, T("2025-03-04 12:00:00"), cal).paused  # not yet suspended then


def test_extension_adds_to_the_promise_only(cal):
    c = case(
        special_procedures=[proc("延期", "2025-03-05 10:00:00", days=3), proc("延期", "2025-03-05 11:00:00", seq=2)]
    )
    d = compute_deadlines(c, NOW + timedelta(days=1), cal)
    assert (d.promised_days, d.extension_days) == (8, 3)
    assert d.promised_deadline == T("2025-03-13 23:59:59")
    assert d.legal_deadline == T("2025-03-31 23:59:59")
    assert d.warnings == ("延期 #2: extension without days, ignored",)
    legal = compute_deadlines(c, NOW + timedelta(days=1), cal, Policy(extend_legal=True))
    assert (legal.legal_days, legal.legal_deadline) == (23, T("2025-04-03 23:59:59"))


def test_extension_past_the_legal_limit_is_past_legal(cal):
    c = case(promise_days=5, legal_days=5, special_procedures=[proc("延期", "2025-03-05 10:00:00", days=5)])
    assert compute_deadlines(c, T("2025-03-12 09:00:00"), cal).state() == "past_legal"


def test_correction_pauses_or_restarts(cal):
    c = case(special_procedures=[proc("补正", "2025-03-06 10:00:00", "2025-03-10 15:00:00")])
    at = T("2025-03-11 09:00:00")
    # pause: Thu 6, Fri 7 lost (the weekend was not counting anyway): Mon 10 + 3 more
    assert compute_deadlines(c, at, cal).promised_deadline == T("2025-03-12 23:59:59")
    # restart: day 0 is Mon 10 March, when the materials arrived
    assert compute_deadlines(c, at, cal, Policy(correction="restart")).promised_deadline == T("2025-03-17 23:59:59")


def test_states(cal):
    c = case(finish_time=None)
    assert compute_deadlines(c, T("2025-03-06 09:00:00"), cal).state() == "on_time"  # 3 of 5
    assert compute_deadlines(c, T("2025-03-07 09:00:00"), cal).state() == "due_soon"  # 4 of 5
    assert compute_deadlines(c, T("2025-03-11 00:00:00"), cal).state() == "overdue"
    assert compute_deadlines(c, T("2025-04-01 00:00:00"), cal).state() == "past_legal"
    early = Policy(yellow_share=None, yellow_days=3)
    assert compute_deadlines(c, T("2025-03-06 09:00:00"), cal, early).state() == "due_soon"
    assert compute_deadlines(c, T("2025-03-04 09:00:00"), cal, early).state() == "on_time"
    d = compute_deadlines(c, T("2025-03-05 09:00:00"), cal)
    assert [d.state(T(f"2025-03-{day} 09:00:00")) for day in ("05", "07", "11")] == ["on_time", "due_soon", "overdue"]


def test_finished_case_is_judged_at_its_finish(cal):
    on_time = compute_deadlines(case(finish_time="2025-03-10 18:00:00"), T("2025-05-01 09:00:00"), cal)
    assert on_time.finished and on_time.as_of == T("2025-03-10 18:00:00")
    assert on_time.state() == on_time.state(T("2026-01-01 00:00:00")) == "on_time"
    late = compute_deadlines(case(finish_time="2025-03-11 09:00:00"), T("2025-05-01 09:00:00"), cal)
    assert late.state() == "overdue" and late.remaining_days == -1
    # A finish time after `now` has not happened yet.
    assert not compute_deadlines(case(finish_time="2025-03-11 09:00:00"), NOW, cal).finished


def test_deadline_time_is_a_parameter(cal):
    closing = Policy(deadline_time=time(17, 30))
    d = compute_deadlines(case(finish_time="2025-03-10 18:00:00"), T("2025-05-01 09:00:00"), cal, closing)
    assert d.promised_deadline == T("2025-03-10 17:30:00") and d.state() == "overdue"


def test_natural_days(cal):
    # 10 natural days from Fri 26 Sep 2025 end on Mon 6 Oct, a holiday: moved to Thu 9 Oct.
    c = case(accept_time="2025-09-26 10:00:00", promise_days=10, promise_unit="自然日", legal_days=None)
    assert compute_deadlines(c, T("2025-09-27 09:00:00"), cal).promised_deadline == T("2025-10-09 23:59:59")
    no_roll = Policy(roll_natural_days=False)
    assert compute_deadlines(c, T("2025-09-27 09:00:00"), cal, no_roll).promised_deadline == T("2025-10-06 23:59:59")


def test_provisional_deadlines(cal):
    c = case(accept_time="2026-12-20 10:00:00", promise_days=10, legal_days=None)
    assert compute_deadlines(c, T("2026-12-21 09:00:00"), cal).provisional
    assert not compute_deadlines(case(), NOW, cal).provisional


# ---------------------------------------------------------------- time zones


def test_aware_datetimes_are_converted_to_cst(cal):
    # 2025-01-02 18:00 UTC is Friday 3 January 02:00 in Beijing: day 1 is Monday 6 January.
    c = case(accept_time=datetime(2025, 1, 2, 18, tzinfo=UTC), promise_days=1, legal_days=None)
    d = compute_deadlines(c, datetime(2025, 1, 3, 1, tzinfo=UTC), cal)
    assert d.start == T("2025-01-03 02:00:00")
    assert d.promised_deadline == T("2025-01-06 23:59:59")
    ny = compute_deadlines(
        case(accept_time="2025-01-02T13:00:00-05:00", promise_days=1, legal_days=None),
        datetime(2025, 1, 2, 20, tzinfo=ZoneInfo("America/New_York")),
        cal,
    )
    assert (ny.start, ny.promised_deadline, ny.as_of) == (d.start, d.promised_deadline, T("2025-01-03 09:00:00"))


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Shanghai"])
def test_server_time_zone_does_not_matter(cal, monkeypatch, tz):
    c = case(special_procedures=[proc("挂起", "2025-03-05 10:00:00", "2025-03-07 09:00:00")])
    expected = compute_deadlines(c, T("2025-03-07 12:00:00"), cal)
    monkeypatch.setenv("TZ", tz)
    time_module.tzset()
    try:
        with hub_clock.using(hub_clock.SYSTEM):  # the wall clock, whatever clock the suite runs on
            assert compute_deadlines(c, T("2025-03-07 12:00:00"), cal) == expected
            # `now` defaults to Beijing time whatever the server's zone.
            beijing_now = datetime.now(UTC).astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)
            assert abs(compute_deadlines(c, calendar=cal).as_of - beijing_now) < timedelta(minutes=1)
    finally:
        monkeypatch.undo()
        time_module.tzset()


# ---------------------------------------------------------------- the engine: properties

WORKING, NATURAL = "工作日", "自然日"
PAUSING = ["挂起", "中止", "补正", "听证", "检验", "检测", "鉴定", "专家评审"]


CASE_EPOCH = T("2024-11-01 00:00:00")


def _random_case(
    accept_minute, pauses, extensions, promise, legal_extra, promise_unit, legal_unit, finish_hour, now_hour
) -> tuple[dict, datetime]:
    accept = CASE_EPOCH + timedelta(minutes=accept_minute)
    midnight = accept.replace(hour=0, minute=0)
    text = lambda hours: (midnight + timedelta(hours=hours)).isoformat(" ")  # noqa: E731
    procedures = [
        proc(kind, text(start), text(start + length) if length is not None else None, seq=i + 1)
        for i, (kind, start, length) in enumerate(pauses)
    ]
    procedures += [proc("延期", text(start), days=n, seq=10 + i) for i, (start, n) in enumerate(extensions)]
    return {
        "case_no": "P",
        "case_type": "承诺件",
        "apply_time": accept.isoformat(" "),
        "accept_time": accept.isoformat(" "),
        "promise_days": promise,
        "promise_unit": promise_unit,
        "legal_days": legal_extra + (promise or 0),
        "legal_unit": legal_unit,
        "finish_time": text(finish_hour) if finish_hour is not None else None,
        "special_procedures": procedures,
    }, midnight + timedelta(hours=now_hour)


# A case accepted between Nov 2024 and Dec 2026 (across 2025 and 2026 and into the
# package's estimated 2027), with up to 4 pauses (some open, some before acceptance),
# up to 2 extensions (some without days), maybe finished, evaluated up to 150 days on.
# Offsets are in hours from the midnight before acceptance.
unit = st.sampled_from([WORKING, NATURAL])
random_cases = st.builds(
    _random_case,
    st.integers(0, (T("2026-12-31 23:59:00") - CASE_EPOCH) // timedelta(minutes=1)),
    st.lists(
        st.tuples(
            st.sampled_from(PAUSING), st.integers(-72, 70 * 24), st.one_of(st.none(), st.integers(0, 25 * 24 + 12))
        ),
        max_size=4,
    ),
    st.lists(st.tuples(st.integers(0, 60 * 24), st.integers(0, 10)), max_size=2),
    st.one_of(st.none(), st.integers(0, 60)),
    st.integers(0, 60),
    unit,
    unit,
    st.one_of(st.none(), st.integers(0, 120 * 24)),
    st.integers(0, 150 * 24),
)


def oracle_deadlines(c: dict, now: datetime) -> dict:
    """The rules of hub.domains.timelimit.engine, walked one day at a time."""
    finish = T(c["finish_time"]) if c["finish_time"] else None
    as_of = finish if finish and finish <= now else now
    anchor = T(c["accept_time"]).date()
    paused_days, extension, open_pause = set(), 0, False
    for p in c["special_procedures"]:
        start = T(p["start_time"])
        if start > as_of:
            continue
        if p["kind"] == "延期":
            extension += p["days"] or 0
            continue
        end = T(p["end_time"]) if p["end_time"] else None
        if end is None or end > as_of:
            open_pause, last = True, as_of.date()
        else:
            last = end.date() - timedelta(days=1)
        paused_days.update(start.date() + timedelta(days=i) for i in range((last - start.date()).days + 1))

    def clock_day(d: date, unit: str) -> bool:
        return d > anchor and d not in paused_days and (unit == NATURAL or ORACLE.works(d))

    def deadline(n: int, unit: str) -> date:
        d = anchor
        while n:
            d += timedelta(days=1)
            n -= clock_day(d, unit)
        while unit == NATURAL and d != anchor and not ORACLE.works(d):
            d += timedelta(days=1)
        return d

    def clock_days(a: date, b: date, unit: str) -> int:
        return sum(clock_day(a + timedelta(days=i), unit) for i in range(1, (b - a).days + 1))

    p_days = (c["promise_days"] if c["promise_days"] is not None else c["legal_days"]) + extension
    p_unit = c["promise_unit"] if c["promise_days"] is not None else c["legal_unit"]
    p_date, l_date = deadline(p_days, p_unit), deadline(c["legal_days"], c["legal_unit"])
    today = as_of.date()
    elapsed = clock_days(anchor, today, p_unit)
    remaining = clock_days(today, p_date, p_unit) if p_date >= today else -clock_days(p_date, today, p_unit)
    p_end, l_end = datetime.combine(p_date, time(23, 59, 59)), datetime.combine(l_date, time(23, 59, 59))
    if as_of > l_end:
        state = "past_legal"
    elif as_of > p_end:
        state = "overdue"
    elif not (finish and finish <= now) and (elapsed / p_days if p_days else 1.0) >= 0.8:
        state = "due_soon"
    else:
        state = "on_time"
    lost = sum(
        d in paused_days and (p_unit == NATURAL or ORACLE.works(d))
        for d in (anchor + timedelta(days=i) for i in range(1, (p_date - anchor).days + 1))
    )
    return {
        "promised_deadline": p_end,
        "legal_deadline": l_end,
        "elapsed_days": elapsed,
        "remaining_days": remaining,
        "paused": open_pause and not (finish and finish <= now),
        "suspended_days": lost,
        "extension_days": extension,
        "state": state,
    }


@PROPERTY
@given(random_cases)
def test_engine_matches_the_day_walking_oracle(cal, drawn):
    c, now = drawn
    d = compute_deadlines(c, now, cal)
    got = {
        k: getattr(d, k)
        for k in (
            "promised_deadline",
            "legal_deadline",
            "elapsed_days",
            "remaining_days",
            "paused",
            "suspended_days",
            "extension_days",
        )
    }
    got["state"] = d.state()
    assert got == oracle_deadlines(c, now)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(random_cases, st.sampled_from([UTC, ZoneInfo("America/New_York"), ZoneInfo("Europe/London")]))
def test_engine_is_time_zone_independent(cal, drawn, tz):
    """The same instants written in another zone give the same deadlines."""
    c, now = drawn
    cst = timezone(timedelta(hours=8))
    shift = lambda s: datetime.fromisoformat(s).replace(tzinfo=cst).astimezone(tz) if s else s  # noqa: E731
    moved = dict(
        c,
        accept_time=shift(c["accept_time"]),
        finish_time=shift(c["finish_time"]),
        special_procedures=[
            dict(p, start_time=shift(p["start_time"]), end_time=shift(p["end_time"])) for p in c["special_procedures"]
        ],
    )
    assert compute_deadlines(moved, now.replace(tzinfo=cst).astimezone(tz), cal) == compute_deadlines(c, now, cal)


# ---------------------------------------------------------------- the CLI


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(calendar_cli, list(args), env=env)


def test_cli_add_workdays_and_is_workday(tmp_path):
    assert run("add-workdays", "2025-09-30", "1").output == "2025-10-09\n"
    assert run("add-workdays", "2025-12-31", "1").output == "2026-01-04\n"
    assert run("is-workday", "2025-09-28").output == "true\n"
    assert run("is-workday", "2025-10-08").output == "false\n"
    path = write_overrides(tmp_path / "o.yaml", {D("2025-10-08"): True})
    assert run("is-workday", "2025-10-08", "--overrides", str(path)).output == "true\n"
    assert run("add-workdays", "2025-09-30", "1", "--overrides", str(path)).output == "2025-10-08\n"
    assert run("is-workday", "2025-10-08", env={OVERRIDES_ENV: str(path)}).output == "true\n"


def test_cli_errors(tmp_path):
    bad = run("is-workday", "2025-02-30")
    assert bad.exit_code == 2 and "'2025-02-30' is not a date (YYYY-MM-DD)" in bad.output
    assert run("add-workdays", "2025-01-01", "-1").exit_code == 2
    assert run("is-workday", "20250101").exit_code == 2
    out = run("add-workdays", "2100-12-30", "5")
    assert out.exit_code == 1 and "outside the official calendar" in out.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ndays:\n  - {date: 2025-13-01, type: holiday, note: x}\n", encoding="utf-8")
    out = run("is-workday", "2025-10-08", "--overrides", str(broken))
    assert out.exit_code == 1 and f"{broken}:3:" in out.output


def test_cli_show(tmp_path):
    out = run("show", "2026").output.splitlines()
    assert "2026-01-04 周日 workday override 2026 元旦调休上班（周日）" in out
    estimated = run("show", "2027", "--overrides", str(write_overrides(tmp_path / "o.yaml", {}))).output
    assert estimated.startswith("# 2027: no published schedule") and "2027-02-09 周二 holiday package" in estimated
