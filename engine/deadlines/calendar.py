"""The working-day calendar: which days in Yunnan are working days, and counting them.

One calendar for everything that counts working days — diagrams (the workflow runtime reaches it through
`registry.timings()`, engine/deadlines/timing.py), task forms' dates (dates.py), due states, the overdue view and
statistics (views.py), clock pauses (pauses.py). A day is judged by the State Council's holiday schedule as
chinesecalendar carries it; for a year it lacks, by the schedule an administrator entered (calendar_year,
calendar_day); otherwise Monday–Friday, and a count that crossed such a year is provisional.

Time limits and entered years are read from the per-process snapshots of engine/settings_cache.py: no statement
while no administrator changed them, and the next step after a change sees it.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import chinese_calendar
from sqlalchemy.orm import Session

from engine import settings_cache
from engine.deadlines.models import CalendarDay, CalendarYear, Limit, TimeLimit
from engine.workflow.clock import SHANGHAI, end_of_day


@lru_cache(maxsize=64)
def is_statutory_year(year: int) -> bool:
    """Whether chinesecalendar carries the holiday schedule of `year`."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=4096)
def _statutory_workday(day: date) -> bool:
    return chinese_calendar.is_workday(day)


class WorkCalendar:
    """Working days by the statutory schedule, then administrator-entered years, else Monday–Friday.

    Without a session (an expression evaluated outside a step) no entered year is known.
    """

    def __init__(self, session: Session | None = None) -> None:
        self._session = session
        self._entered: frozenset[int] | None = None
        self._overrides: dict[int, Any] = {}
        self._limits: Any = None

    def time_limit(self, key: str) -> Limit | None:
        """Time limit `key` (every limit is read at the first ask, or taken from the process's snapshot)."""
        if self._limits is None:
            self._limits = settings_cache.cached(self._session, "time_limits", _read_limits) \
                if self._session is not None else {}
        return self._limits.get(key)

    def is_known_year(self, year: int) -> bool:
        return is_statutory_year(year) or year in self._entered_years()

    def is_workday(self, day: date) -> bool:
        if is_statutory_year(day.year):
            return _statutory_workday(day)
        override = self._year_overrides(day.year).get(day)
        return override if override is not None else day.weekday() < 5

    def add_workdays(self, start: date, n: int) -> tuple[date, bool]:
        """The n-th working day after `start` (the start day never counts), and whether any year crossed had no
        schedule (Monday–Friday was assumed)."""
        day, left, provisional = start, max(int(n), 0), False
        while left:
            day += timedelta(days=1)
            provisional = provisional or not self.is_known_year(day.year)
            if self.is_workday(day):
                left -= 1
        return day, provisional

    def workdays_before(self, due: datetime, n: int) -> datetime:
        """The end of the working day `n` working days before the day of `due` (for reminders)."""
        day, left = due.astimezone(SHANGHAI).date(), max(int(n), 0)
        while left:
            day -= timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return end_of_day(day)

    def workdays_after(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when `end` is not later)."""
        day, count = start, 0
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

    def _entered_years(self) -> frozenset[int]:
        if self._entered is None:
            self._entered = settings_cache.cached(self._session, "calendar_years", _read_years) \
                if self._session is not None else frozenset()
        return self._entered

    def _year_overrides(self, year: int) -> Any:
        if year not in self._overrides:
            days = settings_cache.cached(self._session, "calendar_days", _read_days) \
                if self._session is not None else {}
            self._overrides[year] = days.get(year, _NO_DAYS)
        return self._overrides[year]


_NO_DAYS: Any = MappingProxyType({})


def _read_limits(session: Session) -> tuple[int | None, Any]:
    read_at, rows = settings_cache.read_with_generation(session, (
        TimeLimit.key, TimeLimit.label, TimeLimit.amount, TimeLimit.unit, TimeLimit.extension, TimeLimit.basis))
    return read_at, MappingProxyType({row[0]: Limit(*row) for row in rows})


def _read_years(session: Session) -> tuple[int | None, frozenset[int]]:
    read_at, rows = settings_cache.read_with_generation(session, (CalendarYear.year,))
    return read_at, frozenset(row[0] for row in rows)


def _read_days(session: Session) -> tuple[int | None, Any]:
    """Every entered day, by year (a few dozen rows per entered year)."""
    read_at, rows = settings_cache.read_with_generation(session, (CalendarDay.day, CalendarDay.is_workday))
    years: dict[int, dict[date, bool]] = {}
    for day, is_workday in rows:
        years.setdefault(day.year, {})[day] = bool(is_workday)
    return read_at, MappingProxyType({year: MappingProxyType(days) for year, days in years.items()})
