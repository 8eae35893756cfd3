"""Scenarios: a case's start facts and the form values of each step, run in memory against a process version.

A scenario (stored as JSON in `processes/scenarios/<key>.json`, see docs/administrators.md) says how a case
starts and what is entered at each user task, and what is expected: the sequence of steps and the end event the
process reaches. `run` plays it on a parsed spec without writing anything: the workflow lives in memory, service
operations are not run but recorded (they return the scenario's stub for that task, else the operation's
registered stub, else `{}`), and timers fire by moving an injected clock to their due time. Only reads happen
(the working-day calendar and time limits for deadline helpers).

Nothing here knows a particular process: processes and operations register their start facts and stubs in
`engine.workflow.registry`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError, FormInvalid, InvalidDiagram
from engine.workflow import clock, serializer
from engine.workflow.forms import validate_form
from engine.workflow.registry import OPERATIONS, StepContext
from engine.workflow.sandbox import SandboxEnvironment, SandboxScriptEngine

# 2026-03-02 09:00 in Kunming (a Monday); each step happens an hour after the previous one
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
STEP = timedelta(hours=1)
MAX_ENGINE_STEPS = 200  # tasks one scenario may complete (a loop without a wait stops here, never hangs)
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


class _Diverged(Exception):
    """The version does not wait where the scenario's next step is: the run stops there (not an error)."""


@dataclass
class Scenario:
    """How one case goes: start facts, each step (a user task with its form values, or a timer that fires),
    stubbed results of service tasks, and what is expected (`steps` in order and the `end` event reached)."""

    name: str
    start: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    services: dict[str, Any] = field(default_factory=dict)  # service task id or operation name → its result
    start_event: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["start_event"] is None:
            del data["start_event"]
        return data


@dataclass
class Run:
    """What happened when a scenario ran: steps taken, every element and flow passed, how it ended."""

    steps: list[str] = field(default_factory=list)  # user tasks completed and timers fired, in order
    elements: list[str] = field(default_factory=list)  # every diagram element completed (for the diagram)
    flows: list[str] = field(default_factory=list)  # sequence flows taken
    end: str | None = None  # the end event that completed the process
    waiting: list[str] = field(default_factory=list)  # user tasks still open when the scenario ran out
    calls: list[dict[str, Any]] = field(default_factory=list)  # service operations the version would run
    error: str | None = None
    diverged: str | None = None  # where the version went another way than the scenario's next step

    def outcome(self) -> dict[str, Any]:
        return {"steps": self.steps, "end": self.end}


def parse_scenarios(data: object, source: str = "场景") -> list[Scenario]:
    """Read scenarios from their JSON form (a list, or {"scenarios": [...]}); raises InvalidDiagram in Chinese."""
    if isinstance(data, dict) and "scenarios" in data:
        data = data["scenarios"]
    if not isinstance(data, list):
        raise InvalidDiagram([{"element": "", "message": f"{source}必须是场景列表（JSON 数组）"}])
    problems: list[dict[str, str]] = []
    found: list[Scenario] = []
    names: set[str] = set()
    for index, item in enumerate(data, 1):
        where = f"{source}第 {index} 个"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            problems.append({"element": "", "message": f"{where}场景没有名称（name）"})
            continue
        name = item["name"].strip()
        if name in names:
            problems.append({"element": "", "message": f"场景「{name}」重名"})
        names.add(name)
        steps = item.get("steps", [])
        if not isinstance(steps, list) or not all(
                isinstance(s, dict) and (isinstance(s.get("task"), str) or isinstance(s.get("timer"), str))
                and isinstance(s.get("form", {}), dict) for s in steps):
            problems.append({"element": "", "message": (
                f"场景「{name}」的步骤（steps）须为列表，每步为 {{\"task\": 用户任务ID, \"form\": {{…}}}} "
                "或 {\"timer\": 定时事件ID}")})
            continue
        expected = item.get("expected", {})
        if not isinstance(expected, dict) or not isinstance(expected.get("steps", []), list):
            problems.append({"element": "", "message": f"场景「{name}」的预期（expected）须含 steps（列表）与 end"})
            continue
        for key in ("start", "services"):
            if not isinstance(item.get(key, {}), dict):
                problems.append({"element": "", "message": f"场景「{name}」的 {key} 须为 JSON 对象"})
        if problems:
            continue
        found.append(Scenario(name=name, start=dict(item.get("start") or {}), steps=list(steps),
                              expected={"steps": list(expected.get("steps", [])), "end": expected.get("end")},
                              description=str(item.get("description") or ""),
                              services=dict(item.get("services") or {}), start_event=item.get("start_event")))
    if problems:
        raise InvalidDiagram(problems)
    return found


def run(session: Session, spec: Any, subprocess_specs: dict[str, Any], forms: dict[str, dict], bpmn_xml: str,
        scenario: Scenario, round_trip: bool = False) -> Run:
    """Play `scenario` on a parsed spec in memory; with `round_trip`, save and restore the workflow after each step.

    Any failure (a step that does not fit, an invalid form, a failing expression) ends the run with `error`
    in Chinese; nothing is written to the database.
    """
    from engine.workflow.start_events import choose_start_event

    result = Run()
    ctx = StepContext(session, None, None, START)
    engine = _recording_engine(ctx, scenario, result)
    if round_trip:
        spec, subprocess_specs = serializer.load_spec(serializer.dump_spec(spec, subprocess_specs))
    try:
        with clock.frozen_at(ctx.now):
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
            workflow.data.update(scenario.start)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(scenario.start)
            choose_start_event(workflow, scenario.start_event)
            _engine_steps(workflow)
        for number, step in enumerate(scenario.steps, 1):
            if round_trip:
                workflow = serializer.load_workflow(serializer.dump_workflow(workflow), spec, subprocess_specs)
                workflow.script_engine = engine
            if workflow.is_completed():
                raise _Diverged(f"第 {number} 步：流程已经结束，场景还有未执行的步骤")
            ctx.now += STEP
            if "task" in step:
                _complete(workflow, step, number, forms, ctx)
            else:
                _fire_timer(workflow, step["timer"], number, ctx)
    except _Diverged as exc:
        result.diverged = str(exc)
    except EngineError as exc:
        result.error = exc.message if not isinstance(exc, FormInvalid) else _form_message(exc)
    except Exception as exc:  # noqa: BLE001 - the version under test may fail in any way: shown, never a 500
        from engine.workflow.instances import _engine_cause

        reason = _engine_cause(exc)  # SpiffWorkflow wraps our errors (e.g. ExpressionFailed)
        result.error = f"流程执行出错：{reason.message if reason else '流程引擎报错'}（原文：{str(exc).strip()}）"
    _read_path(workflow if "workflow" in locals() else None, bpmn_xml, result)
    return result


def _form_message(exc: FormInvalid) -> str:
    return exc.message + "（" + "；".join(f"{k}：{v}" for k, v in exc.errors.items()) + "）"


def _engine_steps(workflow: BpmnWorkflow) -> None:
    """Run what the engine can, but stop a loop that never waits (the deploy checks refuse most of those)."""
    for _ in range(MAX_ENGINE_STEPS):
        ready = workflow.get_tasks(state=TaskState.READY, manual=False)
        if not ready:
            return
        ready[0].run()
    raise EngineError(f"流程在两次等待之间执行了 {MAX_ENGINE_STEPS} 个以上的步骤（可能是没有等待的循环）")


def _complete(workflow: BpmnWorkflow, step: dict[str, Any], number: int, forms: dict[str, dict],
              ctx: StepContext) -> None:
    from engine.workflow.specs import FORM_PROPERTY

    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    chosen = [t for t in ready if t.task_spec.bpmn_id == step["task"]]
    if not chosen:
        waiting = "、".join(f"「{_name(t)}」" for t in ready) or "无（没有待办的用户任务）"
        raise _Diverged(f"第 {number} 步：场景要办理「{step['task']}」，但流程此时的待办是{waiting}")
    task = chosen[0]
    props = task.task_spec.extensions.get("properties", {})
    schema = forms.get(props.get(FORM_PROPERTY, ""), {"type": "object"})
    try:
        clean = validate_form(schema, step.get("form", {}))
    except FormInvalid as exc:
        raise EngineError(f"第 {number} 步「{_name(task)}」的表单数据无效：{_form_message(exc)}") from exc
    with clock.frozen_at(ctx.now):
        task.data.update({k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in clean.items()})
        task.run()
        _engine_steps(workflow)


def _fire_timer(workflow: BpmnWorkflow, timer_id: str, number: int, ctx: StepContext) -> None:
    """Move the clock to the timer's due time (if later than now) and let it fire."""
    waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == timer_id]
    if not waiting:
        names = "、".join(sorted({_name(t) for t in workflow.get_tasks(state=TaskState.WAITING)
                                  if t.task_spec.bpmn_id})) or "无"
        raise _Diverged(f"第 {number} 步：定时事件「{timer_id}」此时没有在等待（在等待的：{names}）")
    value = waiting[0].internal_data.get("event_value")
    due = value.get("next") if isinstance(value, dict) else value
    if isinstance(due, str):
        moment = datetime.fromisoformat(due)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        ctx.now = max(ctx.now, moment + timedelta(seconds=1))
    with clock.frozen_at(ctx.now):
        workflow.refresh_timers()
        _engine_steps(workflow)
    if waiting[0].state == TaskState.WAITING:
        raise EngineError(f"第 {number} 步：定时事件「{_name(waiting[0])}」到期后没有触发")


def _recording_engine(ctx: StepContext, scenario: Scenario, result: Run) -> SandboxScriptEngine:
    """A script engine whose service calls are recorded and answered with stubs instead of being run; its deadline
    helpers are the steps' (the scenario's clock, the working-day calendar with its entered years)."""
    from engine.workflow.instances import _step_helpers

    class Recording(SandboxScriptEngine):
        def call_service(self, task: Any, **kwargs: Any) -> Any:
            name = kwargs.get("operation_name", "")
            params = {k: p.get("value") if isinstance(p, dict) else p
                      for k, p in (kwargs.get("operation_params") or {}).items()}
            op = OPERATIONS.get(name)
            if op is None:
                raise EngineError(f"服务操作「{name}」未注册")
            bpmn_id = task.task_spec.bpmn_id
            if bpmn_id in scenario.services:
                answer = scenario.services[bpmn_id]
            elif name in scenario.services:
                answer = scenario.services[name]
            else:
                answer = op.stub(**params) if op.stub else {}
            result.calls.append({"task": bpmn_id, "operation": name, "label": op.label, "parameters": params})
            return json.dumps(answer, ensure_ascii=False, default=str)

    return Recording(environment=SandboxEnvironment(_step_helpers(ctx)))


def _name(task: Any) -> str:
    return task.task_spec.bpmn_name or task.task_spec.bpmn_id or task.task_spec.name


def _read_path(workflow: BpmnWorkflow | None, bpmn_xml: str, result: Run) -> None:
    """Fill elements, flows, end and waiting from the workflow's task tree."""
    if workflow is None:
        return
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
    from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
    from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

    flows: dict[tuple[str, str], str] = {}
    try:
        tree = etree.fromstring(bpmn_xml.encode())
        for flow in tree.xpath("//bpmn:sequenceFlow", namespaces=NS):
            flows[(flow.get("sourceRef"), flow.get("targetRef"))] = flow.get("id")
    except etree.XMLSyntaxError:
        pass
    done = sorted((t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id),
                  key=lambda t: t.last_state_change)
    for task in done:
        result.elements.append(task.task_spec.bpmn_id)
        timer = isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)
        if task.task_spec.manual or (timer and not isinstance(task.task_spec, StartEvent)):
            result.steps.append(task.task_spec.bpmn_id)
        parent = task.parent
        while parent is not None and not parent.task_spec.bpmn_id:
            parent = parent.parent
        flow = flows.get((parent.task_spec.bpmn_id, task.task_spec.bpmn_id)) if parent is not None else None
        if flow and flow not in result.flows:
            result.flows.append(flow)
    if workflow.is_completed():
        ends = [t for t in done if isinstance(t.task_spec, EndEvent)]
        result.end = ends[-1].task_spec.bpmn_id if ends else None
    result.waiting = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


# --- a deploy's scenario check -------------------------------------------------------------------------------

STATUS_LABELS = {"passed": "通过", "changed": "结果与预期不同", "error": "出错"}


@dataclass
class Verdict:
    """One scenario on the new version, compared with what it expects and with the previous version."""

    scenario: Scenario
    run: Run
    previous: Run | None = None

    @property
    def status(self) -> str:
        if self.run.error:
            return "error"
        expected = self.scenario.expected
        same = self.run.steps == list(expected.get("steps") or []) and self.run.end == expected.get("end")
        return "passed" if same else "changed"

    def as_dict(self) -> dict[str, Any]:
        previous = self.previous
        differs = previous is not None and previous.outcome() != self.run.outcome()
        return {
            "name": self.scenario.name, "description": self.scenario.description,
            "status": self.status, "status_label": STATUS_LABELS[self.status],
            "expected": self.scenario.expected, "actual": self.run.outcome(),
            "elements": self.run.elements, "flows": self.run.flows, "waiting": self.run.waiting,
            "calls": self.run.calls, "error": self.run.error, "diverged": self.run.diverged,
            "previous": None if previous is None else {
                **previous.outcome(), "elements": previous.elements, "flows": previous.flows,
                "error": previous.error},
            "differs_from_previous": differs,
            "only_now": [e for e in self.run.elements if previous is not None and e not in previous.elements],
            "only_before": [e for e in previous.elements if e not in self.run.elements] if previous else [],
        }


def confirmation_token(bundle_sha: str, verdicts: list[Verdict]) -> str:
    """What an administrator confirms: this bundle, and each changed scenario with its new outcome."""
    changed = sorted((v.scenario.name, v.run.outcome()) for v in verdicts if v.status == "changed")
    if not changed:
        return ""
    canonical = json.dumps([bundle_sha, changed], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


class ScenariosChanged(EngineError):
    """Scenarios end differently on the new version: the administrator confirms (with `confirmation`) or not."""

    http_status = 409


class ScenariosFailed(EngineError):
    """A scenario errors on the new version: deploy is refused."""

    http_status = 422


def stored(session: Session, key: str) -> list[Scenario]:
    """The scenarios kept for process `key`, by name."""
    from engine.workflow.models import ProcessScenario

    rows = session.scalars(select(ProcessScenario).where(ProcessScenario.process_key == key)
                           .order_by(ProcessScenario.id))
    return parse_scenarios([{**row.body, "name": row.name} for row in rows])


def check_deploy(session: Session, key: str, bundle_sha: str, checked_spec: tuple[Any, dict[str, Any]],
                 forms: dict[str, dict], bpmn_xml: str, offered: list[Scenario], confirmation: str | None
                 ) -> list[Verdict]:
    """Run the process's scenarios (stored ones, replaced by name by those offered) on the new version and on the
    newest stored version. Raises ScenariosFailed when one errors, ScenariosChanged when one ends differently and
    `confirmation` is not the token for exactly those changes; returns the verdicts otherwise."""
    verdicts = trial(session, key, checked_spec, forms, bpmn_xml, offered)
    failed = [v for v in verdicts if v.status == "error"]
    results = [v.as_dict() for v in verdicts]
    if failed:
        problems = [{"element": "", "message": f"场景「{v.scenario.name}」运行出错：{v.run.error}"} for v in failed]
        raise ScenariosFailed("场景运行出错，不能部署：" + "；".join(p["message"] for p in problems),
                              errors={"_diagram": problems, "_scenarios": results})
    token = confirmation_token(bundle_sha, verdicts)
    if token and confirmation != token:
        changed = "、".join(f"「{v.scenario.name}」" for v in verdicts if v.status == "changed")
        raise ScenariosChanged(
            f"场景{changed}在新版本上的结果与预期不同。请在流程图上查看其路径，确认后再部署。",
            errors={"_scenarios": results, "_scenario_confirmation": token})
    return verdicts


def trial(session: Session, key: str, checked_spec: tuple[Any, dict[str, Any]], forms: dict[str, dict],
          bpmn_xml: str, offered: list[Scenario]) -> list[Verdict]:
    """试运行: every scenario of `key` on the new version, each also on the newest deployed version if any."""
    from engine.workflow import specs
    from engine.workflow.models import ProcessModel

    chosen = {s.name: s for s in stored(session, key)}
    chosen.update({s.name: s for s in offered})
    previous_model = session.scalar(select(ProcessModel).where(ProcessModel.key == key)
                                    .order_by(ProcessModel.version.desc()).limit(1))
    verdicts = []
    for scenario in chosen.values():
        now = run(session, *checked_spec, forms, bpmn_xml, scenario)
        before = None
        if previous_model is not None:
            before = run(session, *specs.spec_for(previous_model), previous_model.forms or {},
                         previous_model.bpmn_xml, scenario)
        verdicts.append(Verdict(scenario, now, before))
    return verdicts


def keep(session: Session, key: str, offered: list[Scenario], actor: str, source: str,
         replace: bool = True) -> list[str]:
    """Store scenarios of `key` by name (`replace`: also those already kept); returns the names written."""
    from engine.audit.services import record as audit
    from engine.workflow.models import ProcessScenario

    written = []
    for scenario in offered:
        body = {k: v for k, v in scenario.as_dict().items() if k != "name"}
        row = session.scalar(select(ProcessScenario).where(ProcessScenario.process_key == key,
                                                          ProcessScenario.name == scenario.name))
        if row is not None and (not replace or row.body == body):
            continue
        before = None if row is None else row.body
        if row is None:
            row = ProcessScenario(process_key=key, name=scenario.name)
            session.add(row)
        row.body, row.source, row.updated_by, row.updated_at = body, source, actor, clock.now()
        session.flush()
        audit(session, "scenario_saved", actor, "process_scenario", row.id, before=before,
              after={"process": key, "name": scenario.name, "source": source, **body})
        written.append(scenario.name)
    return written


def kept(session: Session, key: str) -> list[dict[str, Any]]:
    """The scenarios kept for process `key` with who last wrote them (for the scenario page and the API); the
    expected steps and end also by their names in the newest version (`expected_labels`)."""
    from engine.workflow import specs
    from engine.workflow.models import ProcessScenario

    spec, subprocess_specs = specs.spec_for(specs.latest(session, key))
    names = {s.bpmn_id: s.bpmn_name for each in (spec, *subprocess_specs.values())
             for s in each.task_specs.values() if getattr(s, "bpmn_id", None) and getattr(s, "bpmn_name", None)}
    rows = session.scalars(select(ProcessScenario).where(ProcessScenario.process_key == key)
                           .order_by(ProcessScenario.id))
    found = []
    for row in rows:
        expected = (row.body or {}).get("expected") or {}
        found.append({"name": row.name, "description": (row.body or {}).get("description") or "",
                      "source": row.source, "updated_by": row.updated_by, "updated_at": row.updated_at,
                      "expected": expected,
                      "expected_labels": {"steps": [names.get(s, s) for s in expected.get("steps") or []],
                                          "end": names.get(expected.get("end"), expected.get("end"))}})
    return found


def forget(session: Session, key: str, name: str, actor: str) -> None:
    """Delete the kept scenario `name` of `key` (audited `scenario_deleted` with what it held): later deploys no
    longer run it. A scenario shipped with the bundle comes back when the bundled files are deployed again."""
    from engine.audit.services import record as audit
    from engine.errors import NotFound
    from engine.workflow.models import ProcessScenario

    row = session.scalar(select(ProcessScenario).where(ProcessScenario.process_key == key,
                                                      ProcessScenario.name == name))
    if row is None:
        raise NotFound(f"流程「{key}」没有名为「{name}」的场景")
    audit(session, "scenario_deleted", actor, "process_scenario", row.id,
          before={"process": key, "name": row.name, "source": row.source, **(row.body or {})})
    session.delete(row)
    session.flush()


def accept_changes(session: Session, key: str, verdicts: list[Verdict], actor: str) -> None:
    """After a confirmed deploy, a changed scenario expects what the new version does."""
    changed = [Scenario(**{**v.scenario.__dict__, "expected": v.run.outcome()})
               for v in verdicts if v.status == "changed"]
    keep(session, key, changed, actor, "upload")


def from_instance(session: Session, instance_id: int, name: str, actor: Any, description: str = "") -> Verdict:
    """Keep a finished case's path as a new scenario of its process: its start facts, the form values entered at
    each user task, the timers that fired and what each service task answered; it expects the steps and end the
    case had. Returns its run on the newest version (audited as `scenario_saved`)."""
    from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
    from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

    from engine.errors import ConflictError, NotFound
    from engine.workflow import specs
    from engine.workflow.instances import load_workflow
    from engine.workflow.models import ProcessInstance, ProcessScenario

    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("流程实例不存在")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise FormInvalid({"name": "请填写场景名称（不超过 200 字）"})
    if instance.status != "completed":
        raise ConflictError("只有已办结的流程才能保存为场景（该流程尚未结束）")
    key = instance.model.key
    if session.scalar(select(ProcessScenario.id).where(ProcessScenario.process_key == key,
                                                       ProcessScenario.name == name)):
        raise FormInvalid({"name": f"流程「{key}」已有名为「{name}」的场景"})
    workflow = load_workflow(instance)
    done = sorted((t for t in workflow.get_tasks(state=TaskState.COMPLETED)),
                  key=lambda t: t.last_state_change)
    start = next((dict(t.data) for t in workflow.get_tasks(state=TaskState.COMPLETED)
                  if isinstance(t.task_spec, BpmnStartTask)), {})
    forms = instance.model.forms or {}
    steps: list[dict[str, Any]] = []
    services: dict[str, Any] = {}
    start_event = None
    starts = [s for s in workflow.spec.task_specs.values() if isinstance(s, StartEvent)]
    for task in done:
        spec = task.task_spec
        if not spec.bpmn_id:
            continue
        timer = isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)
        if isinstance(spec, StartEvent):
            start_event = spec.bpmn_id if len(starts) > 1 else None
        elif spec.manual:
            schema = forms.get(spec.extensions.get("properties", {}).get(specs.FORM_PROPERTY, ""), {})
            fields = list((schema.get("properties") or {}) if isinstance(schema, dict) else {})
            steps.append({"task": spec.bpmn_id, "form": {f: task.data.get(f) for f in fields
                                                         if task.data.get(f) is not None}})
        elif timer:
            steps.append({"timer": spec.bpmn_id})
        elif getattr(spec, "result_variable", None) and spec.result_variable in task.data:
            services[spec.bpmn_id] = task.data[spec.result_variable]
    scenario = Scenario(name=name, start=start, steps=steps, services=services, start_event=start_event,
                        description=description or f"由流程实例 {instance.id} 的办理路径保存")
    case_run = run(session, *specs.spec_for(instance.model), forms, instance.model.bpmn_xml, scenario)
    scenario.expected = {"steps": [s.get("task") or s.get("timer") for s in steps], "end": case_run.end}
    if case_run.error or case_run.diverged or case_run.outcome() != scenario.expected:
        raise ConflictError("该案件的办理路径无法在其版本上重放，不能保存为场景："
                            f"{case_run.error or case_run.diverged or '结果不一致'}")
    keep(session, key, [scenario], getattr(actor, "username", str(actor)), "case", replace=False)
    newest = specs.latest(session, key)
    return Verdict(scenario, run(session, *specs.spec_for(newest), newest.forms or {}, newest.bpmn_xml, scenario),
                   case_run)
