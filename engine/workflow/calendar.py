"""Working days by the State Council's holiday schedule (chinesecalendar), Monday–Friday beyond it."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from engine.workflow import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


@lru_cache(maxsize=64)
def is_known_year(year: int) -> bool:
    """Whether the holiday schedule of `year` is on record (otherwise Monday–Friday applies)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(start: date, n: int) -> date:
    """The `n`-th working day after `start` (n ≥ 1); `start` itself never counts."""
    day, left = start, max(int(n), 0)
    while left:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def end_of_day(day: date) -> datetime:
    """The last second of `day` in Yunnan, as UTC."""
    return datetime.combine(day, time(23, 59, 59), SHANGHAI).astimezone(UTC)


def workdays(n: int) -> str:
    """Timer/due expression helper: ISO datetime at the end of the n-th working day from now."""
    today = clock.now().astimezone(SHANGHAI).date()
    return end_of_day(add_workdays(today, n)).isoformat()


def calendar_days(n: int) -> str:
    """Timer/due expression helper: ISO datetime at the end of the n-th calendar day from now."""
    today = clock.now().astimezone(SHANGHAI).date()
    return end_of_day(today + timedelta(days=int(n))).isoformat()


def local_date(moment: datetime | None = None) -> date:
    """The date in Yunnan at `moment` (default: the clock's now); a UTC server's date.today() is a day off
    for eight hours around each midnight."""
    return (moment or clock.now()).astimezone(SHANGHAI).date()


def today() -> str:
    """Expression helper: today's date in Yunnan, ISO."""
    return local_date().isoformat()
