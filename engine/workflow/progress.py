"""Which diagram elements of an instance are done and which are current, for highlighting the diagram."""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.workflow.instances import load_workflow
from engine.workflow.lane_roles import known_lanes
from engine.workflow.models import ProcessInstance
from engine.workflow.specs import NS


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


def diagram_for_display(session: Session, bpmn_xml: str) -> str:
    """The diagram with each lane named by its Chinese label instead of its role code, for viewers only."""
    labels = {str(known["name"]): str(known["label"]) for known in known_lanes(session)}
    tree = etree.fromstring(bpmn_xml.encode())
    lanes = [lane for lane in tree.xpath("//bpmn:lane", namespaces=NS) if (lane.get("name") or "") in labels]
    if not lanes:
        return bpmn_xml
    for lane in lanes:
        lane.set("name", labels[lane.get("name") or ""])
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8").decode()
