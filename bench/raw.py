"""(a) Raw SpiffWorkflow in memory, and the size and speed of instance state with and without its spec."""
from __future__ import annotations

import json
import time
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench.common import PROCESSES, STEPS, check, median_time, stats
from engine.workflow import serializer, specs
from engine.workflow.forms import validate_form
from engine.workflow.sandbox import SandboxEnvironment, SandboxScriptEngine

FAR_DUE = "2030-06-28T23:59:59+08:00"  # what the stubbed deadline helpers answer: timers that never fire
START_DATA = {"complaint_id": 1, "domain": "investment_promotion", "breach_type": "policy_unfulfilled",
              "in_litigation": False, "respondent_known": True}


class StubServices:
    """Records the service operations the diagram calls; answers as the real ones would on this path."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, context: dict, operation_name: str, operation_params: dict) -> str:
        self.calls.append(operation_name)
        return json.dumps({"found": True} if operation_name == "resolve_supervisor" else {})


def stub_helpers() -> dict[str, Any]:
    """The deadline helpers the engine gives expressions (every name in sandbox.STEP_HELPERS), answering a fixed
    date instead of asking the database and the calendar."""
    from engine.workflow.sandbox import STEP_HELPERS

    return {name: (lambda *args, **kwargs: FAR_DUE) for name in STEP_HELPERS}


class Procedure:
    """The parsed complaint diagram and the cleaned form data of each step (validated once, untimed)."""

    def __init__(self) -> None:
        from engine.builtin import load_builtin

        load_builtin()  # the deploy checks inside parse_bundle read the registered lanes and operations
        bundle = specs.bundle_from_directory(PROCESSES / "complaint.bpmn")
        self.parse_ms = median_time(lambda: specs.parse_bundle(bundle), 5)
        _, _, self.spec, self.subprocess_specs = specs.parse_bundle(bundle)
        spec_json = serializer.dump_spec(self.spec, self.subprocess_specs)
        self.spec_json_bytes = len(spec_json.encode())
        self.spec_restore_ms = median_time(lambda: serializer.load_spec(spec_json), 20)
        self.steps: list[tuple[str, dict[str, Any]]] = []
        for name, data, _user in STEPS:
            form = next(v for k, v in bundle.forms.items() if k.removesuffix(".json") in (name, name[:-5]))
            self.steps.append((name, validate_form(form, data)))
        self.services = StubServices()
        self.helpers = stub_helpers()

    def start(self) -> BpmnWorkflow:
        engine = SandboxScriptEngine(environment=SandboxEnvironment(self.helpers, service_caller=self.services))
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=engine)
        workflow.data.update(START_DATA)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(START_DATA)
        workflow.do_engine_steps()
        return workflow


def complete(workflow: BpmnWorkflow, name: str, data: dict[str, Any]) -> None:
    """One user step as the engine takes it: find the READY user task, give it the form data, run on."""
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    if len(ready) != 1 or ready[0].task_spec.bpmn_id != name:
        raise AssertionError(f"expected {name}, found {[t.task_spec.bpmn_id for t in ready]}")
    ready[0].data.update(data)
    ready[0].run()
    workflow.do_engine_steps()


def run_raw(proc: Procedure, instances: int) -> dict[str, Any]:
    """Walk `instances` complaints through the procedure; time every user step."""
    for _ in range(3):  # warm up
        wf = proc.start()
        for name, data in proc.steps:
            complete(wf, name, data)
    proc.services.calls.clear()
    step_times: list[float] = []
    cpu = 0.0
    by_name: dict[str, list[float]] = {name: [] for name, _ in proc.steps}
    start_times: list[float] = []
    for _ in range(instances):
        t0 = time.perf_counter()
        wf = proc.start()
        start_times.append(time.perf_counter() - t0)
        for name, data in proc.steps:
            c0, t0 = time.process_time(), time.perf_counter()
            complete(wf, name, data)
            elapsed = time.perf_counter() - t0
            cpu += time.process_time() - c0
            step_times.append(elapsed)
            by_name[name].append(elapsed)
        if not wf.is_completed():
            raise AssertionError("the procedure did not finish")
    calls = sorted(set(proc.services.calls))
    return {
        "instances": instances,
        "step": stats(step_times).as_dict(),
        "step_cpu_mean_ms": round(cpu * 1000 / len(step_times), 4),
        "start_instance": stats(start_times).as_dict(),
        "step_median_ms_by_task": {k: round(stats(v).median_ms, 4) for k, v in by_name.items()},
        "service_calls_per_instance": len(proc.services.calls) / instances,
        "service_operations": calls,
    }


def state_sizes(proc: Procedure, repeat: int) -> dict[str, Any]:
    """Bytes of the spec-less state vs the stock serializer's output (with the spec), at every wait state."""
    stock = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    wf = proc.start()
    points = []
    mid: tuple[str, str] | None = None
    for i, (name, data) in enumerate([("start", {}), *proc.steps]):
        if i:
            complete(wf, name, data)
        ours, full = serializer.dump_workflow(wf), stock.serialize_json(wf)
        compact = json.dumps(stock.to_dict(wf), separators=(",", ":"))
        points.append({"after": name, "state_bytes": len(ours.encode()), "stock_bytes": len(full.encode()),
                       "stock_compact_bytes": len(compact.encode())})
        if name == "review_rectification":
            mid = (ours, full)
    check(mid is not None, "no review_rectification point")
    ours, full = mid
    mid_wf = serializer.load_workflow(ours, proc.spec, proc.subprocess_specs)
    waiting = points[:-1]  # while a case waits for someone; the last point is the finished case
    savings = [1 - p["state_bytes"] / p["stock_compact_bytes"] for p in waiting]
    return {
        "points": points,
        "state_bytes_range_waiting": [min(p["state_bytes"] for p in waiting), max(p["state_bytes"] for p in waiting)],
        "stock_bytes_range_waiting": [min(p["stock_bytes"] for p in waiting), max(p["stock_bytes"] for p in waiting)],
        "stock_compact_bytes_range_waiting": [min(p["stock_compact_bytes"] for p in waiting),
                                              max(p["stock_compact_bytes"] for p in waiting)],
        "saving_vs_stock_compact_range": [round(min(savings), 3), round(max(savings), 3)],
        "measured_at": "after review_rectification (confirm_breach_task waiting)",
        "load_ms_specless": median_time(lambda: serializer.load_workflow(ours, proc.spec, proc.subprocess_specs),
                                        repeat),
        "load_ms_stock": median_time(lambda: stock.deserialize_json(full), repeat),
        "dump_ms_specless": median_time(lambda: serializer.dump_workflow(mid_wf), repeat),
        "dump_ms_stock": median_time(lambda: stock.serialize_json(mid_wf), repeat),
        "spec_json_bytes": proc.spec_json_bytes,
        "parse_bundle_ms": round(proc.parse_ms, 3),
        "spec_restore_ms": round(proc.spec_restore_ms, 3),
    }
