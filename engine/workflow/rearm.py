"""Boundary timers of the steps a case waits at, re-armed as the target version defines them when it moves.

SpiffWorkflow's `migrate_workflow` re-points tasks to the new specs, but the children of a step's
`BoundaryEventSplit` were created when the step began: a boundary timer new in the target version gets no
task (it would never fire), a step that gains its first boundary event has no split at all (the case fails
when the step completes), and a timer the target no longer has stays waiting. `BoundaryPlan` looks at one
(sub)workflow before the move and repairs the tree after it:

- a timer whose definition is unchanged keeps its due time (pauses already shifted it);
- a timer new in the target, or whose expression or kind changed, is armed as if the step had started
  under the target: its due time is evaluated at the step's start (`human_task.created_at`, with the step's
  data and clock), then moved by the working days of clock pauses since then;
- a waiting timer the target no longer has is dropped; a step without boundary events in the target loses
  its split, a step that gains them gets one.

What cannot be done safely is a refusal with task labels: a new or changed timer on a step whose start is
unknown (no inbox row: a subprocess, a receive task), a removed timer that has fired already, an intermediate
timer event the case waits at whose definition changed.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

CURRENT_STEP = TaskState.READY | TaskState.WAITING | TaskState.STARTED
CHANGE_LABELS = {"kept": "保留原到期时间", "added": "新增，自该步骤开始时计算", "redefined": "定义已修改，自该步骤开始时重新计算",
                 "removed": "目标版本已删除，迁移后不再触发"}


def label(spec: Any) -> str:
    """A task spec by its Chinese name (boundary-event split/join by the step they belong to)."""
    name = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None)
    if name:
        return name
    for suffix in (".BoundaryEventSplit", ".BoundaryEventJoin"):
        if spec.name.endswith(suffix):
            main = next((s for s in [*spec.outputs, *spec.inputs] if s.name == spec.name.removesuffix(suffix)), None)
            return f"{label(main) if main is not None else spec.name.removesuffix(suffix)}（边界事件）"
    return spec.name


@dataclass
class TimerAfterMove:
    """One timer event of a case as it will be after the move (or one the move drops)."""

    name: str
    step: str  # the step it is attached to ("" for an intermediate timer the case waits at)
    change: str  # kept | added | redefined | removed
    due: datetime | None = None
    interrupting: bool = False
    late: bool = False  # due already at the moment of the move

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "step": self.step, "change": self.change,
                "change_label": CHANGE_LABELS[self.change], "due": self.due.isoformat() if self.due else None,
                "interrupting": self.interrupting, "late": self.late}


@dataclass
class _Step:
    task: Task
    new_split: Any | None  # the target's BoundaryEventSplit spec of this step, None when it has none
    start: datetime | None
    drop: list[Task] = field(default_factory=list)
    redefine: list[Task] = field(default_factory=list)
    add: list[Any] = field(default_factory=list)  # boundary event specs to create


class BoundaryPlan:
    """What moving one (sub)workflow does to the boundary timers of the steps it waits at."""

    def __init__(self, workflow: Any, diff: Any, starts: dict[str, datetime], where: str = "") -> None:
        self.workflow, self.diff, self.where = workflow, diff, where
        self.reasons: list[str] = []
        self.handled: set[Task] = set()  # tasks of the diff this plan deals with (not refusals of their own)
        self.removed: list[TimerAfterMove] = []
        self.changes: dict[Any, str] = {}  # task id → added | redefined
        self._steps: list[_Step] = []
        for task in workflow.get_tasks(state=CURRENT_STEP, skip_subprocesses=True):
            if isinstance(task.task_spec, BoundaryEvent):
                continue
            if isinstance(task.task_spec, CatchingEvent) and task.state == TaskState.WAITING:
                self._check_waiting_event(task)
            self._plan_step(task, starts.get(str(task.id)))

    def _check_waiting_event(self, task: Task) -> None:
        new = self.diff.alignment.get(task)
        if new is None or not _is_timer(task.task_spec):
            return
        if _timer_key(task.task_spec) != _timer_key(new):
            self.handled.add(task)
            self.reasons.append(f"{self.where}正在等待的定时事件「{label(task.task_spec)}」在目标版本中修改了定时设置，"
                                "无法确定其开始时间（可待其触发后再迁移）")

    def _plan_step(self, task: Task, start: datetime | None) -> None:
        new = self.diff.alignment.get(task)
        if new is None:
            return  # the step itself is gone: refused by the caller
        parent = task.parent
        old_split = parent if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit) else None
        new_split = next((s for s in new.inputs if isinstance(s, BoundaryEventSplit)), None)
        if old_split is None and new_split is None:
            return
        step = _Step(task, new_split, start)
        wanted = [s for s in new_split.outputs if isinstance(s, BoundaryEvent)] if new_split else []
        matched = set()
        for child in old_split.children if old_split else []:
            if not isinstance(child.task_spec, BoundaryEvent):
                continue
            target = self.diff.alignment.get(child)
            if target is not None and target.name != child.task_spec.name:
                target = None  # SpiffWorkflow aligns by shape too; a timer with another id is another timer
            if target is None or target not in wanted:
                self.handled.add(child)
                if child.has_state(TaskState.WAITING | TaskState.PREDICTED_MASK):
                    step.drop.append(child)
                    if _is_timer(child.task_spec):
                        self.removed.append(TimerAfterMove(
                            label(child.task_spec), label(task.task_spec), "removed",
                            _due(child), bool(child.task_spec.cancel_activity)))
                else:
                    self.handled.update(child)  # and the branch it ran: one reason for all of it
                    self.reasons.append(f"{self.where}「{label(task.task_spec)}」上已触发的边界事件"
                                        f"「{label(child.task_spec)}」在目标版本中已删除")
                continue
            matched.add(target)
            if child.state == TaskState.WAITING and _is_timer(child.task_spec) and (
                    _timer_key(child.task_spec) != _timer_key(target)):
                self.handled.add(child)
                if not _is_timer(target):
                    self.reasons.append(f"{self.where}「{label(task.task_spec)}」的定时器「{label(child.task_spec)}」"
                                        "在目标版本中改成了其他事件，不能迁移")
                    continue
                step.redefine.append(child)
        step.add = [s for s in wanted if s not in matched]
        if old_split is not None and new_split is None:
            self.handled.add(old_split)
        elif old_split is not None and self.diff.alignment.get(old_split) is not new_split:
            self.reasons.append(f"{self.where}「{label(task.task_spec)}」的边界事件在目标版本中无法对应")
            return
        timed = [label(t.task_spec) for t in step.redefine] + [label(s) for s in step.add if _is_timer(s)]
        if timed and start is None:
            self.reasons.append(f"{self.where}当前步骤「{label(task.task_spec)}」在目标版本中新增或修改了定时器"
                                f"（{'、'.join(timed)}），但该步骤不是待办任务，无法确定它的开始时间")
            return
        if step.drop or step.redefine or step.add or (old_split is not None) != (new_split is not None):
            self._steps.append(step)

    def prepare(self) -> None:
        """Before `migrate_workflow`: drop the timers the target no longer has, and splits it no longer has."""
        for step in self._steps:
            for child in step.drop:
                self.workflow._remove_task(child.id)
            parent = step.task.parent
            if step.new_split is None and isinstance(parent.task_spec, BoundaryEventSplit):
                _unwrap(self.workflow, parent, step.task)

    def finish(self, arm: Callable[[Task, datetime], None]) -> None:
        """After `migrate_workflow`: give new boundary events their task, arm new and redefined timers."""
        for step in self._steps:
            if step.new_split is None:
                continue
            split = step.task.parent
            if not isinstance(split.task_spec, BoundaryEventSplit):
                split = _wrap(self.workflow, step.task, step.new_split)
            for spec in step.add:
                child = split._add_child(spec, TaskState.FUTURE)
                child.data = copy.deepcopy(split.data)
                spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)  # the branch after it
                child._set_state(TaskState.WAITING)
                if _is_timer(spec):
                    arm(child, step.start)
                    self.changes[child.id] = "added"
                else:
                    spec._update(child)
            for child in step.redefine:
                arm(child, step.start)
                self.changes[child.id] = "redefined"


def timers_after(workflow: Any, plans: list[BoundaryPlan], now: datetime) -> list[TimerAfterMove]:
    """Every waiting timer of the moved workflow (subprocesses included) and those the move dropped."""
    changes = {task_id: change for plan in plans for task_id, change in plan.changes.items()}
    found = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if not _is_timer(task.task_spec):
            continue
        spec = task.task_spec
        boundary = isinstance(spec, BoundaryEvent)
        main = next((c for c in task.parent.children if not isinstance(c.task_spec, BoundaryEvent)), None) \
            if boundary and task.parent is not None else None
        due = _due(task)
        found.append(TimerAfterMove(label(spec), label(main.task_spec) if main is not None else "",
                                    changes.get(task.id, "kept"), due,
                                    bool(getattr(spec, "cancel_activity", False)), due is not None and due <= now))
    found.sort(key=lambda t: (t.due or datetime.max.replace(tzinfo=UTC)))
    return found + [t for plan in plans for t in plan.removed]


def arm_timer(task: Task) -> None:
    """Compute a timer task's due time afresh with the workflow's current script engine and clock."""
    task.internal_data.pop("event_value", None)
    task.internal_data.pop("event_fired", None)
    definition = task.task_spec.event_definition
    if isinstance(definition, CycleTimerEventDefinition):
        definition.cycle_complete(task)
    else:
        definition.has_fired(task)
    task.internal_data.pop("event_fired", None)  # a timer due already fires at the next refresh, not here


def _is_timer(spec: Any) -> bool:
    return isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)


def _timer_key(spec: Any) -> tuple[str, str, bool]:
    definition = getattr(spec, "event_definition", None)
    return (type(definition).__name__, str(getattr(definition, "expression", "")).strip(),
            bool(getattr(spec, "cancel_activity", False)))


def _due(task: Task) -> datetime | None:
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _wrap(workflow: Any, task: Task, split_spec: Any) -> Task:
    """Insert a completed BoundaryEventSplit between a step and its parent, as if the step began with it."""
    parent = task.parent
    split = Task(workflow, split_spec, parent=None, state=TaskState.COMPLETED)
    split._parent = parent.id
    parent._children[parent._children.index(task.id)] = split.id
    split._children = [task.id]
    task._parent = split.id
    split.thread_id = task.thread_id
    split.data = copy.deepcopy(task.data)
    # parents come before their children in `workflow.tasks`: the serializer stores data as a delta to the parent
    order = [key for key in workflow.tasks if key != split.id]
    order.insert(order.index(task.id), split.id)
    tasks = dict(workflow.tasks)
    workflow.tasks.clear()
    workflow.tasks.update((key, tasks[key]) for key in order)
    return split


def _unwrap(workflow: Any, split: Task, task: Task) -> None:
    """Remove a step's BoundaryEventSplit (its events dropped already): the step hangs from the split's parent."""
    parent = split.parent
    for child in [c for c in split.children if c.id != task.id]:
        workflow._remove_task(child.id)
    parent._children[parent._children.index(split.id)] = task.id
    task._parent = parent.id
    split._children = []
    workflow.tasks.pop(split.id)
