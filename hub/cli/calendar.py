"""``govhub calendar``: the official working-day calendar from the command line.

    govhub calendar add-workdays 2025-09-30 1    ->  2025-10-09  (次日起算: the start day never counts)
    govhub calendar is-workday 2025-09-28        ->  true        (a swapped working Sunday)
    govhub calendar show 2026                    ->  the days off on weekdays and the working weekends

Every command takes ``--overrides PATH`` (default ``$GOVHUB_CALENDAR_OVERRIDES``, else
``catalog/calendar/overrides.yaml``). Exit status 2 for a bad argument, 1 for a bad
override file or a date outside the calendar.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click

from hub.model.calendar import DEFAULT_OVERRIDES, OVERRIDES_ENV, CalendarError, OfficialCalendar

_WEEKDAYS = "一二三四五六日"


class _Date(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            if len(value) != 10:
                raise ValueError("expected YYYY-MM-DD")
            return date.fromisoformat(value)
        except ValueError as exc:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD): {exc}", param, ctx)


def _overrides_option(fn):
    return click.option(
        "--overrides",
        "overrides",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=OVERRIDES_ENV,
        default=DEFAULT_OVERRIDES,
        show_default=True,
        help=f"calendar override file (env {OVERRIDES_ENV})",
    )(fn)


@contextmanager
def _user_errors():
    """A bad override file or a date outside the calendar: a message, not a traceback."""
    try:
        yield
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("calendar")
def calendar() -> None:
    """The official working-day calendar (weekends, holidays, swapped workdays, overrides)."""


@calendar.command("add-workdays")
@click.argument("start", type=_Date())
@click.argument("n", type=click.IntRange(min=0))
@_overrides_option
def add_workdays(start: date, n: int, overrides: Path) -> None:
    """Print the date N working days after START (START itself does not count)."""
    with _user_errors():
        click.echo(OfficialCalendar(overrides).add_workdays(start, n).isoformat())


@calendar.command("is-workday")
@click.argument("day", type=_Date())
@_overrides_option
def is_workday(day: date, overrides: Path) -> None:
    """Print true if DAY is a working day, else false."""
    with _user_errors():
        click.echo("true" if OfficialCalendar(overrides).is_workday(day) else "false")


@calendar.command("show")
@click.argument("year", type=int)
@_overrides_option
def show(year: int, overrides: Path) -> None:
    """List YEAR's weekdays off and working weekends, with their source, to check against
    the State Council notice."""
    with _user_errors():
        cal = OfficialCalendar(overrides)
        days = cal.schedule(year)
    if cal.provisional(year):
        click.echo(
            f"# {year}: no published schedule in the package or the override file; "
            "the package's estimate (no swapped workdays)"
        )
    for d in days:
        kind = "workday" if d.workday else "holiday"
        click.echo(f"{d.date.isoformat()} 周{_WEEKDAYS[d.date.weekday()]} {kind:7} {d.source:8} {d.note}")
