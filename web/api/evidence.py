"""Evidence files over the API: a channel (X-Api-Key) or a handler of the case adds files (multipart) and lists
them, the handlers (`view_evidence`) download them; officials ask the complainant for material (补正)."""
from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.cases import services as cases
from engine.errors import FormInvalid, PermissionDenied
from engine.intake import evidence, supplements
from engine.intake import services as intake
from engine.intake.dedup import survivor_of
from engine.org.permissions import ADD_EVIDENCE, REQUEST_SUPPLEMENT, VIEW_CASE, VIEW_EVIDENCE
from web.api import channels
from web.api.common import BINARY, ApiErrorSchema, UtcDateTime, file_response
from web.extensions import db
from web.permissions import requires
from web.uploads import accepts_uploads, send_evidence, uploads
from web.uploads import policy as upload_policy

blp = Blueprint("api_evidence", __name__, url_prefix="",
                description="证据材料：渠道或工作人员上传（multipart/form-data，字段 evidence，可多个），"
                            "按内容识别类型；仅省发展改革委、受理登记人员和承办部门可以查看、下载和补充上传（被投诉主体、"
                            "州（市）信用牵头单位和管理员不能）")

UPLOAD_BODY = {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["evidence"],
    "properties": {"evidence": {"type": "array", "items": {"type": "string", "format": "binary"},
                                "description": "一个或多个文件：" + evidence.ALLOWED_TEXT}}}}}}


class EvidenceSchema(Schema):
    id = fields.Integer(metadata={"example": 31})
    complaint_id = fields.Integer(metadata={"description": "所在案件（合并后为承办案件）", "example": 1024})
    original_name = fields.String(metadata={"description": "提交时的文件名（仅供显示）", "example": "投资协议.pdf"})
    kind = fields.String(metadata={"description": "按内容识别的类型：" + "、".join(evidence.KINDS), "example": "pdf"})
    content_type = fields.String(metadata={"example": "application/pdf"})
    size_bytes = fields.Integer(metadata={"example": 482133})
    sha256 = fields.String(metadata={"example": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"})
    source = fields.String(metadata={"description": "complainant / channel / official", "example": "channel"})
    channel = fields.String(allow_none=True, metadata={"example": "hotline_12345"})
    uploaded_at = UtcDateTime(metadata={"example": "2026-11-28T02:16:00+00:00"})
    download_url = fields.Function(
        lambda row: url_for("api_evidence.download", evidence_id=row.id),
        metadata={"description": "下载地址（仅工作人员令牌）", "example": "/api/v1/evidence/31/content"})


@blp.post("/complaints/<int:complaint_id>/evidence")
@blp.doc(security=[{"bearer": []}, {"channelKey": []}], requestBody=UPLOAD_BODY,
         description="渠道密钥：仅本渠道提交的投诉。工作人员：省发展改革委、受理登记人员和承办部门（被投诉主体、州（市）"
                     "信用牵头单位和管理员不能）。案件已办结或已合并时 409。全部文件检查通过才保存（类型按内容识别、"
                     "单个文件大小、每次文件个数、病毒扫描），否则 422 并在 errors.evidence 中说明每个文件的问题，一个也不保存。"
                     "请求体超过总限制时 413。")
@blp.response(201, EvidenceSchema(many=True))
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(413, schema=ApiErrorSchema, description="请求体超过 MAX_CONTENT_LENGTH + EVIDENCE_MAX_TOTAL_BYTES")
@blp.alt_response(422, schema=ApiErrorSchema, description="文件类型、大小或个数不符（errors.evidence）")
@requires(ADD_EVIDENCE, channel=True)  # the rule for the case: engine (channel's own / the handlers, open cases)
@accepts_uploads
def upload(complaint_id: int) -> object:
    """Add evidence files to a complaint (all or none are kept)."""
    key = channels.current_channel_key()
    if key is None and not current_user.is_authenticated:
        abort(401)
    if key is not None:  # who may add is checked before what was sent
        intake.complaint_for_channel(db.session, key, complaint_id)
    else:
        evidence.case_to_add_to(db.session, complaint_id, current_user)
    files = uploads()
    if not files:
        return _no_files()
    if key is not None:
        rows = intake.add_channel_evidence(db.session, key, complaint_id, files, upload_policy())
    else:
        rows = evidence.add_by_official(db.session, complaint_id, current_user, files, upload_policy())
    return rows


@blp.get("/complaints/<int:complaint_id>/evidence")
@blp.doc(security=[{"bearer": []}, {"channelKey": []}],
         description="工作人员（省发展改革委、受理登记人员和承办部门）：案件的全部证据材料（含合并进来的）。"
                     "渠道密钥：本渠道为该投诉提交的材料。")
@blp.response(200, EvidenceSchema(many=True))
@blp.alt_response(403, schema=ApiErrorSchema)
@requires(VIEW_EVIDENCE, channel=True)
def list_files(complaint_id: int) -> object:
    """Evidence files of a complaint."""
    key = channels.current_channel_key()
    if key is not None:
        complaint = survivor_of(db.session, intake.complaint_for_channel(db.session, key, complaint_id))
        rows = [r for r in evidence.files_of(db.session, complaint) if r.channel == key.channel and r.source == "channel"]
        return rows
    if not current_user.is_authenticated:
        abort(401)
    return evidence.files_for(db.session, cases.view_complaint(db.session, complaint_id, current_user), current_user)


@blp.get("/evidence/<int:evidence_id>/content")
@blp.doc(security=[{"bearer": []}],
         description="文件内容（附件下载，Content-Type 为识别出的类型）。仅省发展改革委、受理登记人员和承办部门的工作人员；"
                     "每次下载记入审计日志。")
@blp.doc(responses=file_response("文件", {"*/*": {"schema": BINARY}}))
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@requires(VIEW_EVIDENCE, channel=True)  # so that a channel key gets a clear 403 from the view, not a 401
def download(evidence_id: int) -> object:
    """Download an evidence file (the handlers of the case: `view_evidence`)."""
    if channels.current_channel_key() is not None:
        raise PermissionDenied("渠道密钥不能下载证据材料")
    if not current_user.is_authenticated:
        abort(401)
    row, path = evidence.open_for(db.session, evidence_id, current_user, upload_policy())
    return send_evidence(row, path)


# --- 补正 (requests for more material) -------------------------------------------------------------------

class SupplementInput(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=supplements.NOTE_MAX,
                                                                  error="补正说明长度应在 1–2000 字之间"),
                         error_messages={"required": "请写明需要投诉人补正的材料"},
                         metadata={"description": "需要补正的材料（投诉人和渠道可见）",
                                   "example": "请补充提供协议约定的付款节点证明及催款记录"})
    due_date = fields.Date(load_default=None, allow_none=True, error_messages={"invalid": "日期格式应为 YYYY-MM-DD"},
                           metadata={"description": "补正期限（可选）", "example": "2026-12-15"})


class SupplementSchema(Schema):
    id = fields.Integer(metadata={"example": 5})
    complaint_id = fields.Integer(metadata={"example": 1024})
    department = fields.Function(lambda r: r.department.name, metadata={"example": "昆明市商务局"})
    requested_by = fields.Function(lambda r: r.requested_by.full_name, metadata={"example": "孙商务"})
    requested_at = UtcDateTime(metadata={"example": "2026-11-30T02:00:00+00:00"})
    note = fields.String(metadata={"example": "请补充提供协议约定的付款节点证明及催款记录"})
    due_date = fields.Date(allow_none=True, metadata={"example": "2026-12-15"})
    answered_at = UtcDateTime(allow_none=True, metadata={"description": "投诉人答复时间；未答复为 null",
                                                         "example": None})
    answer_text = fields.String(allow_none=True, metadata={"example": None})
    evidence_ids = fields.Method("_files", metadata={"description": "答复附带的证据材料 ID", "example": []})

    def _files(self, request: object) -> list[int]:
        return [f.id for f in supplements.files_by_request(db.session, [request]).get(request.id, [])]  # type: ignore[attr-defined]


@blp.post("/complaints/<int:complaint_id>/supplements")
@blp.doc(security=[{"bearer": []}],
         description="要求投诉人补正材料（省发展改革委、受理登记人员或当前承办部门）。说明写入案件的公开办理说明，"
                     "投诉人在进度查询页面答复（文字和文件），渠道在进展推送中看到；同一案件同时只能有一项未答复的补正要求（409）。")
@blp.arguments(SupplementInput)
@blp.response(201, SupplementSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
@requires(REQUEST_SUPPLEMENT)
def request_supplement(args: dict, complaint_id: int) -> object:
    """Ask the complainant for more material."""
    if not current_user.is_authenticated:
        abort(401)
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    row = supplements.request_supplement(db.session, complaint, current_user, args["note"], args["due_date"])
    return row


@blp.get("/complaints/<int:complaint_id>/supplements")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, SupplementSchema(many=True))
@blp.alt_response(403, schema=ApiErrorSchema)
@requires(VIEW_CASE)
def list_supplements(complaint_id: int) -> object:
    """Requests for material on a case and the complainant's answers."""
    if not current_user.is_authenticated:
        abort(401)
    return supplements.requests_of(db.session, [cases.view_complaint(db.session, complaint_id, current_user)])


def _no_files() -> object:
    raise FormInvalid({evidence.FIELD: "请在字段 evidence 中至少上传一个文件（multipart/form-data）"})
