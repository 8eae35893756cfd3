"""The one place that calls SpiffWorkflow's serializer: specs once per version, instances without spec."""
from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of each instance; restores from a spec object the caller supplies."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec, subprocess_specs = dct.pop("_spec")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpeclessWorkflowConverter
_registry = BpmnWorkflowSerializer.configure(_config)
_serializer = BpmnWorkflowSerializer(_registry)


def dump_spec(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    """JSON of a parsed process spec and its called subprocess specs."""
    return json.dumps({
        "spec": _registry.convert(spec),
        "subprocess_specs": {name: _registry.convert(s) for name, s in subprocess_specs.items()},
    })


def load_spec(spec_json: str) -> tuple[Any, dict[str, Any]]:
    dct = json.loads(spec_json)
    return _registry.restore(dct["spec"]), {
        name: _registry.restore(s) for name, s in dct["subprocess_specs"].items()
    }


def dump_workflow(workflow: BpmnWorkflow) -> str:
    """Instance state as JSON, without its spec."""
    dct = _registry.convert(workflow)
    dct[_serializer.VERSION_KEY] = VERSION
    return json.dumps(dct, separators=(",", ":"))


def load_workflow(state: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    dct = json.loads(state)
    if dct.get(_serializer.VERSION_KEY) != VERSION:
        _serializer.migrate(dct)
    else:
        dct.pop(_serializer.VERSION_KEY, None)
    dct["_spec"] = (spec, subprocess_specs)
    return _registry.restore(dct)
