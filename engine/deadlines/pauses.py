"""Pausing and resuming a case's clock: paused working days do not count towards any of its time limits."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.cases.services import instance_of
from engine.db import as_utc
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.models import ClockPause
from engine.errors import ConflictError, FormInvalid
from engine.org import permissions
from engine.org.models import Official
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI
from engine.workflow.instances import shift_deadlines

logger = logging.getLogger(__name__)


def open_pause(session: Session, complaint: Complaint) -> ClockPause | None:
    return session.scalar(select(ClockPause).where(
        ClockPause.complaint_id == complaint.id, ClockPause.resumed_at.is_(None)))


def pauses(session: Session, complaint: Complaint) -> list[ClockPause]:
    return list(session.scalars(select(ClockPause).where(ClockPause.complaint_id == complaint.id)
                                .order_by(ClockPause.paused_at)))


def pause_clock(session: Session, complaint: Complaint, actor: Official, reason: str,
                now: datetime | None = None) -> ClockPause:
    """Stop the case's clock (timers do not fire while paused); the history records it."""
    _ensure_may_pause(session, complaint, actor)
    if not reason.strip():
        raise FormInvalid({"reason": "请填写暂停计时的原因（例如：等待投诉人补正材料）"})
    if open_pause(session, complaint) is not None:
        raise ConflictError("该案件已在暂停计时中")
    instance = instance_of(session, complaint)
    if instance is None or instance.status != "running":
        raise ConflictError("该案件当前不在办理中，无法暂停计时")
    moment = as_utc(now) or clock.now()
    pause = ClockPause(complaint_id=complaint.id, reason=reason.strip()[:2000], paused_at=moment,
                       paused_by=actor.label)
    instance.status = "paused"
    session.add_all([pause, CaseEvent(complaint_id=complaint.id, at=moment, actor_id=actor.id,
                                      actor_label=actor.label, kind="clock_paused",
                                      summary=f"暂停计时：{pause.reason}")])
    session.flush()
    audit(session, "clock_paused", actor, "complaint", complaint.id, complaint_id=complaint.id,
          before={"status": "running"}, after={"status": "paused", "reason": pause.reason, "pause_id": pause.id})
    logger.info("%s paused the clock of complaint %s", actor.username, complaint.id)
    return pause


def resume_clock(session: Session, complaint: Complaint, actor: Official, now: datetime | None = None) -> ClockPause:
    """Restart the clock; every pending deadline and timer moves later by the working days paused."""
    _ensure_may_pause(session, complaint, actor)
    pause = open_pause(session, complaint)
    if pause is None:
        raise ConflictError("该案件没有处于暂停状态的计时")
    moment = as_utc(now) or clock.now()
    paused = _workdays_between(WorkCalendar(session), as_utc(pause.paused_at), moment)
    instance = instance_of(session, complaint)
    instance.status = "running"
    shift_deadlines(session, instance, paused, moment, since=as_utc(pause.paused_at))
    pause.resumed_at, pause.resumed_by, pause.shifted_workdays = moment, actor.label, paused
    session.add(CaseEvent(complaint_id=complaint.id, at=moment, actor_id=actor.id, actor_label=actor.label,
                          kind="clock_resumed",
                          summary=f"恢复计时：暂停期间 {paused} 个工作日不计入期限，各期限相应顺延"))
    session.flush()
    audit(session, "clock_resumed", actor, "complaint", complaint.id, complaint_id=complaint.id,
          before={"status": "paused", "paused_at": pause.paused_at},
          after={"status": instance.status, "pause_id": pause.id, "shifted_workdays": paused})
    logger.info("%s resumed the clock of complaint %s (+%s workdays)", actor.username, complaint.id, paused)
    return pause


def _workdays_between(cal: WorkCalendar, start: datetime, end: datetime) -> int:
    """Working days from the day of `start` up to, not including, the day of `end` (Yunnan dates)."""
    day_before = timedelta(days=1)
    return cal.workdays_after(start.astimezone(SHANGHAI).date() - day_before, end.astimezone(SHANGHAI).date() - day_before)


def _ensure_may_pause(session: Session, complaint: Complaint, actor: Official) -> None:
    permissions.require(actor, permissions.PAUSE_CLOCK, complaint)
