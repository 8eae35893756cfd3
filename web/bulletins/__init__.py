"""调度通报 and 年度考核 pages: bulletins (list, progress, review, print, xlsx), the public part, the assessment table.

Generation runs in the background (a thread started here, or the scheduler tick); the bulletin page polls
`/api/v1/bulletins/<id>/status` with a small static script and shows the progress.
"""
from __future__ import annotations

import logging
import threading
from datetime import date, timedelta

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from engine.errors import FormInvalid
from engine.org.permissions import MANAGE_BULLETINS, PUBLIC, SEE_STATISTICS
from engine.oversight import assessment as assessments
from engine.oversight import bulletins
from engine.oversight import jobs as oversight_jobs
from engine.oversight.models import BULLETIN_STATUSES, PERIOD_KINDS
from engine.oversight.xlsx import assessment_workbook, bulletin_workbook
from engine.workflow.clock import local_date
from web import transaction
from web.errors import refused
from web.extensions import db
from web.permissions import protect, requires

logger = logging.getLogger(__name__)
bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")
protect(bp, SEE_STATISTICS)  # the provincial DRC and prefecture credit leads; below: managing, and the public part
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REVIEW_FIELDS = ("decision", "remarks", "regenerate_reason")


def generate_in_background(bulletin_id: int) -> None:
    """Compute a queued bulletin's snapshot off the request, once the request has committed it
    (BULLETIN_GENERATION="thread", the default); with "scheduler" the scheduler tick picks it up. Either way the page
    shows the progress."""
    if current_app.config.get("BULLETIN_GENERATION", "thread") != "thread":
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                oversight_jobs.generate_pending(db.session, only_id=bulletin_id)
            finally:
                db.session.remove()

    def start() -> None:
        thread = threading.Thread(target=run, name=f"bulletin-{bulletin_id}", daemon=True)
        thread.start()
        app.extensions.setdefault("lvyue_bulletin_threads", []).append(thread)

    transaction.after_commit(start)


@bp.get("/")
def index() -> str:
    rows, total = bulletins.list_bulletins(db.session, current_user, limit=100)
    return render_template("bulletins/index.html", rows=rows, total=total, statuses=BULLETIN_STATUSES,
                           kinds=PERIOD_KINDS, may_manage=bulletins.may_manage(current_user),
                           last_month_start=(local_date().replace(day=1) - timedelta(days=1)).replace(day=1))


@bp.post("/generate")
@requires(MANAGE_BULLETINS)
@refused(back=lambda: url_for("bulletins.index"))
def generate() -> object:
    """Start the bulletin process for a chosen period (provincial DRC)."""
    period_start = request.form.get("period_start", "")
    try:
        date.fromisoformat(period_start[:10])
    except ValueError:
        raise FormInvalid({"period_start": "期间开始日期无效，请填写 YYYY-MM-DD"}) from None
    bulletin = bulletins.start_manual(db.session, current_user, request.form.get("kind", ""), period_start)
    generate_in_background(bulletin.id)
    flash(f"已开始生成《{bulletin.title}》，页面会显示进度。", "success")
    return redirect(url_for("bulletins.show", bulletin_id=bulletin.id)), 303


@bp.get("/<int:bulletin_id>")
def show(bulletin_id: int) -> str:
    bulletin = bulletins.get_bulletin(db.session, bulletin_id)
    bulletins.ensure_may_read(current_user, bulletin)
    return _render_show(bulletin)


@bp.post("/<int:bulletin_id>/review")
@requires(MANAGE_BULLETINS)
@refused(lambda exc, bulletin_id: (_render_show(bulletins.get_bulletin(db.session, bulletin_id), request.form,
                                                exc.errors), 422), errors=(FormInvalid,))
def review(bulletin_id: int) -> object:
    """Approve and publish, or send back for regeneration (the bulletin process's review task)."""
    data = {name: (request.form.get(name) or "").strip() or None for name in REVIEW_FIELDS}
    data["publish_public"] = request.form.get("publish_public") == "true"
    newest = bulletins.review(db.session, bulletin_id, data, current_user)
    if newest.id != bulletin_id:
        generate_in_background(newest.id)
        flash(f"已退回，正在重新生成第 {newest.revision} 版。", "success")
    else:
        flash("通报已审核通过并发布。", "success")
    return redirect(url_for("bulletins.show", bulletin_id=newest.id)), 303


@bp.get("/<int:bulletin_id>/print")
def print_view(bulletin_id: int) -> str:
    bulletin = _generated(bulletin_id)
    return render_template("bulletins/print.html", b=bulletin, s=bulletin.snapshot, columns=bulletins.RANK_COLUMNS,
                           rates=bulletins.RATE_COLUMNS, overview=bulletins.overview(bulletin.snapshot or {}),
                           intake_columns=bulletins.INTAKE_COLUMNS)


@bp.get("/<int:bulletin_id>/xlsx")
def xlsx(bulletin_id: int) -> Response:
    bulletin = _generated(bulletin_id)
    return _download(bulletin_workbook(bulletin), XLSX, f"bulletin-{bulletin.period_start}-r{bulletin.revision}.xlsx")


# --- public part (no account) ------------------------------------------------------------------------------

@bp.get("/public/")
@requires(PUBLIC)
def public_index() -> str:
    return render_template("bulletins/public_index.html", rows=bulletins.public_bulletins(db.session))


@bp.get("/public/<int:bulletin_id>")
@requires(PUBLIC)
def public_show(bulletin_id: int) -> str:
    bulletin = bulletins.public_bulletin(db.session, bulletin_id)
    as_of, complete = bulletins.data_as_of(bulletin)
    return render_template("bulletins/public_show.html", b=bulletin, p=bulletin.public_snapshot or {},
                           as_of=bulletins.local_time_text(as_of), complete=complete,
                           columns=bulletins.RANK_COLUMNS, rates=bulletins.RATE_COLUMNS,
                           public_columns=bulletins.PUBLIC_RANK_COLUMNS)


# --- assessment ------------------------------------------------------------------------------------------

@bp.get("/assessment")
def assessment_table() -> str:
    year = _year()
    bulletins.ensure_may_read(current_user)
    sheet, rows = assessments.assessment(db.session, year)
    return render_template("bulletins/assessment.html", year=year, sheet=sheet, rows=rows,
                           indicators=assessments.INDICATORS, may_manage=bulletins.may_manage(current_user))


@bp.route("/assessment/sheet", methods=["GET", "POST"])
@requires(MANAGE_BULLETINS)
@refused(lambda exc: _sheet_page({name: (request.form.get(name) or "").strip() for name in _sheet_fields()},
                                 exc.errors), errors=(FormInvalid,))
def assessment_sheet() -> object:
    """Edit the year's weights (provincial DRC): non-negative, summing to 100."""
    bulletins.ensure_may_manage(current_user)
    year = _year()
    if request.method != "POST":
        sheet = assessments.sheet_for(db.session, year)
        return _sheet_page({**{k: f"{sheet.weights.get(k, 0):g}" for k in assessments.INDICATORS},
                            "repeat_deduction": f"{sheet.repeat_deduction:g}", "note": sheet.note or ""}, {})
    values = {name: (request.form.get(name) or "").strip() for name in _sheet_fields()}
    assessments.save_sheet(db.session, year, {k: values[k] for k in assessments.INDICATORS},
                           values["repeat_deduction"], values["note"], current_user)
    flash(f"已保存 {year} 年考核评分表。", "success")
    return redirect(url_for("bulletins.assessment_table", year=year)), 303


def _sheet_fields() -> tuple[str, ...]:
    return (*assessments.INDICATORS, "repeat_deduction", "note")


def _sheet_page(values: dict[str, str], errors: dict[str, str]) -> object:
    year = _year()
    return render_template("bulletins/assessment_sheet.html", year=year, sheet=assessments.sheet_for(db.session, year),
                           values=values, errors=errors, indicators=assessments.INDICATORS), 422 if errors else 200


@bp.get("/assessment/<int:year>.<fmt>")
def assessment_export(year: int, fmt: str) -> Response:
    bulletins.ensure_may_read(current_user)
    if fmt not in ("xlsx", "csv"):
        abort(404)
    sheet, rows = assessments.assessment(db.session, year)
    if fmt == "csv":
        return _download(assessments.assessment_csv(rows).encode(), "text/csv", f"assessment-{year}.csv")
    return _download(assessment_workbook(year, sheet, rows, assessments.INDICATORS), XLSX, f"assessment-{year}.xlsx")


def _render_show(bulletin: object, values: object = None, errors: dict | None = None) -> str:
    """The bulletin with its figures, its progress while generating, and the review form for the DRC."""
    task = bulletins.review_task_of(db.session, bulletin) if bulletins.may_manage(current_user) else None
    return render_template("bulletins/show.html", b=bulletin, s=bulletin.snapshot or {}, task=task,
                           statuses=BULLETIN_STATUSES, columns=bulletins.RANK_COLUMNS,
                           rates=bulletins.RATE_COLUMNS, overview=bulletins.overview(bulletin.snapshot or {}),
                           intake_columns=bulletins.INTAKE_COLUMNS, values=values or {}, errors=errors or {})


def _generated(bulletin_id: int) -> object:
    bulletin = bulletins.get_bulletin(db.session, bulletin_id)
    bulletins.ensure_may_read(current_user, bulletin)
    if not bulletin.snapshot:
        abort(404)
    return bulletin


def _year() -> int:
    year = request.args.get("year", type=int) or local_date().year
    if not 2000 <= year <= 2100:
        abort(404)
    return year


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(lambda: {
        "may_read_bulletins": lambda: current_user.is_authenticated and bulletins.may_read(current_user),
        "bulletin_of_task": lambda task: bulletins.bulletin_of_instance(db.session, task.instance_id),  # inbox page
    })
