"""What happens without an official's click is audited too: timers, clock pauses, credit actions, deployments.

Each walk runs plain and through a save/restore round trip; the chain verifies at the end of each.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import services as audit
from engine.audit.models import AuditEvent
from engine.credit import services as credit
from engine.deadlines.pauses import pause_clock, resume_clock
from engine.workflow import jobs as workflow_jobs
from engine.workflow import specs, timers
from tests.conftest import PROCESSES
from tests.processes.conftest import ComplaintRun
from tests.processes.test_complaint import accept
from tests.processes.test_credit import apply, confirmed

RunComplaint = Callable[..., ComplaintRun]
save_restore = pytest.mark.parametrize("save_restore", [False, True])


def events(session: Session, action: str, complaint_id: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if complaint_id is not None:
        query = query.where(AuditEvent.complaint_id == complaint_id)
    return list(session.scalars(query))


def assert_chain_ok(session: Session) -> None:
    ok, broken, message = audit.verify_chain(session)
    assert ok, (broken, message)


@save_restore
def test_timers_firing_are_audited_with_the_instance_before_and_after(run_complaint: RunComplaint,
                                                                      save_restore: bool) -> None:
    run = run_complaint(save_restore)
    accept(run)
    instance = run.instance()
    due = instance.next_timer_at
    assert due is not None  # verification has its reminder and escalation timers
    assert workflow_jobs.tick(run.session, now=run.now + timedelta(days=60)) == 1
    [fired] = events(run.session, "timer_fired", run.complaint.id)
    assert fired.actor_id is None
    assert fired.actor_label == timers.SCHEDULER
    assert (fired.object_type, fired.object_id) == ("process_instance", str(instance.id))
    assert fired.before["status"] == "running"
    assert fired.before["next_timer_at"].startswith(due.isoformat()[:16])
    assert fired.after["status"] == "running"
    assert workflow_jobs.tick(run.session, now=run.now + timedelta(days=60)) == 0  # nothing more due: nothing recorded
    assert len(events(run.session, "timer_fired", run.complaint.id)) == 1
    assert_chain_ok(run.session)


@save_restore
def test_clock_pauses_and_resumes_are_audited(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    accept(run)
    ndrc = run.official("ndrc")
    pause_clock(run.session, run.complaint, ndrc, "等待投诉人补正材料", now=run._tick())
    run.session.commit()
    resume_clock(run.session, run.complaint, ndrc, now=run.now + timedelta(days=7))
    run.session.commit()
    [paused] = events(run.session, "clock_paused", run.complaint.id)
    [resumed] = events(run.session, "clock_resumed", run.complaint.id)
    assert paused.actor_id == resumed.actor_id == ndrc.id
    assert paused.after["reason"] == "等待投诉人补正材料"
    assert (paused.before, resumed.after["status"]) == ({"status": "running"}, "running")
    assert resumed.after["shifted_workdays"] == 5  # a week of working days no longer counts
    assert_chain_ok(run.session)


@save_restore
def test_credit_actions_are_audited(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    record = confirmed(run)
    [created] = events(run.session, "breach_record_created", run.complaint.id)
    assert created.actor_label == "系统（流程）"  # the service operation of the confirming task
    [confirming] = [e for e in events(run.session, "task_completed", run.complaint.id)
                    if e.after["task"] == "confirm_breach_task"]
    assert confirming.actor_label.startswith("km-commerce ")  # who confirmed it, in the same transaction
    assert created.after == {"version": 1, "status": "draft", "severity": "serious",
                             "document_number": "昆商认〔2026〕3号", "active_measures": []}
    [published] = events(run.session, "breach_record_published", run.complaint.id)  # by the DRC at 复核
    assert published.actor_id == run.official("ndrc").id
    assert (published.before, published.after["status"]) == ({"version": 1, "status": "draft"}, "active")
    assert published.after["version"] == 1  # the first version the platforms receive

    apply(run, record, "public_criticism", "云发改信用〔2026〕30号", until="2026-12-31")
    [applied] = events(run.session, "measure_applied", run.complaint.id)
    assert applied.actor_id == run.official("ndrc").id
    assert (applied.before, applied.after["version"]) == ({"version": 1}, 2)
    assert applied.after["active_measures"] == ["public_criticism"]

    credit.save_measure_type(run.session, run.official("ndrc"), "public_criticism", "公开通报批评（修订）", "local")
    run.session.commit()
    [saved] = events(run.session, "measure_type_saved")
    assert saved.before["name"] == "公开通报批评"
    assert saved.after["name"] == "公开通报批评（修订）"
    assert_chain_ok(run.session)


def test_deploying_a_process_version_is_audited(session: Session) -> None:
    bundle = specs.bundle_from_directory(PROCESSES / "complaint.bpmn")
    changed = specs.Bundle(bundle.bpmn_xml.replace("</bpmn:definitions>", "<!-- 审计测试 --></bpmn:definitions>"),
                           dmn=bundle.dmn, forms=bundle.forms)
    model = specs.deploy(session, changed, deployed_by="procadmin", comment="审计测试")
    session.commit()
    [deployed] = events(session, "process_deployed")
    assert (deployed.actor_label, deployed.object_id) == ("procadmin", str(model.id))
    assert deployed.after == {"key": "complaint", "version": model.version, "sha256": model.sha256,
                              "comment": "审计测试"}
    specs.deploy(session, changed, deployed_by="procadmin")  # the same bundle again: no new version, no event
    assert len(events(session, "process_deployed")) == 1
    assert [e.id for e in audit.search(session, actor="procadmin", action="process_deployed")] == [deployed.id]
    assert_chain_ok(session)
