"""Process models: parse, validate, deploy as immutable versions, and cache parsed specs by checksum."""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import InvalidDiagram, NotFound
from engine.workflow import serializer
from engine.workflow.models import ProcessModel
from engine.workflow.registry import LANES, OPERATIONS, require_loaded, subjects, timings
from engine.workflow.sandbox import source_problem

logger = logging.getLogger(__name__)

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}
FORM_PROPERTY = "formJsonSchemaFilename"
_SPEC_CACHE: dict[str, tuple[Any, dict[str, Any]]] = {}


@dataclass
class Bundle:
    """A diagram with the decision tables and forms it needs — what one version consists of — and the
    scenarios that try it (engine/workflow/scenarios.py; not part of the version's checksum: they test
    behaviour, they are none)."""

    bpmn_xml: str
    dmn: dict[str, str] = field(default_factory=dict)
    forms: dict[str, dict] = field(default_factory=dict)
    scenarios: list[dict] = field(default_factory=list)

    def sha256(self) -> str:
        canonical = json.dumps(
            {"bpmn": self.bpmn_xml, "dmn": self.dmn, "forms": self.forms}, sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def bundle_from_directory(bpmn_path: Path) -> Bundle:
    """Read a diagram from `processes/` with the forms and DMN files it refers to and its scenarios
    (`scenarios/<file stem>.json`)."""
    root = bpmn_path.parent
    xml = bpmn_path.read_text(encoding="utf-8")
    bundle = Bundle(xml)
    scenario_path = root / "scenarios" / f"{bpmn_path.stem}.json"
    if scenario_path.exists():
        data = json.loads(scenario_path.read_text(encoding="utf-8"))
        bundle.scenarios = list(data.get("scenarios", []) if isinstance(data, dict) else data)
    try:
        tree = etree.fromstring(xml.encode())
    except etree.XMLSyntaxError:
        return bundle
    for name in tree.xpath("//spiffworkflow:property[@name=$n]/@value", namespaces=NS, n=FORM_PROPERTY):
        form_path = root / "forms" / name
        if form_path.exists():
            bundle.forms[name] = json.loads(form_path.read_text(encoding="utf-8"))
    wanted = set(tree.xpath("//spiffworkflow:calledDecisionId/text()", namespaces=NS))
    for dmn_path in sorted((root / "decisions").glob("*.dmn")):
        dmn_xml = dmn_path.read_text(encoding="utf-8")
        ids = set(etree.fromstring(dmn_xml.encode()).xpath("//*[local-name()='decision']/@id"))
        if ids & wanted:
            bundle.dmn[dmn_path.name] = dmn_xml
    return bundle


@dataclass
class Checked:
    """A bundle that passed validation: its process key and name, the parsed spec, and the warnings found."""

    key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    warnings: list[dict[str, str]]


def check_bundle(bundle: Bundle, defined_lanes: Collection[str] = (),
                 acknowledge_warnings: bool = False) -> Checked:
    """Validate and parse without running anything; raises InvalidDiagram listing every problem.

    Errors always refuse; warnings (`"severity": "warning"`) refuse unless `acknowledge_warnings`.
    `defined_lanes`: names of administrator-defined lane roles accepted besides the code-backed ones.
    """
    from engine.workflow import checks

    require_loaded()
    problems: list[dict[str, str]] = []
    try:
        tree = etree.fromstring(bundle.bpmn_xml.encode())
    except etree.XMLSyntaxError as exc:
        raise InvalidDiagram([{"element": "", "message": f"BPMN 文件不是有效的 XML：{exc}"}]) from exc
    dmn_trees = {}
    for name, xml in bundle.dmn.items():
        try:
            dmn_trees[name] = etree.fromstring(xml.encode())
        except etree.XMLSyntaxError as exc:
            problems.append({"element": name, "message": f"决策表 {name} 不是有效的 XML：{exc}"})
    processes = tree.xpath("//bpmn:process[@isExecutable='true']", namespaces=NS) or tree.xpath(
        "//bpmn:process", namespaces=NS
    )
    if not processes:
        raise InvalidDiagram([{"element": "", "message": "文件中没有流程（bpmn:process）"}])
    process_el = processes[0]
    key, name = process_el.get("id"), process_el.get("name") or process_el.get("id")
    problems += _check_lanes(tree, defined_lanes) + _check_user_tasks(tree, bundle) + _check_service_tasks(tree)
    problems += _check_expressions(tree, dmn_trees) + _check_task_properties(tree)
    problems += checks.structure_problems(tree) + checks.lane_parameter_problems(tree, defined_lanes)
    if not problems:  # these read the expressions, which must parse first
        problems += checks.gateway_problems(tree, key, bundle.forms)
        problems += checks.name_problems(tree, key, bundle.forms, checks.dmn_output_names(dmn_trees))
        problems += _check_timer_values(tree, bundle)
        problems += _check_start_timers(key, bundle)
    errors = [p for p in problems if p.get("severity") != "warning"]
    warnings = [p for p in problems if p.get("severity") == "warning"]
    if errors:
        raise InvalidDiagram(errors + warnings)
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(tree, filename=f"{key}.bpmn")
        for dmn_name, dmn_tree in dmn_trees.items():
            parser.add_dmn_xml(dmn_tree, filename=dmn_name)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise InvalidDiagram([checks.parser_problem(exc)]) from exc
    except Exception as exc:  # parsers of foreign diagrams fail in many ways; never a 500
        raise InvalidDiagram([checks.parser_problem(exc)]) from exc
    if warnings and not acknowledge_warnings:
        raise InvalidDiagram(warnings, acknowledgeable=True)
    return Checked(key, name, spec, subprocess_specs, warnings)


def parse_bundle(bundle: Bundle, defined_lanes: Collection[str] = (),
                 acknowledge_warnings: bool = False) -> tuple[str, str, Any, dict[str, Any]]:
    """Validate and parse; returns (process key, name, spec, subprocess specs) or raises InvalidDiagram."""
    checked = check_bundle(bundle, defined_lanes, acknowledge_warnings)
    return checked.key, checked.name, checked.spec, checked.subprocess_specs


@dataclass
class Deployed:
    model: ProcessModel
    created: bool  # False: exactly this bundle was deployed already (and passed validation again)
    warnings: list[dict[str, str]]
    scenarios: list[dict[str, Any]] = field(default_factory=list)  # each scenario's run (scenarios.Verdict)


def deploy_checked(session: Session, bundle: Bundle, deployed_by: str = "system", comment: str = "",
                   acknowledge_warnings: bool = False, run_scenarios: bool = False,
                   scenario_confirmation: str | None = None) -> Deployed:
    """Validate `bundle` (always, also when it is stored already) and store it as the next version unless that
    exact bundle is deployed already.

    With `run_scenarios` every scenario of the process (kept ones, replaced by name by the bundle's) runs in
    memory on the new version first (engine/workflow/scenarios.py): one that errors refuses the deploy, one
    that ends differently needs `scenario_confirmation`. The bundle's scenarios are kept (without
    `run_scenarios`, only those not kept yet: a directory deploy never overwrites an administrator's)."""
    from engine.workflow import scenarios
    from engine.workflow.lane_roles import active_names

    sha = bundle.sha256()
    checked = check_bundle(bundle, active_names(session), acknowledge_warnings)
    offered = scenarios.parse_scenarios(bundle.scenarios)
    verdicts: list[scenarios.Verdict] = []
    if run_scenarios:
        verdicts = scenarios.check_deploy(session, checked.key, sha, (checked.spec, checked.subprocess_specs),
                                          bundle.forms, bundle.bpmn_xml, offered, scenario_confirmation)
        scenarios.accept_changes(session, checked.key, verdicts, deployed_by)
    scenarios.keep(session, checked.key, [s for s in offered if s.name not in
                                          {v.scenario.name for v in verdicts if v.status == "changed"}],
                   deployed_by, "upload" if run_scenarios else "bundle", replace=run_scenarios)
    ran = [v.as_dict() for v in verdicts]
    existing = session.scalar(select(ProcessModel).where(ProcessModel.sha256 == sha))
    if existing is not None:
        return Deployed(existing, False, checked.warnings, ran)
    key, name, spec, subprocess_specs = checked.key, checked.name, checked.spec, checked.subprocess_specs
    version = (session.scalar(select(func.max(ProcessModel.version)).where(ProcessModel.key == key)) or 0) + 1
    model = ProcessModel(
        key=key, version=version, name=name, sha256=sha, bpmn_xml=bundle.bpmn_xml, dmn=bundle.dmn,
        forms=bundle.forms, spec_json=serializer.dump_spec(spec, subprocess_specs),
        comment=comment, deployed_by=deployed_by,
    )
    session.add(model)
    session.flush()
    _SPEC_CACHE[sha] = (spec, subprocess_specs)
    from engine.audit.services import record as audit

    audit(session, "process_deployed", deployed_by, "process_model", model.id, after={
        "key": key, "version": version, "sha256": sha, "comment": comment,
        **({"acknowledged_warnings": [w["message"] for w in checked.warnings]} if checked.warnings else {})})
    logger.info("deployed process %s version %s (%s) by %s", key, version, sha[:12], deployed_by)
    return Deployed(model, True, checked.warnings, ran)


def deploy(session: Session, bundle: Bundle, deployed_by: str = "system", comment: str = "",
           acknowledge_warnings: bool = False) -> ProcessModel:
    """Store `bundle` as the next version of its process, unless that exact bundle is deployed already."""
    return deploy_checked(session, bundle, deployed_by, comment, acknowledge_warnings).model


def deploy_directory(session: Session, directory: Path, deployed_by: str = "system") -> list[ProcessModel]:
    """Deploy every `*.bpmn` in `directory` whose bundle checksum is new; returns the new versions."""
    new = []
    for path in sorted(directory.glob("*.bpmn")):
        bundle = bundle_from_directory(path)
        before = session.scalar(select(ProcessModel.id).where(ProcessModel.sha256 == bundle.sha256()))
        model = deploy(session, bundle, deployed_by, comment=f"从 {path.name} 部署")
        if before is None:
            new.append(model)
    return new


def latest(session: Session, key: str) -> ProcessModel:
    model = session.scalar(
        select(ProcessModel).where(ProcessModel.key == key).order_by(ProcessModel.version.desc()).limit(1)
    )
    if model is None:
        raise NotFound(f"流程「{key}」尚未部署")
    return model


def spec_for(model: ProcessModel) -> tuple[Any, dict[str, Any]]:
    """The parsed spec of a version, restored once per process and kept by checksum."""
    cached = _SPEC_CACHE.get(model.sha256)
    if cached is None:
        cached = _SPEC_CACHE[model.sha256] = serializer.load_spec(model.spec_json)
    return cached


def _label(el: etree._Element) -> str:
    name = el.get("name")
    return f"{el.get('id')}（{name}）" if name else (el.get("id") or etree.QName(el).localname)


def _check_lanes(tree: etree._Element, defined_lanes: Collection[str]) -> list[dict[str, str]]:
    problems = []
    for lane_el in tree.xpath("//bpmn:lane", namespaces=NS):
        if lane_el.get("name") not in LANES and lane_el.get("name") not in defined_lanes:
            known = "、".join([*LANES, *sorted(defined_lanes)])
            problems.append({"element": lane_el.get("id", ""), "message": (
                f"泳道 {_label(lane_el)} 的名称不是已知角色（可用：{known}）")})
    return problems


def _check_user_tasks(tree: etree._Element, bundle: Bundle) -> list[dict[str, str]]:
    problems = []
    for task in tree.xpath("//bpmn:userTask", namespaces=NS):
        forms = task.xpath(".//spiffworkflow:property[@name=$n]/@value", namespaces=NS, n=FORM_PROPERTY)
        if not forms:
            problems.append({"element": task.get("id", ""), "message": f"用户任务 {_label(task)} 没有指定表单"})
            continue
        schema = bundle.forms.get(forms[0])
        if schema is None:
            problems.append({"element": task.get("id", ""),
                             "message": f"用户任务 {_label(task)} 的表单 {forms[0]} 不存在"})
            continue
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append({"element": task.get("id", ""),
                             "message": f"用户任务 {_label(task)} 的表单 {forms[0]} 不是有效的 JSON Schema：{exc.message}"})
    return problems


def _check_task_properties(tree: etree._Element) -> list[dict[str, str]]:
    """A task's `caseStatus` must be a status the case pages can name; its `timeLimit` a configured time limit."""
    statuses = list(subjects().statuses())
    limits = set(timings().limits())
    problems = []
    for prop in tree.xpath("//spiffworkflow:property[@name='caseStatus' or @name='timeLimit']", namespaces=NS):
        owner = prop.getparent().getparent().getparent()
        value = prop.get("value") or ""
        if prop.get("name") == "caseStatus" and value not in statuses:
            problems.append({"element": owner.get("id", ""), "message": (
                f"{_label(owner)} 的案件状态「{value}」不是已知状态（可用：{'、'.join(statuses)}）")})
        elif prop.get("name") == "timeLimit" and value not in limits:
            problems.append({"element": owner.get("id", ""), "message": (
                f"{_label(owner)} 的办理时限「{value}」未配置（可用：{'、'.join(sorted(limits))}）")})
    return problems


def _check_service_tasks(tree: etree._Element) -> list[dict[str, str]]:
    problems = []
    for task in tree.xpath("//bpmn:serviceTask", namespaces=NS):
        ops = task.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
        if not ops:
            problems.append({"element": task.get("id", ""), "message": f"服务任务 {_label(task)} 没有指定服务操作"})
            continue
        op_name = ops[0].get("id")
        op = OPERATIONS.get(op_name)
        if tree.xpath("//bpmn:*[@id=$i]", namespaces=NS, i=op_name):
            problems.append({"element": task.get("id", ""), "message": (
                f"服务任务 {_label(task)}：流程中有元素的 ID 与操作名「{op_name}」相同，请修改该元素 ID")})
        if op is None:
            problems.append({"element": task.get("id", ""),
                             "message": f"服务任务 {_label(task)} 指定的操作「{op_name}」未注册"})
            continue
        given = {p.get("id") for p in ops[0].xpath(".//spiffworkflow:parameter", namespaces=NS)}
        missing = set(op.parameters) - given
        if missing:
            problems.append({"element": task.get("id", ""),
                             "message": f"服务任务 {_label(task)} 缺少参数：{'、'.join(sorted(missing))}"})
    return problems


def _check_expressions(tree: etree._Element, dmn_trees: dict[str, etree._Element]) -> list[dict[str, str]]:
    """Every expression, script and timer in the diagram and its tables must pass the sandbox check."""
    found: list[tuple[etree._Element, str, str]] = []
    for el in tree.xpath("//bpmn:conditionExpression", namespaces=NS):
        found.append((el.getparent(), el.text or "", "eval"))
    for el in tree.xpath("//bpmn:timeDuration | //bpmn:timeDate | //bpmn:timeCycle", namespaces=NS):
        found.append((el.getparent().getparent(), el.text or "", "eval"))
    for el in tree.xpath("//bpmn:scriptTask/bpmn:script", namespaces=NS):
        found.append((el.getparent(), el.text or "", "exec"))
    for el in tree.xpath("//spiffworkflow:preScript | //spiffworkflow:postScript", namespaces=NS):
        found.append((el.getparent().getparent(), el.text or "", "exec"))
    for el in tree.xpath("//spiffworkflow:parameter", namespaces=NS):
        task = el.xpath("ancestor::bpmn:serviceTask", namespaces=NS)
        found.append((task[0] if task else el, el.get("value") or "", "eval"))
    for el in tree.xpath("//spiffworkflow:property[@name='dueExpression']", namespaces=NS):
        found.append((el.getparent().getparent().getparent(), el.get("value") or "", "eval"))
    problems = []
    for owner, source, mode in found:
        if not source.strip():
            continue
        problem = source_problem(source, mode)
        if problem:
            problems.append({"element": owner.get("id", ""), "message": f"{_label(owner)}：{problem}"})
    for name, dmn in dmn_trees.items():
        for el in dmn.xpath("//*[local-name()='text']"):
            text = (el.text or "").strip()
            if not text or text == "-":
                continue
            problem = source_problem(text)  # an expression, or else a unary test such as `> 5`
            if problem is not None and source_problem(f"v {text}") is None:
                problem = None
            elif problem is not None and "语法错误" in problem:
                problem = source_problem(f"v {text}")
            if problem:
                owner = el.xpath("ancestor::*[@id][1]")
                problems.append({"element": owner[0].get("id", "") if owner else name,
                                 "message": f"决策表 {name}：{problem}"})
    return problems


def _check_start_timers(key: str, bundle: Bundle) -> list[dict[str, str]]:
    """Timer start events are read by the scheduler without case data: a constant cycle or date with its zone."""
    from engine.errors import EngineError
    from engine.workflow.start_timers import read_start_timers

    try:
        read_start_timers(key, bundle.bpmn_xml)
    except EngineError as exc:
        return [{"element": "", "message": exc.message}]
    return []


def _check_timer_values(tree: etree._Element, bundle: Bundle) -> list[dict[str, str]]:
    """Read each timer expression without running it: its names must be defined, its result a moment or duration.

    Catches what passes the syntax check but cannot work, e.g. a bare `PT5M` copied from another modeler (an
    undefined name), a quoted value that is no ISO 8601 date, duration or cycle, or arithmetic whose result is a
    number. Nothing is evaluated: a diagram's expressions are data at deploy time.
    """
    from engine.workflow.sandbox import HELPERS, SAFE_BUILTINS, STEP_HELPERS, constant_text, names_used

    fields = {name for schema in bundle.forms.values() if isinstance(schema, dict)
              for name in (schema.get("properties") or {}) if isinstance(schema.get("properties"), dict)}
    for script in tree.xpath("//bpmn:script/text() | //spiffworkflow:preScript/text() | "
                             "//spiffworkflow:postScript/text()", namespaces=NS):
        fields |= _assigned_names(script)
    known = fields | set(HELPERS) | set(SAFE_BUILTINS) | set(STEP_HELPERS)
    problems = []
    for el in tree.xpath("//bpmn:timeDuration | //bpmn:timeDate | //bpmn:timeCycle", namespaces=NS):
        source = (el.text or "").strip()
        if not source:
            continue
        owner = el.getparent().getparent()
        kind = etree.QName(el).localname
        unknown = sorted(names_used(source) - known)
        if unknown:
            problems.append({"element": owner.get("id", ""), "message": (
                f"{_label(owner)}：定时器表达式「{source}」使用了未定义的名称「{'、'.join(unknown)}」"
                "（固定值须加引号，例如 \"PT5M\"；期限请用 workdays(n)、limit(\"键\") 等）")})
            continue
        expected = {"timeDate": "ISO 8601 日期时间", "timeDuration": "ISO 8601 时长（如 \"P5D\"）",
                    "timeCycle": "ISO 8601 循环（如 \"R3/P1D\"）"}[kind]
        value = constant_text(source)
        if value is not None and not _timer_value_ok(kind, value):
            problems.append({"element": owner.get("id", ""),
                             "message": f"{_label(owner)}：定时器表达式「{source}」的结果「{value}」不是{expected}"})
        elif value is None and _numeric(source):
            problems.append({"element": owner.get("id", ""),
                             "message": f"{_label(owner)}：定时器表达式「{source}」的结果是数字，不是{expected}"})
        elif value is None and _helper_result(source) not in (None, {"timeDate": "moment", "timeDuration": "duration",
                                                                     "timeCycle": "cycle"}[kind]):
            got = {"moment": "日期时间", "duration": "时长"}[_helper_result(source) or "moment"]
            problems.append({"element": owner.get("id", ""),
                             "message": f"{_label(owner)}：定时器表达式「{source}」的结果是{got}，不是{expected}"})
    return problems


def _assigned_names(script: str) -> set[str]:
    """Names a script assigns at its top level or in its blocks (they become task data)."""
    import ast

    try:
        tree = ast.parse(script.strip())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()  # reported by the expression check
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


MOMENT_HELPERS = {"workdays", "calendar_days", "limit", "reminder", "end_of", "before", "after", "today"}


def _helper_result(source: str) -> str | None:
    """`moment` or `duration` when `source` is a call of a deadline helper (read from the call, not run)."""
    import ast

    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    body = tree.body
    if isinstance(body, ast.Call) and isinstance(body.func, ast.Name):
        return "moment" if body.func.id in MOMENT_HELPERS else "duration" if body.func.id == "days" else None
    return None


def _numeric(source: str) -> bool:
    """Whether `source` is arithmetic on number constants only (its value is a number, whatever it is)."""
    import ast

    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator, ast.unaryop)
    return all(isinstance(n, allowed) and not (isinstance(n, ast.Constant) and not isinstance(n.value, int | float))
               for n in ast.walk(tree))


def _timer_value_ok(kind: str, value: str) -> bool:
    import re
    from datetime import datetime as datetime_type

    if kind == "timeDate":
        try:
            datetime_type.fromisoformat(value)
        except ValueError:
            return False
        return True
    if kind == "timeDuration":
        return re.fullmatch(r"-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?", value) is not None
    return value.startswith("R")
