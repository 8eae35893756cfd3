"""Migrating running cases between versions: preview (refusals explained), migrate, history, timers kept."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from engine.cases.services import open_tasks
from engine.db import as_utc
from engine.errors import ConflictError
from engine.org.models import Official
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

    done = migration.migrate(session, v1.id, v2.id, [at_verify.instance().id], official("procadmin"),
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

    results = {v.instance_id: v for v in migration.migrate(session, v2.id, v1.id, None, official("procadmin"),
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
