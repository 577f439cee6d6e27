"""One case's performance facts on the official calendar, property-based across the
holiday swaps (调休): a case finished on the promised deadline's day is on time, one
finished the next working day is overdue, its working days are the calendar's count, and
a swapped working weekend counts while a statutory holiday does not; plus the indicator file."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.domains.performance import indicators
from hub.domains.performance.facts import case_facts
from hub.domains.performance.indicators import IndicatorsError
from hub.domains.timelimit import default_calendar

CAL = default_calendar()
NOW = datetime(2027, 6, 1)
PROPERTY = settings(
    max_examples=250, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
# Around the 2025-2026 holidays with their swapped working weekends (春节, 劳动节, 国庆 …)
accept_days = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 15))


def _case(accept: datetime, finish: datetime, promise: int, **extra) -> dict:
    return {
        "id": 1,
        "apply_time": accept - timedelta(hours=1),
        "accept_time": accept,
        "finish_time": finish,
        "status": "办结",
        "result_type": "准予",
        "promise_days": promise,
        "promise_unit": "工作日",
        "legal_days": promise + 10,
        "legal_unit": "工作日",
        "region_code": "320581",
        "dept_code": "D",
        "item_code": "I",
        "steps": [{"seq": 1, "action": "受理", "handler_id": "S001", "handler_name": "张三"}],
    } | extra


@PROPERTY
@given(day=accept_days, promise=st.integers(1, 30), hour=st.integers(8, 17))
def test_on_time_up_to_the_deadline_day_overdue_after(day, promise, hour):
    accept = datetime.combine(day, time(hour))
    deadline = CAL.add_workdays(day, promise)
    on_time = case_facts(_case(accept, datetime.combine(deadline, time(17)), promise), CAL, NOW)
    assert on_time is not None
    assert (on_time["limited"], on_time["on_time"], on_time["overdue"]) == (1, 1, 0)
    assert on_time["working_days"] == promise == CAL.workdays_between(day, deadline)
    assert on_time["early"] == 0 and on_time["handler_id"] == "S001" and "张三" not in str(on_time)
    late_day = CAL.add_workdays(deadline, 1)
    late = case_facts(_case(accept, datetime.combine(late_day, time(9)), promise), CAL, NOW)
    assert late is not None and (late["on_time"], late["overdue"], late["past_legal"]) == (0, 1, 0)
    assert late["working_days"] == promise + 1
    assert late["on_time"] + late["overdue"] == late["limited"] == late["finished"] == 1


@PROPERTY
@given(day=accept_days, promise=st.integers(1, 15))
def test_days_off_never_count_and_swapped_weekends_do(day, promise):
    accept = datetime.combine(day, time(10))
    deadline = CAL.add_workdays(day, promise)
    natural = (deadline - day).days
    # the deadline is the promise-th working day: every day off in between (weekend or
    # 法定节假日) pushes it later, every swapped working weekend (调休上班) counts
    between = [day + timedelta(days=i) for i in range(1, natural + 1)]
    assert sum(CAL.is_workday(d) for d in between) == promise
    swapped = [d for d in between if d.weekday() >= 5 and CAL.is_workday(d)]
    holidays_on_weekdays = [d for d in between if d.weekday() < 5 and not CAL.is_workday(d)]
    assert natural == promise + sum(d.weekday() >= 5 for d in between) - len(swapped) + len(holidays_on_weekdays)
    facts = case_facts(_case(accept, datetime.combine(deadline, time(23, 0)), promise), CAL, NOW)
    assert facts is not None and facts["on_time"] == 1 and facts["working_days"] == promise


def test_a_known_swap_national_day_2026():
    # 国庆 2026: 1–7 Oct off; Saturday 10 Oct is a swapped working day: one working day
    # after Friday 9 Oct is that Saturday, and after 30 Sep it is Thursday 8 Oct
    f = case_facts(_case(datetime(2026, 9, 30, 10), datetime(2026, 10, 8, 16), 1), CAL, NOW)
    assert f is not None and f["on_time"] == 1 and f["working_days"] == 1
    accept = datetime(2026, 10, 9, 10)
    f = case_facts(_case(accept, datetime(2026, 10, 10, 16), 1), CAL, NOW)
    assert f is not None and f["on_time"] == 1 and f["working_days"] == 1
    f = case_facts(_case(accept, datetime(2026, 10, 12, 9), 1), CAL, NOW)
    assert f is not None and f["overdue"] == 1 and f["working_days"] == 2


def test_a_pause_is_excluded_and_a_withdrawal_is_not_finished():
    accept = datetime(2026, 11, 2, 10)  # Monday
    pause = [{"seq": 1, "kind": "补正", "start_time": "2026-11-03T09:00:00", "end_time": "2026-11-06T09:00:00"}]
    f = case_facts(_case(accept, datetime(2026, 11, 9, 10), 3, special_procedures=pause), CAL, NOW)
    assert f is not None and f["on_time"] == 1 and f["special"] == 1 and f["working_days"] == 2
    w = case_facts(_case(accept, datetime(2026, 11, 3, 10), 3, result_type="撤回"), CAL, NOW)
    assert w is not None and (w["withdrawn"], w.get("finished", 0), w.get("limited", 0)) == (1, 0, 0)
    assert case_facts({"id": 2, "apply_time": None}, CAL, NOW) is None


def test_the_indicator_file_loads_and_a_wrong_one_says_where(tmp_path):
    loaded = {c.name: c for c in indicators.load()}
    assert len(loaded) >= 32 and loaded["on_time_rate"].indicator.label == "按时办结率"
    assert loaded["on_time_rate"].value({"on_time": 3, "limited": 4}) == 0.75
    assert loaded["on_time_rate"].value({"on_time": 0, "limited": 0}) is None
    assert loaded["median_working_days"].value({}, {0.5: 4.0}) == 4.0
    bad = tmp_path / "i.yaml"
    bad.write_text(
        "version: 1\nmeasures: {on_time: x, limited: y}\nindicators:\n"
        "  - {name: r, label: 率, formula: on_time / limted, unit: rate}\n",
        encoding="utf-8",
    )
    with pytest.raises(IndicatorsError, match=r"i\.yaml:4: .*unknown measure 'limted'"):
        indicators.load(bad)
    bad.write_text(
        "version: 1\nmeasures: {on_time: x}\nindicators:\n  - {name: r, label: 率, formula: __import__('os'), unit: rate}\n",
        encoding="utf-8",
    )
    with pytest.raises(IndicatorsError, match="only"):
        indicators.load(bad)
