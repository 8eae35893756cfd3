"""A timer of the case and an official's submission at the same moment (issue 18.14), through HTTP.

The scheduler's step is made to land between the official's request reading the case and saving it: a test hook
runs the tick (its own session and connection, as the scheduler process would) when the request validates the form.
A reminder (non-interrupting) → the submission is run again and succeeds; a deadline that withdraws the task → the
official is told so; an official's change in between → 「该案件刚刚已被他人办理」 as before.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.cases.models import CaseEvent
from engine.db import as_utc
from engine.deadlines.pauses import pause_clock
from engine.org.models import Official
from engine.workflow import clock, instances
from engine.workflow import jobs as workflow_jobs
from engine.workflow.models import HumanTask, ProcessInstance
from tests.processes.conftest import ComplaintRun
from web.completion import WITHDRAWN_BY_TIMER

VERIFY = {"outcome": "founded", "explanation": "经核实，扶持资金确未兑现"}


@pytest.fixture
def meanwhile(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Callable[[], None]]]:
    """Actions to run once, in their own session, after the request has read the case and before it saves."""
    pending: list[Callable[[], None]] = []
    validate = instances.validate_form

    def validate_then_interleave(schema: dict, data: dict) -> dict:
        while pending:
            pending.pop(0)()
        return validate(schema, data)

    monkeypatch.setattr(instances, "validate_form", validate_then_interleave)
    yield pending
    assert not pending, "the interleaved action never ran"


def tick_at(db_engine: Engine, moment: object) -> Callable[[], None]:
    def run() -> None:
        with Session(db_engine) as other:  # the scheduler process
            assert workflow_jobs.tick(other, now=moment) == 1

    return run


def events(session: Session, complaint_id: int, kind: str) -> list[CaseEvent]:
    session.expire_all()
    return list(session.scalars(select(CaseEvent).where(CaseEvent.complaint_id == complaint_id,
                                                        CaseEvent.kind == kind).order_by(CaseEvent.id)))


def at_verify(session: Session, official: Callable[[str], Official]) -> tuple[ComplaintRun, HumanTask]:
    run = ComplaintRun(session, official, False)
    run.register()
    run.complete("screening", "intake", {"accepted": True})
    return run, run.task("verify", "km-commerce")


def test_a_reminder_at_the_same_moment_does_not_refuse_the_completion(
        api, session: Session, official: Callable[[str], Official], db_engine: Engine,
        meanwhile: list[Callable[[], None]]) -> None:
    run, verify = at_verify(session, official)
    instance = session.get(ProcessInstance, verify.instance_id)
    version = instance.lock_version
    moment = as_utc(verify.due_at) - timedelta(days=1)  # the reminder (3 working days before) is due, the deadline not
    assert as_utc(instance.next_timer_at) <= moment
    meanwhile.append(tick_at(db_engine, moment))

    with clock.frozen_at(moment):
        response = api("km-commerce").post(f"/api/v1/tasks/{verify.id}/complete", json=VERIFY)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["completed_at"] is not None
    complaint_id = run.complaint.id
    assert len(events(session, complaint_id, "reminder")) == 1  # the timer's step stands
    assert [e.data["task"] for e in events(session, complaint_id, "task_completed")] == ["screening", "verify"]
    session.expire_all()
    assert session.get(ProcessInstance, verify.instance_id).lock_version == version + 2  # timer, then the official
    assert session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.instance_id == verify.instance_id, HumanTask.spec_name == "order_rectification",
        HumanTask.completed_at.is_(None))) == 1


def test_a_deadline_that_withdraws_the_task_is_named(
        client, login, session: Session, official: Callable[[str], Official], db_engine: Engine,
        meanwhile: list[Callable[[], None]]) -> None:
    run, verify = at_verify(session, official)
    run.complete("verify", "km-commerce", VERIFY)
    run.complete("order_rectification", "km-commerce", {"deadline": "2026-04-30", "requirements": "兑现扶持资金"})
    report = run.task("report_rectification", "guandu-commerce")
    moment = as_utc(report.due_at) + timedelta(minutes=1)  # the rectification deadline has just passed
    meanwhile.append(tick_at(db_engine, moment))
    login("guandu-commerce")

    with clock.frozen_at(moment):
        response = client.post(f"/tasks/{report.id}", data={"completed": "true", "measures": "已拨付"},
                               follow_redirects=True)

    assert WITHDRAWN_BY_TIMER in response.get_data(as_text=True)
    assert "该案件刚刚已被他人办理" not in response.get_data(as_text=True)
    session.expire_all()
    withdrawn = session.get(HumanTask, report.id)
    assert (withdrawn.outcome, withdrawn.completed_by_id) == ("withdrawn", None)  # the submission was not saved
    assert "report_rectification" not in [e.data["task"] for e in events(session, run.complaint.id, "task_completed")]


def test_an_officials_change_at_the_same_moment_is_reported_as_such(
        api, session: Session, official: Callable[[str], Official], db_engine: Engine,
        meanwhile: list[Callable[[], None]]) -> None:
    run, verify = at_verify(session, official)
    moment = as_utc(verify.created_at) + timedelta(hours=1)  # no timer is due

    def colleague_pauses() -> None:
        with Session(db_engine) as other:
            from engine.cases.models import Complaint

            actor = other.scalar(select(Official).where(Official.username == "km-commerce-lead"))
            pause_clock(other, other.get(Complaint, run.complaint.id), actor, "等待投诉人补正材料", now=moment)
            other.commit()

    meanwhile.append(colleague_pauses)
    with clock.frozen_at(moment):
        response = api("km-commerce").post(f"/api/v1/tasks/{verify.id}/complete", json=VERIFY)

    assert response.status_code == 409
    assert response.get_json()["message"] == "该案件刚刚已被他人办理，您的提交未保存，请刷新后查看最新状态"
    session.expire_all()
    assert session.get(HumanTask, verify.id).completed_at is None
