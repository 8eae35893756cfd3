"""Case pages (HTML): the list of visible cases, registering a complaint, one case with its diagram."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from engine.cases import correction, search
from engine.cases import services as cases
from engine.cases.contact import MASKED_NOTE, contact_of
from engine.cases.models import BREACH_TYPES, CHANNELS, DOMAINS, Complaint
from engine.cases.status import RESULTS, STATUSES
from engine.deadlines import pauses as clock_pauses
from engine.deadlines import views as deadlines
from engine.documents import services as documents
from engine.errors import ConflictError, FormInvalid
from engine.intake import evidence
from engine.intake import services as intake
from engine.org.permissions import (
    ADD_EVIDENCE,
    CORRECT_CASE,
    PAUSE_CLOCK,
    REGISTER_COMPLAINT,
    VIEW_CASE,
    VIEW_EVIDENCE,
)
from engine.workflow.progress import diagram_for_display, diagram_progress
from web.errors import refused
from web.extensions import db
from web.forms_render import complaint_from_form, department_choices
from web.permissions import may, requires
from web.uploads import accepts_uploads, send_evidence, uploads
from web.uploads import policy as upload_policy

bp = Blueprint("cases", __name__, url_prefix="/cases")

PAGE_SIZE = 50


@bp.get("/")
@requires(VIEW_CASE)
def index() -> object:
    """Cases the caller may see, searched and filtered (the filters stay in the address), sorted, paged."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    try:
        found = search.find_cases(db.session, current_user, request.args, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    except FormInvalid as exc:
        return render_template("cases/index.html", found=None, query=search.CaseQuery(), errors=exc.errors,
                               args=request.args, page=1, pages=1, **case_filter_options()), 422
    return render_template("cases/index.html", found=found, query=found.query, errors={}, args=request.args,
                           page=page, pages=found.total.pages(PAGE_SIZE), has_next=found.total.has_next(page, PAGE_SIZE),
                           **case_filter_options())


def case_filter_options() -> dict:
    """The choices of the case filter form (cases/_filters.html), shared with the inbox."""
    return {"filter_options": {
        "statuses": STATUSES, "results": RESULTS, "channels": CHANNELS, "prefectures": search.PREFECTURES,
        "sorts": search.SORTS, "departments": department_choices(db.session)}}


def _new_form(values: dict, errors: dict) -> object:
    """The intake form with what was entered and the errors per field (422 when there are any)."""
    return render_template(
        "cases/new.html", values=values, errors=errors, departments=department_choices(db.session),
        domains=DOMAINS, breach_types=BREACH_TYPES, accept=evidence.ACCEPT,
        evidence_limits=evidence.limits_text(upload_policy()),
    ), 422 if errors else 200


@bp.route("/new", methods=["GET", "POST"])
@requires(REGISTER_COMPLAINT)
@accepts_uploads
@refused(lambda exc: _new_form(request.form.to_dict(), exc.errors), errors=(FormInvalid,))
def new() -> object:
    """The intake form; POST registers the complaint and starts its procedure."""
    if request.method != "POST":
        return _new_form({"is_private_enterprise": "true", "in_litigation": "false"}, {})
    complaint, _ = intake.submit_official(db.session, complaint_from_form(request.form.to_dict()), current_user,
                                          uploads(), upload_policy())
    flash(f"投诉已登记，受理编号 {complaint.tracking_code}（请告知投诉人用于查询）。", "success")
    return redirect(url_for("cases.show", complaint_id=complaint.id), 303)


@bp.get("/<int:complaint_id>")
@requires(VIEW_CASE)
def show(complaint_id: int) -> str:
    """One case: details, open tasks with deadlines, clock pauses, history and the diagram."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    contact = contact_of(db.session, complaint, current_user, "case_page")  # masked, or in full and audited
    return render_template(
        "cases/show.html", c=complaint, contact=contact, masked_note=MASKED_NOTE,
        open_tasks=deadlines.open_task_deadlines(cases.open_tasks(db.session, complaint), None, db.session),
        pauses=clock_pauses.pauses(db.session, complaint), provisional_note=deadlines.PROVISIONAL_NOTE,
        events=cases.history(db.session, complaint), has_diagram=cases.instance_of(db.session, complaint) is not None,
        files=evidence.files_of(db.session, complaint), accept=evidence.ACCEPT,
        documents=documents.documents_of(db.session, complaint), pdf=documents.pdf_available(),
        evidence_limits=evidence.limits_text(upload_policy()), kind_label=evidence.kind_label,
        correctable=correction.correctable_steps(db.session, complaint) if may(CORRECT_CASE, complaint) else [],
    )


@bp.post("/<int:complaint_id>/evidence")
@requires(ADD_EVIDENCE)
@accepts_uploads
@refused(back=lambda complaint_id: _case_page(complaint_id, "#evidence"), errors=(FormInvalid, ConflictError),
         passes=())  # refused files; the case closed meanwhile
def add_evidence(complaint_id: int) -> object:
    """Add evidence files to an open case (e.g. handed in at the counter); all or none are kept."""
    rows = evidence.add_by_official(db.session, complaint_id, current_user, uploads(), upload_policy())
    flash(f"已保存 {len(rows)} 个证据材料。" if rows else "请选择要上传的文件。", "success" if rows else "error")
    return redirect(_case_page(complaint_id, "#evidence"), 303)


def _case_page(complaint_id: int, anchor: str) -> str:
    return url_for("cases.show", complaint_id=complaint_id) + anchor


@bp.get("/evidence/<int:evidence_id>")
@requires(VIEW_EVIDENCE)
def download_evidence(evidence_id: int) -> object:
    """Download one evidence file (only for the handlers of its case: `view_evidence`; audited)."""
    row, path = evidence.open_for(db.session, evidence_id, current_user, upload_policy())
    return send_evidence(row, path)


@bp.post("/<int:complaint_id>/pause")
@requires(PAUSE_CLOCK)
@refused(back=lambda complaint_id: _case_page(complaint_id, "#clock"))
def pause(complaint_id: int) -> object:
    """Pause the case's clock (补正 etc.); the engine says in Chinese why not, if it may not."""
    clock_pauses.pause_clock(db.session, _case(complaint_id), current_user, request.form.get("reason", ""))
    flash("已暂停计时。恢复计时后，各期限按暂停的工作日顺延。", "success")
    return redirect(_case_page(complaint_id, "#clock"), 303)


@bp.post("/<int:complaint_id>/resume")
@requires(PAUSE_CLOCK)
@refused(back=lambda complaint_id: _case_page(complaint_id, "#clock"))
def resume(complaint_id: int) -> object:
    """Resume the case's clock; pending deadlines move later by the working days paused."""
    clock_pauses.resume_clock(db.session, _case(complaint_id), current_user)
    flash("已恢复计时，各期限已相应顺延。", "success")
    return redirect(_case_page(complaint_id, "#clock"), 303)


@bp.post("/<int:complaint_id>/correct")
@requires(CORRECT_CASE)
@refused(back=lambda complaint_id: _case_page(complaint_id, "#correct"))
def correct(complaint_id: int) -> object:
    """纠错: the provincial DRC returns the case to an earlier step with a reason."""
    correction.correct_case(db.session, _case(complaint_id), request.form.get("task_id", ""), current_user,
                            request.form.get("reason", ""))
    flash("已纠错：案件已退回到所选步骤重新办理，据此作出的违约失信记录已撤回。", "success")
    return redirect(_case_page(complaint_id, "#correct"), 303)


def _case(complaint_id: int) -> Complaint:
    return cases.view_complaint(db.session, complaint_id, current_user)


@bp.get("/<int:complaint_id>/diagram")
@requires(VIEW_CASE)
def diagram(complaint_id: int) -> object:
    """The case's BPMN XML with the ids of completed and current elements, for the diagram viewer."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    instance = cases.instance_of(db.session, complaint)
    if instance is None:
        abort(404)
    return jsonify({"xml": diagram_for_display(db.session, instance.model.bpmn_xml), "version": instance.model.version,
                    **diagram_progress(instance)})

