"""Public pages (no sign-in) of the provincial credit site: published typical cases (曝光典型案例) and breach
records in their publication period (失信记录公示). Nothing here shows the complainant: typical cases show the
text that passed the personal-data check and a leader's approval; records show the respondent (a government
body) and the determination."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from engine.credit import exposure, publication
from engine.errors import NotFound
from engine.org.permissions import PUBLIC
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI
from web.extensions import db
from web.permissions import protect

bp = Blueprint("public_credit", __name__, url_prefix="/public")
protect(bp, PUBLIC)
PAGE_SIZE = 20
RECORDS_PAGE_SIZE = 50


@bp.get("/typical-cases")
def typical_cases() -> str:
    """Published typical cases, newest first."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = exposure.published_cases(db.session, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return render_template("public/typical_cases.html", rows=[exposure.public_view(c) for c in rows], page=page,
                           pages=total.pages(PAGE_SIZE), has_next=total.has_next(page, PAGE_SIZE), total=total)


@bp.get("/typical-cases/<int:case_id>")
def typical_case(case_id: int) -> Any:
    """One published case (404 once withdrawn)."""
    case = exposure.get_published(db.session, case_id)
    return render_template("public/typical_case.html", case=exposure.public_view(case), preview=False, errors={})


@bp.get("/breach-records")
def breach_records() -> str:
    """Breach records currently in their publication period; repaired and expired ones are not listed."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    respondent = (request.args.get("respondent") or "").strip()[:100]
    today = clock.now().astimezone(SHANGHAI).date()
    rows, total = publication.public_records(db.session, today, RECORDS_PAGE_SIZE, (page - 1) * RECORDS_PAGE_SIZE,
                                             respondent=respondent or None)
    return render_template("public/breach_records.html", rows=rows, total=total, page=page, today=today,
                           respondent=respondent, pages=total.pages(RECORDS_PAGE_SIZE),
                           has_next=total.has_next(page, RECORDS_PAGE_SIZE))


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound) -> Any:
    return render_template("public/error.html", status=404, message=exc.message), 404
