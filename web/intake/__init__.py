"""Intake officials' page for likely duplicates (横向归集): both cases side by side, merge or reject."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import EngineError
from engine.intake import dedup
from web.extensions import db

bp = Blueprint("intake", __name__, url_prefix="/intake")
COMPARED = (
    ("tracking_code", "受理编号"), ("channel", "渠道"), ("external_ref", "渠道编号"), ("received_at", "收到时间"),
    ("complainant_name", "投诉企业"), ("complainant_uscc", "统一社会信用代码"), ("respondent_name", "被投诉主体"),
    ("agreement_name", "协议或合同"), ("agreement_number", "协议编号"), ("facts", "违约失信事实"), ("claims", "投诉诉求"),
    ("status", "状态"),
)


@bp.get("/duplicates")
@login_required
def duplicates() -> Any:
    """Undecided candidates, highest score first."""
    if not dedup.may_decide(current_user):
        abort(403)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = dedup.open_candidates(db.session, current_user, 21, (page - 1) * 20)
    return render_template("intake/duplicates.html", rows=rows[:20], page=page, has_next=len(rows) > 20,
                           compared=COMPARED)


@bp.post("/duplicates/<int:candidate_id>/<any(merge, reject):decision>")
@login_required
def decide(candidate_id: int, decision: str) -> Any:
    try:
        if decision == "merge":
            survivor = dedup.merge_candidate(db.session, candidate_id, current_user)
            message = f"已合并：保留案件 {survivor.tracking_code}，较新的投诉已并入并撤回其待办。"
        else:
            dedup.reject_candidate(db.session, candidate_id, current_user)
            message = "已排除：两件投诉分别办理。"
        db.session.commit()
        flash(message, "success")
    except EngineError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("intake.duplicates"), 303)
