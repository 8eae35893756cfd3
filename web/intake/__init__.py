"""Intake officials' page for likely duplicates (横向归集): both cases side by side, merge or reject; and the
case page's requests for more material (补正)."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.cases import services as cases
from engine.errors import ConflictError, FormInvalid
from engine.intake import dedup, feedback, supplements
from engine.org.permissions import DECIDE_DUPLICATES, REQUEST_SUPPLEMENT
from web.errors import refused
from web.extensions import db
from web.permissions import requires

bp = Blueprint("intake", __name__, url_prefix="/intake")
COMPARED = (
    ("tracking_code", "受理编号"), ("channel", "渠道"), ("external_ref", "渠道编号"), ("received_at", "收到时间"),
    ("complainant_name", "投诉企业"), ("complainant_uscc", "统一社会信用代码"), ("respondent_name", "被投诉主体"),
    ("agreement_name", "协议或合同"), ("agreement_number", "协议编号"), ("facts", "违约失信事实"), ("claims", "投诉诉求"),
    ("status", "状态"),
)


@bp.get("/duplicates")
@requires(DECIDE_DUPLICATES)
def duplicates() -> Any:
    """Undecided candidates, highest score first."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = dedup.open_candidates(db.session, current_user, 21, (page - 1) * 20)
    return render_template("intake/duplicates.html", rows=rows[:20], page=page, has_next=len(rows) > 20,
                           compared=COMPARED)


@bp.post("/duplicates/<int:candidate_id>/<any(merge, reject):decision>")
@requires(DECIDE_DUPLICATES)
@refused(back=lambda **_: url_for("intake.duplicates"), passes=())
def decide(candidate_id: int, decision: str) -> Any:
    if decision == "merge":
        survivor = dedup.merge_candidate(db.session, candidate_id, current_user)
        flash(f"已合并：保留案件 {survivor.tracking_code}，较新的投诉已并入并撤回其待办。", "success")
    else:
        dedup.reject_candidate(db.session, candidate_id, current_user)
        flash("已排除：两件投诉分别办理。", "success")
    return redirect(url_for("intake.duplicates"), 303)


# --- 补正: requests for more material (engine/intake/supplements.py) -------------------------------------

@bp.app_template_global()
def case_supplements(complaint: Any) -> dict[str, Any]:
    """For the case page: the case's requests for material, their answer files, and whether the viewer may ask."""
    requests = supplements.requests_of(db.session, [complaint])
    return {"requests": requests, "files": supplements.files_by_request(db.session, requests),
            "may_request": supplements.may_request(db.session, current_user, complaint),
            "open": any(r.answered_at is None for r in requests)}


@bp.app_template_global()
def case_feedback(complaint: Any) -> dict[str, Any]:
    """For the case page: the complainant's ratings and objections after closing."""
    return {"ratings": feedback.ratings_of(db.session, complaint), "objections": feedback.objections_of(db.session, complaint)}


@bp.post("/cases/<int:complaint_id>/supplements")
@requires(REQUEST_SUPPLEMENT)
@refused(back=lambda complaint_id: url_for("cases.show", complaint_id=complaint_id) + "#supplements",
         errors=(FormInvalid, ConflictError))  # closed case, or a request still unanswered; refusals (403) are not flashed
def request_supplement(complaint_id: int) -> Any:
    """Ask the complainant for more material; the note appears on their tracking page and in the channel feed."""
    complaint = cases.view_complaint(db.session, complaint_id, current_user)
    try:
        due = date.fromisoformat(request.form["due_date"]) if request.form.get("due_date") else None
    except ValueError:
        raise FormInvalid({"due_date": "补正期限的日期格式应为 YYYY-MM-DD"}) from None
    supplements.request_supplement(db.session, complaint, current_user, request.form.get("note", ""), due)
    flash("已向投诉人发出补正要求，投诉人可在进度查询页面看到并答复。", "success")
    return redirect(url_for("cases.show", complaint_id=complaint_id) + "#supplements", 303)
