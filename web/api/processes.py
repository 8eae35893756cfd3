"""Process administration (roles process_admin, sysadmin): versions, deploy, migration, instance repair."""
from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.cases.disclosure import Disclosure
from engine.org.permissions import ADMINISTER_PROCESSES
from engine.workflow import admin, lane_roles, migration, repair
from engine.workflow import jobs as workflow_jobs
from web.api.common import ApiErrorSchema, UtcDateTime
from web.extensions import db
from web.permissions import protect
from web.transaction import dry_run

blp = Blueprint("api_processes", __name__, url_prefix=None, description="流程管理：版本、部署、迁移、实例修复")
protect(blp, ADMINISTER_PROCESSES)  # every endpoint here: process administrators and system administrators


class VersionSchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    name = fields.String()
    sha = fields.String(metadata={"description": "校验和前 12 位"})
    deployed_by = fields.String()
    deployed_at = UtcDateTime()
    comment = fields.String()
    open_cases = fields.Integer(metadata={"description": "在此版本上未办结的案件数"})
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())


class ProcessSchema(Schema):
    key = fields.String()
    name = fields.String()
    versions = fields.List(fields.Nested(VersionSchema))


class BundleSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    comment = fields.String()
    bpmn_xml = fields.String()
    forms = fields.Dict()
    dmn = fields.Dict()
    scenarios = fields.List(fields.Dict(), metadata={"description": "该流程的场景（见 docs/api.md「场景」）"})


class TrialArgs(Schema):
    bpmn_xml = fields.String(required=True)
    forms = fields.Dict(load_default=dict)
    dmn = fields.Dict(load_default=dict)
    scenarios = fields.Raw(load_default=None, metadata={
        "description": "场景（JSON 数组）；与已保存的同名场景相替换，省略：只运行已保存的场景"})


class DeployArgs(TrialArgs):
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    acknowledge_warnings = fields.Boolean(load_default=False, metadata={
        "description": "true：已确认校验警告（severity=warning 的问题），仍然部署；错误总是拒绝部署"})
    scenario_confirmation = fields.String(load_default=None, allow_none=True, metadata={
        "description": "结果与预期不同的场景：409 应答中 errors._scenario_confirmation 的确认码，原样提交即确认"})


class ScenarioRunSchema(Schema):
    name = fields.String()
    description = fields.String()
    status = fields.String(metadata={"description": "passed 通过、changed 结果与预期不同、error 出错"})
    status_label = fields.String()
    expected = fields.Dict(metadata={"description": "预期：steps（办理的用户任务与触发的定时事件）、end（结束事件）"})
    actual = fields.Dict(metadata={"description": "在新版本上的实际结果（同 expected 的结构）"})
    elements = fields.List(fields.String(), metadata={"description": "经过的元素 ID（按顺序），用于在流程图上标出路径"})
    flows = fields.List(fields.String(), metadata={"description": "经过的连线 ID"})
    waiting = fields.List(fields.String(), metadata={"description": "场景结束时仍待办的用户任务"})
    calls = fields.List(fields.Dict(), metadata={"description": "新版本会调用的服务操作（只记录，未执行）"})
    error = fields.String(allow_none=True, metadata={"description": "出错原因（中文）；出错的场景阻止部署"})
    diverged = fields.String(allow_none=True, metadata={"description": "流程没有按场景的下一步走：在哪一步"})
    previous = fields.Dict(allow_none=True, metadata={"description": "在当前最新版本上的结果（无已部署版本时为空）"})
    differs_from_previous = fields.Boolean()
    only_now = fields.List(fields.String(), metadata={"description": "只在新版本上经过的元素"})
    only_before = fields.List(fields.String(), metadata={"description": "只在上一版本上经过的元素"})


class TrialSchema(Schema):
    key = fields.String()
    warnings = fields.List(fields.Dict(), metadata={"description": "校验警告（部署时须确认）"})
    scenarios = fields.List(fields.Nested(ScenarioRunSchema))
    confirmation = fields.String(metadata={"description": "有结果不同的场景时，部署须提交的 scenario_confirmation"})


class ProblemSchema(Schema):
    element = fields.String()
    message = fields.String()
    severity = fields.String(metadata={"description": "warning：可确认后部署；缺省为错误"})


class DeployedSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    sha = fields.String()
    created = fields.Boolean(metadata={"description": "false：完全相同的版本已部署，未新增"})
    warnings = fields.List(fields.Nested(ProblemSchema), metadata={"description": "已确认的校验警告"})
    scenarios = fields.List(fields.Nested(ScenarioRunSchema), metadata={"description": "各场景在新版本上的运行"})


class MigrationArgs(Schema):
    source = fields.Integer(required=True, metadata={"description": "源版本 ID（process model id）"})
    target = fields.Integer(required=True, metadata={"description": "目标版本 ID"})
    instance_ids = fields.List(fields.Integer(), load_default=None, allow_none=True,
                               metadata={"description": "省略：源版本上所有未办结的案件"})


class MigrationRunArgs(MigrationArgs):
    confirmations = fields.List(fields.String(), required=True, error_messages={
        "required": "迁移前须先预览并确认：请提交预览结果中各案件的 confirmation"}, metadata={
        "description": "预览结果中各案件的 confirmation：只迁移预览过并确认的案件；预览之后又有办理的案件须重新预览"})


class TimerAfterMoveSchema(Schema):
    name = fields.String(metadata={"description": "定时事件名称"})
    step = fields.String(metadata={"description": "所附着的步骤（中间定时事件为空）"})
    change = fields.String(metadata={"description": "kept 保留、added 新增、redefined 按新定义重算、removed 删除"})
    change_label = fields.String()
    due = fields.String(allow_none=True, metadata={"description": "迁移后的到期时间（ISO 8601）"})
    interrupting = fields.Boolean(metadata={"description": "触发时是否中断所附着的步骤"})
    late = fields.Boolean(metadata={"description": "迁移时已到期：运行中的案件随迁移立即触发"})


class VerdictSchema(Schema):
    instance_id = fields.Integer()
    complaint_id = fields.Integer(allow_none=True, attribute="subject_id")
    tracking_code = fields.String(allow_none=True)
    current = fields.List(fields.String(), metadata={"description": "当前所在步骤"})
    can_migrate = fields.Boolean()
    reason = fields.String(metadata={"description": "可以迁移，或不能迁移的原因（中文）"})
    changes = fields.List(fields.String())
    timers = fields.List(fields.Nested(TimerAfterMoveSchema), metadata={"description": "迁移后该案件的定时器"})
    confirmation = fields.String(metadata={"description": "迁移时须原样提交（见 POST /migrations 的 confirmations）"})


class MigrationResult(Schema):
    migrated = fields.Integer()
    refused = fields.Integer()
    items = fields.List(fields.Nested(VerdictSchema))


class ReasonArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class InstanceSchema(Schema):
    id = fields.Integer()
    complaint_id = fields.Integer(allow_none=True, attribute="subject_id")
    status = fields.String()
    error = fields.String(allow_none=True)
    version = fields.Function(lambda i: i.model.version)
    key = fields.Function(lambda i: i.model.key)


@blp.get("/processes")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, ProcessSchema(many=True))
@blp.alt_response(403, schema=ApiErrorSchema)
def list_processes() -> object:
    """Process models with their versions (newest first) and the open cases on each version."""
    return admin.list_models(db.session)


class CatalogSchema(Schema):
    lanes = fields.List(fields.Dict(), metadata={"description": "泳道角色：内置（builtin）与自定义（defined，含对应部门）"})
    operations = fields.List(fields.Dict(), metadata={"description": "已注册的服务操作：name、label、parameters"})
    forms = fields.List(fields.Dict(), metadata={"description": "各流程最新版本中的表单：name、title、processes"})
    time_limits = fields.List(fields.Dict(), metadata={
        "description": "办理时限（系统管理中维护）：key、label、description；用户任务的 timeLimit 与定时器引用"})
    statuses = fields.List(fields.Dict(), metadata={"description": "案件状态：code、label；用户任务的 caseStatus"})


@blp.get("/process-catalog")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, CatalogSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
def catalog() -> object:
    """What a diagram may name — for the modeler's pick lists: lane roles, service operations, forms."""
    return admin.catalog(db.session)


class FieldsArgs(Schema):
    bpmn_xml = fields.String(required=True, validate=validate.Length(max=2_000_000))
    forms = fields.Dict(load_default=dict)
    element = fields.String(required=True, validate=validate.Length(min=1, max=200),
                            metadata={"description": "元素 ID（连线、定时事件等）"})


class FieldSchema(Schema):
    name = fields.String()
    title = fields.String(metadata={"description": "中文名称（表单字段的 title）"})
    type = fields.String(allow_none=True, metadata={"description": "string、boolean、integer、number；fact：案件信息"})
    format = fields.String(allow_none=True, metadata={"description": "date：日期字段"})
    choices = fields.List(fields.Dict(), allow_none=True, metadata={"description": "可选值：value、label"})
    source = fields.String(metadata={"description": "来自哪个步骤（名称）"})


class FieldsSchema(Schema):
    fields = fields.List(fields.Nested(FieldSchema))


@blp.post("/process-fields")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(FieldsArgs)
@blp.response(200, FieldsSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def upstream_fields(args: dict[str, Any]) -> object:
    """Fields an expression on one element may read: the forms of the user tasks before it and the case facts
    (for the modeler's condition and timer builders; the diagram and forms as currently edited, nothing stored)."""
    return {"fields": admin.fields_upstream(args["bpmn_xml"], args["forms"], args["element"])}


@blp.get("/processes/<string:key>/versions/<int:version>")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, BundleSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_version(key: str, version: int) -> object:
    """One version: diagram XML, forms (JSON Schema by file name) and decision tables (DMN XML)."""
    model = admin.get_version(db.session, key, version)
    return {"id": model.id, "key": model.key, "version": model.version, "name": model.name,
            "comment": model.comment, "bpmn_xml": model.bpmn_xml, "forms": model.forms or {}, "dmn": model.dmn or {},
            "scenarios": admin.export_version(db.session, key, version).scenarios}


class KeptScenarioSchema(Schema):
    name = fields.String()
    description = fields.String()
    source = fields.String(metadata={"description": "bundle 随流程文件、upload 部署时提交、case 由案件保存"})
    updated_by = fields.String()
    updated_at = UtcDateTime()
    expected = fields.Dict(metadata={"description": "预期：steps 依次办理的步骤，end 结束事件（均为流程图中的 ID）"})
    expected_labels = fields.Dict(metadata={"description": "同上，按最新版本中的名称"})


@blp.get("/processes/<key>/scenarios")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, KeptScenarioSchema(many=True))
@blp.alt_response(404, schema=ApiErrorSchema, description="流程尚未部署")
def list_scenarios(key: str) -> object:
    """The scenarios kept for the process: every deploy and trial run runs them."""
    from engine.workflow import scenarios

    return scenarios.kept(db.session, key)  # 404 for a process never deployed (it reads the newest version)


@blp.delete("/processes/<key>/scenarios/<path:name>")
@blp.doc(security=[{"bearer": []}])
@blp.response(204)
@blp.alt_response(404, schema=ApiErrorSchema, description="没有这个场景")
def delete_scenario(key: str, name: str) -> object:
    """Delete a kept scenario (audited `scenario_deleted` with what it held); later deploys no longer run it."""
    from engine.workflow import scenarios

    scenarios.forget(db.session, key, name, current_user.username)
    return None


@blp.post("/processes/trial-run")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(TrialArgs)
@blp.response(200, TrialSchema)
@blp.alt_response(422, schema=ApiErrorSchema, description="流程图有错误（同部署）")
@dry_run
def trial_run(args: dict[str, Any]) -> object:
    """试运行: run every scenario of the process in memory on the submitted diagram (and on the newest deployed
    version, to compare); nothing is stored. Warnings are listed, not refused."""
    return admin.trial_run(db.session, args["bpmn_xml"], args["forms"], args["dmn"], args["scenarios"])


@blp.post("/processes/deploy")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(DeployArgs)
@blp.response(201, DeployedSchema)
@blp.alt_response(200, schema=DeployedSchema, description="完全相同的版本已部署，未新增")
@blp.alt_response(422, schema=ApiErrorSchema, description=(
    "校验未通过：errors._diagram 逐条列出问题及其元素；只有警告（severity=warning）时，"
    "以 acknowledge_warnings=true 重新提交即可部署。场景运行出错时 errors._scenarios 列出各场景的运行"))
@blp.alt_response(409, schema=ApiErrorSchema, description=(
    "有场景的结果与预期不同：errors._scenarios 列出各场景的运行，以 "
    "scenario_confirmation=errors._scenario_confirmation 重新提交即确认并部署"))
def deploy(args: dict[str, Any]) -> object:
    """Validate, run the process's scenarios in memory, and deploy as the next version; nothing stored if invalid.

    A bundle identical to a stored version is validated too (and answered 200 when it passes)."""
    result = admin.deploy_bundle_from_upload(db.session, args["bpmn_xml"], args["forms"], args["dmn"],
                                             actor=current_user.username, comment=args["comment"],
                                             acknowledge_warnings=args["acknowledge_warnings"],
                                             scenarios=args["scenarios"],
                                             scenario_confirmation=args["scenario_confirmation"])
    model = result.model
    body = {"id": model.id, "key": model.key, "version": model.version, "sha": model.sha256[:12],
            "created": result.created, "warnings": result.warnings, "scenarios": result.scenarios}
    return body, (201 if result.created else 200)


@blp.post("/migrations/preview")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(MigrationArgs)
@blp.response(200, MigrationResult)
@dry_run
def preview_migration(args: dict[str, Any]) -> object:
    """Dry run: for each case, whether it can move to the target version and why not."""
    return _summary(migration.preview(db.session, args["source"], args["target"], args["instance_ids"]))


@blp.post("/migrations")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(MigrationRunArgs)
@blp.response(200, MigrationResult)
def run_migration(args: dict[str, Any]) -> object:
    """Move the confirmed migratable cases (one transaction each); refused and unconfirmed cases stay untouched.

    Each case needs the `confirmation` its preview gave: a case stepped since the preview is refused
    (未经确认) until it is previewed again."""
    verdicts = workflow_jobs.migrate(db.session, args["source"], args["target"], args["instance_ids"], current_user,
                                     confirmations=set(args["confirmations"]))
    return _summary(verdicts)


def _summary(verdicts: list[migration.Verdict]) -> dict[str, Any]:
    migrated = sum(1 for v in verdicts if v.can_migrate)
    return {"migrated": migrated, "refused": len(verdicts) - migrated, "items": [v.as_dict() for v in verdicts]}


def _repair(action: str, instance_id: int, reason: str, **kwargs: Any) -> object:
    instance = getattr(repair, action)(db.session, instance_id, actor=current_user, reason=reason, **kwargs)
    return instance


@blp.post("/instances/<int:instance_id>/suspend")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(ReasonArgs)
@blp.response(200, InstanceSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
def suspend(args: dict[str, Any], instance_id: int) -> object:
    """Suspend a case's process: no timers fire and no task can be completed until it is resumed."""
    return _repair("suspend", instance_id, args["reason"])


@blp.post("/instances/<int:instance_id>/resume")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(ReasonArgs)
@blp.response(200, InstanceSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
def resume(args: dict[str, Any], instance_id: int) -> object:
    """Resume a suspended process."""
    return _repair("resume", instance_id, args["reason"])


@blp.post("/instances/<int:instance_id>/retry")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(ReasonArgs)
@blp.response(200, InstanceSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="不在出错状态，或重试仍然失败")
def retry(args: dict[str, Any], instance_id: int) -> object:
    """Run the failed step of a process in `error` again; on success the error is cleared."""
    return _repair("retry", instance_id, args["reason"])


class SaveScenarioArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))


class SavedScenarioSchema(Schema):
    scenario = fields.Dict(metadata={"description": "保存的场景（格式见 docs/api.md「场景」）"})
    run = fields.Nested(ScenarioRunSchema, metadata={"description": "在最新版本上的运行（previous：在案件所用版本上）"})


@blp.post("/instances/<int:instance_id>/scenario")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(SaveScenarioArgs)
@blp.response(201, SavedScenarioSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="流程尚未办结")
@blp.alt_response(422, schema=ApiErrorSchema, description="名称为空或与已有场景重名")
def save_scenario(args: dict[str, Any], instance_id: int) -> object:
    """Keep a finished case's path (start facts, form values, timers fired) as a new scenario of its process."""
    from engine.workflow import scenarios

    verdict = scenarios.from_instance(db.session, instance_id, args["name"], current_user, args["description"])
    return {"scenario": verdict.scenario.as_dict(), "run": verdict.as_dict()}, 201


class TaskReasonArgs(ReasonArgs):
    task_id = fields.String(required=True, metadata={"description": "流程中的步骤 ID（见 GET /instances/<id>）"})


class EarlierStepSchema(Schema):
    id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)


class CurrentStepSchema(EarlierStepSchema):
    state = fields.String(metadata={"description": "待办、等待、出错"})
    can_skip = fields.Boolean()


class LogEntrySchema(Schema):
    at = UtcDateTime()
    actor = fields.String(attribute="actor_label")
    action = fields.String(metadata={"description": "instance_suspended、task_skipped、task_moved_back、step_failed 等"})
    before = fields.Dict(allow_none=True, metadata={"description": "操作前：状态、位置（当前步骤）、数据"})
    after = fields.Dict(allow_none=True, metadata={"description": "操作后：状态、位置、数据、原因"})


class InstanceDetailSchema(InstanceSchema):
    version = fields.Function(lambda d: d["model"].version)
    key = fields.Function(lambda d: d["model"].key)
    current = fields.List(fields.Nested(CurrentStepSchema), metadata={"description": "当前步骤（可跳过的标明 can_skip）"})
    earlier = fields.List(fields.Nested(EarlierStepSchema),
                          metadata={"description": "已办理的人工步骤，可退回到其中之一"})
    log = fields.List(fields.Nested(LogEntrySchema), metadata={"description": "操作日志（含出错记录），按时间顺序"})


@blp.get("/instances/<int:instance_id>")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, InstanceDetailSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_instance(instance_id: int) -> object:
    """One process instance: status, error, current steps, earlier steps to move back to, and its operation log."""
    instance = repair.get_instance(db.session, instance_id)
    return {"id": instance.id, "subject_id": instance.subject_id, "status": instance.status,
            "error": instance.error, "model": instance.model, **repair.steps(db.session, instance),
            "log": Disclosure(db.session, current_user).views(repair.operation_log(db.session, instance.id))}


@blp.post("/instances/<int:instance_id>/skip")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(TaskReasonArgs)
@blp.response(200, InstanceSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="不是当前步骤或出错的步骤；流程已挂起或办结")
def skip(args: dict[str, Any], instance_id: int) -> object:
    """Complete a current or failed step without running it (a user task counts as submitted empty)."""
    return _repair("skip", instance_id, args["reason"], task_id=args["task_id"])


@blp.post("/instances/<int:instance_id>/move-back")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(TaskReasonArgs)
@blp.response(200, InstanceSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="目标不是已办理的人工步骤；流程已挂起或办结")
def move_back(args: dict[str, Any], instance_id: int) -> object:
    """退回: reset the case to an earlier completed user task, with the data it had before that task."""
    return _repair("move_back", instance_id, args["reason"], task_id=args["task_id"])


class LaneRoleSchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "流程图中泳道的名称，例如 法规审查处"})
    label = fields.String()
    department = fields.Function(lambda r: {"code": r.department.code, "name": r.department.name})
    required_role = fields.String(allow_none=True, metadata={"description": "办理人须具有的岗位（可空）"})
    is_active = fields.Boolean()
    updated_by = fields.String()
    updated_at = UtcDateTime()


class LaneRoleArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    department_code = fields.String(required=True, metadata={"description": "映射到的部门代码"})
    required_role = fields.String(load_default=None, allow_none=True)
    is_active = fields.Boolean(load_default=True)


class LaneRoleUpdateArgs(LaneRoleArgs):
    name = fields.String(load_default=None, metadata={"description": "名称不可修改，忽略"})


@blp.get("/lane-roles")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, LaneRoleSchema(many=True))
@blp.alt_response(403, schema=ApiErrorSchema)
def list_lane_roles() -> object:
    """Lane roles defined by administrators (active and inactive), each mapped to a department."""
    return lane_roles.list_roles(db.session)


@blp.post("/lane-roles")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(LaneRoleArgs)
@blp.response(201, LaneRoleSchema)
@blp.alt_response(422, schema=ApiErrorSchema, description="名称重复或与内置泳道同名、部门不存在等（逐字段说明）")
def create_lane_role(args: dict[str, Any]) -> object:
    """Define a lane role that diagrams may name as a lane; its tasks go to the given department."""
    role = lane_roles.create_role(db.session, lane_roles.LaneRoleInput(**args), current_user)
    return role


@blp.put("/lane-roles/<int:role_id>")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(LaneRoleUpdateArgs)
@blp.response(200, LaneRoleSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def update_lane_role(args: dict[str, Any], role_id: int) -> object:
    """Change a lane role's label, department, required official role or deactivate it (the name stays)."""
    role = lane_roles.get_role(db.session, role_id)
    role = lane_roles.update_role(db.session, role_id, lane_roles.LaneRoleInput(**{**args, "name": role.name}),
                                  current_user)
    return role
