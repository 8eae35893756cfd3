"""Which diagram elements of an instance are done and which are current, for highlighting the diagram."""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from engine.workflow.instances import load_workflow
from engine.workflow.models import ProcessInstance


def diagram_progress(instance: ProcessInstance) -> dict[str, list[str]]:
    """BPMN ids of completed elements and of READY/WAITING ones (elements without a BPMN id are skipped)."""
    workflow = load_workflow(instance)
    completed: set[str] = set()
    current: set[str] = set()
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            current.add(bpmn_id)
    return {"completed": sorted(completed - current), "current": sorted(current)}
