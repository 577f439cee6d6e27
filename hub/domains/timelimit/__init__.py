"""Time limits (时限) on the official Chinese calendar, for supervision (电子监察).

| module | what |
|---|---|
| ``calendar`` | ``OfficialCalendar``: working days from ``holidays.China`` plus the administrator's override file; ``default_calendar()`` |
| ``engine`` | ``compute_deadlines(case, now)``: promised and legal deadlines with pauses and extensions, and the warning ``state`` |
| ``cli`` | ``govhub calendar add-workdays|is-workday|show`` |
"""

from hub.domains.timelimit.engine import Deadlines, Policy, TimeLimitError, compute_deadlines
from hub.model.calendar import (
    CalendarError,
    OfficialCalendar,
    Overrides,
    OverridesError,
    ScheduleDay,
    default_calendar,
    load_overrides,
)

__all__ = [
    "CalendarError",
    "Deadlines",
    "OfficialCalendar",
    "Overrides",
    "OverridesError",
    "Policy",
    "ScheduleDay",
    "TimeLimitError",
    "compute_deadlines",
    "default_calendar",
    "load_overrides",
]
