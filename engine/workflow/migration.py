"""Moving running instances from one version of a process to another (previewed, one transaction each).

SpiffWorkflow's `diff_workflow` aligns the instance's tasks with the target spec; `migrate_workflow`
re-points them and re-predicts the branches of READY and WAITING tasks. A case is refused when a task
it is waiting at (or one it has completed) has no counterpart in the target, or when such a task
changed its kind, lane or form there. The boundary timers of the steps a case waits at are re-armed as
the target defines them (`rearm.py`): unchanged ones keep their due times, new or redefined ones are
computed from the step's start; the preview lists each case's timers after the move. A timer already
due fires during the move (a running case) and the case history says so.

Migrating needs the confirmation token the preview gave for the case (`Verdict.confirmation`): it changes
whenever the case is stepped, so what is moved is what the administrator saw.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.db import as_utc
from engine.errors import ConflictError, NotFound
from engine.org.models import Official
from engine.workflow import clock, serializer, specs
from engine.workflow.instances import _advance, _script_engine, load_workflow
from engine.workflow.models import HumanTask, ProcessInstance, ProcessModel
from engine.workflow.rearm import BoundaryPlan, TimerAfterMove, arm_timer, label, timers_after
from engine.workflow.registry import StepContext, load_subject, subjects, timings

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MIGRATABLE_STATUSES = ("running", "paused", "suspended")
CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
# attributes of a current task's spec that must not change under it: its kind, lane, form/properties, event
# (a boundary timer's event is re-armed instead: rearm.BoundaryPlan)
INCOMPATIBLE = {"typename", "lane", "extensions", "event_definition", "manual"}
CONNECTIONS = {"inputs", "outputs"}  # a step whose neighbours changed is not a change of the step itself
ATTRIBUTE_LABELS = {"typename": "类型", "lane": "泳道", "extensions": "表单或属性", "event_definition": "事件定义",
                    "manual": "人工/自动"}
UNCONFIRMED = "未经确认：请先预览，确认后再迁移（预览之后案件又有办理的，须重新预览）"


class _Refused(Exception):
    """A case that cannot be moved safely, found while moving it in memory (message in Chinese)."""


@dataclass
class Verdict:
    instance_id: int
    subject_id: int | None
    tracking_code: str | None
    current: list[str]
    can_migrate: bool
    reason: str
    changes: list[str] = field(default_factory=list)
    timers: list[TimerAfterMove] = field(default_factory=list)  # the case's timer events after the move
    confirmation: str = ""  # what `migrate` needs back for this case (empty when it cannot move)

    def as_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "subject_id": self.subject_id,
                "tracking_code": self.tracking_code, "current": self.current, "can_migrate": self.can_migrate,
                "reason": self.reason, "changes": self.changes, "timers": [t.as_dict() for t in self.timers],
                "confirmation": self.confirmation}


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


def instances_to_migrate(session: Session, source_model_id: int, target_model_id: int,
                         instance_ids: Iterable[int] | None) -> list[int]:
    """The ids of the instances of the source version a migration would move (all, or those of `instance_ids`)."""
    source, _target = _versions(session, source_model_id, target_model_id)
    return [i.id for i in _instances(session, source, instance_ids)]


def migrate_one(session: Session, instance_id: int, source_model_id: int, target_model_id: int, actor: Official,
                now: datetime, confirmations: Collection[str] | None = None) -> Verdict:
    """Move one instance when it can move (flushed; the caller commits); a refused one stays untouched.

    With `confirmations` (the API always passes them), the case moves only when its preview token is among them;
    a case stepped since its preview is refused and must be previewed again.
    """
    instance = session.get(ProcessInstance, instance_id)
    source, target = session.get(ProcessModel, source_model_id), session.get(ProcessModel, target_model_id)
    verdict, workflow = _plan(session, instance, source, target, now)
    if verdict.can_migrate and confirmations is not None and verdict.confirmation not in confirmations:
        verdict.can_migrate, verdict.reason, workflow = False, UNCONFIRMED, None
        session.expire(instance)
    if verdict.can_migrate and workflow is not None:
        _apply(session, instance, workflow, source, target, actor, now, verdict)
    return verdict


def failed(instance_id: int, exc: Exception) -> Verdict:
    """The verdict of an instance whose move raised (its transaction rolled back)."""
    return Verdict(instance_id, None, None, [], False, f"迁移失败：{exc}")


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
    """Diff and migrate in memory; the verdict says whether the result may be stored, and its timers after."""
    subject = load_subject(session, instance.subject_id)
    verdict = Verdict(instance.id, instance.subject_id, subjects().label(subject) if subject is not None else None,
                      [], False, "")
    if instance.model_id != source.id:
        verdict.reason = f"该案件不在源版本上（当前为第 {instance.model.version} 版）"
        return verdict, None
    if instance.status not in MIGRATABLE_STATUSES:
        verdict.reason = {"completed": "流程已办结，无需迁移", "error": "流程处于出错状态，请先重试修复"}.get(
            instance.status, f"流程状态为 {instance.status}，不能迁移")
        return verdict, None
    ctx = StepContext(session, subject, None, now)
    workflow = load_workflow(instance, ctx)
    verdict.current = [label(t.task_spec) for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)]
    spec, subprocess_specs = specs.spec_for(target)
    registry = serializer._registry  # the registry the specs were serialized with, as SpecDiff needs
    top, sp_diffs = diff_workflow(registry, workflow, spec, subprocess_specs)
    starts = _step_starts(session, instance)
    plans = [BoundaryPlan(workflow, top, starts)]
    reasons = _refusals(top, "", plans[0].handled)
    for sp_id, sp_diff in sp_diffs.items():
        sub = workflow.subprocesses[sp_id]
        if sp_diff is None:
            reasons.append(f"子流程「{sub.spec.name}」在目标版本中不存在")
        else:
            where = f"子流程「{sub.spec.name}」中"
            plans.append(BoundaryPlan(sub, sp_diff, starts, where))
            reasons += _refusals(sp_diff, where, plans[-1].handled)
    for plan in plans:
        reasons += plan.reasons
    verdict.changes = sorted({label(t.task_spec) for t in top.changed if t.state & CURRENT
                              and t not in plans[0].handled and set(_spec_changes(top, t)) - CONNECTIONS})
    if reasons:
        verdict.reason = "；".join(dict.fromkeys(reasons))
        return verdict, None
    try:
        with clock.frozen_at(now):
            timers = {t.id: t.internal_data["event_value"] for t in workflow.get_tasks(state=TaskState.WAITING)
                      if "event_value" in t.internal_data}
            for plan in plans:
                plan.prepare()
            migrate_workflow(top, workflow, spec)
            for sp_id, sp_diff in sp_diffs.items():
                sub = workflow.subprocesses[sp_id]
                migrate_workflow(sp_diff, sub, subprocess_specs[sub.spec.name])
            workflow.subprocess_specs = subprocess_specs
            for task in workflow.get_tasks(state=TaskState.WAITING):  # keep the due times already running
                if task.id in timers:
                    task.internal_data["event_value"] = timers[task.id]
            arm = _arming(session, subject, workflow)
            for plan in plans:
                plan.finish(arm)
            dumped = serializer.dump_workflow(workflow)
            # what is stored must load again; the reloaded workflow also rebuilds SpiffWorkflow's waiting-event index
            workflow = serializer.load_workflow(dumped, spec, subprocess_specs)
            workflow.script_engine = _script_engine(ctx)
    except _Refused as exc:
        verdict.reason = str(exc)
        return verdict, None
    except Exception as exc:  # SpiffWorkflow fails in many ways on odd alignments: refuse, explained
        logger.info("instance %s cannot migrate: %s", instance.id, exc)
        verdict.reason = f"迁移后的流程状态无法恢复（{type(exc).__name__}：{exc}）"
        return verdict, None
    verdict.timers = timers_after(workflow, plans, now)
    verdict.can_migrate = True
    verdict.confirmation = confirmation(instance, source, target)
    notes = [f"当前步骤有兼容的变化：{'、'.join(verdict.changes)}"] if verdict.changes else []
    if any(t.late and t.change != "removed" for t in verdict.timers):
        notes.append("有定时器已到期" + ("，迁移时立即触发" if instance.status == "running" else "，恢复办理后触发"))
    verdict.reason = "可以迁移" + (f"（{'；'.join(notes)}）" if notes else "")
    return verdict, workflow


def confirmation(instance: ProcessInstance, source: ProcessModel, target: ProcessModel) -> str:
    """The token a preview gives for one case; it changes as soon as the case is stepped."""
    text = f"{instance.id}:{instance.lock_version}:{source.id}:{target.id}:{target.sha256}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _step_starts(session: Session, instance: ProcessInstance) -> dict[str, datetime]:
    """When each open step of the instance began (its inbox row's creation)."""
    rows = session.execute(select(HumanTask.id, HumanTask.created_at).where(
        HumanTask.instance_id == instance.id, HumanTask.completed_at.is_(None)))
    return {task_id: as_utc(created) for task_id, created in rows}


def _arming(session: Session, subject: Any, workflow: BpmnWorkflow) -> Any:
    """arm(task, start): a timer's due time as if its step had begun at `start` under the target version.

    Evaluated with the step's data and clock at `start`, then moved later by the working days of clock
    pauses that began since (pauses shifted the case's other deadlines the same way).
    """
    calendar = timings().calendar(session)

    def arm(task: Any, start: datetime) -> None:
        engine = workflow.script_engine
        workflow.script_engine = _script_engine(StepContext(session, subject, None, start))
        try:
            with clock.frozen_at(start):
                arm_timer(task)
        except Exception as exc:
            raise _Refused(f"定时器「{label(task.task_spec)}」无法按目标版本计算到期时间：{exc}") from exc
        finally:
            workflow.script_engine = engine
        paused = timings().paused_workdays(session, subject, start) if subject is not None else 0
        value = task.internal_data.get("event_value")
        if paused and isinstance(value, str):
            task.internal_data["event_value"] = _later(calendar, datetime.fromisoformat(value), paused).isoformat()
        elif paused and isinstance(value, dict) and isinstance(value.get("next"), str):
            value["next"] = _later(calendar, datetime.fromisoformat(value["next"]), paused).isoformat()

    return arm


def _later(calendar: Any, moment: datetime, workdays: int) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    day, _ = calendar.add_workdays(moment.astimezone(SHANGHAI).date(), workdays)
    return datetime.combine(day, moment.astimezone(SHANGHAI).timetz()).astimezone(UTC)


def _refusals(diff: Any, where: str, handled: set[Any]) -> list[str]:
    reasons = []
    for task in diff.removed:
        if task in handled:
            continue
        if task.state & CURRENT:
            reasons.append(f"{where}当前步骤「{label(task.task_spec)}」在目标版本中不存在")
        elif task.state & TaskState.COMPLETED:
            reasons.append(f"{where}已办理的步骤「{label(task.task_spec)}」在目标版本中不存在")
    for task in diff.changed:
        if task.state & CURRENT and task not in handled:
            bad = INCOMPATIBLE & set(_spec_changes(diff, task))
            if bad:
                what = "、".join(ATTRIBUTE_LABELS[b] for b in sorted(bad))
                reasons.append(f"{where}当前步骤「{label(task.task_spec)}」在目标版本中有不兼容的修改（{what}）")
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


def _apply(
    session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, source: ProcessModel,
    target: ProcessModel, actor: Official, now: datetime, verdict: Verdict,
) -> None:
    subject = load_subject(session, instance.subject_id)
    status = instance.status
    instance.model = target
    instance.model_id = target.id
    ctx = StepContext(session, subject, actor, now)
    late = [t for t in verdict.timers if t.late and t.change != "removed"]
    fire = bool(late) and status == "running"
    if subject is not None:
        summary = f"流程版本迁移：v{source.version} → v{target.version}"
        subjects().note(session, instance.subject_id, now, "process_migrated", summary, actor=actor,
                        data={"from": source.version, "to": target.version, "current": verdict.current,
                              "timers": [t.as_dict() for t in verdict.timers]})
        rearmed = [t for t in verdict.timers if t.change != "kept"]
        if rearmed:
            subjects().note(session, instance.subject_id, now, "timers_rearmed", _rearmed_summary(rearmed, fire),
                            actor=actor, data={"timers": [t.as_dict() for t in rearmed]})
    with clock.frozen_at(now):  # saves state, refreshes inbox rows and next timer; due timers fire now
        _advance(ctx, instance, workflow, (lambda wf: wf.refresh_timers()) if fire else (lambda wf: None))
    if status in ("suspended", "paused") and instance.status == "running":
        instance.status = status
    audit(session, "process_migrated", actor, "process_instance", instance.id,
          before={"model": source.key, "version": source.version, "status": status},
          after={"model": target.key, "version": target.version, "status": instance.status,
                 "timers": [t.as_dict() for t in verdict.timers if t.change != "kept"]},
          complaint_id=instance.subject_id)
    session.flush()
    logger.info("%s migrated instance %s from v%s to v%s", actor.username, instance.id, source.version,
                target.version)


def _rearmed_summary(timers: list[TimerAfterMove], fire: bool) -> str:
    parts = []
    for timer in timers:
        where = f"「{timer.step}」的" if timer.step else ""
        if timer.change == "removed":
            parts.append(f"{where}定时器「{timer.name}」目标版本已删除，不再触发")
            continue
        due = timer.due.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if timer.due else "—"
        text = f"{where}定时器「{timer.name}」{'新增' if timer.change == 'added' else '按新定义重新计算'}，" \
               f"自该步骤开始时起算，到期时间 {due}"
        if timer.late:
            text += "（迁移时已过期，" + ("随迁移立即触发）" if fire else "恢复办理后触发）")
        parts.append(text)
    return "迁移后重新设置定时器：" + "；".join(parts)
