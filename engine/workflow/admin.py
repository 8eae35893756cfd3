"""Process administration: list deployed versions with their running cases, deploy uploads, export versions.

Validation and storage stay in `specs.deploy`; this module only shapes what administrators see and send.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import InvalidDiagram, NotFound
from engine.workflow import specs
from engine.workflow.models import ProcessInstance, ProcessModel
from engine.workflow.registry import subjects, timings

OPEN_STATUSES = ("running", "paused", "suspended", "error")


@dataclass
class DeployResult:
    model: ProcessModel
    created: bool  # False: exactly this bundle was deployed already
    warnings: list[dict[str, str]] = field(default_factory=list)  # acknowledged by the administrator
    scenarios: list[dict[str, Any]] = field(default_factory=list)  # each scenario's run on the new version


def list_models(session: Session) -> list[dict[str, Any]]:
    """Every process key with its versions (newest first) and how many open cases run on each version."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(ProcessInstance.model_id, ProcessInstance.status, func.count())
        .where(ProcessInstance.status.in_(OPEN_STATUSES))
        .group_by(ProcessInstance.model_id, ProcessInstance.status)
    )
    for model_id, status, count in rows:
        counts.setdefault(model_id, {})[status] = count
    result: dict[str, dict[str, Any]] = {}
    for model in session.scalars(select(ProcessModel).order_by(ProcessModel.key, ProcessModel.version.desc())):
        entry = result.setdefault(model.key, {"key": model.key, "name": model.name, "versions": []})
        by_status = counts.get(model.id, {})
        entry["versions"].append({
            "id": model.id, "version": model.version, "name": model.name, "sha": model.sha256[:12],
            "deployed_by": model.deployed_by, "deployed_at": model.deployed_at, "comment": model.comment or "",
            "open_cases": sum(by_status.values()), "by_status": by_status,
        })
    return list(result.values())


def deploy_bundle_from_upload(
    session: Session, bpmn_xml: str, forms: dict[str, Any] | None, dmn: dict[str, Any] | None,
    actor: str, comment: str = "", acknowledge_warnings: bool = False, scenarios: list[Any] | None = None,
    scenario_confirmation: str | None = None,
) -> DeployResult:
    """Deploy what the browser editor sends, after running the process's scenarios on it (see
    `specs.deploy_checked`); malformed forms or tables become problems, never a 500."""
    bundle = bundle_from_upload(bpmn_xml, forms, dmn, scenarios)
    deployed = specs.deploy_checked(session, bundle, deployed_by=actor, comment=comment,
                                    acknowledge_warnings=acknowledge_warnings, run_scenarios=True,
                                    scenario_confirmation=scenario_confirmation)
    return DeployResult(deployed.model, deployed.created, deployed.warnings, deployed.scenarios)


def trial_run(session: Session, bpmn_xml: str, forms: dict[str, Any] | None, dmn: dict[str, Any] | None,
              scenarios: list[Any] | None = None) -> dict[str, Any]:
    """试运行 before deploy: check the upload (warnings are reported, not refused) and run every scenario of the
    process on it in memory; nothing is stored. Errors of the diagram raise InvalidDiagram as deploy does."""
    from engine.workflow import scenarios as scenario_runs
    from engine.workflow.lane_roles import active_names

    bundle = bundle_from_upload(bpmn_xml, forms, dmn, scenarios)
    checked = specs.check_bundle(bundle, active_names(session), acknowledge_warnings=True)
    verdicts = scenario_runs.trial(session, checked.key, (checked.spec, checked.subprocess_specs), bundle.forms,
                                   bundle.bpmn_xml, scenario_runs.parse_scenarios(bundle.scenarios))
    return {"key": checked.key, "warnings": checked.warnings, "scenarios": [v.as_dict() for v in verdicts],
            "confirmation": scenario_runs.confirmation_token(bundle.sha256(), verdicts)}


def bundle_from_upload(bpmn_xml: str, forms: dict[str, Any] | None, dmn: dict[str, Any] | None,
                       scenarios: list[Any] | None = None) -> specs.Bundle:
    """The bundle the browser editor sends; malformed forms or tables become problems (InvalidDiagram)."""
    problems = []
    if not isinstance(bpmn_xml, str) or not bpmn_xml.strip():
        problems.append({"element": "", "message": "没有提交流程图（BPMN XML）"})
    clean_forms: dict[str, dict] = {}
    for name, schema in (forms or {}).items():
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError as exc:
                problems.append({"element": str(name), "message": f"表单 {name} 不是有效的 JSON：{exc}"})
                continue
        if not isinstance(schema, dict):
            problems.append({"element": str(name), "message": f"表单 {name} 必须是 JSON 对象（JSON Schema）"})
            continue
        clean_forms[str(name)] = schema
    clean_dmn: dict[str, str] = {}
    for name, xml in (dmn or {}).items():
        if not isinstance(xml, str):
            problems.append({"element": str(name), "message": f"决策表 {name} 必须是 XML 文本"})
            continue
        clean_dmn[str(name)] = xml
    if scenarios is not None and not isinstance(scenarios, list):
        problems.append({"element": "", "message": "场景（scenarios）必须是 JSON 数组"})
    if problems:
        raise InvalidDiagram(problems)
    return specs.Bundle(bpmn_xml, dmn=clean_dmn, forms=clean_forms, scenarios=list(scenarios or []))


def get_version(session: Session, key: str, version: int) -> ProcessModel:
    model = session.scalar(select(ProcessModel).where(ProcessModel.key == key, ProcessModel.version == version))
    if model is None:
        raise NotFound(f"流程「{key}」没有第 {version} 版")
    return model


def export_version(session: Session, key: str, version: int) -> specs.Bundle:
    """The bundle (diagram, forms, decision tables) of one deployed version."""
    from engine.workflow.scenarios import stored

    model = get_version(session, key, version)
    return specs.Bundle(model.bpmn_xml, dmn=dict(model.dmn or {}), forms=dict(model.forms or {}),
                        scenarios=[s.as_dict() for s in stored(session, key)])


def write_bundle(bundle: specs.Bundle, key: str, directory: Path) -> Path:
    """Write a bundle the way `processes/` is laid out: KEY.bpmn, forms/*.json, decisions/*.dmn."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key}.bpmn"
    path.write_text(bundle.bpmn_xml, encoding="utf-8")
    if bundle.forms:
        (directory / "forms").mkdir(exist_ok=True)
        for name, schema in bundle.forms.items():
            (directory / "forms" / Path(name).name).write_text(
                json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if bundle.scenarios:
        (directory / "scenarios").mkdir(exist_ok=True)
        (directory / "scenarios" / f"{key}.json").write_text(json.dumps(
            {"process": key, "scenarios": bundle.scenarios}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if bundle.dmn:
        (directory / "decisions").mkdir(exist_ok=True)
        for name, xml in bundle.dmn.items():
            (directory / "decisions" / Path(name).name).write_text(xml, encoding="utf-8")
    return path


def deploy_file(session: Session, path: Path, actor: str, comment: str = "",
                scenario_confirmation: str | None = None) -> DeployResult:
    """Deploy one diagram file with the forms/ and decisions/ beside it."""
    bundle = specs.bundle_from_directory(path)
    deployed = specs.deploy_checked(session, bundle, deployed_by=actor, comment=comment or f"从 {path.name} 部署",
                                    run_scenarios=True, scenario_confirmation=scenario_confirmation)
    return DeployResult(deployed.model, deployed.created, deployed.warnings, deployed.scenarios)


def instances_needing_attention(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Instances in `error` or `suspended`, newest change first, with the case's tracking code."""
    subject_id, subject_label = subjects().label_columns()
    rows = session.execute(
        select(ProcessInstance, subject_label)
        .outerjoin(subject_id.table, subject_id == ProcessInstance.subject_id)
        .where(ProcessInstance.status.in_(("error", "suspended")))
        .order_by(ProcessInstance.updated_at.desc()).limit(limit))
    return [{"instance": instance, "tracking_code": code} for instance, code in rows]


def finished_of(session: Session, subject_id: int) -> ProcessInstance | None:
    """The case's newest completed process instance (its path may be saved as a scenario), or None."""
    return session.scalar(select(ProcessInstance).where(
        ProcessInstance.subject_id == subject_id, ProcessInstance.status == "completed")
        .order_by(ProcessInstance.id.desc()).limit(1))


def trouble_of(session: Session, subject_id: int) -> ProcessInstance | None:
    """The case's newest process instance in `error` or `suspended` (the warning on the case page), or None."""
    return session.scalar(select(ProcessInstance).where(
        ProcessInstance.subject_id == subject_id, ProcessInstance.status.in_(("error", "suspended")))
        .order_by(ProcessInstance.id.desc()).limit(1))


def catalog(session: Session) -> dict[str, list[dict[str, Any]]]:
    """What diagrams may name, for the modeler's pick lists: lane roles, service operations, forms."""
    from engine.workflow.lane_roles import known_lanes
    from engine.workflow.registry import OPERATIONS, require_loaded

    require_loaded()
    operations = [{"name": op.name, "label": op.label, "parameters": list(op.parameters)}
                  for op in sorted(OPERATIONS.values(), key=lambda o: o.name)]
    forms: dict[str, dict[str, Any]] = {}
    newest = select(ProcessModel.key, func.max(ProcessModel.version).label("version")).group_by(
        ProcessModel.key).subquery()
    for model in session.scalars(select(ProcessModel).join(
            newest, (ProcessModel.key == newest.c.key) & (ProcessModel.version == newest.c.version))):
        for name, schema in (model.forms or {}).items():
            title = schema.get("title", "") if isinstance(schema, dict) else ""
            forms.setdefault(name, {"name": name, "title": title, "processes": []})["processes"].append(model.key)
    return {"lanes": known_lanes(session), "operations": operations,
            "forms": sorted(forms.values(), key=lambda f: f["name"]),
            "time_limits": time_limit_choices(session), "statuses": status_choices()}


def time_limit_choices(session: Session) -> list[dict[str, Any]]:
    """The administrator-edited time limits (系统管理 › 办理时限) a user task or timer may name."""
    return [{"key": limit.key, "label": limit.label, "description": limit.description}
            for limit in timings().time_limits(session)]


def status_choices() -> list[dict[str, str]]:
    """The case statuses a user task may set (`caseStatus`), in the procedure's order, with Chinese labels."""
    return [{"code": code, "label": label} for code, label in subjects().statuses().items()]


def fields_upstream(bpmn_xml: str, forms: dict[str, Any], element_id: str) -> list[dict[str, Any]]:
    """The form fields and case facts an expression on `element_id` may read, for the modeler's builders
    (the same reading of the diagram as the deploy check of names). Raises InvalidDiagram for unreadable XML."""
    from lxml import etree

    from engine.workflow.checks import NS, upstream_fields
    from engine.workflow.registry import require_loaded

    require_loaded()  # start facts are declared with the operations
    try:
        tree = etree.fromstring(bpmn_xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidDiagram([{"element": "", "message": f"BPMN 文件不是有效的 XML：{exc}"}]) from exc
    processes = tree.xpath("//bpmn:process[@isExecutable='true']", namespaces=NS) or tree.xpath(
        "//bpmn:process", namespaces=NS)
    key = processes[0].get("id") if processes else ""
    return upstream_fields(tree, key, forms if isinstance(forms, dict) else {}, element_id)


def form_problems(schema: object) -> list[str]:
    """Why a form (JSON Schema) would be refused at deploy, in Chinese; empty when it is fine."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict):
        return ["表单必须是 JSON 对象（JSON Schema）"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"不是有效的 JSON Schema：{exc.message}"]
    problems = []
    if schema.get("type") not in (None, "object"):
        problems.append("表单的 type 应为 \"object\"")
    if not isinstance(schema.get("properties", {}), dict) or not schema.get("properties"):
        problems.append("表单没有字段（properties）")
    return problems


def open_instances(session: Session, model_id: int) -> list[dict[str, Any]]:
    """The open instances of one version with their case's tracking code and current task titles."""
    from engine.workflow.models import HumanTask

    subject_id, subject_label = subjects().label_columns()
    rows = session.execute(
        select(ProcessInstance, subject_label)
        .outerjoin(subject_id.table, subject_id == ProcessInstance.subject_id)
        .where(ProcessInstance.model_id == model_id, ProcessInstance.status.in_(OPEN_STATUSES))
        .order_by(ProcessInstance.id)).all()
    titles: dict[int, list[str]] = {}
    if rows:
        for instance_id, title in session.execute(
                select(HumanTask.instance_id, HumanTask.title).where(
                    HumanTask.instance_id.in_([r[0].id for r in rows]), HumanTask.completed_at.is_(None))):
            titles.setdefault(instance_id, []).append(title)
    return [{"instance": instance, "tracking_code": code, "tasks": titles.get(instance.id, [])}
            for instance, code in rows]
