"""The caller's department inbox: list, read, claim, unclaim, complete."""
from __future__ import annotations

from flask import abort, request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.intake import dossier
from engine.org.permissions import SIGNED_IN, UNCLAIM_TASK, VIEW_TASK, WORK_TASK
from engine.workflow import inbox as inbox_service
from engine.workflow import instances
from web import completion
from web.api.common import ApiErrorSchema, PageSchema, TaskDetailSchema, TaskSchema, page
from web.extensions import db
from web.permissions import requires

blp = Blueprint("api_tasks", __name__, url_prefix="/tasks", description="部门待办任务")


class InboxQuery(Schema):
    claimed = fields.String(load_default=None, validate=validate.OneOf(["me", "unclaimed", "others"]))
    complaint_id = fields.Integer(load_default=None)
    lane = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class InboxPage(PageSchema):
    items = fields.List(fields.Nested(TaskSchema))


@blp.get("")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(InboxQuery, location="query")
@blp.response(200, InboxPage)
@requires(SIGNED_IN)
def list_tasks(args: dict) -> object:
    """Open tasks of the caller's department that the caller's roles allow, soonest due first."""
    filters = inbox_service.InboxFilter(args["claimed"], args["complaint_id"], args["lane"])
    rows, total = inbox_service.inbox(db.session, current_user, filters, args["limit"], args["offset"])
    return page(rows, total)


@blp.get("/<string:task_id>")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, TaskDetailSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@requires(VIEW_TASK)
def get_task(task_id: str) -> object:
    """A task with its form (JSON Schema), the decisions made so far, evidence and 补正 exchanges."""
    human = instances.get_task(db.session, task_id)
    instances.ensure_can_see(db.session, human, current_user)
    human.case_file = dossier.for_task(db.session, human, current_user)  # type: ignore[attr-defined]
    return human


@blp.post("/<string:task_id>/claim")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, TaskSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
@requires(WORK_TASK)
def claim(task_id: str) -> object:
    """Claim a task so colleagues see you are working on it."""
    human = instances.claim_task(db.session, task_id, current_user)
    return human


@blp.post("/<string:task_id>/unclaim")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, TaskSchema)
@requires(UNCLAIM_TASK)
def unclaim(task_id: str) -> object:
    """Give a claimed task back to the department inbox."""
    human = instances.unclaim_task(db.session, task_id, current_user)
    return human


@blp.post("/<string:task_id>/complete")
@blp.doc(security=[{"bearer": []}], requestBody={
    "description": "表单数据（字段见任务的 form）", "content": {"application/json": {"schema": {"type": "object"}}}})
@blp.response(200, TaskSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="任务已被处理或同时被他人提交")
@blp.alt_response(422, schema=ApiErrorSchema, description="表单校验未通过，errors 按字段说明")
@requires(WORK_TASK)
def complete(task_id: str) -> object:
    """Complete a task with its form data; the procedure moves on to the next step."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400)
    return completion.complete(task_id, payload, current_user)  # once more if a timer of the case fired meanwhile
