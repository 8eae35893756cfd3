"""The working-day calendar: which days in Yunnan are working days, and counting them.

One calendar for everything that counts working days — diagrams (the workflow runtime reaches it through
`registry.timings()`, engine/deadlines/timing.py), task forms' dates (dates.py), due states, the overdue view and
statistics (views.py), clock pauses (pauses.py). A day is judged by the State Council's holiday schedule as
chinesecalendar carries it; for a year it lacks, by the schedule an administrator entered (calendar_year,
calendar_day); otherwise Monday–Friday, and a count that crossed such a year is provisional.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.models import CalendarDay, CalendarYear, TimeLimit
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
        self._entered: set[int] | None = None
        self._overrides: dict[int, dict[date, bool]] = {}
        self._limits: dict[str, TimeLimit] | None = None

    def time_limit(self, key: str) -> TimeLimit | None:
        """Time limit `key`; every limit is read at the first ask (a step may need several; the table is small)."""
        if self._limits is None:
            rows = self._session.scalars(select(TimeLimit)) if self._session is not None else []
            self._limits = {limit.key: limit for limit in rows}
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

    def _entered_years(self) -> set[int]:
        if self._entered is None:
            self._entered = set(self._session.scalars(select(CalendarYear.year))) if self._session is not None else set()
        return self._entered

    def _year_overrides(self, year: int) -> dict[date, bool]:
        if year not in self._overrides:
            if self._session is None:
                self._overrides[year] = {}
            else:
                rows = self._session.execute(select(CalendarDay.day, CalendarDay.is_workday).where(
                    CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))
                self._overrides[year] = {d: w for d, w in rows}
        return self._overrides[year]
