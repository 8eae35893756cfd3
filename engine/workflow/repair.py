"""Instance repair by administrators: suspend, resume, retry a failed step — each with a reason, logged.

Suspending sets the instance to `suspended`: the timer tick only fires `running` instances, completing a
task of a suspended case is refused (instances.complete_task), and open tasks are unclaimed so they show
in their department inbox again when the case resumes. Each action writes a CaseEvent and an audit
event with the status before and after. The caller commits (one transaction per action).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.db import as_utc
from engine.errors import ConflictError, FormInvalid, NotFound, WorkflowFailed
from engine.org.models import Official
from engine.workflow import clock
from engine.workflow.instances import _advance, load_workflow
from engine.workflow.models import HumanTask, ProcessInstance
from engine.workflow.registry import StepContext

logger = logging.getLogger(__name__)

STATUS_LABELS = {"running": "办理中", "paused": "暂停计时", "suspended": "已挂起", "error": "出错",
                 "completed": "已办结"}


def get_instance(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("流程实例不存在")
    return instance


def suspend(session: Session, instance_id: int, actor: Official, reason: str,
            now: datetime | None = None) -> ProcessInstance:
    _require_reason(reason)
    instance = get_instance(session, instance_id)
    if instance.status not in ("running", "paused", "error"):
        raise ConflictError(f"流程状态为「{STATUS_LABELS.get(instance.status, instance.status)}」，不能挂起")
    moment = as_utc(now) or clock.now()
    before = instance.status
    instance.status = "suspended"
    instance.updated_at = moment
    for task in session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.completed_at.is_(None))):
        task.claimed_by_id = None
    _log(session, instance, actor, "instance_suspended", "挂起流程", reason, before, moment)
    return instance


def resume(session: Session, instance_id: int, actor: Official, reason: str,
           now: datetime | None = None) -> ProcessInstance:
    from engine.deadlines.pauses import open_pause

    _require_reason(reason)
    instance = get_instance(session, instance_id)
    if instance.status != "suspended":
        raise ConflictError("只有已挂起的流程可以恢复")
    moment = as_utc(now) or clock.now()
    complaint = session.get(Complaint, instance.complaint_id) if instance.complaint_id else None
    instance.status = "paused" if complaint is not None and open_pause(session, complaint) else "running"
    instance.updated_at = moment
    _log(session, instance, actor, "instance_resumed", "恢复流程", reason, "suspended", moment)
    return instance


def retry(session: Session, instance_id: int, actor: Official, reason: str,
          now: datetime | None = None) -> ProcessInstance:
    """Run the engine steps of an instance in `error` again; on success the error is cleared."""
    _require_reason(reason)
    instance = get_instance(session, instance_id)
    if instance.status != "error":
        raise ConflictError("只有出错的流程可以重试")
    moment = as_utc(now) or clock.now()
    complaint = session.get(Complaint, instance.complaint_id) if instance.complaint_id else None
    ctx = StepContext(session, complaint, actor, moment)
    before_error = instance.error
    try:
        with clock.frozen_at(moment):
            workflow = load_workflow(instance, ctx)
            _advance(ctx, instance, workflow, lambda wf: wf.refresh_timers())
    except WorkflowFailed as exc:
        raise ConflictError(f"重试仍然失败：{exc.message}") from exc
    instance.error = None
    _log(session, instance, actor, "instance_retried", "重试出错的步骤", reason, "error", moment,
         extra={"error": before_error})
    return instance


def _require_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise FormInvalid({"reason": "请填写原因"}, "请填写操作原因")


def _log(session: Session, instance: ProcessInstance, actor: Official, action: str, label: str, reason: str,
         before: str, now: datetime, extra: dict | None = None) -> None:
    reason = reason.strip()
    after = instance.status
    if instance.complaint_id is not None:
        session.add(CaseEvent(
            complaint_id=instance.complaint_id, at=now, actor_id=actor.id, actor_label=actor.label, kind=action,
            summary=f"{label}（{STATUS_LABELS.get(before, before)} → {STATUS_LABELS.get(after, after)}）：{reason}",
            data={"before": before, "after": after, "reason": reason, **(extra or {})},
        ))
    audit(session, action, actor, "process_instance", instance.id, before={"status": before, **(extra or {})},
          after={"status": after, "reason": reason}, complaint_id=instance.complaint_id)
    session.flush()
    logger.info("%s: %s instance %s (%s → %s)", actor.username, action, instance.id, before, after)
