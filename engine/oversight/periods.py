"""Reporting periods: calendar days in Yunnan (Asia/Shanghai), turned into UTC bounds for the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both days included, as Yunnan calendar days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("统计期的结束日期早于开始日期")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        nxt = date(year + month // 12, month % 12 + 1, 1)
        return cls(date(year, month, 1), nxt - timedelta(days=1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = cls.month(year, 3 * quarter - 2)
        return cls(first.start, cls.month(year, 3 * quarter).end)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def quarter_of(cls, moment: datetime) -> Period:
        """The calendar quarter (in Yunnan) that contains `moment`."""
        day = moment.astimezone(SHANGHAI).date()
        return cls.quarter(day.year, (day.month - 1) // 3 + 1)

    @property
    def start_utc(self) -> datetime:
        """00:00 of the first day in Yunnan, in UTC (inclusive bound)."""
        return datetime.combine(self.start, time(0), SHANGHAI).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """00:00 of the day after the last day in Yunnan, in UTC (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

    def months(self) -> list[str]:
        """Every `YYYY-MM` the period touches, in order."""
        result, day = [], self.start.replace(day=1)
        while day <= self.end:
            result.append(day.strftime("%Y-%m"))
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return result
