"""Typical cases (曝光典型案例) over the API: propose a record (starts typical_case.bpmn), list them, withdraw a
published one; and the public list of published cases (no sign-in). Selection, redaction and approval are
tasks of the process, completed through /api/v1/tasks/<id>/complete like any other."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.credit import exposure
from engine.credit import services as credit
from engine.credit.models import SELECTION_REASONS, TYPICAL_CASE_STATUSES
from engine.org.permissions import PUBLIC, PUBLISH_CASES
from web.api.common import ApiErrorSchema, UtcDateTime
from web.extensions import db
from web.permissions import requires

blp = Blueprint("api_exposure", __name__, url_prefix=None, description="曝光典型案例")


class TypicalCaseSchema(Schema):
    id = fields.Integer()
    record_id = fields.Integer()
    complaint_id = fields.Integer(allow_none=True)
    instance_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={"description": "selecting 待选定 / redacting 脱敏编辑中 / pending_approval 待审核 / "
                                                    "published 已公开 / withdrawn 已撤下 / dropped 未选定"})
    status_label = fields.Function(lambda c: TYPICAL_CASE_STATUSES.get(c.status, c.status))
    selection_reason = fields.String(allow_none=True)
    selection_reason_label = fields.Function(lambda c: SELECTION_REASONS.get(c.selection_reason or ""))
    title = fields.String()
    public_text = fields.String()
    selected_by = fields.Function(lambda c: c.selected_by.username if c.selected_by else None)
    redacted_by = fields.Function(lambda c: c.redacted_by.username if c.redacted_by else None)
    approved_by = fields.Function(lambda c: c.approved_by.username if c.approved_by else None)
    review_remarks = fields.String(allow_none=True)
    published_at = UtcDateTime(allow_none=True)
    withdrawn_at = UtcDateTime(allow_none=True)
    withdrawn_by = fields.String(attribute="withdrawn_by_label", allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)


class TypicalCaseStartedSchema(Schema):
    instance_id = fields.Integer()
    typical_case_id = fields.Integer()
    process = fields.String()


class WithdrawInput(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                           metadata={"description": "撤下理由（必填，留痕）"})


class PublicTypicalCaseSchema(Schema):
    """A published case as the public page shows it."""

    id = fields.Integer()
    title = fields.String()
    text = fields.String()
    published_on = fields.Date()
    facts = fields.Dict(metadata={"description": "respondent_name, respondent_uscc, determining_name, determined_on, "
                                                 "document_number, domain, severity（公开时冻结）"})


@blp.get("/typical-cases")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, TypicalCaseSchema(many=True))
@blp.alt_response(403, schema=ApiErrorSchema)
@requires(PUBLISH_CASES)
def list_cases() -> object:
    """Typical cases in every state (provincial DRC); `?status=` filters."""
    status = request.args.get("status")
    return exposure.list_cases(db.session, current_user, status if status in TYPICAL_CASE_STATUSES else None)


@blp.post("/breach-records/<int:record_id>/typical-case")
@blp.doc(security=[{"bearer": []}])
@blp.response(201, TypicalCaseStartedSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="记录已修复，或已有进行中、已公开的典型案例")
@requires(PUBLISH_CASES)
def start(record_id: int) -> object:
    """Propose the record as a typical case (provincial DRC): the task 选定典型案例 appears in its inbox."""
    record = credit.view_record(db.session, record_id, current_user)
    instance = exposure.start_exposure(db.session, record, current_user)
    case = exposure.case_of_instance(db.session, instance.id)
    return {"instance_id": instance.id, "typical_case_id": case.id, "process": exposure.PROCESS}


@blp.post("/typical-cases/<int:case_id>/withdraw")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(WithdrawInput)
@blp.response(200, TypicalCaseSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="该典型案例未公开")
@requires(PUBLISH_CASES)
def withdraw(args: dict, case_id: int) -> object:
    """Take a published case off the public page (provincial DRC); logged in the case history and audit log."""
    case = exposure.withdraw(db.session, exposure.get_case(db.session, case_id), args["reason"], current_user)
    return case


@blp.get("/public/typical-cases")
@blp.response(200, PublicTypicalCaseSchema(many=True))
@requires(PUBLIC)
def public_cases() -> object:
    """Published typical cases, newest first (no sign-in); `?limit=` (≤ 100) and `?offset=`."""
    limit = min(max(request.args.get("limit", 20, type=int) or 20, 1), 100)
    rows, _total = exposure.published_cases(db.session, limit, max(request.args.get("offset", 0, type=int) or 0, 0))
    return [exposure.public_view(c) for c in rows]


@blp.get("/public/typical-cases/<int:case_id>")
@blp.response(200, PublicTypicalCaseSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@requires(PUBLIC)
def public_case(case_id: int) -> object:
    """One published case (404 once withdrawn)."""
    return exposure.public_view(exposure.get_published(db.session, case_id))
