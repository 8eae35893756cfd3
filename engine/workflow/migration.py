"""Moving running instances from one version of a process to another (previewed, one transaction each).

SpiffWorkflow's `diff_workflow` aligns the instance's tasks with the target spec; `migrate_workflow`
re-points them and re-predicts the branches of READY and WAITING tasks. A case is refused when a task
it is waiting at (or one it has completed) has no counterpart in the target, or when such a task
changed its kind, lane, form or event there. Timers keep the due times they had.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.db import as_utc
from engine.errors import ConflictError, NotFound
from engine.org.models import Official
from engine.workflow import clock, serializer, specs
from engine.workflow.instances import _advance, _script_engine, load_workflow
from engine.workflow.models import ProcessInstance, ProcessModel
from engine.workflow.registry import StepContext

logger = logging.getLogger(__name__)

MIGRATABLE_STATUSES = ("running", "paused", "suspended")
CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
# attributes of a current task's spec that must not change under it: its kind, lane, form/properties, event
INCOMPATIBLE = {"typename", "lane", "extensions", "event_definition", "manual"}


@dataclass
class Verdict:
    instance_id: int
    complaint_id: int | None
    tracking_code: str | None
    current: list[str]
    can_migrate: bool
    reason: str
    changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "complaint_id": self.complaint_id,
                "tracking_code": self.tracking_code, "current": self.current, "can_migrate": self.can_migrate,
                "reason": self.reason, "changes": self.changes}


def preview(
    session: Session, source_model_id: int, target_model_id: int, instance_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Verdict]:
    """Per instance: whether it can move from the source to the target version, and why not (dry run)."""
    source, target = _versions(session, source_model_id, target_model_id)
    moment = as_utc(now) or clock.now()
    verdicts = []
    for instance in _instances(session, source, instance_ids):
        verdict, _ = _plan(session, instance, source, target, moment)
        verdicts.append(verdict)
        session.expire(instance)  # the dry run touched nothing stored; forget what it loaded
    return verdicts


def migrate(
    session: Session, source_model_id: int, target_model_id: int, instance_ids: Iterable[int] | None,
    actor: Official, now: datetime | None = None, commit: bool = True,
) -> list[Verdict]:
    """Move every migratable instance, one transaction each (committed here); refused ones stay untouched.

    With `commit=False` the caller owns a single transaction (tests, scripts).
    """
    source, target = _versions(session, source_model_id, target_model_id)
    ids = [i.id for i in _instances(session, source, instance_ids)]
    if commit:
        session.commit()
    moment = as_utc(now) or clock.now()
    results = []
    for instance_id in ids:
        instance = session.get(ProcessInstance, instance_id)
        source, target = session.get(ProcessModel, source_model_id), session.get(ProcessModel, target_model_id)
        try:
            verdict, workflow = _plan(session, instance, source, target, moment)
            if verdict.can_migrate and workflow is not None:
                _apply(session, instance, workflow, source, target, actor, moment, verdict)
            if commit:
                session.commit()
        except Exception as exc:  # one failing case must not stop the others
            if commit:
                session.rollback()
            else:
                raise
            logger.exception("migration of instance %s failed", instance_id)
            verdict = Verdict(instance_id, None, None, [], False, f"迁移失败：{exc}")
        results.append(verdict)
    return results


def _versions(session: Session, source_id: int, target_id: int) -> tuple[ProcessModel, ProcessModel]:
    source, target = session.get(ProcessModel, source_id), session.get(ProcessModel, target_id)
    if source is None or target is None:
        raise NotFound("源版本或目标版本不存在")
    if source.key != target.key:
        raise ConflictError(f"只能在同一流程的版本之间迁移（{source.key} ≠ {target.key}）")
    if source.id == target.id:
        raise ConflictError("源版本与目标版本相同")
    return source, target


def _instances(session: Session, source: ProcessModel, instance_ids: Iterable[int] | None) -> list[ProcessInstance]:
    query = select(ProcessInstance).where(ProcessInstance.model_id == source.id)
    if instance_ids is None:
        query = query.where(ProcessInstance.status.in_(MIGRATABLE_STATUSES))
    else:
        query = select(ProcessInstance).where(ProcessInstance.id.in_(list(instance_ids)))
    return list(session.scalars(query.order_by(ProcessInstance.id)))


def _plan(
    session: Session, instance: ProcessInstance, source: ProcessModel, target: ProcessModel, now: datetime,
) -> tuple[Verdict, BpmnWorkflow | None]:
    """Diff and migrate in memory; the verdict says whether the result may be stored."""
    complaint = session.get(Complaint, instance.complaint_id) if instance.complaint_id else None
    verdict = Verdict(instance.id, instance.complaint_id, complaint.tracking_code if complaint else None,
                      [], False, "")
    if instance.model_id != source.id:
        verdict.reason = f"该案件不在源版本上（当前为第 {instance.model.version} 版）"
        return verdict, None
    if instance.status not in MIGRATABLE_STATUSES:
        verdict.reason = {"completed": "流程已办结，无需迁移", "error": "流程处于出错状态，请先重试修复"}.get(
            instance.status, f"流程状态为 {instance.status}，不能迁移")
        return verdict, None
    ctx = StepContext(session, complaint, None, now)
    workflow = load_workflow(instance, ctx)
    verdict.current = [_name(t) for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)]
    spec, subprocess_specs = specs.spec_for(target)
    registry = serializer._registry  # the registry the specs were serialized with, as SpecDiff needs
    top, sp_diffs = diff_workflow(registry, workflow, spec, subprocess_specs)
    reasons = _refusals(top, "")
    for sp_id, sp_diff in sp_diffs.items():
        sub = workflow.subprocesses[sp_id]
        if sp_diff is None:
            reasons.append(f"子流程「{sub.spec.name}」在目标版本中不存在")
        else:
            reasons += _refusals(sp_diff, f"子流程「{sub.spec.name}」中")
    verdict.changes = sorted({_name(t) for t in top.changed})
    if reasons:
        verdict.reason = "；".join(dict.fromkeys(reasons))
        return verdict, None
    try:
        with clock.frozen_at(now):
            timers = {t.id: t.internal_data["event_value"] for t in workflow.get_tasks(state=TaskState.WAITING)
                      if "event_value" in t.internal_data}
            migrate_workflow(top, workflow, spec)
            for sp_id, sp_diff in sp_diffs.items():
                sub = workflow.subprocesses[sp_id]
                migrate_workflow(sp_diff, sub, subprocess_specs[sub.spec.name])
            workflow.subprocess_specs = subprocess_specs
            for task in workflow.get_tasks(state=TaskState.WAITING):  # keep the due times already running
                if task.id in timers:
                    task.internal_data["event_value"] = timers[task.id]
            dumped = serializer.dump_workflow(workflow)
            # what is stored must load again; the reloaded workflow also rebuilds SpiffWorkflow's waiting-event index
            workflow = serializer.load_workflow(dumped, spec, subprocess_specs)
            workflow.script_engine = _script_engine(ctx)
    except Exception as exc:  # SpiffWorkflow fails in many ways on odd alignments: refuse, explained
        logger.info("instance %s cannot migrate: %s", instance.id, exc)
        verdict.reason = f"迁移后的流程状态无法恢复（{type(exc).__name__}：{exc}）"
        return verdict, None
    verdict.can_migrate = True
    verdict.reason = "可以迁移" + (f"（当前步骤有兼容的变化：{'、'.join(verdict.changes)}）" if verdict.changes else "")
    return verdict, workflow


def _refusals(diff: Any, where: str) -> list[str]:
    reasons = []
    for task in diff.removed:
        if task.state & CURRENT:
            reasons.append(f"{where}当前步骤「{_name(task)}」在目标版本中不存在")
        elif task.state & TaskState.COMPLETED:
            reasons.append(f"{where}已办理的步骤「{_name(task)}」在目标版本中不存在")
    for task in diff.changed:
        if task.state & CURRENT:
            bad = INCOMPATIBLE & set(_spec_changes(diff, task))
            if bad:
                reasons.append(f"{where}当前步骤「{_name(task)}」在目标版本中有不兼容的修改（{'、'.join(sorted(bad))}）")
    return reasons


def _spec_changes(diff: Any, task: Any) -> list[str]:
    """WorkflowDiff keeps only the alignment; compare the task's spec with its counterpart here."""
    new = diff.alignment.get(task)
    if new is None:
        return []
    registry = serializer._registry
    old_d, new_d = registry.convert(task.task_spec), registry.convert(new)
    if old_d.get("typename") != new_d.get("typename"):
        return ["typename"]
    return [key for key, value in old_d.items() if new_d.get(key) != value]


def _name(task: Any) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name


def _apply(
    session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, source: ProcessModel,
    target: ProcessModel, actor: Official, now: datetime, verdict: Verdict,
) -> None:
    complaint = session.get(Complaint, instance.complaint_id) if instance.complaint_id else None
    status = instance.status
    instance.model = target
    instance.model_id = target.id
    ctx = StepContext(session, complaint, actor, now)
    with clock.frozen_at(now):
        _advance(ctx, instance, workflow, lambda wf: None)  # saves state, refreshes inbox rows and next timer
    if status == "suspended" and instance.status == "running":
        instance.status = "suspended"
    summary = f"流程版本迁移：v{source.version} → v{target.version}"
    if complaint is not None:
        session.add(CaseEvent(complaint_id=complaint.id, at=now, actor_id=actor.id, actor_label=actor.label,
                              kind="process_migrated", summary=summary,
                              data={"from": source.version, "to": target.version, "current": verdict.current}))
    audit(session, "process_migrated", actor, "process_instance", instance.id,
          before={"model": source.key, "version": source.version, "status": status},
          after={"model": target.key, "version": target.version, "status": instance.status},
          complaint_id=instance.complaint_id)
    session.flush()
    logger.info("%s migrated instance %s from v%s to v%s", actor.username, instance.id, source.version,
                target.version)
