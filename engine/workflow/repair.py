"""Instance repair by administrators: suspend, resume, retry a failed step, skip a task, move back (退回).

Suspending sets the instance to `suspended`: the timer tick only fires `running` instances, completing a
task of a suspended case is refused (instances.complete_task), and open tasks are unclaimed so they show
in their department inbox again when the case resumes. Retry re-runs the tasks in ERROR (SpiffWorkflow's
`reset_from_task_id` makes them runnable again, a user task keeps its submitted data). Skipping completes
a READY or failed task without running it (a user task as if submitted empty); moving back resets the
instance to an earlier completed user task with the data it had then. Each action writes a line of the case's history and
an audit event with the status, position (current steps) and data before and after — the operation log.
The caller commits (one transaction per action).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.audit.services import record as audit
from engine.db import as_utc
from engine.errors import ConflictError, FormInvalid, NotFound, WorkflowFailed
from engine.org.models import Official
from engine.workflow import clock
from engine.workflow.instances import _advance, _jsonable, load_workflow
from engine.workflow.models import HumanTask, ProcessInstance
from engine.workflow.registry import StepContext, load_subject, subjects, timings

logger = logging.getLogger(__name__)

MOVED_BACK = "moved_back"  # human_task.outcome of a completion undone by 退回
STATUS_LABELS = {"running": "办理中", "paused": "暂停计时", "suspended": "已挂起", "error": "出错",
                 "completed": "已办结"}


def get_instance(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("流程实例不存在")
    return instance


def suspend(session: Session, instance_id: int, actor: Official, reason: str,
            now: datetime | None = None) -> ProcessInstance:
    instance = _reasoned(session, instance_id, reason, ("running", "paused", "error"), "流程状态为「{status}」，不能挂起")
    moment = as_utc(now) or clock.now()
    before = instance.status
    instance.status = "suspended"
    instance.updated_at = moment
    for task in session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.completed_at.is_(None))):
        task.claimed_by_id = None
    _log(session, instance, actor, "instance_suspended", "挂起流程", reason, before, None, moment)
    return instance


def resume(session: Session, instance_id: int, actor: Official, reason: str,
           now: datetime | None = None) -> ProcessInstance:
    instance = _reasoned(session, instance_id, reason, ("suspended",), "只有已挂起的流程可以恢复")
    moment = as_utc(now) or clock.now()
    subject = load_subject(session, instance.subject_id)
    instance.status = "paused" if subject is not None and timings().paused(session, subject) else "running"
    instance.updated_at = moment
    _log(session, instance, actor, "instance_resumed", "恢复流程", reason, "suspended", None, moment)
    return instance


def retry(session: Session, instance_id: int, actor: Official, reason: str,
          now: datetime | None = None) -> ProcessInstance:
    """Run the failed tasks of an instance in `error` again; on success the error is cleared."""
    instance = _reasoned(session, instance_id, reason, ("error",), "只有出错的流程可以重试")
    moment = as_utc(now) or clock.now()
    ctx = _context(session, instance, actor, moment)
    before_error = instance.error
    with clock.frozen_at(moment):
        workflow = load_workflow(instance, ctx)
        before = snapshot(workflow, instance.status)

        def rerun(wf: BpmnWorkflow) -> None:
            for task in list(wf.get_tasks(state=TaskState.ERROR)):
                manual, data = task.task_spec.manual, dict(task.data)
                _reset(wf, task.id, data=data if manual else None)
                if manual:  # a user task keeps what the official submitted and runs again
                    wf.get_task_from_id(task.id).run()
            wf.refresh_timers()

        try:
            _advance(ctx, instance, workflow, rerun)
        except WorkflowFailed as exc:
            raise ConflictError(f"重试仍然失败：{exc.message}") from exc
    instance.error = None
    _log(session, instance, actor, "instance_retried", "重试出错的步骤", reason, before, snapshot(workflow, instance.status),
         moment, extra={"error": before_error})
    return instance


def skip(session: Session, instance_id: int, task_id: str, actor: Official, reason: str,
         now: datetime | None = None) -> ProcessInstance:
    """Complete a current (READY) or failed task without running it; a user task counts as submitted empty.

    The form's fields are set to None so the diagram's expressions can name them; what the skipped step
    releases runs at once, and a failure there puts the case in `error` again (never lost).
    """
    _require_reason(reason)
    instance = _repairable(session, instance_id)
    moment = as_utc(now) or clock.now()
    ctx = _context(session, instance, actor, moment)
    with clock.frozen_at(moment):
        workflow = load_workflow(instance, ctx)
        task = _task(workflow, task_id)
        if not task.state & (TaskState.READY | TaskState.ERROR):
            raise ConflictError(f"步骤「{_name(task)}」不是当前步骤或出错的步骤，不能跳过")
        before = snapshot(workflow, instance.status)
        name = _name(task)
        human = session.get(HumanTask, str(task.id))
        if human is not None and human.completed_at is None:
            human.completed_at, human.completed_by_id, human.outcome = moment, actor.id, "skipped"

        def complete_without_running(wf: BpmnWorkflow) -> None:
            if task.task_spec.manual:
                form = instance.model.forms.get(task.task_spec.extensions.get("properties", {}).get(
                    "formJsonSchemaFilename", ""), {})
                for field in (form.get("properties") or {}):
                    task.data.setdefault(field, None)
            task.complete()

        _advance(ctx, instance, workflow, complete_without_running, park_on_failure=True)
    if instance.status != "error":
        instance.error = None
    _log(session, instance, actor, "task_skipped", f"跳过步骤「{name}」", reason, before,
         snapshot(workflow, instance.status), moment, extra={"task": name})
    return instance


def move_back(session: Session, instance_id: int, task_id: str, actor: Official, reason: str,
              now: datetime | None = None) -> ProcessInstance:
    """退回: reset the instance to an earlier completed user task, with the data the case had before it.

    The steps after it are dropped (open tasks withdrawn, timers after it discarded); the earlier task is
    in its department's inbox again, with a new deadline.
    """
    _require_reason(reason)
    instance = _repairable(session, instance_id)
    moment = as_utc(now) or clock.now()
    ctx = _context(session, instance, actor, moment)
    with clock.frozen_at(moment):
        workflow = load_workflow(instance, ctx)
        task = _task(workflow, task_id)
        if task.state != TaskState.COMPLETED or not task.task_spec.manual:
            raise ConflictError(f"只能退回到已办理的人工步骤，「{_name(task)}」不是")
        before = snapshot(workflow, instance.status)
        name = _name(task)
        kept = _keep_moved_back_row(session, str(task.id))
        _advance(ctx, instance, workflow, lambda wf: _reset(wf, task.id), park_on_failure=True)
    if instance.status != "error":
        instance.error = None
    _log(session, instance, actor, "task_moved_back", f"退回到「{name}」", reason, before,
         snapshot(workflow, instance.status), moment, extra={"task": name, "task_id": str(task.id), **kept})
    return instance


def _keep_moved_back_row(session: Session, task_id: str) -> dict[str, str]:
    """Keep the earlier task's row under a new key (the reset task keeps its id and gets a new open row).

    A completion becomes outcome `moved_back` (undone: statistics count the later completion only); a
    skipped row stays `skipped`. Returns the kept row's key and outcome for the operation log, which is
    how consistency.check ties the earlier `task_completed` audit event to it.
    """
    done = session.get(HumanTask, task_id)
    if done is None:
        return {}
    done.id = str(uuid4())
    if done.outcome == "completed":
        done.outcome = MOVED_BACK
    session.flush()
    return {"kept_row": done.id, "kept_outcome": done.outcome or ""}


def snapshot(workflow: BpmnWorkflow, status: str) -> dict[str, Any]:
    """Status, position (the current steps) and the data at those steps — what the operation log records."""
    current = workflow.get_tasks(state=TaskState.READY | TaskState.ERROR | TaskState.WAITING)
    data: dict[str, Any] = {}
    for task in current:
        if task.state & (TaskState.READY | TaskState.ERROR):
            data.update(task.data)
    if not data:
        data = dict(workflow.data)
    return {"status": status, "position": [f"{_name(t)}（{_STATE_LABELS.get(t.state, TaskState.get_name(t.state))}）"
                                           for t in current if _name(t)],
            "data": json.loads(json.dumps(_jsonable(data), ensure_ascii=False, default=str))}


def steps(session: Session, instance: ProcessInstance) -> dict[str, list[dict[str, Any]]]:
    """The current (READY/WAITING/ERROR) tasks, and the completed user tasks one may move back to."""
    workflow = load_workflow(instance)
    current = [{"id": str(t.id), "name": _name(t), "state": _STATE_LABELS.get(t.state, TaskState.get_name(t.state)),
                "can_skip": bool(t.state & (TaskState.READY | TaskState.ERROR)), "lane": t.task_spec.lane}
               for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.ERROR)
               if _name(t)]
    earlier = [{"id": str(t.id), "name": _name(t), "lane": t.task_spec.lane}
               for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.manual]
    return {"current": current, "earlier": earlier}


def operation_log(session: Session, instance_id: int) -> list[AuditEvent]:
    """Every administrator action and step failure on one instance, oldest first, with before and after."""
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "process_instance", AuditEvent.object_id == str(instance_id))
        .order_by(AuditEvent.id)))


_STATE_LABELS = {TaskState.READY: "待办", TaskState.WAITING: "等待", TaskState.ERROR: "出错",
                 TaskState.STARTED: "进行中", TaskState.COMPLETED: "已完成"}


def _reset(workflow: BpmnWorkflow, task_id: UUID, data: dict | None = None) -> None:
    """SpiffWorkflow's reset, plus forgetting the waiting events of the tasks it dropped (3.2 keeps them)."""
    workflow.reset_from_task_id(task_id, data)
    for waiting_id, waiting in list(workflow.event_manager.tasks.items()):
        if waiting_id not in waiting.workflow.tasks:
            workflow.event_manager.remove_task(waiting)


def _name(task: Any) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or ""


def _context(session: Session, instance: ProcessInstance, actor: Official, moment: datetime) -> StepContext:
    return StepContext(session, load_subject(session, instance.subject_id), actor, moment)


def _repairable(session: Session, instance_id: int) -> ProcessInstance:
    instance = get_instance(session, instance_id)
    if instance.status not in ("running", "paused", "error"):
        raise ConflictError(f"流程状态为「{STATUS_LABELS.get(instance.status, instance.status)}」，不能跳过或退回"
                            + ("（请先恢复）" if instance.status == "suspended" else ""))
    return instance


def _task(workflow: BpmnWorkflow, task_id: str) -> Any:
    try:
        task = workflow.get_task_from_id(UUID(str(task_id)))
    except (ValueError, KeyError):
        task = None
    if task is None:
        raise NotFound("流程实例中没有该步骤")
    return task


def _reasoned(session: Session, instance_id: int, reason: str, allowed: tuple[str, ...], refusal: str
              ) -> ProcessInstance:
    """The instance an administrator acts on with a stated reason, when it is in one of the `allowed` states;
    `refusal` (with `{status}` for the state's label) otherwise."""
    _require_reason(reason)
    instance = get_instance(session, instance_id)
    if instance.status not in allowed:
        raise ConflictError(refusal.format(status=STATUS_LABELS.get(instance.status, instance.status)))
    return instance


def _require_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise FormInvalid({"reason": "请填写原因"}, "请填写操作原因")


def _log(session: Session, instance: ProcessInstance, actor: Official, action: str, label: str, reason: str,
         before: str | dict[str, Any], after: str | dict[str, Any] | None, now: datetime,
         extra: dict | None = None) -> None:
    """One line of the case's history and one audit event; `before`/`after` are a status or a snapshot (status, position, data)."""
    reason = reason.strip()
    before_d = before if isinstance(before, dict) else {"status": before}
    after_d = after if isinstance(after, dict) else {"status": instance.status}
    b, a = before_d["status"], after_d["status"]
    moved = ""
    if "position" in before_d and "position" in after_d:
        moved = f"；位置：{'、'.join(before_d['position']) or '—'} → {'、'.join(after_d['position']) or '—'}"
    if instance.subject_id is not None:
        subjects().note(
            session, instance.subject_id, now, action,
            f"{label}（{STATUS_LABELS.get(b, b)} → {STATUS_LABELS.get(a, a)}{moved}）：{reason}", actor=actor,
            data={"before": before_d if isinstance(before, dict) else b,
                  "after": after_d if isinstance(before, dict) else a, "reason": reason, **(extra or {})})
    audit(session, action, actor, "process_instance", instance.id, before={**before_d, **(extra or {})},
          after={**after_d, "reason": reason}, complaint_id=instance.subject_id)
    session.flush()
    logger.info("%s: %s instance %s (%s → %s)", actor.username, action, instance.id, b, a)
