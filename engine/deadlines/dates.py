"""Dates officials enter in task forms: real, sane, and inside the limits the form names.

A date field (`"format": "date"`) of a task form may carry:
- `x-defaultLimit`: the key of a time limit; the form is pre-filled with that limit's due date counted from
  today (working or calendar days as the administrator set it), and the hint names the limit and its basis;
- `x-minWorkdays`: the date must be at least that many working days after today (1: tomorrow's working day);
- `x-maxLimit`: the key of a time limit whose due date from today is the latest date allowed.
Every date, annotated or not, must lie between 2000-01-01 and 2100-12-31. The same check runs for the API
and the task page (engine.workflow.instances.complete_task calls `check_dates`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.services import due_for_limit
from engine.errors import FormInvalid
from engine.workflow.clock import local_date

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


@dataclass(frozen=True)
class DateBounds:
    """What one date field accepts today, and what it is pre-filled with."""

    earliest: date | None
    latest: date | None
    default: date | None
    hint: str


def date_fields(schema: dict) -> dict[str, dict]:
    """The properties of `schema` that hold a date."""
    return {name: prop for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, dict) and prop.get("format") == "date"}


def bounds(session: Session, prop: dict, now: datetime, calendar: WorkCalendar | None = None) -> DateBounds:
    """The earliest and latest acceptable date of one field today, its default and a Chinese hint."""
    cal = calendar or WorkCalendar(session)
    today = local_date(now)
    earliest = latest = default = None
    hints = []
    if prop.get("x-defaultLimit"):
        key = str(prop["x-defaultLimit"])
        default = local_date(due_for_limit(session, key, now, cal).at)
        limit = cal.time_limit(key)
        basis = f"（{limit.description}；依据：{limit.basis}）" if limit is not None else ""
        hints.append(f"默认按时限计算为 {default.isoformat()}{basis}")
    if prop.get("x-minWorkdays") is not None:
        earliest, _ = cal.add_workdays(today, int(prop["x-minWorkdays"]))
        hints.append(f"最早 {earliest.isoformat()}")
    if prop.get("x-maxLimit"):
        key = str(prop["x-maxLimit"])
        latest = local_date(due_for_limit(session, key, now, cal).at)
        limit = cal.time_limit(key)
        hints.append(f"最晚 {latest.isoformat()}" + (f"（{limit.description}）" if limit is not None else ""))
    return DateBounds(earliest, latest, default, "；".join(hints))


def form_defaults(session: Session, schema: dict, now: datetime) -> dict[str, str]:
    """Pre-filled values of a form's date fields that name a default time limit (ISO dates)."""
    cal = WorkCalendar(session)
    found = {}
    for name, prop in date_fields(schema).items():
        if prop.get("x-defaultLimit"):
            default = bounds(session, prop, now, cal).default
            if default is not None:
                found[name] = default.isoformat()
    return found


def form_hints(session: Session, schema: dict, now: datetime) -> dict[str, str]:
    """A Chinese hint per annotated date field: its default with the limit's basis, earliest and latest date."""
    cal = WorkCalendar(session)
    return {name: hint for name, prop in date_fields(schema).items()
            if (hint := bounds(session, prop, now, cal).hint)}


def form_ranges(session: Session, schema: dict, now: datetime) -> dict[str, tuple[str | None, str | None]]:
    """Per annotated date field, the earliest and latest ISO date accepted today (for the date picker)."""
    cal = WorkCalendar(session)
    found = {}
    for name, prop in date_fields(schema).items():
        limits = bounds(session, prop, now, cal)
        if limits.earliest or limits.latest:
            found[name] = (limits.earliest.isoformat() if limits.earliest else None,
                           limits.latest.isoformat() if limits.latest else None)
    return found


def check_dates(session: Session, schema: dict, data: dict[str, Any], now: datetime) -> None:
    """Raise FormInvalid with a Chinese message per date field that is not a sane date inside its bounds."""
    errors: dict[str, str] = {}
    cal: WorkCalendar | None = None
    for name, prop in date_fields(schema).items():
        value = data.get(name)
        if value in (None, ""):
            continue
        day = _as_date(value)
        title = prop.get("title", name)
        if day is None:
            errors[name] = f"{title}不是有效日期，请按 YYYY-MM-DD 填写"
            continue
        if not EARLIEST <= day <= LATEST:
            errors[name] = f"{title}应在 {EARLIEST.isoformat()} 至 {LATEST.isoformat()} 之间，请检查年份"
            continue
        if not any(prop.get(k) is not None for k in ("x-minWorkdays", "x-maxLimit")):
            continue
        cal = cal or WorkCalendar(session)
        limits = bounds(session, prop, now, cal)
        if limits.earliest is not None and day < limits.earliest:
            errors[name] = (f"{title}不能早于 {limits.earliest.isoformat()}"
                            f"（至少为今天之后的第 {int(prop['x-minWorkdays'])} 个工作日），请检查日期")
        elif limits.latest is not None and day > limits.latest:
            errors[name] = f"{title}不能晚于 {limits.latest.isoformat()}（{limits.hint}）"
    if errors:
        raise FormInvalid(errors)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None

