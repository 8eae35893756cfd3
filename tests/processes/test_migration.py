"""Migrating running cases between versions: preview (refusals explained), migrate, history, timers kept."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from engine.cases.services import open_tasks
from engine.db import as_utc
from engine.errors import ConflictError
from engine.org.models import Official
from engine.workflow import jobs as workflow_jobs
from engine.workflow import migration, specs
from engine.workflow.models import HumanTask
from tests.processes.conftest import ComplaintRun
from tests.processes.variants import with_legal_review

VERIFY = {"outcome": "unfounded", "explanation": "协议已履行完毕"}


def accept(run: ComplaintRun) -> None:
    run.complete("screening", "intake", {"accepted": True, "remarks": "属于受理范围"})


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_case_at_verify_moves_to_the_version_with_legal_review(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun],
        save_restore: bool) -> None:
    v1 = specs.latest(session, "complaint")
    at_verify = run_complaint(save_restore)
    accept(at_verify)
    due_before = open_tasks(session, at_verify.complaint)[0].due_at
    timer_before = at_verify.instance().next_timer_at
    stays = run_complaint(save_restore)
    v2 = specs.deploy(session, with_legal_review(), deployed_by="procadmin", comment="增加法律审核")
    session.commit()

    verdicts = migration.preview(session, v1.id, v2.id, [at_verify.instance().id], now=at_verify.now)
    assert [(v.can_migrate, v.current) for v in verdicts] == [(True, ["核实认定"] + verdicts[0].current[1:])]
    assert at_verify.instance().model_id == v1.id  # a preview stores nothing

    done = workflow_jobs.migrate(session, v1.id, v2.id, [at_verify.instance().id], official("procadmin"),
                             now=at_verify.now)
    assert [v.can_migrate for v in done] == [True]
    instance = at_verify.instance()
    session.refresh(instance)
    assert instance.model_id == v2.id
    assert as_utc(instance.next_timer_at) == as_utc(timer_before)  # deadlines are not restarted by the migration
    [verify] = open_tasks(session, at_verify.complaint)
    assert (verify.spec_name, as_utc(verify.due_at)) == ("verify", as_utc(due_before))
    assert [e.summary for e in at_verify.events("process_migrated")] == [f"流程版本迁移：v{v1.version} → v{v2.version}"]
    at_verify._after_step()

    at_verify.complete("verify", "km-commerce", VERIFY)
    at_verify.complete("legal_review", "ndrc", {"opinion": "同意"})
    at_verify.assert_closed("unfounded")

    assert stays.instance().model_id == v1.id  # not selected: untouched
    accept(stays)
    stays.complete("verify", "km-commerce", VERIFY)
    stays.assert_closed("unfounded")


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_case_at_a_task_missing_from_the_target_is_refused_and_untouched(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun],
        save_restore: bool) -> None:
    v1 = specs.latest(session, "complaint")
    v2 = specs.deploy(session, with_legal_review(), deployed_by="procadmin", comment="增加法律审核")
    session.commit()
    at_legal = run_complaint(save_restore)
    accept(at_legal)
    at_legal.complete("verify", "km-commerce", VERIFY)
    at_screening = run_complaint(save_restore)
    assert at_legal.instance().model_id == v2.id
    state_before = at_legal.instance().state

    ids = [at_legal.instance().id, at_screening.instance().id]
    verdicts = {v.instance_id: v for v in migration.preview(session, v2.id, v1.id, ids, now=at_legal.now)}
    refused = verdicts[at_legal.instance().id]
    assert not refused.can_migrate
    assert "当前步骤「法律审核」在目标版本中不存在" in refused.reason
    assert verdicts[at_screening.instance().id].can_migrate

    results = {v.instance_id: v for v in workflow_jobs.migrate(session, v2.id, v1.id, None, official("procadmin"),
                                                                       now=at_legal.now)}
    assert not results[at_legal.instance().id].can_migrate
    assert results[at_screening.instance().id].can_migrate
    assert at_legal.instance().model_id == v2.id
    assert at_legal.instance().state == state_before
    assert at_legal.events("process_migrated") == []
    assert at_screening.instance().model_id == v1.id
    at_screening._after_step()
    accept(at_screening)
    at_screening.complete("verify", "km-commerce", VERIFY)
    at_screening.assert_closed("unfounded")
    at_legal.complete("legal_review", "ndrc", {"opinion": "同意"})
    at_legal.assert_closed("unfounded")


def test_versions_of_different_processes_cannot_be_mixed(session: Session) -> None:
    with pytest.raises(ConflictError):
        migration.preview(session, specs.latest(session, "complaint").id, specs.latest(session, "measures").id)


def test_suspend_blocks_completion_until_resumed(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun]) -> None:
    from engine.errors import TaskNotReady
    from engine.workflow import repair
    from engine.workflow.instances import claim_task, complete_task

    run = run_complaint(False)
    task = run.task("screening", "intake")
    claim_task(session, task.id, official("intake"))
    admin = official("procadmin")
    repair.suspend(session, run.instance().id, admin, "核查数据异常", now=run.now)
    session.commit()
    assert session.get(HumanTask, task.id).claimed_by_id is None
    with pytest.raises(TaskNotReady, match="挂起"):
        complete_task(session, task.id, {"accepted": True}, official("intake"), now=run.now)
    session.rollback()
    repair.resume(session, run.instance().id, admin, "核查完毕", now=run.now)
    session.commit()
    assert run.instance().status == "running"
    kinds = [(e.kind, e.data["before"], e.data["after"]) for e in run.events("instance_suspended")
             + run.events("instance_resumed")]
    assert kinds == [("instance_suspended", "running", "suspended"), ("instance_resumed", "suspended", "running")]
    accept(run)


# --- boundary timers re-armed as the target version defines them ---------------------------------------------

def titles_notified(run: ComplaintRun) -> list[str]:
    from sqlalchemy import select

    from engine.notify.models import Notification

    return list(run.session.scalars(select(Notification.title).where(
        Notification.complaint_id == run.complaint.id).order_by(Notification.id)))


def at_verify(run_complaint: Callable[..., ComplaintRun], save_restore: bool) -> tuple[ComplaintRun, HumanTask]:
    run = run_complaint(save_restore)
    accept(run)
    [verify] = open_tasks(run.session, run.complaint)
    return run, verify


def move(session: Session, run: ComplaintRun, source: int, target: int, official: Callable[[str], Official]
         ) -> migration.Verdict:
    """Preview one case, then migrate it with the preview's confirmation (as the page and the API do)."""
    [seen] = migration.preview(session, source, target, [run.instance().id], now=run.now)
    assert seen.can_migrate, seen.reason
    [done] = workflow_jobs.migrate(session, source, target, [run.instance().id], official("procadmin"), now=run.now,
                               confirmations=[seen.confirmation])
    assert done.can_migrate, done.reason
    session.refresh(run.instance())
    assert run.instance().model_id == target
    run._after_step()
    return done


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused-before"])
@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_boundary_timer_new_in_the_target_is_armed_from_the_step_start_and_fires(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun],
        save_restore: bool, paused: bool) -> None:
    from datetime import timedelta

    from engine.deadlines.pauses import pause_clock, resume_clock
    from tests.processes.variants import bundled, with_boundary_timer

    v1 = specs.latest(session, "complaint")
    run, verify = at_verify(run_complaint, save_restore)
    if paused:  # two working days stood still: the step's deadlines (and the new timer) move with them
        pause_clock(session, run.complaint, official("km-commerce"), "等待投诉人补正", now=run.now + timedelta(days=1))
        resume_clock(session, run.complaint, official("km-commerce"), now=run.now + timedelta(days=3))
        session.commit()
        session.refresh(verify)
    run.now += timedelta(days=8)  # the case has waited at 核实认定 for a week when the procedure changes
    v2 = specs.deploy(session, with_boundary_timer(bundled(), "verify", "verify_escalate", "核实认定逾期通报",
                                                   'limit("verify")'), deployed_by="procadmin")
    session.commit()

    [seen] = migration.preview(session, v1.id, v2.id, [run.instance().id], now=run.now)
    timers_after = {t.name: t for t in seen.timers}
    added = timers_after["核实认定逾期通报"]
    assert (added.change, added.step, added.late) == ("added", "核实认定", False)
    assert added.due == as_utc(verify.due_at)  # the limit counted from the step's start, not from the move
    assert {timers_after["核实期限届满前3个工作日"].change, timers_after["核实认定逾期"].change} == {"kept"}
    assert run.instance().model_id == v1.id  # a preview stores nothing

    done = move(session, run, v1.id, v2.id, official)
    assert [t.as_dict() for t in done.timers] == [t.as_dict() for t in seen.timers]
    [rearmed] = run.events("timers_rearmed")
    assert "「核实认定」的定时器「核实认定逾期通报」新增" in rearmed.summary
    assert "已过期" not in rearmed.summary

    run.now = as_utc(verify.due_at) + timedelta(minutes=1)
    workflow_jobs.tick(session, now=run.now)
    session.commit()
    run._after_step()
    notified = titles_notified(run)
    assert "核实认定逾期通报" in notified  # the new timer fired, beside the old ones
    assert "核实认定逾期，已挂牌督办" in notified
    run.complete("verify", "km-commerce", VERIFY)
    run.assert_closed("unfounded")


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_step_gaining_its_first_boundary_timer_gets_it_and_a_late_one_fires_with_the_move(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun],
        save_restore: bool) -> None:
    from datetime import timedelta

    from tests.processes.variants import bundled, with_boundary_timer

    v1 = specs.latest(session, "complaint")
    early, late = run_complaint(save_restore), run_complaint(save_restore)
    [screening] = open_tasks(session, late.complaint)
    v2 = specs.deploy(session, with_boundary_timer(bundled(), "screening", "screening_overdue", "受理审查逾期",
                                                   'limit("screen")'), deployed_by="procadmin")
    session.commit()

    done = move(session, early, v1.id, v2.id, official)
    [timer] = done.timers
    [early_screening] = open_tasks(session, early.complaint)
    assert (timer.name, timer.change, timer.due, timer.late) == (
        "受理审查逾期", "added", as_utc(early_screening.due_at), False)
    assert as_utc(early.instance().next_timer_at) == as_utc(early_screening.due_at)
    accept(early)  # the step's new boundary split is in place: completing it goes on (no error)
    assert early.instance().status == "running"
    assert [t.spec_name for t in open_tasks(session, early.complaint)] == ["verify"]

    late.now = as_utc(screening.due_at) + timedelta(days=2)
    [seen] = migration.preview(session, v1.id, v2.id, [late.instance().id], now=late.now)
    assert seen.timers[0].late
    assert "有定时器已到期，迁移时立即触发" in seen.reason
    move(session, late, v1.id, v2.id, official)
    [rearmed] = late.events("timers_rearmed")
    assert "「受理审查」的定时器「受理审查逾期」新增" in rearmed.summary
    assert "迁移时已过期，随迁移立即触发" in rearmed.summary
    assert titles_notified(late) == ["受理审查逾期"]
    assert late.instance().next_timer_at is None
    accept(late)
    assert [t.spec_name for t in open_tasks(session, late.complaint)] == ["verify"]


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_removed_timer_stops_and_a_redefined_one_is_recomputed_from_the_step_start(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun],
        save_restore: bool) -> None:
    from datetime import timedelta

    from engine.deadlines.calendar import WorkCalendar
    from engine.deadlines.services import workdays_before
    from tests.processes.variants import bundled, with_timer_expression, without_boundary_event

    v1 = specs.latest(session, "complaint")
    run, verify = at_verify(run_complaint, save_restore)
    reminder_due = as_utc(run.instance().next_timer_at)
    run.now += timedelta(days=3)
    bundle = with_timer_expression(without_boundary_event(bundled(), "verify_reminder"), "verify_overdue_timer",
                                   'reminder("verify", 1)')
    v2 = specs.deploy(session, bundle, deployed_by="procadmin", comment="只保留逾期前一日的提醒")
    session.commit()

    done = move(session, run, v1.id, v2.id, official)
    by_name = {t.name: t for t in done.timers}
    assert by_name["核实期限届满前3个工作日"].change == "removed"
    redefined = by_name["核实认定逾期"]
    expected = workdays_before(as_utc(verify.due_at), 1, WorkCalendar(session))
    assert (redefined.change, redefined.due) == ("redefined", expected)
    assert as_utc(run.instance().next_timer_at) == expected
    summary = run.events("timers_rearmed")[0].summary
    assert "定时器「核实期限届满前3个工作日」目标版本已删除，不再触发" in summary
    assert "定时器「核实认定逾期」按新定义重新计算" in summary

    run.now = reminder_due + timedelta(minutes=1)
    assert workflow_jobs.tick(session, now=run.now) == 0  # the old reminder's moment passes: nothing left to fire
    run.now = expected + timedelta(minutes=1)
    assert workflow_jobs.tick(session, now=run.now) == 1
    session.commit()
    assert titles_notified(run) == ["核实认定逾期，已挂牌督办", "核实认定逾期，已被挂牌督办"]


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_case_whose_fired_timer_the_target_removes_is_refused_with_labels(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun],
        save_restore: bool) -> None:
    from datetime import timedelta

    from tests.processes.variants import bundled, without_boundary_event

    v1 = specs.latest(session, "complaint")
    run, _ = at_verify(run_complaint, save_restore)
    run.now = as_utc(run.instance().next_timer_at) + timedelta(minutes=1)
    workflow_jobs.tick(session, now=run.now)  # 核实期限届满前3个工作日 has fired
    session.commit()
    run._after_step()
    v2 = specs.deploy(session, without_boundary_event(bundled(), "verify_reminder"), deployed_by="procadmin")
    session.commit()
    state = run.instance().state

    [seen] = migration.preview(session, v1.id, v2.id, [run.instance().id], now=run.now)
    assert not seen.can_migrate
    assert seen.reason == "「核实认定」上已触发的边界事件「核实期限届满前3个工作日」在目标版本中已删除"
    assert (seen.timers, seen.confirmation) == ([], "")
    [done] = workflow_jobs.migrate(session, v1.id, v2.id, [run.instance().id], official("procadmin"), now=run.now)
    assert not done.can_migrate
    assert (run.instance().model_id, run.instance().state) == (v1.id, state)


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_case_stepped_after_its_preview_is_not_moved_until_previewed_again(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun],
        save_restore: bool) -> None:
    v1 = specs.latest(session, "complaint")
    run = run_complaint(save_restore)
    v2 = specs.deploy(session, with_legal_review(), deployed_by="procadmin", comment="增加法律审核")
    session.commit()
    [seen] = migration.preview(session, v1.id, v2.id, [run.instance().id], now=run.now)
    assert seen.can_migrate
    accept(run)  # the case moves on to 核实认定 after the administrator looked

    [stale] = workflow_jobs.migrate(session, v1.id, v2.id, [run.instance().id], official("procadmin"), now=run.now,
                                confirmations=[seen.confirmation])
    assert (stale.can_migrate, stale.reason) == (False, migration.UNCONFIRMED)
    assert run.instance().model_id == v1.id
    [unconfirmed] = workflow_jobs.migrate(session, v1.id, v2.id, [run.instance().id], official("procadmin"),
                                      now=run.now, confirmations=[])
    assert unconfirmed.reason == migration.UNCONFIRMED
    move(session, run, v1.id, v2.id, official)
    run.complete("verify", "km-commerce", VERIFY)
    run.complete("legal_review", "ndrc", {"opinion": "同意"})
    run.assert_closed("unfounded")


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_step_losing_all_its_boundary_timers_goes_on_without_them(
        session: Session, official: Callable[[str], Official], run_complaint: Callable[..., ComplaintRun],
        save_restore: bool) -> None:
    from datetime import timedelta

    from tests.processes.variants import bundled, without_boundary_event

    v1 = specs.latest(session, "complaint")
    run = run_complaint(save_restore)
    accept(run)
    run.complete("verify", "km-commerce", {"outcome": "founded", "explanation": "属实"})
    run.complete("order_rectification", "km-commerce", {"deadline": "2026-04-30", "requirements": "兑现扶持资金"})
    v2 = specs.deploy(session, without_boundary_event(without_boundary_event(
        bundled(), "rectify_reminder"), "rectify_overdue"), deployed_by="procadmin", comment="整改不再自动转确认")
    session.commit()

    done = move(session, run, v1.id, v2.id, official)
    assert sorted((t.name, t.change) for t in done.timers) == [("整改期限届满前3个工作日", "removed"),
                                                               ("整改逾期", "removed")]
    assert run.instance().next_timer_at is None
    run.now += timedelta(days=90)
    assert workflow_jobs.tick(session, now=run.now) == 0  # the deadline passes: nothing withdraws the report task
    run.complete("report_rectification", "guandu-commerce", {"completed": True, "measures": "已兑现"})
    run.complete("review_rectification", "km-commerce", {"rectified": True})
    run.assert_closed("rectified")
