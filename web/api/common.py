"""Shared bits of the API: output schemas. (Who may call what: @requires, web/permissions.py.)"""
from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields

from engine.cases.status import result_label, status_label
from engine.db import as_utc
from engine.workflow.instances import task_form


class UtcDateTime(fields.DateTime):
    """ISO 8601 with the UTC offset, also for values SQLite hands back without one."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return super()._serialize(as_utc(value), attr, obj, **kwargs)


class ApiErrorSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String(metadata={"description": "中文错误说明"})
    errors = fields.Dict(metadata={"description": "按字段的错误说明"})


class TaskSchema(Schema):
    id = fields.String(metadata={"description": "任务 ID（UUID）"})
    complaint_id = fields.Integer()
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


class ComplaintOutSchema(Schema):
    id = fields.Integer()
    tracking_code = fields.String()
    status = fields.String()
    status_label = fields.Function(lambda c: status_label(c.status))
    result = fields.String(allow_none=True)
    result_label = fields.Function(lambda c: result_label(c.result) if c.result else None)
    complainant_name = fields.String()
    complainant_uscc = fields.String()
    contact_person = fields.String(metadata={"description": "联系人（无权查看联系方式者见到的是隐去后的，如 李*）"})
    contact_phone = fields.String(metadata={"description": "联系电话（隐去时只留前三位，如 138********）"})
    contact_address = fields.String(allow_none=True, metadata={"description": "联系地址（隐去时只留前六个字）"})
    contact_masked = fields.Boolean(metadata={
        "description": "true：联系方式已隐去（只有省发展改革委、受理登记人员和承办部门可见，每次查看记入审计日志）"})
    respondent_name = fields.String()
    respondent_code = fields.Function(lambda c: c.respondent.code if c.respondent else None)
    supervisor = fields.Function(lambda c: c.supervisor.name if c.supervisor else None)
    agreement_name = fields.String()
    agreement_number = fields.String(allow_none=True)
    domain = fields.String()
    breach_type = fields.String()
    facts = fields.String()
    claims = fields.String()
    channel = fields.String()
    external_ref = fields.String(allow_none=True)
    received_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)


class ComplaintCreatedSchema(Schema):
    id = fields.Integer()
    tracking_code = fields.String()
    status = fields.String()
