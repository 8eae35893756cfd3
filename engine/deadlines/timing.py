"""How the workflow runtime counts due times: the working-day calendar, the configured time limits, a form's dates
and the case's clock pauses, registered with engine/workflow/registry.py: `timing`."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.deadlines.dates import check_dates
from engine.deadlines.models import ClockPause
from engine.deadlines.pauses import open_pause
from engine.deadlines.services import (
    DEFAULT_LIMITS,
    WorkCalendar,
    due_for_limit,
    list_time_limits,
    workdays_before,
)
from engine.workflow import registry


def _limits() -> Collection[str]:
    return {row[0] for row in DEFAULT_LIMITS}


def _paused(session: Session, complaint: Complaint) -> bool:
    return open_pause(session, complaint) is not None


def _paused_workdays(session: Session, complaint: Complaint, since: datetime) -> int:
    """The working days by which the case's pauses that began since `since` (and ended) shifted its deadlines."""
    shifted = session.scalars(select(ClockPause.shifted_workdays).where(
        ClockPause.complaint_id == complaint.id, ClockPause.paused_at >= since, ClockPause.resumed_at.is_not(None)))
    return sum(n or 0 for n in shifted)


registry.timing(registry.Timing(
    calendar=WorkCalendar, due_for_limit=due_for_limit, workdays_before=workdays_before, check_dates=check_dates,
    limits=_limits, time_limits=list_time_limits, paused=_paused, paused_workdays=_paused_workdays))
