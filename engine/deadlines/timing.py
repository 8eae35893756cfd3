"""How the workflow runtime counts due times: the working-day calendar, the configured time limits, a form's dates
and the case's clock pauses, registered with engine/workflow/registry.py: `timing`."""
from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.dates import check_dates
from engine.deadlines.models import ClockPause
from engine.deadlines.pauses import open_pause
from engine.deadlines.services import DEFAULT_LIMITS, due_for_limit, list_time_limits, workdays_before
from engine.workflow import clock, registry
from engine.workflow.clock import SHANGHAI, end_of_day, local_date


def _limits() -> Collection[str]:
    return {row[0] for row in DEFAULT_LIMITS}


def _paused(session: Session, complaint: Complaint) -> bool:
    return open_pause(session, complaint) is not None


def _paused_workdays(session: Session, complaint: Complaint, since: datetime) -> int:
    """The working days by which the case's pauses that began since `since` (and ended) shifted its deadlines."""
    shifted = session.scalars(select(ClockPause.shifted_workdays).where(
        ClockPause.complaint_id == complaint.id, ClockPause.paused_at >= since, ClockPause.resumed_at.is_not(None)))
    return sum(n or 0 for n in shifted)


def expression_helpers(session: Session | None, now: Callable[[], datetime] | None = None,
                       calendar: WorkCalendar | None = None) -> dict[str, Callable[..., str]]:
    """The deadline helpers a diagram's expressions may call (sandbox.STEP_HELPERS), counting with the one
    working-day calendar.

    In a step `now` gives the step's moment and `session` is its session (entered holiday years and time limits
    count); outside a step the clock's now is read at each call, and without a session there is no time limit to
    name and no entered year.
    """
    cal = calendar or WorkCalendar(session)
    moment = now or clock.now

    def workdays(n: int) -> str:
        return end_of_day(cal.add_workdays(local_date(moment()), n)[0]).isoformat()

    def calendar_days(n: int) -> str:
        return end_of_day(local_date(moment()) + timedelta(days=int(n))).isoformat()

    def today() -> str:
        return local_date(moment()).isoformat()

    def end_of(day: str) -> str:
        return end_of_day(date.fromisoformat(str(day)[:10])).isoformat()

    def before(day: str, n: int) -> str:
        due = end_of_day(date.fromisoformat(str(day)[:10]))
        return max(cal.workdays_before(due, n), moment()).isoformat()

    def after(day: str, n: int) -> str:
        return end_of_day(cal.add_workdays(_local_day(day), n)[0]).isoformat()

    helpers = {"workdays": workdays, "calendar_days": calendar_days, "today": today, "end_of": end_of,
               "before": before, "after": after}
    if session is None:
        return helpers

    def limit(key: str) -> str:
        return due_for_limit(session, key, moment(), cal).at.isoformat()

    def reminder(key: str, n: int) -> str:
        due = due_for_limit(session, key, moment(), cal).at
        return max(cal.workdays_before(due, n), moment()).isoformat()

    return {**helpers, "limit": limit, "reminder": reminder}


def _local_day(value: str) -> date:
    """The date in Yunnan of an ISO date or date-time (`limit("verify")` is UTC; `2026-05-01` a plain date)."""
    text = str(value)
    if len(text) <= 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)).astimezone(SHANGHAI).date()


registry.timing(registry.Timing(
    calendar=WorkCalendar, due_for_limit=due_for_limit, workdays_before=workdays_before, check_dates=check_dates,
    limits=_limits, time_limits=list_time_limits, paused=_paused, paused_workdays=_paused_workdays,
    helpers=expression_helpers))
