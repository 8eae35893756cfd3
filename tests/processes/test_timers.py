"""Timers in complaint.bpmn: reminders, 挂牌督办 of overdue verification, overdue rectification, catch-up.

Time is injected through `now=`; nothing sleeps. Each test runs plain and through a save/restore round trip.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import CaseEvent, Complaint
from engine.cases.services import open_tasks, register_complaint
from engine.db import as_utc
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.services import enter_year
from engine.notify.models import Notification
from engine.notify.services import unread_count
from engine.workflow import clock, serializer, specs
from engine.workflow import jobs as workflow_jobs
from engine.workflow.instances import complete_task, load_workflow
from engine.workflow.models import ProcessInstance
from tests.conftest import COMPLAINT

# Monday 2026-09-14 09:00 in Yunnan
T0 = datetime(2026, 9, 14, 1, 0, tzinfo=UTC)


def _round_trip(session: Session, complaint: Complaint, save_restore: bool) -> None:
    if not save_restore:
        return
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.subject_id == complaint.id))
    specs._SPEC_CACHE.clear()
    state = serializer.dump_workflow(load_workflow(instance))
    assert state == serializer.dump_workflow(load_workflow(instance))
    instance.state = state
    session.commit()


def _to_verify(session: Session, official, save_restore: bool) -> Complaint:  # noqa: ANN001
    complaint, _ = register_complaint(session, dict(COMPLAINT), official("intake"), now=T0)
    session.commit()
    _round_trip(session, complaint, save_restore)
    (screening,) = open_tasks(session, complaint)
    complete_task(session, screening.id, {"accepted": True}, official("intake"), now=T0)
    session.commit()
    _round_trip(session, complaint, save_restore)
    return complaint


def _events(session: Session, complaint: Complaint, kind: str) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.complaint_id == complaint.id,
                                                        CaseEvent.kind == kind)))


@pytest.mark.parametrize("save_restore", [False, True])
def test_verify_reminder_then_supervision_keeps_the_task(session: Session, official, save_restore: bool) -> None:  # noqa: ANN001
    complaint = _to_verify(session, official, save_restore)
    (verify,) = open_tasks(session, complaint)
    # 15 working days from Mon 2026-09-14 cross Mid-Autumn and National Day (Sep 25 and Oct 1–7 off,
    # Sunday Sep 20 and Saturday Oct 10 are make-up working days): due at the end of Saturday Oct 10 in Yunnan
    assert as_utc(verify.due_at) == datetime(2026, 10, 10, 15, 59, 59, tzinfo=UTC)
    assert "15个工作日" in verify.due_basis
    assert not verify.due_provisional

    assert workflow_jobs.tick(session, now=T0 + timedelta(days=3)) == 0
    fired = workflow_jobs.tick(session, now=datetime(2026, 10, 9, 2, tzinfo=UTC))  # after the reminder, before the limit
    assert fired == 1
    assert len(_events(session, complaint, "reminder")) == 1
    _round_trip(session, complaint, save_restore)
    assert workflow_jobs.tick(session, now=datetime(2026, 10, 14, 2, tzinfo=UTC)) == 1  # past the limit
    session.expire_all()
    assert session.get(Complaint, complaint.id).supervised_at is not None
    assert len(_events(session, complaint, "supervision")) == 1
    assert unread_count(session, official("ndrc")) >= 1
    assert unread_count(session, official("km-commerce-lead")) >= 1  # the supervisor's leadership
    assert unread_count(session, official("km-commerce")) >= 1  # the reminder went to the department
    notices = session.scalars(select(Notification).where(Notification.complaint_id == complaint.id)).all()
    assert {n.kind for n in notices} == {"reminder", "escalation"}
    # non-interrupting: verification is still open and can be completed
    (still,) = open_tasks(session, complaint)
    assert still.id == verify.id
    complete_task(session, still.id, {"outcome": "founded", "explanation": "属实"}, official("km-commerce"),
                  now=datetime(2026, 10, 15, 2, tzinfo=UTC))
    session.commit()
    assert [t.spec_name for t in open_tasks(session, complaint)] == ["order_rectification"]


@pytest.mark.parametrize("save_restore", [False, True])
def test_overdue_rectification_leads_to_confirming_the_breach(session: Session, official, save_restore: bool) -> None:  # noqa: ANN001
    complaint = _to_verify(session, official, save_restore)
    (verify,) = open_tasks(session, complaint)
    complete_task(session, verify.id, {"outcome": "founded", "explanation": "属实"}, official("km-commerce"), now=T0)
    (order,) = open_tasks(session, complaint)
    complete_task(session, order.id, {"deadline": "2026-10-20", "requirements": "兑现"}, official("km-commerce"),
                  now=T0)
    session.commit()
    _round_trip(session, complaint, save_restore)
    (report,) = open_tasks(session, complaint)
    assert report.spec_name == "report_rectification"
    # downtime: the scheduler comes back long after both the reminder and the deadline
    late = datetime(2026, 11, 2, 1, tzinfo=UTC)
    while workflow_jobs.tick(session, now=late):
        pass
    session.expire_all()
    tasks = open_tasks(session, complaint)
    assert [t.spec_name for t in tasks] == ["confirm_breach_task"]
    assert tasks[0].department.code == "km-commerce"
    assert session.get(type(report), report.id).outcome == "withdrawn"
    late_notes = _events(session, complaint, "timer_late")
    assert late_notes
    assert "延迟触发" in late_notes[0].summary


def test_idle_tick_does_nothing(session: Session) -> None:
    assert workflow_jobs.tick(session, now=T0) == 0


def test_year_without_schedule_is_provisional_until_entered(session: Session, official) -> None:  # noqa: ANN001
    start = datetime(2026, 12, 20, 2, tzinfo=UTC)
    complaint, _ = register_complaint(session, dict(COMPLAINT), official("intake"), now=start)
    session.commit()
    (screening,) = open_tasks(session, complaint)
    complete_task(session, screening.id, {"accepted": True}, official("intake"), now=start)
    session.commit()
    (verify,) = open_tasks(session, complaint)
    assert verify.due_provisional
    assert "2027年节假日安排尚未录入" in verify.due_basis
    # once 2027 is entered, new deadlines follow it (New Year's Day holiday on Friday 2027-01-01)
    cal = WorkCalendar(session)
    assert cal.add_workdays(date(2026, 12, 31), 1) == (date(2027, 1, 1), True)
    enter_year(session, 2027, [(date(2027, 1, 1), False, "元旦")], actor="test")
    cal = WorkCalendar(session)
    assert cal.add_workdays(date(2026, 12, 31), 1) == (date(2027, 1, 4), False)
    session.rollback()


def test_a_diagrams_workdays_counts_the_holiday_years_administrators_enter(session: Session) -> None:
    """`workdays(n)` in a diagram's expressions (once a static table in sandbox.py that knew only chinesecalendar's
    years) counts with the one calendar, entered years included: in a step and in a scenario's run alike."""
    from engine.deadlines.calendar import is_statutory_year
    from engine.workflow.instances import _script_engine
    from engine.workflow.registry import StepContext
    from engine.workflow.sandbox import SandboxEnvironment

    if is_statutory_year(2031):
        pytest.skip("chinesecalendar now carries the 2031 schedule; this test is about a year entered by hand")
    start = datetime(2030, 12, 31, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Yunnan

    def workdays_1() -> str:
        return _script_engine(StepContext(session, None, None, start)).environment.evaluate("workdays(1)", {})

    assert workdays_1() == "2031-01-01T15:59:59+00:00"  # no schedule yet: Wednesday 1 January, Monday–Friday
    enter_year(session, 2031, [(date(2031, 1, 1), False, "元旦")], actor="test")
    assert workdays_1() == "2031-01-02T15:59:59+00:00"  # New Year's Day entered as a holiday
    with clock.frozen_at(start):  # outside a step, with no session, no entered year is known
        assert SandboxEnvironment().evaluate("workdays(1)", {}) == "2031-01-01T15:59:59+00:00"
    session.rollback()


@pytest.mark.parametrize("save_restore", [False, True])
def test_paused_working_days_do_not_count(session: Session, official, save_restore: bool) -> None:  # noqa: ANN001
    from engine.deadlines.pauses import pause_clock, pauses, resume_clock
    from engine.errors import PermissionDenied

    complaint = _to_verify(session, official, save_restore)
    (verify,) = open_tasks(session, complaint)
    due_before = as_utc(verify.due_at)  # end of Sat 2026-10-10
    with pytest.raises(PermissionDenied):
        pause_clock(session, complaint, official("guandu-commerce"), "补正", now=T0)
    # paused Mon 2026-09-14 09:00 → resumed Mon 2026-09-21: Sep 14–18 and Sunday make-up Sep 20 = 6 working days
    pause_clock(session, complaint, official("km-commerce"), "等待投诉人补正合同原件", now=T0)
    session.commit()
    # while paused, nothing fires even long after the reminder would have
    assert workflow_jobs.tick(session, now=datetime(2026, 10, 12, 2, tzinfo=UTC)) == 0
    _round_trip(session, complaint, save_restore)
    resume_clock(session, complaint, official("km-commerce"), now=datetime(2026, 9, 21, 1, tzinfo=UTC))
    session.commit()
    (verify,) = open_tasks(session, complaint)
    # Oct 10 + 6 working days: Oct 12, 13, 14, 15, 16, 19
    assert as_utc(verify.due_at) == datetime(2026, 10, 19, 15, 59, 59, tzinfo=UTC)
    assert as_utc(verify.due_at) > due_before
    (pause,) = pauses(session, complaint)
    assert pause.shifted_workdays == 6
    kinds = [e.kind for e in session.scalars(select(CaseEvent).where(CaseEvent.complaint_id == complaint.id))]
    assert "clock_paused" in kinds
    assert "clock_resumed" in kinds
    # the reminder moved too: 3 working days before Oct 19 is Oct 14
    assert workflow_jobs.tick(session, now=datetime(2026, 10, 14, 2, tzinfo=UTC)) == 0
    assert workflow_jobs.tick(session, now=datetime(2026, 10, 14, 17, tzinfo=UTC)) == 1
    assert len(_events(session, complaint, "reminder")) == 1
