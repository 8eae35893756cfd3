"""POST/GET complaints."""
from __future__ import annotations

from flask import abort, request
from flask_login import current_user
from flask_smorest import Blueprint

from engine.cases import services as cases
from engine.cases.schemas import ComplaintInput
from web.api.common import (
    ApiErrorSchema,
    ComplaintCreatedSchema,
    ComplaintOutSchema,
    EventSchema,
    TaskSchema,
    official_required,
)
from web.extensions import db

blp = Blueprint("api_complaints", __name__, url_prefix="/complaints", description="投诉登记与查询")


@blp.post("")
@blp.doc(security=[{"bearer": []}], requestBody={"content": {"application/json": {"schema": ComplaintInput}}})
@blp.response(201, ComplaintCreatedSchema, description="已登记；同一渠道编号重复提交时返回 200 和原案件")
@blp.alt_response(422, schema=ApiErrorSchema, description="字段错误（errors 按字段给出中文说明）")
@official_required
def create_complaint() -> object:
    """Register a complaint (intake officials and the provincial DRC)."""
    if not (current_user.has_role("intake") or current_user.has_role("ndrc")):
        abort(403)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400)
    complaint, created = cases.register_complaint(db.session, payload, current_user)
    db.session.commit()
    return ComplaintCreatedSchema().dump(complaint), 201 if created else 200


@blp.get("/<int:complaint_id>")
@blp.doc(security=[{"bearer": []}])
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@official_required
def get_complaint(complaint_id: int) -> object:
    """A complaint with its status, open tasks and history."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    body = ComplaintOutSchema().dump(complaint)
    body["open_tasks"] = TaskSchema(many=True).dump(cases.open_tasks(db.session, complaint))
    body["history"] = EventSchema(many=True).dump(cases.history(db.session, complaint))
    return body
