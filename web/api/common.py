"""Shared bits of the API: output schemas. (Who may call what: @requires, web/permissions.py.)"""
from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields

from engine.cases.models import CHANNELS
from engine.cases.status import result_label, status_label
from engine.credit.models import RECORD_STATUSES
from engine.db import as_utc
from engine.workflow.instances import task_form


class UtcDateTime(fields.DateTime):
    """ISO 8601 with the UTC offset, also for values SQLite hands back without one."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return super()._serialize(as_utc(value), attr, obj, **kwargs)


class PageSchema(Schema):
    """A page of a list (`items` in the subclass). `total` counts the matches exactly up to offset + 1000
    (engine/paging.py); when there are more, `total_exact` is false and `total` is that bound — "more than"."""

    total = fields.Integer(metadata={"description": "匹配总数；total_exact 为 false 时表示“至少这么多”（超过 offset+1000 不再精确计数）"})
    total_exact = fields.Boolean(metadata={"description": "total 是否为精确数"})


def page(rows: list, total: int) -> dict[str, Any]:
    """The answer of a paged list: items, total and whether it is exact."""
    return {"total": int(total), "total_exact": getattr(total, "exact", True), "items": rows}


class ApiErrorSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String(metadata={"description": "中文错误说明"})
    errors = fields.Dict(metadata={"description": "按字段的错误说明"})


class TaskSchema(Schema):
    id = fields.String(metadata={"description": "任务 ID（UUID）"})
    complaint_id = fields.Integer(attribute="subject_id")
    spec_name = fields.String(metadata={"description": "流程图中的任务 ID，例如 verify"})
    title = fields.String(metadata={"description": "任务名称"})
    lane = fields.String(metadata={"description": "泳道角色：intake/ndrc/supervisor/respondent/prefecture_lead"})
    department = fields.Function(lambda t: {"code": t.department.code, "name": t.department.name})
    due_at = UtcDateTime()
    created_at = UtcDateTime()
    claimed_by = fields.Function(lambda t: t.claimed_by.username if t.claimed_by else None)
    completed_at = UtcDateTime()


class DecisionSchema(Schema):
    task = fields.String(metadata={"description": "流程图中的任务 ID，例如 order_rectification"})
    title = fields.String(metadata={"description": "任务名称"})
    completed_at = UtcDateTime()
    department = fields.String(allow_none=True, metadata={"description": "办理部门"})
    official = fields.String(allow_none=True, metadata={"description": "办理人"})
    values = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "表单各项：字段标题 → 显示值（选项显示中文标签）"})
    superseded = fields.Boolean(metadata={"description": "true：该决定已被退回（纠错）撤销，不再有效"})


class TaskEvidenceSchema(Schema):
    id = fields.Integer()
    original_name = fields.String()
    kind = fields.String()
    size_bytes = fields.Integer()
    uploaded_at = UtcDateTime()
    download_url = fields.Function(lambda row: url_for("api_evidence.download", evidence_id=row.id))


class TaskSupplementSchema(Schema):
    id = fields.Integer()
    department = fields.Function(lambda r: r.department.name)
    requested_at = UtcDateTime()
    note = fields.String()
    due_date = fields.Date(allow_none=True)
    answered_at = UtcDateTime(allow_none=True)
    answer_text = fields.String(allow_none=True)


class TaskDetailSchema(TaskSchema):
    form_name = fields.String(attribute="form", metadata={"description": "表单文件名"})
    due_basis = fields.String(allow_none=True, metadata={"description": "期限及其依据"})
    due_provisional = fields.Boolean(metadata={"description": "跨入尚未录入节假日安排的年份，暂按周一至周五计算"})
    form = fields.Function(lambda t: task_form(t), metadata={"description": "表单的 JSON Schema"})
    decisions = fields.List(fields.Nested(DecisionSchema), attribute="case_file.decisions", metadata={
        "description": "本案已办理的步骤（从早到晚），每步的办理部门、办理人和表单内容"})
    compare = fields.List(fields.Nested(DecisionSchema), attribute="case_file.compare", metadata={
        "description": "流程图为本任务指定对照查看的步骤（compareWith），例如审查整改情况时的整改要求与整改报告"})
    evidence = fields.List(fields.Nested(TaskEvidenceSchema), attribute="case_file.evidence", allow_none=True, metadata={
        "description": "本案证据材料；无权查看证据材料时为 null（见 evidence_count）"})
    evidence_count = fields.Integer(attribute="case_file.evidence_count")
    supplements = fields.List(fields.Nested(TaskSupplementSchema), attribute="case_file.supplements", metadata={
        "description": "与投诉人之间的补正往来"})
    form_defaults = fields.Dict(attribute="case_file.defaults", metadata={
        "description": "表单预填值（例如按「整改」时限计算的整改期限）"})
    date_hints = fields.Dict(attribute="case_file.hints", metadata={
        "description": "日期字段的默认值、最早和最晚日期说明"})


class EventSchema(Schema):
    at = UtcDateTime()
    actor = fields.String(attribute="actor_label")
    kind = fields.String()
    summary = fields.String()


def _text(description: str = "", nullable: bool = False) -> dict:
    """OpenAPI type of a computed (Function) field."""
    found: dict = {"type": "string", "nullable": nullable}
    if description:
        found["description"] = description
    return found


class ComplaintSummarySchema(Schema):
    """A case in a list: no contact data, no facts."""

    id = fields.Integer()
    tracking_code = fields.String(metadata={"description": "受理编号（投诉人查询码）"})
    status = fields.String(metadata={"description": "案件状态代码"})
    status_label = fields.Function(lambda c: status_label(c.status), metadata=_text("案件状态"))
    result = fields.String(allow_none=True, metadata={"description": "办结结果代码（未办结为 null）"})
    result_label = fields.Function(lambda c: result_label(c.result) if c.result else None,
                                   metadata=_text("办结结果", nullable=True))
    complainant_name = fields.String()
    complainant_uscc = fields.String()
    respondent_name = fields.String()
    respondent_code = fields.Function(lambda c: c.respondent.code if c.respondent else None,
                                      metadata=_text("被投诉主体在组织数据中的编码（未匹配为 null）", nullable=True))
    supervisor = fields.Function(lambda c: c.supervisor.name if c.supervisor else None,
                                 metadata=_text("认定部门名称（尚未转交为 null）", nullable=True))
    supervisor_code = fields.Function(lambda c: c.supervisor.code if c.supervisor else None,
                                      metadata=_text("认定部门编码", nullable=True))
    domain = fields.String()
    channel = fields.String()
    channel_label = fields.Function(lambda c: CHANNELS.get(c.channel, c.channel), metadata=_text("来源渠道"))
    received_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)


class ComplaintPageSchema(PageSchema):
    items = fields.List(fields.Nested(ComplaintSummarySchema))


class BreachRecordLinkSchema(Schema):
    """The case's breach record (违约失信记录), if one was made: read it at `url`."""

    id = fields.Integer()
    status = fields.String()
    status_label = fields.Function(lambda r: RECORD_STATUSES.get(r.status, r.status), metadata=_text())
    url = fields.Function(lambda r: f"/api/v1/breach-records/{r.id}", metadata=_text("GET 该地址读取记录（需 view_records）"))


class ComplaintDetailSchema(ComplaintSummarySchema):
    """A case as an official sees it: every complaint field, the contact data (in full or masked), open tasks,
    history and the breach record link."""

    legal_representative = fields.String(allow_none=True)
    contact_person = fields.String(metadata={"description": "联系人（无权查看联系方式者见到的是隐去后的，如 李*）"})
    contact_phone = fields.String(metadata={"description": "联系电话（隐去时只留前三位，如 138********）"})
    contact_address = fields.String(allow_none=True, metadata={"description": "联系地址（隐去时只留前六个字）"})
    contact_email = fields.String(allow_none=True, metadata={"description": "电子邮箱（隐去时只留首字母和域名）"})
    notices_opted_out_at = UtcDateTime(allow_none=True, metadata={
        "description": "投诉人关闭短信和邮件进度通知的时间（未关闭为 null）"})
    contact_masked = fields.Boolean(metadata={
        "description": "true：联系方式已隐去（只有省发展改革委、受理登记人员和承办部门可见，每次查看记入审计日志）"})
    is_private_enterprise = fields.Boolean()
    agreement_name = fields.String()
    agreement_number = fields.String(allow_none=True)
    agreement_date = fields.Date(allow_none=True)
    contract_amount = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "合同金额（元）"})
    disputed_amount = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "争议金额（元）"})
    breach_type = fields.String()
    facts = fields.String()
    claims = fields.String()
    in_litigation = fields.Boolean()
    external_ref = fields.String(allow_none=True)
    open_tasks = fields.List(fields.Nested(TaskSchema))
    history = fields.List(fields.Nested(EventSchema))
    breach_record = fields.Nested(BreachRecordLinkSchema, allow_none=True,
                                  metadata={"description": "违约失信记录（未形成记录为 null）"})


class ComplaintCreatedSchema(Schema):
    id = fields.Integer()
    tracking_code = fields.String()
    status = fields.String()


def file_response(description: str, media_types: dict[str, dict]) -> dict:
    """An OpenAPI 200 response for a view that answers with a file, one schema per media type."""
    return {"200": {"description": description, "content": media_types}}


BINARY = {"type": "string", "format": "binary"}
TEXT = {"type": "string"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
