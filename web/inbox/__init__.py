"""Official's inbox (HTML): the department's open tasks, claiming, and the task page with its form."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from engine.cases import search
from engine.cases.models import Complaint
from engine.deadlines import views as deadlines
from engine.errors import (
    ConcurrentUpdate,
    ConflictError,
    EngineError,
    FormInvalid,
    PermissionDenied,
    TaskNotReady,
)
from engine.intake import dossier, evidence
from engine.org.permissions import SEE_OVERDUE, SIGNED_IN, UNCLAIM_TASK, VIEW_TASK, WORK_TASK
from engine.paging import Total
from engine.workflow import instances, lane_roles
from engine.workflow.inbox import InboxFilter
from engine.workflow.models import HumanTask
from web import completion
from web.cases import case_filter_options
from web.errors import refused
from web.extensions import db
from web.forms_render import build_fields, department_choices, parse_posted
from web.notifications import bp as notifications_bp
from web.permissions import may, requires

bp = Blueprint("inbox", __name__)
bp.register_blueprint(notifications_bp)  # /notifications and the unread badge

PAGE_SIZE = 20
CLAIMED_FILTERS = {"": "全部", "me": "我认领的", "unclaimed": "未认领", "others": "他人认领"}


@bp.get("/")
@requires(SIGNED_IN)
def index() -> object:
    """The caller's department inbox with due states, claim/lane/due-state filters, sorting and paging."""
    claimed = request.args.get("claimed", "")
    claimed = claimed if claimed in CLAIMED_FILTERS else ""
    lane = request.args.get("lane", "")
    lanes = {"": "全部环节", **{str(known["name"]): str(known["label"]) for known in lane_roles.known_lanes(db.session)}}
    lane = lane if lane in lanes else ""
    state = request.args.get("state", "")
    state = state if state in deadlines.DUE_STATES else ""
    sort = request.args.get("sort", "due")
    sort = sort if sort in deadlines.SORTS else "due"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    own = {"claimed": claimed, "lane": lane, "state": state}  # the inbox's own filters, kept in every link
    status, errors, rows, total = 200, {}, [], Total(0)
    try:
        cases = search.parse_case_query({k: v for k, v in request.args.items() if k not in ("sort", *own)})
        rows, total = deadlines.inbox_by_due(db.session, current_user, InboxFilter(claimed or None, None, lane or None),
                                             state or None, sort, PAGE_SIZE, (page - 1) * PAGE_SIZE, cases=cases)
    except FormInvalid as exc:
        status, errors, cases = 422, exc.errors, search.CaseQuery()
    kept = {**{k: v for k, v in own.items() if v}, **cases.args()}
    complaints = _complaints_of([r.task for r in rows])
    return render_template("inbox/index.html", rows=rows, total=total, page=page, pages=total.pages(PAGE_SIZE),
                           has_next=total.has_next(page, PAGE_SIZE),
                           complaints=complaints, claimed=claimed, lane=lane, state=state, sort=sort, own=own,
                           kept=kept, own_kept={**{k: v for k, v in own.items() if v}, **({"sort": sort} if sort != "due" else {})},
                           cases=cases, errors=errors, args=request.args,
                           claimed_filters=CLAIMED_FILTERS, lanes=lanes, due_states=deadlines.DUE_STATES,
                           sorts=deadlines.SORTS, provisional_note=deadlines.PROVISIONAL_NOTE,
                           **case_filter_options()), status


@bp.get("/overdue")
@requires(SEE_OVERDUE)
def overdue() -> str:
    """逾期督办: open tasks past due across the departments under the provincial DRC or a prefecture lead."""
    supervised = request.args.get("supervised") == "1"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = deadlines.overdue_tasks(db.session, current_user, supervised_only=supervised,
                                          limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("inbox/overdue.html", rows=rows, total=total, page=page, pages=total.pages(PAGE_SIZE),
                           has_next=total.has_next(page, PAGE_SIZE),
                           supervised=supervised, scope=deadlines.overdue_scope(current_user))


@bp.post("/tasks/<task_id>/claim")
@requires(WORK_TASK)
@refused(back=lambda task_id: _back(), passes=(PermissionDenied,))
def claim(task_id: str) -> object:
    """Claim a task so colleagues see who is working on it."""
    return _claim_action(task_id, instances.claim_task, "已认领该任务")


@bp.post("/tasks/<task_id>/unclaim")
@requires(UNCLAIM_TASK)
@refused(back=lambda task_id: _back(), passes=(PermissionDenied,))
def unclaim(task_id: str) -> object:
    """Give a claimed task back to the department inbox."""
    return _claim_action(task_id, instances.unclaim_task, "已退回认领")


def _task_refused(exc: EngineError, task_id: str) -> object:
    """A refused completion: the form again with the field errors (422) or the reason the case refuses the choice
    (409); a task done or changed meanwhile: back to the inbox with the reason."""
    if isinstance(exc, ConcurrentUpdate | TaskNotReady):
        flash(exc.message, "error")
        return redirect(url_for("inbox.index")), 303
    human = instances.get_task(db.session, task_id)
    schema = instances.task_form(human)
    if isinstance(exc, FormInvalid):
        return _render_task(human, schema, values=dict(request.form), errors=exc.errors, message=exc.message), 422
    return _render_task(human, schema, values=dict(request.form), message=exc.message), 409


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@requires(VIEW_TASK)
@refused(_task_refused, errors=(FormInvalid, ConcurrentUpdate, TaskNotReady, ConflictError))
def task(task_id: str) -> object:
    """The task's case summary and form; POST completes the task with the parsed form data."""
    human = instances.get_task(db.session, task_id)
    instances.ensure_can_see(db.session, human, current_user)
    schema = instances.task_form(human)
    if request.method == "GET":
        return _render_task(human, schema)
    if request.form.get("_action") == "preview":  # a form with `x-preview`: show the preview, complete nothing
        return _render_task(human, schema, values=dict(request.form))
    completion.complete(task_id, parse_posted(schema, request.form), current_user)  # again if a timer fired meanwhile
    flash(f"已提交：「{human.title}」已办理完毕。", "success")
    return redirect(url_for("inbox.index")), 303


def _render_task(human: HumanTask, schema: dict, values: dict | None = None, errors: dict | None = None,
                 message: str | None = None) -> str:
    from web.credit.previews import task_preview

    complaint = db.session.get(Complaint, human.subject_id) if human.subject_id else None
    case_file = dossier.for_task(db.session, human, current_user)
    preview = task_preview(human, schema, values)
    if preview is not None and values is None:
        values = preview.defaults  # the text so far: the first draft, or what was sent back
    if values is None:
        values = case_file.defaults  # e.g. the rectification deadline from the administrator's time limit
    needs_departments = any(p.get("x-widget") == "department" for p in schema.get("properties", {}).values())
    fields = build_fields(schema, values, errors, department_choices(db.session) if needs_departments else None,
                          hints=case_file.hints, ranges=case_file.ranges)
    (due,) = deadlines.open_task_deadlines([human], None, db.session)
    return render_template(
        "inbox/task.html", task=human, due=due, complaint=complaint, schema=schema, fields=fields, preview=preview,
        case_file=case_file, kind_label=evidence.kind_label,
        form_errors=(errors or {}).get("_form"), message=message,
        can_work=instances.can_work_on(human, current_user) and human.completed_at is None,
    )


def _complaints_of(rows: list[HumanTask]) -> dict[int, Complaint]:
    """The cases of one inbox page, in one query."""
    ids = {r.subject_id for r in rows if r.subject_id}
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Complaint).where(Complaint.id.in_(ids)))}


def _claim_action(task_id: str, action: Callable[..., HumanTask], done: str) -> object:
    action(db.session, task_id, current_user)
    flash(done, "success")
    return redirect(_back()), 303


def _back() -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else url_for("inbox.index")


@bp.app_context_processor
def _nav_flags() -> dict:
    """`may_see_overdue()` for the header's 逾期督办 link."""
    return {"may_see_overdue": lambda: may(SEE_OVERDUE)}
