"""Time limits with their legal basis, calendar overrides per day, and years whose schedule is entered."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import settings_cache
from engine.db import Base, utcnow


def describe_limit(label: str, amount: int, unit: str, extension: int | None) -> str:
    unit_label = "个工作日" if unit == "workday" else "日"
    ext = f"（可延长{extension}{unit_label}）" if extension else ""
    return f"{label}：{amount}{unit_label}{ext}"


class TimeLimit(Base):
    """One time limit of the procedure (e.g. verify within 15 working days), editable by administrators."""

    __tablename__ = "time_limit"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(10))  # "workday" | "day"
    extension: Mapped[int | None] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def description(self) -> str:
        return describe_limit(self.label, self.amount, self.unit, self.extension)


@dataclass(frozen=True)
class Limit:
    """A time limit as a step uses it: a plain snapshot of a `time_limit` row (engine/settings_cache.py)."""

    key: str
    label: str
    amount: int
    unit: str
    extension: int | None
    basis: str

    @property
    def description(self) -> str:
        return describe_limit(self.label, self.amount, self.unit, self.extension)


class CalendarDay(Base):
    """A day whose status differs from Monday–Friday: a holiday on a weekday or a make-up working day."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")


class CalendarYear(Base):
    """A year whose State Council holiday schedule an administrator has entered into `calendar_day`."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    entered_by: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClockPause(Base):
    """A period in which a case's time limits stood still (e.g. 补正: waiting for the complainant's material)."""

    __tablename__ = "clock_pause"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    paused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paused_by: Mapped[str] = mapped_column(String(300))
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resumed_by: Mapped[str | None] = mapped_column(String(300))
    shifted_workdays: Mapped[int | None] = mapped_column(Integer)


for _watched in (TimeLimit, CalendarDay, CalendarYear):  # snapshots of them are kept per process: engine/settings_cache.py
    settings_cache.watch(_watched)
