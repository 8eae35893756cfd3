"""POST/GET complaints."""
from __future__ import annotations

from flask import abort, request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.cases import correction, search
from engine.cases import services as cases
from engine.cases.contact import CONTACT_FIELDS, contact_of
from engine.cases.schemas import ComplaintInput
from engine.credit.services import record_for_complaint
from engine.deadlines import pauses
from engine.documents import services as documents
from engine.intake import services as intake
from engine.org.permissions import CORRECT_CASE, PAUSE_CLOCK, REGISTER_COMPLAINT, VIEW_CASE
from web.api import channels
from web.api.common import (
    ApiErrorSchema,
    BreachRecordLinkSchema,
    ComplaintCreatedSchema,
    ComplaintDetailSchema,
    ComplaintPageSchema,
    EventSchema,
    TaskSchema,
    UtcDateTime,
    page,
)
from web.extensions import db
from web.permissions import requires

blp = Blueprint("api_complaints", __name__, url_prefix="/complaints", description="投诉登记与查询")


@blp.post("")
@blp.doc(security=[{"bearer": []}, {"channelKey": []}],
         requestBody={"content": {"application/json": {"schema": ComplaintInput}}},
         description="官员令牌（受理登记人员、省发展改革委）或渠道密钥 X-Api-Key。使用渠道密钥时，channel 固定为该密钥的渠道，"
                     "external_ref（渠道自己的编号）必填；同一编号重复提交返回 200 和原案件（已合并的返回承办案件）。")
@blp.response(201, ComplaintCreatedSchema, description="已登记；同一渠道编号重复提交时返回 200 和原案件")
@blp.alt_response(200, schema=ComplaintCreatedSchema, description="同一渠道编号重复提交：原案件（已合并的为承办案件）")
@blp.alt_response(401, schema=ApiErrorSchema, description="缺少或无效的令牌 / X-Api-Key")
@blp.alt_response(422, schema=ApiErrorSchema, description="字段错误（errors 按字段给出中文说明）")
@requires(REGISTER_COMPLAINT, channel=True)
def create_complaint() -> object:
    """Register a complaint (intake officials, the provincial DRC, or a registered channel)."""
    key = channels.current_channel_key()
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400)
    if key is not None:
        complaint, created = intake.submit_from_channel(db.session, key, payload)
    else:
        complaint, created = intake.submit_official(db.session, payload, current_user)
    return ComplaintCreatedSchema().dump(complaint), 201 if created else 200


class CorrectedComplaintSchema(ComplaintDetailSchema):
    """The case after a correction: its fields without contact data, tasks, history or record link."""

    class Meta:
        exclude = (*CONTACT_FIELDS, "contact_masked", "open_tasks", "history", "breach_record")


class ComplaintListQuery(search.CaseSearchInput):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500, error="limit 应在 1–500 之间"),
                           error_messages={"invalid": "应为整数"}, metadata={"description": "每页条数，1–500"})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1, error="offset 不能为负数"),
                            error_messages={"invalid": "应为整数"})


@blp.get("")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(ComplaintListQuery, location="query")
@blp.response(200, ComplaintPageSchema)
@blp.alt_response(422, schema=ApiErrorSchema, description="筛选条件有误（errors 按参数给出中文说明）")
@requires(VIEW_CASE)
def list_complaints(args: dict) -> object:
    """Cases the caller may see, filtered and sorted as on the 案件 page (the same engine search); no contact data."""
    found = search.find_cases(db.session, current_user, search.CaseQuery.from_loaded(args), args["limit"],
                              args["offset"])
    return page(found.rows, found.total)


@blp.get("/<int:complaint_id>")
@blp.doc(security=[{"bearer": []}, {"channelKey": []}],
         description="官员令牌：完整案件（含待办和内部记录）。渠道密钥：仅本渠道提交的案件，精简视图（见 ChannelComplaint："
                     "状态、结果、写给投诉人的办理说明，无内部意见）；其他渠道的案件返回 403。")
@blp.doc(responses={"200": {"description": "官员令牌：完整案件（ComplaintDetail）；渠道密钥：精简视图（ChannelComplaint）",
                             "content": {"application/json": {"schema": {"oneOf": [
                                 {"$ref": "#/components/schemas/ComplaintDetail"},
                                 {"$ref": "#/components/schemas/ChannelComplaint"}]}}}}})
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@requires(VIEW_CASE, channel=True)
def get_complaint(complaint_id: int) -> object:
    """A complaint with its status, open tasks and history (a channel: its own complaints, reduced)."""
    key = channels.current_channel_key()
    if key is not None:
        body = channels.channel_view(key, complaint_id)
        return body
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    contact = contact_of(db.session, complaint, current_user, "api")  # masked, or in full and audited
    body = {**ComplaintDetailSchema(exclude=(*CONTACT_FIELDS, "open_tasks", "history", "breach_record"))
            .dump(complaint), **contact.as_dict()}
    body["open_tasks"] = TaskSchema(many=True).dump(cases.open_tasks(db.session, complaint))
    body["history"] = EventSchema(many=True).dump(cases.history(db.session, complaint))
    body["breach_record"] = BreachRecordLinkSchema().dump(record) if (
        record := record_for_complaint(db.session, complaint.id)) else None
    return body


class DocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "acceptance_notice / rejection_notice / transfer_letter / "
                                                  "rectification_notice / verification_result / breach_determination / "
                                                  "report_letter"})
    kind_label = fields.Function(lambda d: documents.KINDS.get(d.kind, d.kind), metadata={"type": "string"})
    number = fields.String(metadata={"description": "文号，如 云发改信用〔2026〕12号"})
    title = fields.String()
    recipient = fields.String(metadata={"description": "主送单位"})
    issuer = fields.Function(lambda d: d.department.name, metadata={"type": "string", "description": "发文部门"})
    created_at = UtcDateTime()
    url = fields.Function(lambda d: f"/api/v1/complaints/{d.complaint_id}/documents/{d.id}",
                          metadata={"type": "string", "description": "下载 .docx"})
    pdf_url = fields.Function(lambda d: f"/api/v1/complaints/{d.complaint_id}/documents/{d.id}?format=pdf",
                              metadata={"type": "string", "description": "下载 PDF（服务器装有 LibreOffice 时）"})


class DocumentPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(DocumentSchema))


class DocumentFormat(Schema):
    format = fields.String(load_default="docx", validate=validate.OneOf(["docx", "pdf"], error="format 应为 docx 或 pdf"))


@blp.get("/<int:complaint_id>/documents")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, DocumentPage)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@requires(VIEW_CASE)
def list_documents(complaint_id: int) -> object:
    """The case's formal documents (公文), in the order they were issued."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    rows = documents.documents_of(db.session, complaint)
    return {"total": len(rows), "items": rows}


@blp.get("/<int:complaint_id>/documents/<int:document_id>")
@blp.doc(security=[{"bearer": []}], responses={"200": {"description": ".docx 或 PDF 文件", "content": {
    documents.DOCX: {"schema": {"type": "string", "format": "binary"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.arguments(DocumentFormat, location="query")
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="PDF：服务器未安装 LibreOffice 或转换失败")
@requires(VIEW_CASE)
def download_document(args: dict, complaint_id: int, document_id: int) -> object:
    """One document as .docx (default) or PDF."""
    from web.documents import send_document

    document = documents.document_for(db.session, document_id, current_user)
    if document.complaint_id != complaint_id:
        abort(404)
    return send_document(document_id, args["format"])


class PauseInput(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000, error="原因长度应在 1–2000 字之间"),
                           error_messages={"required": "请填写暂停计时的原因"},
                           metadata={"description": "暂停原因，例如：等待投诉人补正材料"})


class PauseOut(Schema):
    paused_at = UtcDateTime()
    paused_by = fields.String()
    reason = fields.String()
    resumed_at = UtcDateTime(allow_none=True)
    shifted_workdays = fields.Integer(allow_none=True, metadata={"description": "恢复时各期限顺延的工作日数"})


@blp.post("/<int:complaint_id>/pause")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(PauseInput)
@blp.response(200, PauseOut)
@blp.alt_response(409, schema=ApiErrorSchema)
@requires(PAUSE_CLOCK)
def pause(args: dict, complaint_id: int) -> object:
    """Pause the case's clock (补正 etc.): timers stop and paused working days do not count."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    result = pauses.pause_clock(db.session, complaint, current_user, args["reason"])
    return result


@blp.post("/<int:complaint_id>/resume")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, PauseOut)
@blp.alt_response(409, schema=ApiErrorSchema)
@requires(PAUSE_CLOCK)
def resume(complaint_id: int) -> object:
    """Resume the clock; pending deadlines move later by the working days paused."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    result = pauses.resume_clock(db.session, complaint, current_user)
    return result


class CorrectionInput(Schema):
    task_id = fields.String(required=True, validate=validate.Length(min=1, max=64, error="请选择要退回的步骤"),
                            error_messages={"required": "请选择要退回的步骤"},
                            metadata={"description": "退回到的已办理步骤（GET 本接口的 steps 中的 id）"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000, error="纠错理由长度应在 1–2000 字之间"),
                           error_messages={"required": "请写明纠错理由"}, metadata={"description": "纠错理由"})


class CorrectableStep(Schema):
    id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)


@blp.get("/<int:complaint_id>/correction")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, CorrectableStep(many=True))
@requires(CORRECT_CASE)
def correctable(complaint_id: int) -> object:
    """The completed steps the provincial DRC may return the case to (纠错)."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    return correction.correctable_steps(db.session, complaint)


@blp.post("/<int:complaint_id>/correction")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(CorrectionInput)
@blp.response(200, CorrectedComplaintSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
@requires(CORRECT_CASE)
def correct(args: dict, complaint_id: int) -> object:
    """纠错: return the case to an earlier step with a reason; the breach record resting on it is withdrawn."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    correction.correct_case(db.session, complaint, args["task_id"], current_user, args["reason"])
    return complaint
