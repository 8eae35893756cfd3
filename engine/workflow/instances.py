"""Run instances statelessly: load, run one step, save state, inbox rows and timer column together.

Every function here flushes and never commits: the caller owns the transaction (one per step).
"""
from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, insert, inspect, select, update
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine import settings_cache
from engine.audit.models import AuditChain, AuditEvent
from engine.audit.services import record as audit
from engine.db import as_utc
from engine.errors import (
    ConcurrentUpdate,
    EngineError,
    NotFound,
    PermissionDenied,
    TaskNotReady,
    WorkflowFailed,
)
from engine.org import permissions
from engine.org.models import Official
from engine.workflow import clock, serializer, specs
from engine.workflow.clock import SHANGHAI, end_of_day
from engine.workflow.forms import describe, validate_form
from engine.workflow.models import HumanTask, ProcessInstance, ProcessModel
from engine.workflow.registry import OPERATIONS, StepContext, load_subject, subjects, timings
from engine.workflow.sandbox import SandboxEnvironment, SandboxScriptEngine
from engine.workflow.start_events import choose_start_event

logger = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseException)


def start_instance(
    session: Session, key: str, subject: Any, actor: Official | None,
    data: dict[str, Any] | None = None, now: datetime | None = None, start_event: str | None = None,
) -> ProcessInstance:
    """Start the newest version of process `key` for `subject` (the row it runs for, or None) and run it to its first wait.

    `start_event` names the (timer) start event to take, for processes with several (see start_events.py).
    """
    model = specs.latest(session, key)
    spec, subprocess_specs = specs.spec_for(model)
    moment = as_utc(now) or clock.now()
    ctx = StepContext(session, subject, actor, moment)
    with clock.frozen_at(moment):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=_script_engine(ctx))
        workflow.data.update(data or {})
        for task in workflow.get_tasks(state=TaskState.READY):  # the start task takes the initial data
            task.data.update(data or {})
        choose_start_event(workflow, start_event)
        instance = ProcessInstance(model=model, subject_id=subject.id if subject else None, state="{}")
        session.add(instance)
        session.flush()
        _advance(ctx, instance, workflow, lambda wf: None, park_on_failure=True)
    logger.info("started %s v%s as instance %s", key, model.version, instance.id)
    return instance


@dataclass(frozen=True)
class AuditMark:
    """Where the audit log stood when a step read its case: the newest event id, and the position of the case in
    its own chain (engine/audit/chains.py). Events are appended per chain without a global lock, so on PostgreSQL
    ids are not given in commit order — a step of the case committed after the mark may hold a smaller id than
    an event of another case committed before it — but a case's chain positions are: they are the sure part."""

    event_id: int
    chain: int | None = None
    seq: int = 0


def complete_task(
    session: Session, task_id: str, data: dict[str, Any], actor: Official, now: datetime | None = None
) -> HumanTask:
    """Validate `data` against the task's form, complete the task and run the process to its next wait.

    A ConcurrentUpdate carries `details["mark"]`, the AuditMark read with the case (engine/workflow/timers.py
    tells from it whether only the case's timers moved it meanwhile)."""
    human, instance, subject, mark = _load_for_step(session, task_id)
    try:
        return _complete(session, human, instance, subject, data, actor, now)
    except ConcurrentUpdate as exc:
        exc.details["mark"] = mark
        raise


def _complete(session: Session, human: HumanTask, instance: ProcessInstance, subject: Any, data: dict[str, Any],
              actor: Official, now: datetime | None) -> HumanTask:
    ensure_can_work_on(human, actor)
    if human.claimed_by_id not in (None, actor.id):
        raise PermissionDenied(f"该任务已由 {human.claimed_by.full_name} 认领，请先由其退回认领")
    if instance.status == "suspended":  # engine/workflow/repair.py: an administrator suspended the case
        raise TaskNotReady("该案件的流程已被管理员挂起，暂不能办理任务")
    if instance.status == "error":  # a step failed; an administrator retries, skips or moves it back
        raise TaskNotReady("该案件的流程执行出错，正等待流程管理员处理，暂不能办理任务")
    model = instance.model
    schema = model.forms.get(human.form or "", {"type": "object"})
    clean = validate_form(schema, data)
    moment = as_utc(now) or clock.now()
    timings().check_dates(session, schema, clean, moment)
    ctx = StepContext(session, subject, actor, moment)

    def run_user_task(workflow: BpmnWorkflow) -> None:
        from uuid import UUID

        task = workflow.get_task_from_id(UUID(human.id))
        if task is None or task.state != TaskState.READY:
            raise TaskNotReady("该任务已被处理，请刷新待办列表")
        task.data.update(_jsonable(clean))
        task.run()

    for name, value in (("completed_at", moment), ("completed_by_id", actor.id), ("outcome", "completed")):
        set_committed_value(human, name, value)  # written by _sync_inbox, after the instance's optimistic lock
    if subject is not None:
        subjects().note(
            session, instance.subject_id, moment, "task_completed",
            f"完成「{human.title}」" + (f"：{describe(schema, clean)}" if clean else ""), actor=actor,
            data={"task": human.spec_name, "task_id": human.id, "title": human.title, "form_name": human.form,
                  "department": human.department.name if human.department else None,
                  "form": _jsonable(clean)})
    status_before = subjects().status(subject) if subject is not None else None
    with clock.frozen_at(moment):
        _advance(ctx, instance, load_workflow(instance, ctx), run_user_task, park_on_failure=True, completed=human)
    audit(session, "task_completed", actor, "human_task", human.id, before={"status": status_before}, after={
        "task": human.spec_name, "form": _jsonable(clean),
        "status": subjects().status(subject) if subject is not None else None},
        complaint_id=instance.subject_id)
    logger.info("%s completed task %s (%s) of instance %s", actor.username, human.spec_name, human.id, instance.id)
    return human


def claim_task(session: Session, task_id: str, actor: Official) -> HumanTask:
    """Claim an open task for `actor`; exactly one of two concurrent claims wins."""
    human = _open_task(session, task_id)
    ensure_can_work_on(human, actor)
    if human.claimed_by_id == actor.id:
        return human
    result = session.execute(
        update(HumanTask)
        .where(HumanTask.id == task_id, HumanTask.claimed_by_id.is_(None), HumanTask.completed_at.is_(None))
        .values(claimed_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate("该任务已被他人认领或处理，请刷新后再试")
    session.refresh(human)
    audit(session, "task_claimed", actor, "human_task", task_id, before={"claimed_by": None},
          after={"claimed_by": actor.username}, complaint_id=human.subject_id)
    logger.info("%s claimed task %s", actor.username, task_id)
    return human


def unclaim_task(session: Session, task_id: str, actor: Official) -> HumanTask:
    """Return a claimed task to the department inbox (by its claimant or a department leader)."""
    human = _open_task(session, task_id)
    ensure_can_work_on(human, actor)
    permissions.require(actor, permissions.UNCLAIM_TASK, human)
    before = {"claimed_by": human.claimed_by.username if human.claimed_by else None}
    human.claimed_by_id = None
    session.flush()
    audit(session, "task_unclaimed", actor, "human_task", task_id, before=before, after={"claimed_by": None},
          complaint_id=human.subject_id)
    logger.info("%s unclaimed task %s", actor.username, task_id)
    return human


def release_claims(session: Session, official: Official, actor: Official | str, reason: str) -> list[HumanTask]:
    """Hand every open task `official` has claimed back to its department's inbox (deactivated, moved away)."""
    claimed = list(session.scalars(select(HumanTask).where(
        HumanTask.claimed_by_id == official.id, HumanTask.completed_at.is_(None))))
    for human in claimed:
        human.claimed_by = None
        audit(session, "task_unclaimed", actor, "human_task", human.id, before={"claimed_by": official.username},
              after={"claimed_by": None, "reason": reason}, complaint_id=human.subject_id)
    session.flush()
    logger.info("%d claimed task(s) of %s returned to the inbox: %s", len(claimed), official.username, reason)
    return claimed


def can_work_on(human: HumanTask, actor: Official) -> bool:
    """`work_task` for this task (engine.org.permissions): its department, and the lane's role if any."""
    return permissions.allowed(actor, permissions.WORK_TASK, human)


def ensure_can_work_on(human: HumanTask, actor: Official) -> None:
    permissions.require(actor, permissions.WORK_TASK, human)


def ensure_can_see(session: Session, human: HumanTask, actor: Official) -> None:
    """`view_task`: those who may work on a task may read it; so may those who may see its case."""
    permissions.require(actor, permissions.VIEW_TASK, human)


def get_task(session: Session, task_id: str) -> HumanTask:
    human = session.get(HumanTask, task_id)
    if human is None:
        raise NotFound("任务不存在")
    return human


def first_open_task(session: Session, instance: ProcessInstance) -> HumanTask | None:
    """The earliest open task of `instance` (where a process just started waits), or None."""
    return session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                  HumanTask.completed_at.is_(None))
                          .order_by(HumanTask.created_at).limit(1))


def task_form(human: HumanTask) -> dict:
    """The JSON Schema of a task's form, from the process version its case runs on."""
    return human.instance.model.forms.get(human.form or "", {"type": "object", "properties": {}})


def task_properties(human: HumanTask) -> dict[str, str]:
    """The `spiffworkflow:properties` the diagram gives a task (form, case status, time limit, compareWith …)."""
    spec, _ = specs.spec_for(human.instance.model)
    task_spec = spec.task_specs.get(human.spec_name)
    return dict(task_spec.extensions.get("properties", {})) if task_spec is not None else {}


def load_workflow(instance: ProcessInstance, ctx: StepContext | None = None) -> BpmnWorkflow:
    """The instance's workflow; with `ctx` (a step that will save it), bound to the step and taken from the
    process's cache of deserialised workflows when the cached one is exactly the stored state."""
    spec, subprocess_specs = specs.spec_for(instance.model)
    if ctx is None:
        return serializer.load_workflow(instance.state, spec, subprocess_specs)
    workflow = _WORKFLOWS.take(instance, spec)
    if workflow is None:
        workflow = serializer.load_workflow(instance.state, spec, subprocess_specs)
    workflow.script_engine = _script_engine(ctx)
    return workflow


class _WorkflowCache:
    """Deserialised workflows of recently stepped instances, one per instance, for the next step in this process.

    An entry is the workflow a step saved, with the instance's process version, lock version and the state text
    saved. It is used only when the instance row read now has the same three (so a step rolled back, or saved by
    another process, is never reused) and its spec is the one in use (a cleared spec cache restores specs anew),
    and it is taken out while in use (a failing step cannot leave a half-run
    workflow behind). Deserialising costs about as much as running the step itself.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[int, tuple[int, int, str, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance: ProcessInstance, spec: Any) -> BpmnWorkflow | None:  # noqa: ANN401 - a spec
        """The kept workflow if it is exactly the stored one, on the spec object in use now; else None."""
        with self._lock:
            entry = self._entries.pop(instance.id, None)
        if entry is None:
            return None
        model_id, version, state, workflow = entry
        if (model_id != instance.model_id or version != instance.lock_version or state != instance.state
                or workflow.spec is not spec):
            return None
        return workflow

    def keep(self, instance: ProcessInstance, state: str, workflow: BpmnWorkflow) -> None:
        workflow.script_engine = _IDLE_ENGINE  # drop the step's session and context
        with self._lock:
            self._entries[instance.id] = (instance.model_id, instance.lock_version, state, workflow)
            self._entries.move_to_end(instance.id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_WORKFLOWS = _WorkflowCache()
_IDLE_ENGINE = SandboxScriptEngine(environment=SandboxEnvironment({}))


LATE_AFTER = timedelta(minutes=10)


def fire_due_timers(session: Session, instance: ProcessInstance, now: datetime) -> None:
    """Refresh the timers of one due instance and run what they release (one step).

    A timer fired well after its due time (scheduler down, or the tick fell behind) is noted in the history.
    """
    subject = load_subject(session, instance.subject_id)
    ctx = StepContext(session, subject, None, now)
    due = as_utc(instance.next_timer_at)
    if subject is not None and due is not None and now - due > LATE_AFTER:
        subjects().note(
            session, instance.subject_id, now, "timer_late",
            (f"定时器延迟触发：应于 {due.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 触发，"
             f"实际于 {now.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 触发（调度程序停机或积压，恢复后补触发）"),
            data={"due": due.isoformat(), "fired": now.isoformat()})
    with clock.frozen_at(now):
        _advance(ctx, instance, load_workflow(instance, ctx), lambda wf: wf.refresh_timers())


def shift_deadlines(
    session: Session, instance: ProcessInstance, workdays: int, now: datetime, since: datetime | None = None
) -> None:
    """Move waiting timers and open task deadlines of `instance` later by `workdays` working days.

    With `since`, only deadlines of tasks that were open already at `since` move (and the timers attached
    to them); those created later were computed while the clock was stopped and stay as they are.
    """
    ctx = StepContext(session, load_subject(session, instance.subject_id), None, now)
    if workdays <= 0:
        return

    def later(moment: datetime) -> datetime:
        day, _ = _calendar(ctx).add_workdays(moment.astimezone(SHANGHAI).date(), workdays)
        return datetime.combine(day, moment.astimezone(SHANGHAI).timetz()).astimezone(UTC)

    movable: set[str] | None = None
    if since is not None:
        movable = set(session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.completed_at.is_(None), HumanTask.created_at <= since)))

    def shift(workflow: BpmnWorkflow) -> None:
        for task in workflow.get_tasks(state=TaskState.WAITING):
            siblings = {str(t.id) for t in task.parent.children} if task.parent is not None else set()
            if movable is not None and not siblings & movable:
                continue  # a timer not attached to a task that was open before the pause
            value = task.internal_data.get("event_value")
            if isinstance(value, str):
                task.internal_data["event_value"] = later(datetime.fromisoformat(value)).isoformat()
            elif isinstance(value, dict) and isinstance(value.get("next"), str):
                value["next"] = later(datetime.fromisoformat(value["next"])).isoformat()

    for human in session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.completed_at.is_(None), HumanTask.due_at.is_not(None))):
        if movable is None or human.id in movable:
            human.due_at = later(as_utc(human.due_at))
    with clock.frozen_at(now):
        _advance(ctx, instance, load_workflow(instance, ctx), shift)


def _open_task(session: Session, task_id: str) -> HumanTask:
    human = get_task(session, task_id)
    if human.completed_at is not None:
        raise TaskNotReady("该任务已办理完毕，无需重复提交")
    return human


def _load_for_step(session: Session, task_id: str) -> tuple[HumanTask, ProcessInstance, Any, AuditMark]:
    """An open task with its instance, process version and the instance's subject (the row it belongs to, of
    whatever class the subject's owner registered), and the audit log's mark, read in one statement. The settings
    generation comes along (engine/settings_cache.py), so the step's time limits, calendar and 公文 templates come
    from the process's snapshots without a statement."""
    row = session.execute(_step_read(), {"task_id": task_id}).first()
    if row is None:
        raise NotFound("任务不存在")
    human, instance, model, subject, event_id, seq, generation = row
    settings_cache.note(session, generation)
    set_committed_value(instance, "model", model)  # the session holds loaded rows weakly: keep the version
    set_committed_value(human, "instance", instance)
    if human.completed_at is not None:
        raise TaskNotReady("该任务已办理完毕，无需重复提交")
    return human, instance, subject, AuditMark(event_id or 0, instance.subject_id, seq or 0)


_STEP_READ: list[tuple[Any, Any]] = []  # (the subject hooks it was built for, the statement)


def _step_read() -> Any:  # noqa: ANN401 - a Select
    """The step's one read, built once per subject registration: building it anew cost more than running it."""
    hooks = subjects()
    if _STEP_READ and _STEP_READ[0][0] is hooks:
        return _STEP_READ[0][1]
    subject_id = hooks.label_columns()[0]
    subject_class = subject_id.class_
    newest = select(func.max(AuditEvent.id)).scalar_subquery()
    position = select(AuditChain.seq).where(AuditChain.id == ProcessInstance.subject_id).scalar_subquery()
    statement = settings_cache.with_generation(
        select(HumanTask, ProcessInstance, ProcessModel, subject_class, newest, position)
        .join(ProcessInstance, HumanTask.instance_id == ProcessInstance.id)
        .join(ProcessModel, ProcessInstance.model_id == ProcessModel.id)
        .outerjoin(subject_class, ProcessInstance.subject_id == subject_id)
        .where(HumanTask.id == bindparam("task_id"))
        .options(lazyload(HumanTask.claimed_by), *hooks.step_options()))  # claimed_by: only to name who holds it
    _STEP_READ[:] = [(hooks, statement)]
    return statement


def _advance(
    ctx: StepContext, instance: ProcessInstance, workflow: BpmnWorkflow, action: Callable[[BpmnWorkflow], None],
    park_on_failure: bool = False, completed: HumanTask | None = None,
) -> None:
    """Run `action`, the engine steps it releases, then save state, inbox rows and timer column.

    A failing expression or service operation raises WorkflowFailed — or, with `park_on_failure`, is kept:
    the state is saved with the failed task in ERROR, the instance goes to status `error` with the message,
    and the case history says so (an administrator retries, skips or moves the case back; repair.py).
    `completed`: the user task the step completes (its completion columns already set in memory, not yet written).
    """
    ctx.instance = instance
    ready_before = _ready_ids(workflow)
    try:
        action(workflow)
        workflow.do_engine_steps()
    except EngineError:
        raise
    except Exception as exc:  # an operation's own error (e.g. a platform down) comes through unwrapped
        if _database_cause(exc):
            raise
        logger.warning("instance %s failed: %s", instance.id, exc)
        reason = _engine_cause(exc)  # SpiffWorkflow wraps our errors (e.g. UnsafeExpression) without keeping them
        detail = f"{reason.message}（{str(exc).strip()}）" if reason else str(exc)
        if not isinstance(exc, SpiffWorkflowException):
            detail = f"{type(exc).__name__}：{exc}"
        if not park_on_failure:
            raise WorkflowFailed(f"流程执行出错：{detail}", instance_id=instance.id) from exc
        _park(ctx, instance, workflow, detail, completed)
        return
    state = serializer.dump_workflow(workflow)
    status = "completed" if workflow.is_completed() else (
        "paused" if instance.status == "paused" else "running")  # a paused clock stays paused while officials work
    _save_instance(ctx, instance, state=state, status=status, updated_at=ctx.now, next_timer_at=_next_timer(workflow))
    _sync_inbox(ctx, instance, workflow, ready_before, completed)
    ctx.session.flush()
    _WORKFLOWS.keep(instance, state, workflow)


_CONCURRENT = "该案件刚刚已被他人办理，您的提交未保存，请刷新后查看最新状态"
# the step's UPDATEs, built once; the columns SET are the keys given at execution
_INSTANCES, _TASKS = ProcessInstance.__table__, HumanTask.__table__
_SAVE_INSTANCE = update(_INSTANCES).where(_INSTANCES.c.id == bindparam("b_id"),
                                          _INSTANCES.c.lock_version == bindparam("b_version"))
_CLOSE_TASK = update(_TASKS).where(_TASKS.c.id == bindparam("b_id"), _TASKS.c.completed_at.is_(None))
_COMPLETIONS = "lvyue_tasks_completed"


def take_completions(session: Session) -> list[tuple[str, str]]:
    """(process key, task) of each user task the session's transaction completed since last asked; for counting
    after a commit (metrics), and to forget after a rollback."""
    return session.info.pop(_COMPLETIONS, [])


def _save_instance(ctx: StepContext, instance: ProcessInstance, **values: Any) -> None:
    """Write the instance's step columns in one UPDATE under its optimistic lock (`lock_version`): a concurrent
    step on the same instance fails here, before any task row is written.

    Changes made to the instance earlier in the step (a migration's new version) are flushed first."""
    session = ctx.session
    try:
        if inspect(instance).modified:
            session.flush()
    except StaleDataError as exc:
        raise ConcurrentUpdate(_CONCURRENT) from exc
    version = instance.lock_version
    written = session.execute(_SAVE_INSTANCE, {"b_id": instance.id, "b_version": version,
                                               "lock_version": version + 1, **values}).rowcount
    if written != 1:
        raise ConcurrentUpdate(_CONCURRENT)
    for name, value in (*values.items(), ("lock_version", version + 1)):
        set_committed_value(instance, name, value)


def _park(ctx: StepContext, instance: ProcessInstance, workflow: BpmnWorkflow, detail: str,
          completed: HumanTask | None = None) -> None:
    """Keep what ran up to the failure: state with the failed task in ERROR, status `error`, a history event."""
    failed = [t.task_spec.bpmn_name or t.task_spec.bpmn_id or t.task_spec.name
              for t in workflow.get_tasks(state=TaskState.ERROR)]
    where = "、".join(f"「{name}」" for name in failed) or "流程"
    message = f"步骤{where}执行出错：{detail}"
    _save_instance(ctx, instance, state=serializer.dump_workflow(workflow), status="error", error=message,
                   updated_at=ctx.now, next_timer_at=_next_timer(workflow))
    _sync_inbox(ctx, instance, workflow, None, completed)
    if ctx.subject is not None:
        subjects().note(ctx.session, instance.subject_id, ctx.now, "step_failed",
                        f"{message}。流程已转入“出错”状态，等待流程管理员处理（重试、跳过或退回）。",
                        data={"tasks": failed, "error": detail})
    ctx.session.flush()
    audit(ctx.session, "step_failed", ctx.actor, "process_instance", instance.id, before=None,
          after={"status": "error", "error": message}, complaint_id=instance.subject_id)
    logger.error("instance %s parked in error: %s", instance.id, message)


def _database_cause(exc: BaseException) -> bool:
    """A database error under a step failure leaves the session unusable: the step cannot be kept."""
    from sqlalchemy.exc import SQLAlchemyError

    return _cause(exc, SQLAlchemyError) is not None


def _engine_cause(exc: BaseException) -> EngineError | None:
    """The engine error (with its Chinese message) that a SpiffWorkflow exception was raised while handling."""
    return _cause(exc, EngineError)


def _cause(exc: BaseException, kind: type[T]) -> T | None:
    """`exc` or the first exception of type `kind` it was raised from or while handling (each link once)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, kind):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _ready_ids(workflow: BpmnWorkflow) -> set[str]:
    return {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def _sync_inbox(ctx: StepContext, instance: ProcessInstance, workflow: BpmnWorkflow,
                ready_before: set[str] | None, completed: HumanTask | None = None) -> None:
    """Make the instance's open `human_task` rows the READY user tasks of `workflow`, after the instance's UPDATE.

    `ready_before`: the READY user tasks of the state the step started from, which are exactly the open rows
    (check-consistency proves it); then only the difference is written, with Core statements and no read.
    Without it (a parked step) the open rows are read first. `completed`: the task the step completed, whose
    row is closed here (and only if still open: a step that lost a race writes nothing).
    """
    session = ctx.session
    table = HumanTask.__table__
    if completed is not None:
        closed = session.execute(_CLOSE_TASK, {
            "b_id": completed.id, "completed_at": completed.completed_at,
            "completed_by_id": completed.completed_by_id, "outcome": completed.outcome}).rowcount
        if closed != 1:
            raise ConcurrentUpdate(_CONCURRENT)
        session.info.setdefault(_COMPLETIONS, []).append((instance.model.key, completed.spec_name))
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    if ready_before is None:
        session.flush()
        ready_before = set(session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.completed_at.is_(None))))
    withdrawn = []
    for task_id in ready_before:  # withdrawn by the process (e.g. an interrupting timer) unless completed now
        if task_id in ready:
            continue
        loaded = session.identity_map.get(session.identity_key(HumanTask, task_id))
        if loaded is None:
            withdrawn.append(task_id)
        elif loaded.completed_at is None:
            loaded.completed_at, loaded.outcome = ctx.now, "withdrawn"
    rows = []
    first_status = None
    for task_id, task in ready.items():
        props = task.task_spec.extensions.get("properties", {})
        first_status = first_status or props.get("caseStatus")
        if task_id in ready_before:
            continue
        assignment = _resolve_lane(ctx, task.task_spec.lane)
        due_at, due_basis, due_provisional = _due(ctx, workflow, task, props) or (None, None, False)
        rows.append({
            "id": task_id, "instance_id": instance.id, "subject_id": instance.subject_id,
            "spec_name": task.task_spec.bpmn_id or task.task_spec.name,
            "title": task.task_spec.bpmn_name or task.task_spec.name, "lane": task.task_spec.lane,
            "department_id": assignment.department.id, "role": assignment.role,
            "form": props.get(specs.FORM_PROPERTY), "due_at": due_at, "due_basis": due_basis,
            "due_provisional": bool(due_provisional), "created_at": ctx.now, "claimed_by_id": None,
            "completed_at": None, "completed_by_id": None, "outcome": None,
        })
        if ctx.subject is not None and assignment.note:
            subjects().note(session, instance.subject_id, ctx.now, "lane_fallback",
                            f"「{task.task_spec.bpmn_name}」：{assignment.note}")
    if ctx.subject is not None and first_status:
        subjects().set_status(ctx.subject, first_status)
    if withdrawn:
        session.execute(update(table).where(table.c.id.in_(withdrawn), table.c.completed_at.is_(None))
                        .values(completed_at=ctx.now, outcome="withdrawn"))
    if rows:
        session.execute(insert(table), rows)


def _resolve_lane(ctx: StepContext, lane_name: str | None) -> Any:
    from engine.workflow.lanes import resolve_lane

    return resolve_lane(ctx, lane_name)


def _due(ctx: StepContext, workflow: BpmnWorkflow, task: Any, props: dict[str, str]
         ) -> tuple[datetime, str, bool] | None:
    """A task's due time, what it rests on and whether it is provisional: from a named time limit
    (`timeLimit`) or an expression (`dueExpression`)."""
    if props.get("timeLimit"):
        due = timings().due_for_limit(ctx.session, props["timeLimit"], ctx.now, _calendar(ctx))
        return due.at, due.basis, due.provisional
    expression = props.get("dueExpression")
    if not expression:
        return None
    value = workflow.script_engine.evaluate(task, expression)
    if isinstance(value, str) and value:
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI), "", False
    if isinstance(value, date):  # a date deadline ends at the end of that day in Yunnan
        return end_of_day(value), "", False
    return None


def _next_timer(workflow: BpmnWorkflow) -> datetime | None:
    """The earliest due time among the instance's waiting timer events."""
    due = []
    for event in workflow.waiting_events():
        value = event.value.get("next") if isinstance(event.value, dict) else event.value
        if not isinstance(value, str):
            continue
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            continue
        due.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return min(due) if due else None


def _script_engine(ctx: StepContext) -> SandboxScriptEngine:
    def call_service(context: dict, operation_name: str, operation_params: dict) -> str:
        op = OPERATIONS.get(operation_name)
        if op is None:
            raise EngineError(f"服务操作「{operation_name}」未注册")
        params = {name: p["value"] for name, p in operation_params.items()}
        with ctx.session.begin_nested():  # an operation that fails keeps none of the rows it wrote
            return json.dumps(op.run(ctx, **params))

    return SandboxScriptEngine(environment=SandboxEnvironment(_step_helpers(ctx), service_caller=call_service))


def _calendar(ctx: StepContext) -> Any:
    if ctx.calendar is None:
        ctx.calendar = timings().calendar(ctx.session)
    return ctx.calendar


def _step_helpers(ctx: StepContext) -> dict[str, Callable[..., str]]:
    """Deadline helpers for expressions, bound to this step's clock, session and working-day calendar."""
    return timings().helpers(ctx.session, lambda: ctx.now, _calendar(ctx))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in data.items()}


def latest_model(session: Session, key: str) -> ProcessModel:
    return specs.latest(session, key)
