"""The scheduler's jobs come from the engine's registry, and the steps of one job are isolated: a step that raises
is logged and rolled back, and the other steps of the same tick still run."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import jobs
from engine.audit.models import AuditEvent
from engine.oversight import jobs as oversight_jobs
from engine.workflow import jobs as workflow_jobs
from engine.workflow.models import ProcessInstance
from tests.processes.conftest import ComplaintRun
from tests.processes.test_complaint import accept


def test_the_timer_tick_is_three_registered_steps_in_order() -> None:
    assert [step.label for step in jobs.steps("timer-tick")] == [
        "timer-tick/start-timers", "timer-tick/bulletins", "timer-tick/timers"]
    assert {step.every for step in jobs.steps("timer-tick")} == {"SCHEDULER_INTERVAL_SECONDS"}
    assert jobs.steps("audit-seal")[0].every == "AUDIT_SEAL_SECONDS"
    with pytest.raises(KeyError):
        jobs.steps("no-such-job")


@pytest.mark.parametrize("broken", ["start_due_processes", "generate_pending"])
def test_a_failing_step_is_logged_and_rolled_back_and_the_tick_goes_on(
        broken: str, session: Session, official, make_app,  # noqa: ANN001
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    run = ComplaintRun(session, official, False)
    run.register()
    accept(run)  # the verification's reminders fell due long ago (the case is from March 2026)
    due = run.instance().next_timer_at
    assert due is not None
    session.commit()

    def fail(session: Session, *args: object, **kwargs: object) -> int:
        session.execute(update(ProcessInstance).values(error="half-written"))  # rolled back with the failure
        raise RuntimeError(f"{broken} broke")

    module = workflow_jobs if broken == "start_due_processes" else oversight_jobs
    monkeypatch.setattr(module, broken, fail)
    from web.scheduler import run_job

    step = "start-timers" if broken == "start_due_processes" else "bulletins"
    assert run_job(make_app(), "timer-tick") == [f"timer-tick/{step}"]
    assert f"scheduler job timer-tick/{step} failed; the other jobs go on" in caplog.text
    assert f"{broken} broke" in caplog.text
    session.expire_all()
    assert run.instance().next_timer_at != due  # the timers step ran after the failing one, in the same tick
    assert session.scalar(select(func.count()).where(AuditEvent.action == "timer_fired")) >= 1
    assert session.scalar(select(func.count()).where(ProcessInstance.error == "half-written")) == 0


def test_a_failing_last_step_leaves_the_earlier_steps_committed(session: Session, official, make_app,  # noqa: ANN001
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []
    monkeypatch.setattr(workflow_jobs, "start_due_processes", lambda session: ran.append("start-timers") or 0)
    monkeypatch.setattr(oversight_jobs, "generate_pending", lambda session: ran.append("bulletins") or 0)

    def fail(session: Session, *args: object, **kwargs: object) -> int:
        raise RuntimeError("the timers broke")

    monkeypatch.setattr(workflow_jobs, "tick", fail)
    from web.scheduler import run_job

    assert run_job(make_app(), "timer-tick") == ["timer-tick/timers"]
    assert ran == ["start-timers", "bulletins"]
    assert "scheduler job timer-tick/timers failed" in caplog.text
