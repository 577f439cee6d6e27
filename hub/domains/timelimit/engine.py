"""Time limits of one case (办件时限监察): promised and legal deadlines, pauses, warnings.

| case field | use |
|---|---|
| ``accept_time`` (``apply_time`` for a 即办件 without one) | day 0 of the clock, never counted (次日起算) |
| ``promise_days`` + ``promise_unit`` | 承诺期限; a case without a promise is held to its legal limit |
| ``legal_days`` + ``legal_unit`` | 法定期限; a missing unit is 工作日 (行政许可法 第八十二条) |
| ``special_procedures`` | pauses and extensions (below); only those started by ``now`` count |
| ``finish_time`` | stops the clock; a finished case is judged at that instant |

Rules; every choice is a ``Policy`` field, so the supervision rules can inject their own:

* A *clock day* is a day after day 0 that counts in the limit's unit (a working day for
  工作日, any day for 自然日) and on which the case is not paused. The deadline is the
  n-th clock day; a 自然日 deadline falling on a day off moves to the next working day
  (民法典 第二百零三条).
* Pauses: 挂起, 中止 (中止审查: proceedings stayed and resumable, unlike 终止), 补正, and
  the steps that by law do not count (行政许可法 第四十五条: 听证、检验、检测、鉴定、专家评审).
  A pause from ``start_time`` to ``end_time`` removes the days ``[start date, end date)``:
  the day it starts no longer counts (a case suspended on its last day is not late), the
  day it resumes counts again, and a pause that starts and ends on one day costs nothing.
  Overlapping pauses are not counted twice. A pause with no end (or ending after ``now``)
  stops the clock now: ``paused`` is true and the deadlines are projected as if the case
  resumed tomorrow, so they move one clock day later for each day the pause lasts.
  Pauses apply to both limits.
* 补正 (correction): a pause by default — waiting for the applicant's materials does not
  count. ``Policy(correction="restart")`` instead restarts the whole limit on the day the
  corrected materials arrive (end of the latest 补正), as some local rules require.
* 延期 (extension): ``days`` more in the promised limit's unit. Special-procedure records
  reach the hub once approved (the record has no approval status), so each counts. The
  legal limit is not extended unless ``Policy(extend_legal=True)``, for items whose law
  provides for it (e.g. 行政许可法 第四十二条, +10 working days on the head's approval):
  an extension past the legal deadline therefore surfaces as ``past_legal``.
* A deadline is the end of its day, ``Policy.deadline_time`` = 23:59:59 (a period ends at
  24:00, 民法典 第二百零三条); set the office closing time where a rule says so. Late
  means strictly after it.
* Times are naive China Standard Time (UTC+8), as the hub stores them; aware datetimes
  are converted, and ``now`` defaults to the current CST time, never the server's zone.
* ``state``: ``past_legal`` (after the legal deadline) > ``overdue`` (after the promised
  one: red, 报警) > ``due_soon`` (yellow, 预警: ``yellow_share`` of the promised clock days
  used, or at most ``yellow_days`` left) > ``on_time``. A finished case is never
  ``due_soon``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from hub.core import clock
from hub.core.errors import InputError
from hub.model.calendar import OfficialCalendar, default_calendar
from hub.model.canonical import parse_datetime

WORKING, NATURAL = "工作日", "自然日"
PAUSE_KINDS = frozenset({"挂起", "中止", "听证", "检验", "检测", "鉴定", "专家评审"})
CORRECTION, EXTENSION = "补正", "延期"
State = Literal["on_time", "due_soon", "overdue", "past_legal"]
_DAY = timedelta(days=1)


class TimeLimitError(InputError):
    """The case has no clock: not accepted, no limit, or an unknown unit."""

    reason = "no_time_limit"


@dataclass(frozen=True)
class Policy:
    """The supervision rules' choices (see the module notes); the defaults are the common practice."""

    deadline_time: time = time(23, 59, 59)
    yellow_share: float | None = 0.8  # share of the promised clock days used
    yellow_days: int | None = None  # clock days left
    correction: Literal["pause", "restart"] = "pause"
    extend_legal: bool = False
    roll_natural_days: bool = True
    pause_kinds: frozenset[str] = PAUSE_KINDS


def to_cst(value) -> datetime:
    """A naive CST datetime from a naive (already CST) or aware datetime or ISO text."""
    return parse_datetime(value)


def now_cst() -> datetime:
    return clock.now().replace(microsecond=0)


@dataclass(frozen=True)
class _Clock:
    """Clock days after ``anchor`` in one unit, minus merged pauses ``[first, stop)``."""

    calendar: OfficialCalendar
    anchor: date
    working: bool
    pauses: tuple[tuple[date, date], ...]

    def units(self, a: date, b: date) -> int:
        """Days of the unit in ``(a, b]``, pauses ignored."""
        return self.calendar.workdays_between(a, b) if self.working else (b - a).days

    def _add(self, d: date, n: int) -> date:
        return self.calendar.add_workdays(d, n) if self.working else d + timedelta(days=n)

    def count(self, end: date) -> int:
        """Clock days in ``(anchor, end]``."""
        if end <= self.anchor:
            return 0
        total = self.units(self.anchor, end)
        for first, stop in self.pauses:
            if first > end:
                break
            total -= self.units(first - _DAY, min(stop - _DAY, end))
        return total

    def nth(self, n: int) -> date:
        """The n-th clock day (``anchor`` for 0)."""
        cursor, need = self.anchor, n
        for first, stop in self.pauses:
            candidate = self._add(cursor, need)
            if need == 0 or candidate < first:
                return candidate
            # Spend the clock days before the pause, then jump to its last day.
            need -= self.units(cursor, first - _DAY)
            cursor = stop - _DAY
        return self._add(cursor, need)


def _merge(anchor: date, spans: list[tuple[date, date]]) -> tuple[tuple[date, date], ...]:
    """Clip pauses to after day 0 and merge overlapping or touching ones."""
    merged: list[list[date]] = []
    for first, stop in sorted((max(f, anchor + _DAY), s) for f, s in spans):
        if stop <= first:
            continue
        if merged and first <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([first, stop])
    return tuple((f, s) for f, s in merged)


@dataclass(frozen=True)
class _Procedures:
    pauses: list[tuple[date, date]]
    extension_days: int
    restart: date | None  # correction="restart": the clock's new day 0
    open_pause: bool
    warnings: tuple[str, ...]


def _read_procedures(procedures, as_of: datetime, policy: Policy) -> _Procedures:
    pauses, warnings = [], []
    extension, restart, open_pause = 0, None, False
    pause_kinds = policy.pause_kinds | ({CORRECTION} if policy.correction == "pause" else set())
    for p in procedures or ():
        kind, label = p.get("kind"), f"{p.get('kind')} #{p.get('seq')}"
        if not p.get("start_time"):
            warnings.append(f"{label}: no start_time, ignored")
            continue
        start = to_cst(p["start_time"])
        if start > as_of:
            continue  # not yet happened at the instant evaluated
        if kind == EXTENSION:
            if p.get("days"):
                extension += int(p["days"])
            else:
                warnings.append(f"{label}: extension without days, ignored")
            continue
        restarts = kind == CORRECTION and policy.correction == "restart"
        if kind not in pause_kinds and not restarts:
            continue
        end = to_cst(p["end_time"]) if p.get("end_time") else None
        if end is not None and end < start:
            warnings.append(f"{label}: ends before it starts, ignored")
            continue
        still_open = end is None or end > as_of
        open_pause |= still_open
        # An open pause is projected to end tomorrow: today does not count.
        stop = as_of.date() + _DAY if end is None or still_open else end.date()
        if restarts:
            day0 = stop - _DAY if still_open else stop
            restart = day0 if restart is None else max(restart, day0)
        else:
            pauses.append((start.date(), stop))
    return _Procedures(pauses, extension, restart, open_pause, tuple(warnings))


def _limit(case: dict, prefix: str) -> tuple[int, str] | None:
    days = case.get(f"{prefix}_days")
    if days is None:
        return None
    unit = case.get(f"{prefix}_unit") or WORKING
    if unit not in (WORKING, NATURAL):
        raise TimeLimitError(f"{prefix}_unit {unit!r} is neither {WORKING} nor {NATURAL}")
    if int(days) < 0:
        raise TimeLimitError(f"{prefix}_days must be 0 or more, not {days}")
    return int(days), unit


def _start(case: dict) -> datetime:
    if case.get("accept_time"):
        return to_cst(case["accept_time"])
    if case.get("case_type") == "即办件" and case.get("apply_time"):
        return to_cst(case["apply_time"])
    raise TimeLimitError("the case has no accept_time: its time limit has not started")


@dataclass(frozen=True)
class Deadlines:
    """Deadlines of one case as of ``as_of``; day counts are in the promised unit."""

    start: datetime
    as_of: datetime  # now, or finish_time for a finished case
    promised_deadline: datetime
    legal_deadline: datetime | None
    promised_days: int  # promised limit including extensions
    promised_unit: str
    legal_days: int | None  # legal limit (including extensions with extend_legal)
    legal_unit: str | None
    extension_days: int
    suspended_days: int  # clock days lost to pauses up to the promised deadline
    elapsed_days: int
    remaining_days: int  # negative once overdue
    paused: bool
    finished: bool
    provisional: bool  # a deadline relies on a year without a published schedule
    warnings: tuple[str, ...]
    policy: Policy = field(repr=False)
    _clock: _Clock = field(repr=False, compare=False)

    def state(self, now=None) -> State:
        """The warning state at ``now`` (default ``as_of``; a finished case at its finish)."""
        t = self.as_of if now is None or self.finished else to_cst(now)
        if self.legal_deadline is not None and t > self.legal_deadline:
            return "past_legal"
        if t > self.promised_deadline:
            return "overdue"
        if self.finished:
            return "on_time"
        elapsed = self._clock.count(t.date())
        remaining = self._clock.count(self.promised_deadline.date()) - elapsed
        used = elapsed / self.promised_days if self.promised_days else 1.0
        p = self.policy
        if (p.yellow_share is not None and used >= p.yellow_share) or (
            p.yellow_days is not None and remaining <= p.yellow_days
        ):
            return "due_soon"
        return "on_time"


def _deadline(clock: _Clock, n: int, policy: Policy) -> date:
    d = clock.nth(n)
    if not clock.working and policy.roll_natural_days and n > 0 and not clock.calendar.is_workday(d):
        d = clock.calendar.add_workdays(d, 1)
    return d


def compute_deadlines(
    case: dict, now: datetime | None = None, calendar: OfficialCalendar | None = None, policy: Policy | None = None
) -> Deadlines:
    """Deadlines and warning inputs of ``case`` (a canonical case record) at ``now``."""
    cal = calendar or default_calendar()
    policy = policy or Policy()
    now = now_cst() if now is None else to_cst(now)
    finish = to_cst(case["finish_time"]) if case.get("finish_time") else None
    finished = finish is not None and finish <= now
    as_of = finish if finish is not None and finished else now

    start = _start(case)
    legal = _limit(case, "legal")
    promised = _limit(case, "promise") or legal
    if promised is None:
        raise TimeLimitError("the case has neither promise_days nor legal_days")
    procs = _read_procedures(case.get("special_procedures"), as_of, policy)
    anchor = max(start.date(), procs.restart) if procs.restart else start.date()
    pauses = _merge(anchor, procs.pauses)

    p_clock = _Clock(cal, anchor, promised[1] == WORKING, pauses)
    p_days = promised[0] + procs.extension_days
    p_date = _deadline(p_clock, p_days, policy)
    l_date = l_days = None
    if legal is not None:
        l_days = legal[0] + (procs.extension_days if policy.extend_legal else 0)
        l_date = _deadline(_Clock(cal, anchor, legal[1] == WORKING, pauses), l_days, policy)

    elapsed = p_clock.count(as_of.date())
    last = max(p_date, l_date or p_date)
    return Deadlines(
        start=start,
        as_of=as_of,
        promised_deadline=datetime.combine(p_date, policy.deadline_time),
        legal_deadline=datetime.combine(l_date, policy.deadline_time) if l_date else None,
        promised_days=p_days,
        promised_unit=promised[1],
        legal_days=l_days,
        legal_unit=legal[1] if legal else None,
        extension_days=procs.extension_days,
        suspended_days=p_clock.units(anchor, p_date) - p_clock.count(p_date),
        elapsed_days=elapsed,
        remaining_days=p_clock.count(p_date) - elapsed,
        paused=procs.open_pause and not finished,
        finished=finished,
        provisional=any(cal.provisional(y) for y in range(anchor.year, last.year + 1)),
        warnings=procs.warnings,
        policy=policy,
        _clock=p_clock,
    )
