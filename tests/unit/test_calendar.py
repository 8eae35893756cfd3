"""Working days by the State Council's schedule (chinesecalendar), Monday–Friday beyond it."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.calendar import is_statutory_year as is_known_year
from engine.deadlines.timing import expression_helpers
from engine.workflow import clock
from engine.workflow.clock import end_of_day

calendar = WorkCalendar()  # no session: the statutory schedule, Monday–Friday beyond it


def add_workdays(start: date, n: int) -> date:
    return calendar.add_workdays(start, n)[0]


def is_workday(day: date) -> bool:
    return calendar.is_workday(day)


@pytest.mark.parametrize(("start", "n", "expected"), [
    # National Day 2026: 1–7 October off; Sunday 20 September and Saturday 10 October are make-up workdays
    (date(2026, 9, 30), 1, date(2026, 10, 8)),
    (date(2026, 9, 30), 2, date(2026, 10, 9)),
    (date(2026, 9, 30), 3, date(2026, 10, 10)),
    (date(2026, 9, 30), 4, date(2026, 10, 12)),
    (date(2026, 9, 19), 1, date(2026, 9, 20)),
    # Mid-Autumn Festival: Friday 25 September off
    (date(2026, 9, 24), 1, date(2026, 9, 28)),
    # Spring Festival 2026: 15–23 February off; Saturdays 14 and 28 February are make-up workdays
    (date(2026, 2, 13), 1, date(2026, 2, 14)),
    (date(2026, 2, 13), 2, date(2026, 2, 24)),
    (date(2026, 2, 27), 1, date(2026, 2, 28)),
    (date(2026, 2, 27), 2, date(2026, 3, 2)),
    # an ordinary stretch: 15 working days from Monday 2 March
    (date(2026, 3, 2), 15, date(2026, 3, 23)),
    # the start day itself never counts, and 0 days is the start day
    (date(2026, 10, 1), 0, date(2026, 10, 1)),
    (date(2026, 10, 1), 1, date(2026, 10, 8)),
])
def test_add_workdays_follows_the_2026_schedule(start: date, n: int, expected: date) -> None:
    assert is_known_year(2026)
    assert add_workdays(start, n) == expected


def test_make_up_days_and_holidays() -> None:
    assert is_workday(date(2026, 9, 20))  # Sunday
    assert is_workday(date(2026, 10, 10))  # Saturday
    assert not is_workday(date(2026, 10, 5))  # Monday in the Golden Week
    assert not is_workday(date(2026, 2, 16))  # Monday in the Spring Festival


def test_beyond_the_schedule_monday_to_friday_applies() -> None:
    if is_known_year(2027):
        pytest.skip("chinesecalendar now carries the 2027 schedule; this test is about years it lacks")
    assert not is_known_year(2027)
    assert is_workday(date(2027, 1, 1))  # a Friday; unknown holidays are not guessed
    assert not is_workday(date(2027, 1, 2))
    assert add_workdays(date(2026, 12, 30), 1) == date(2026, 12, 31)
    assert add_workdays(date(2026, 12, 30), 2) == date(2027, 1, 1)
    assert add_workdays(date(2026, 12, 30), 3) == date(2027, 1, 4)
    assert add_workdays(date(2027, 3, 1), 15) == date(2027, 3, 22)


def test_is_known_year() -> None:
    assert is_known_year(2004)
    assert is_known_year(2026)
    assert not is_known_year(1990)
    assert not is_known_year(2100)


def test_deadlines_end_at_the_end_of_the_day_in_yunnan() -> None:
    assert end_of_day(date(2026, 10, 8)) == datetime(2026, 10, 8, 15, 59, 59, tzinfo=UTC)
    # 23:30 UTC on 30 September is already 1 October in Kunming, a holiday: the count starts from there
    with clock.frozen_at(datetime(2026, 9, 30, 23, 30, tzinfo=UTC)):
        helpers = expression_helpers(None)
        assert helpers["today"]() == "2026-10-01"
        assert helpers["workdays"](1) == "2026-10-08T15:59:59+00:00"
        assert helpers["calendar_days"](1) == "2026-10-02T15:59:59+00:00"
