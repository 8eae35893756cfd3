"""The public complaint column (信用云南 · 政府违约失信投诉专栏): no account, Chinese.

Submit a complaint (CSRF token, honeypot, truthfulness pledge, length limits from the engine's schema,
per-IP rate limits), print the receipt with the tracking code, and follow the case with the tracking
code plus the contact phone's last four digits (status and the notes written for the complainant only).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError, validate
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from engine import throttle
from engine.cases.contact import mask_phone
from engine.cases.models import BREACH_TYPES, DOMAINS, Complaint
from engine.cases.schemas import ComplaintInput, load_complaint
from engine.cases.status import result_label, status_label
from engine.deadlines import milestones
from engine.errors import EngineError, FormInvalid, NotFound, TooManyAttempts
from engine.intake import evidence, feedback, supplements
from engine.intake import services as intake
from engine.notify import sms
from engine.org.models import Department
from engine.org.permissions import PUBLIC
from web import uploads as upload_limits
from web.errors import refused
from web.extensions import db
from web.forms_render import complaint_from_form
from web.permissions import protect
from web.uploads import accepts_uploads, uploads
from web.uploads import policy as upload_policy

bp = Blueprint("public", __name__, url_prefix="/public", static_folder="static", static_url_path="/static")
protect(bp, PUBLIC)  # no account: the complainant's column
limiter = Limiter(key_func=get_remote_address)

HONEYPOT = "website"  # hidden from people by CSS; bots fill it
RECEIPT_KEY = "public_receipt"
TRACKED_KEY = "public_tracked"  # the complaint this browser proved it may follow (code + phone digits)
ANSWERED_KEY = "public_answered"
PLEDGE_TEXT = ("本人（本单位）承诺：所填投诉内容及提交的材料真实、准确、完整，不存在捏造、歪曲事实或恶意投诉的情形，"
               "如有不实，愿意承担相应法律责任。")
MESSAGES = {
    "csrf": "页面已过期或缺少安全校验信息，请刷新页面后重新提交。",
    "honeypot": "提交未被接受。如您是正常填写，请刷新页面后重新提交。",
    "rate": "提交过于频繁，请稍后再试（同一网络地址每分钟、每天的提交次数有限制）。",
    "pledge": "请阅读并勾选真实性承诺",
    "not_tracked": "请先用查询码和联系电话后四位查询您的投诉，再答复补正要求。",
    "too_large": "提交的内容过大（文字或文件总量超过限制），请精简文字或减少、压缩文件后重新提交。",
}


def _max_lengths() -> dict[str, int]:
    """maxlength of each text field, from the engine's ComplaintInput validators (one source of truth)."""
    lengths = {}
    for name, field in ComplaintInput().fields.items():
        for validator in field.validators:
            if isinstance(validator, validate.Length) and validator.max is not None:
                lengths[name] = validator.max
    lengths.setdefault("complainant_uscc", 18)
    lengths.setdefault("contact_phone", 20)
    lengths.setdefault("respondent_code", 64)
    return lengths


def _submit_limit() -> str:
    return current_app.config.get("PUBLIC_SUBMIT_RATE_LIMIT", "5 per minute;30 per day")


def _track_limit() -> str:
    return current_app.config.get("PUBLIC_TRACK_RATE_LIMIT", "10 per minute;100 per day")


def _track_policy() -> throttle.Policy:
    limit = int(current_app.config["TRACK_MAX_FAILURES"])
    return throttle.Policy(free=limit, lock_after=limit, lock_minutes=int(current_app.config["TRACK_LOCK_MINUTES"]))


def _search_limit() -> str:
    return current_app.config.get("PUBLIC_SEARCH_RATE_LIMIT", "60 per minute")


@bp.get("/")
def index() -> Any:
    """The column's address on the public site opens the complaint form."""
    return redirect(url_for("public.new_complaint"))


@bp.route("/complaints/new", methods=["GET", "POST"])
@limiter.limit(_submit_limit, methods=["POST"])
@accepts_uploads
@refused(lambda exc: _complaint_form(_posted_complaint(), exc.errors), errors=(FormInvalid,))
def new_complaint() -> Any:
    """The public complaint form; POST registers the complaint (channel 信用云南) with its evidence files."""
    values: dict[str, str] = {"is_private_enterprise": "true", "in_litigation": "false"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _posted_complaint()
        if values.get(HONEYPOT):
            current_app.logger.info("public complaint rejected: honeypot filled (%s)", get_remote_address())
            return _page_error(400, MESSAGES["honeypot"])
        raw = complaint_from_form(values)
        if values.get("pledge") != "yes":
            errors["pledge"] = MESSAGES["pledge"]
            try:
                load_complaint(raw)
            except ValidationError as exc:
                errors.update(_first_messages(exc.messages))
        else:
            complaint = intake.submit_public(db.session, raw, uploads(), upload_policy())
            session[RECEIPT_KEY] = complaint.id
            return redirect(url_for("public.receipt"), 303)
    return _complaint_form(values, errors)


def _posted_complaint() -> dict[str, str]:
    return {k: v for k, v in request.form.to_dict().items() if k != "csrf_token"}


def _complaint_form(values: dict[str, str], errors: dict[str, str]) -> Any:
    return render_template(
        "public/new.html", values=values, errors=errors, domains=DOMAINS, breach_types=BREACH_TYPES,
        maxlen=_max_lengths(), pledge_text=PLEDGE_TEXT, honeypot=HONEYPOT,
        accept=evidence.ACCEPT, evidence_limits=evidence.limits_text(upload_policy()),
    ), 422 if errors else 200


@bp.get("/complaints/receipt")
def receipt() -> Any:
    """The receipt of the complaint just submitted in this browser session (printable)."""
    complaint_id = session.get(RECEIPT_KEY)
    complaint = db.session.get(Complaint, complaint_id) if isinstance(complaint_id, int) else None
    if complaint is None:
        return redirect(url_for("public.new_complaint"))
    return render_template("public/receipt.html", c=complaint, status=status_label(complaint.status),
                           files=evidence.files_submitted_with(db.session, complaint))


@bp.get("/departments")
@limiter.limit(_search_limit)
def departments() -> Any:
    """Active departments whose name contains q (at most 20), for the respondent field: [{code, name}]."""
    q = (request.args.get("q") or "").strip()[:50]
    if not q:
        return jsonify([])
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = db.session.execute(
        select(Department.code, Department.name)
        .where(Department.is_active.is_(True), Department.name.like(pattern, escape="\\"))
        .order_by(Department.name).limit(20))
    return jsonify([{"code": code, "name": name} for code, name in rows])


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(_track_limit, methods=["POST"])
def track() -> Any:
    """Follow a complaint: tracking code + the contact phone's last four digits. The browser session then
    remembers the complaint, so the complainant can answer requests for material (补正) on this page."""
    error, status = None, 200
    code = ""
    complaint_id = session.get(TRACKED_KEY) if request.method == "GET" else None
    if request.method == "POST":
        code = (request.form.get("tracking_code") or "").strip()[:20]
        try:
            complaint, _survivor, _notes = intake.track(db.session, code, (request.form.get("phone_last4") or "")[:8],
                                                        _track_policy())
        except (NotFound, TooManyAttempts) as exc:
            error, status = exc.message, exc.http_status
            session.pop(TRACKED_KEY, None)
        else:
            complaint_id = session[TRACKED_KEY] = complaint.id
        # the count of wrong answers (and a lock) is kept whatever the outcome: the view answers, the request commits
    found = _tracked(complaint_id) if isinstance(complaint_id, int) else None
    return render_template("public/track.html", found=found, error=error, code=code, errors={}, form={},
                           accept=evidence.ACCEPT, evidence_limits=evidence.limits_text(upload_policy()),
                           answered=session.pop(ANSWERED_KEY, None)), status if error else 200


@bp.post("/track/forget")
def forget() -> Any:
    """Stop following the complaint in this browser (e.g. on a shared computer)."""
    session.pop(TRACKED_KEY, None)
    return redirect(url_for("public.track"), 303)


def _tracking_refused(what: str | None = None) -> Callable[..., Any]:
    """A complainant's answer refused: the tracking page with the field errors under `what` (or the request's id)
    (422), else the public error page (already answered or rated, unknown request, window passed, not closed)."""
    def answer(exc: EngineError, request_id: int | None = None) -> Any:
        if not isinstance(exc, FormInvalid):
            return _page_error(exc.http_status, exc.message)
        return render_template("public/track.html", found=_tracked(session[TRACKED_KEY]), error=None, code="",
                               errors={what or request_id: exc.errors},
                               answer_text=request.form.get("answer_text", "") if what is None else "",
                               form={} if what is None else request.form,
                               accept=evidence.ACCEPT, evidence_limits=evidence.limits_text(upload_policy()),
                               answered=None), 422

    return answer


@bp.post("/track/supplements/<int:request_id>")
@limiter.limit(_submit_limit)
@accepts_uploads
@refused(_tracking_refused(), passes=())
def answer_supplement(request_id: int) -> Any:
    """The complainant answers a request for material with text and files (all files or none are kept)."""
    complaint_id = session.get(TRACKED_KEY)
    if not isinstance(complaint_id, int):
        return _page_error(403, MESSAGES["not_tracked"])
    complaint, survivor, _notes = intake.tracked_case(db.session, complaint_id)
    supplements.answer_supplement(db.session, [complaint, survivor], request_id,
                                  request.form.get("answer_text", ""), uploads(), upload_policy())
    session[ANSWERED_KEY] = request_id
    return redirect(url_for("public.track") + "#supplements", 303)


@bp.post("/track/notices")
@limiter.limit(_submit_limit)
def notices() -> Any:
    """The complainant turns progress messages (SMS and email) off, or on again."""
    complaint_id = session.get(TRACKED_KEY)
    if not isinstance(complaint_id, int):
        return _page_error(403, MESSAGES["not_tracked"])
    complaint, _survivor, _notes = intake.tracked_case(db.session, complaint_id)
    milestones.set_notices(db.session, complaint, request.form.get("wanted") == "1")
    return redirect(url_for("public.track") + "#notices", 303)


@bp.post("/track/rating")
@limiter.limit(_submit_limit)
@refused(_tracking_refused("rating"), passes=())
def rate() -> Any:
    """The complainant rates the handling of the closed case (1–5 and a comment); the DRC is notified."""
    return _after_closing(lambda case: feedback.rate(
        db.session, case, request.form.get("score", ""), request.form.get("comment", "")), "rating")


@bp.post("/track/objection")
@limiter.limit(_submit_limit)
@refused(_tracking_refused("objection"), passes=())
def object_to() -> Any:
    """The complainant objects to the result within the window (a reopen request to the provincial DRC)."""
    return _after_closing(lambda case: feedback.object_to(
        db.session, case, request.form.get("reason", ""), _window_days()), "objection")


def _after_closing(action: Any, what: str) -> Any:
    complaint_id = session.get(TRACKED_KEY)
    if not isinstance(complaint_id, int):
        return _page_error(403, MESSAGES["not_tracked"])
    _complaint, survivor, _notes = intake.tracked_case(db.session, complaint_id)
    action(survivor)  # the case that was handled (the surviving one after a merge); a refusal: _tracking_refused
    session[ANSWERED_KEY] = what
    return redirect(url_for("public.track") + "#after-closing", 303)


def _window_days() -> int:
    return int(current_app.config.get("OBJECTION_WINDOW_DAYS", feedback.DEFAULT_WINDOW_DAYS))


def _tracked(complaint_id: int) -> dict[str, Any]:
    """What the tracking page shows: status, public notes, the complainant's files, requests for material."""
    complaint, survivor, notes = intake.tracked_case(db.session, complaint_id)
    requests = supplements.requests_of(db.session, [complaint, survivor])
    return {
        "complaint": complaint, "survivor": survivor, "notes": notes,
        "status": status_label(survivor.status if survivor.id != complaint.id else complaint.status),
        "result": result_label(complaint.result) if complaint.result else None,
        "merged": survivor.id != complaint.id,
        "files": evidence.files_submitted_with(db.session, complaint),
        "requests": requests, "request_files": supplements.files_by_request(db.session, requests),
        "rating": feedback.rating_for(db.session, survivor), "objection": feedback.objection_for(db.session, survivor),
        "may_object": feedback.may_object(db.session, survivor, _window_days()),
        "objection_deadline": feedback.objection_deadline(survivor, _window_days()),
        "closed": survivor.status == "closed",
        "milestones": milestones.case_milestones(db.session, [complaint, survivor]),
        "sms_phone": mask_phone(sms.mobile_number(complaint.contact_phone)) if sms.mobile_number(
            complaint.contact_phone) else None,
        "steps": [] if survivor.status == "closed" else milestones.current_steps(db.session, survivor),
    }



def _first_messages(messages: Any) -> dict[str, str]:
    if not isinstance(messages, dict):
        return {"_form": str(messages)}
    return {k: v[0] if isinstance(v, list) and v else str(v) for k, v in messages.items()}


def _page_error(status: int, message: str) -> Any:
    return render_template("public/error.html", status=status, message=message), status


@bp.errorhandler(CSRFError)
def _csrf_error(_exc: CSRFError) -> Any:
    return _page_error(400, MESSAGES["csrf"])


@bp.errorhandler(413)
def _too_large(_exc: HTTPException) -> Any:
    return _page_error(413, MESSAGES["too_large"])


@bp.errorhandler(429)
def _too_many(_exc: HTTPException) -> Any:
    return _page_error(429, MESSAGES["rate"])


def init_app(app: Flask) -> None:
    """Register the column and the rate limiter (storage from RATELIMIT_STORAGE_URI; memory by default,
    e.g. redis://localhost:6379/0 when several worker processes must share the counts)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    upload_limits.init_app(app)  # larger body limit for every view that accepts evidence files
    app.register_blueprint(bp)

