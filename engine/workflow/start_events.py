"""Which start event a new instance takes: a due timer start (the scheduler's choice) or the plain start event."""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask, StartEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineError


def choose_start_event(workflow: BpmnWorkflow, bpmn_id: str | None) -> None:
    """Fire start event `bpmn_id` and cancel the other start events of a new, not yet stepped workflow.

    Without `bpmn_id`, timer start events are cancelled (the scheduler starts instances for those, see
    `start_timers`) and the plain start event fires as usual. SpiffWorkflow itself would keep a timer start
    event waiting inside the instance — a cycle would then fire again and again within one instance.
    """
    starts = [t for t in workflow.get_tasks(spec_class=StartEvent)
              if t.parent is not None and isinstance(t.parent.task_spec, BpmnStartTask | StartEventSplit)]
    timers = [t for t in starts if isinstance(t.task_spec.event_definition, TimerEventDefinition)]
    if bpmn_id is None and not timers:
        return  # the usual case: one plain start event
    if bpmn_id is None:
        plain = [t for t in starts if isinstance(t.task_spec.event_definition, NoneEventDefinition)]
        if not plain:
            raise EngineError("该流程只有定时开始事件，只能由调度程序按时启动")
        for task in timers:
            task.cancel()
        return
    chosen = [t for t in starts if t.task_spec.bpmn_id == bpmn_id]
    if not chosen:
        raise EngineError(f"流程中没有开始事件「{bpmn_id}」")
    for task in starts:
        if task is not chosen[0]:
            task.cancel()
    task = chosen[0]
    task._set_internal_data(event_fired=True)
    if not task.children:  # a cycle timer predicts no outputs: add the path it releases, as its own firing would
        for output in task.task_spec.outputs:
            child = task._add_child(output, TaskState.MAYBE)
            child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
