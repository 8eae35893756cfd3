"""Officials' pages for breach records (HTML): the searchable list with exports, one record with its measures,
typical cases and delivery log, the failed platform deliveries with a retry button, and the typical cases
(withdrawal, the full-page preview of a text being edited). Public pages: web/credit/public.py."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.cases.models import DOMAINS, Complaint
from engine.credit import exchange, exposure, profiles
from engine.credit import export as record_export
from engine.credit import services as credit
from engine.credit.models import (
    DELIVERY_EVENTS,
    MEASURE_LEVELS,
    PLATFORM_TARGETS,
    RECORD_STATUSES,
    RECTIFICATION_STATES,
    SELECTION_REASONS,
    SEVERITIES,
    TYPICAL_CASE_STATUSES,
)
from engine.errors import ConflictError, FormInvalid, NotFound
from engine.org.permissions import (
    ADMINISTER_EXCHANGE,
    APPLY_FOR_REPAIR,
    MANAGE_MEASURES,
    OPERATE_EXCHANGE,
    PUBLISH_CASES,
    VIEW_RECORDS,
    VIEW_TASK,
)
from engine.workflow import clock, instances
from web.errors import refused
from web.extensions import db
from web.permissions import may, protect, requires

bp = Blueprint("credit", __name__, url_prefix="/credit")
protect(bp, VIEW_RECORDS)

PAGE_SIZE = 50
EXPORT_FORMATS = record_export.FORMATS
# 16 prefecture-level divisions of Yunnan (domain README), for the division filter
PREFECTURES = {
    "530100": "昆明市", "530300": "曲靖市", "530400": "玉溪市", "530500": "保山市", "530600": "昭通市",
    "530700": "丽江市", "530800": "普洱市", "530900": "临沧市", "532300": "楚雄彝族自治州",
    "532500": "红河哈尼族彝族自治州", "532600": "文山壮族苗族自治州", "532800": "西双版纳傣族自治州",
    "532900": "大理白族自治州", "533100": "德宏傣族景颇族自治州", "533300": "怒江傈僳族自治州", "533400": "迪庆藏族自治州",
}
LABELS = {"domains": DOMAINS, "statuses": RECORD_STATUSES, "rectification_states": RECTIFICATION_STATES,
          "severities": SEVERITIES, "levels": MEASURE_LEVELS, "targets": PLATFORM_TARGETS,
          "case_statuses": TYPICAL_CASE_STATUSES, "reasons": SELECTION_REASONS, "prefectures": PREFECTURES,
          "events": DELIVERY_EVENTS}


def record_filters(args: Any) -> tuple[dict[str, Any], list[str]]:
    """The list's filters from query arguments (invalid ones dropped, with a Chinese note each)."""
    found: dict[str, Any] = {}
    problems: list[str] = []
    respondent = (args.get("respondent") or "").strip()[:100]
    if respondent:
        found["respondent"] = respondent
    for key, allowed, label in (("domain", DOMAINS, "领域"), ("status", RECORD_STATUSES, "记录状态"),
                                ("rectification_state", RECTIFICATION_STATES, "整改状态")):
        value = args.get(key) or ""
        if value in allowed:
            found[key] = value
        elif value:
            problems.append(f"{label}「{value}」不是可选的值，已忽略")
    division = (args.get("division") or "").strip()
    if re.fullmatch(r"\d{6}", division):
        found["division"] = division
    elif division:
        problems.append("行政区划代码应为 6 位数字，已忽略")
    for key, label in (("determined_from", "认定日期起"), ("determined_to", "认定日期止")):
        value = (args.get(key) or "").strip()
        if not value:
            continue
        try:
            found[key] = date.fromisoformat(value)
        except ValueError:
            problems.append(f"{label}「{value}」不是有效的日期（YYYY-MM-DD），已忽略")
    return found, problems


@bp.get("/records")
def records() -> str:
    """Breach records the official may see, filtered and paged, with export links."""
    filters, problems = record_filters(request.args)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = credit.search_records(db.session, current_user, **filters, limit=PAGE_SIZE,
                                        offset=(page - 1) * PAGE_SIZE)
    query = {k: v.isoformat() if isinstance(v, date) else v for k, v in filters.items()}
    return render_template("credit/records.html", rows=rows, total=total, page=page,
                           pages=total.pages(PAGE_SIZE), has_next=total.has_next(page, PAGE_SIZE), filters=query,
                           problems=problems,
                           formats=EXPORT_FORMATS, **LABELS)


@bp.get("/records/export")
def export() -> Response:
    """The filtered records as xlsx, CSV or JSON (the same export as the API's)."""
    return export_response(request.args)


def export_response(args: Any) -> Response:
    fmt = args.get("format", "xlsx")
    filters, _problems = record_filters(args)
    body = record_export.export_records(db.session, current_user, fmt, filters, clock.now())
    stamp = clock.now().strftime("%Y%m%d")
    return Response(body, mimetype=record_export.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f"attachment; filename=breach-records-{stamp}.{fmt}"})


@bp.get("/records/<int:record_id>")
def record(record_id: int) -> str:
    """One record: fields, repair rule, measures (active first), typical cases and the delivery log."""
    found = credit.view_record(db.session, record_id, current_user)
    complaint = db.session.get(Complaint, found.complaint_id) if found.complaint_id else None
    return render_template(
        "credit/record.html", r=found, complaint=complaint, rule=credit.repair_rule_text(found),
        ended=[m for m in found.measures if m.ended_at is not None],
        deliveries=exchange.deliveries_of(db.session, found.id),
        cases=exposure.cases_of_record(db.session, found.id) if exposure.may_manage(current_user) else [],
        may_measures=may(MANAGE_MEASURES) and found.status == "active",
        may_repair=found.status == "active" and may(APPLY_FOR_REPAIR, found),
        may_expose=exposure.may_manage(current_user) and found.status == "active",
        may_retry=may(OPERATE_EXCHANGE), **LABELS)


# the record's state refuses a process: say why on the record page
record_refused = refused(back=lambda record_id: url_for(".record", record_id=record_id), errors=(ConflictError, FormInvalid))


@bp.post("/records/<int:record_id>/measures")
@requires(MANAGE_MEASURES)
@record_refused
def start_measure(record_id: int) -> Any:
    """Start measures.bpmn (apply, or end the measure posted) and open its first task."""
    found = credit.view_record(db.session, record_id, current_user)
    return _started(found.id, credit.start_measure_action(db.session, found, current_user,
                                                          request.form.get("action", "apply"),
                                                          request.form.get("measure_id", type=int)))


@bp.post("/records/<int:record_id>/repair")
@requires(APPLY_FOR_REPAIR)
@record_refused
def start_repair(record_id: int) -> Any:
    found = credit.view_record(db.session, record_id, current_user)
    return _started(found.id, credit.start_repair(db.session, found, current_user))


@bp.post("/records/<int:record_id>/typical-case")
@requires(PUBLISH_CASES)
@record_refused
def start_typical_case(record_id: int) -> Any:
    """Propose the record as a typical case (provincial DRC): opens the selection task of typical_case.bpmn."""
    found = credit.view_record(db.session, record_id, current_user)
    return _started(found.id, exposure.start_exposure(db.session, found, current_user))


@bp.get("/deliveries")
@requires(OPERATE_EXCHANGE)
def deliveries() -> str:
    """Operators: versions held (cannot be mapped for their destination, with the reason) and deliveries attempted
    and not delivered, per destination, with a button each to try again."""
    return render_template("credit/deliveries.html", rows=exchange.failed_deliveries(db.session, limit=500),
                           held=exchange.held_deliveries(db.session, limit=500),
                           backlog=exchange.backlog(db.session), **LABELS)


@bp.post("/deliveries/<int:delivery_id>/retry")
@requires(OPERATE_EXCHANGE)
@refused(lambda exc, delivery_id: _back_to_deliveries(exc.message, "error"), passes=())
def retry(delivery_id: int) -> Any:
    """Make a failed delivery due now (audited); the next scheduler tick sends it."""
    row = exchange.retry_now(db.session, delivery_id, actor=current_user)
    return _back_to_deliveries(f"推送 {row.idempotency_key}（{PLATFORM_TARGETS.get(row.target, row.target)}）"
                               "已安排立即重试，下一次推送时按当前平台对照检查并发送。", "success")


def _back_to_deliveries(message: str, category: str) -> Any:
    flash(message, category)
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for(".deliveries"), 303)


@bp.get("/exchange-profiles")
@requires(ADMINISTER_EXCHANGE)
def exchange_profiles() -> str:
    """The destinations and their profiles: defaults or edited (by whom, when), codes still without a counterpart."""
    return render_template("credit/exchange_profiles.html", profiles=exchange.all_profiles(db.session), **LABELS)


@bp.route("/exchange-profiles/<target>", methods=["GET", "POST"])
@requires(ADMINISTER_EXCHANGE)
@refused(lambda exc, target: (_profile_page(target, values=request.form, errors=exc.errors), 422), errors=(FormInvalid,))
def exchange_profile(target: str) -> Any:
    """Edit one destination's field names and code lists; below, the newest version as this profile makes it."""
    if request.method == "GET":
        return _profile_page(target)
    profiles.save_profile(db.session, current_user, target, profile_form(request.form))
    flash(f"已保存「{PLATFORM_TARGETS[target]}」的平台对照；暂停推送的版本在下一次推送时按新对照重新检查。", "success")
    return redirect(url_for(".exchange_profile", target=target), 303)


@bp.post("/exchange-profiles/<target>/reset")
@requires(ADMINISTER_EXCHANGE)
def reset_exchange_profile(target: str) -> Any:
    """Back to the defaults (the stored profile is removed; audited)."""
    profiles.reset_profile(db.session, current_user, target)
    flash(f"「{PLATFORM_TARGETS[target]}」已恢复默认对照。", "success")
    return redirect(url_for(".exchange_profile", target=target), 303)


def profile_form(form: Any) -> dict[str, Any]:
    """The posted inputs `fields.<key>`, `measure_fields.<key>`, `codes.<list>.<code>` as save_profile takes them.
    An empty code box is left out: a mapped code is never cleared, one not yet mapped stays unmapped."""
    data: dict[str, dict[str, Any]] = {"fields": {}, "measure_fields": {}, "codes": {}}
    for name, value in form.items():
        part, _, rest = name.partition(".")
        if part in ("fields", "measure_fields") and rest:
            data[part][rest] = value
        elif part == "codes" and rest:
            code_list, _, code = rest.partition(".")
            if value.strip():
                data["codes"].setdefault(code_list, {})[code] = value
    return data


def _profile_page(target: str, values: Any = None, errors: dict[str, str] | None = None) -> str:
    view = exchange.profile_view(db.session, target)
    return render_template("credit/exchange_profile.html", view=view, p=view.profile, values=values,
                           errors=errors or {}, record_fields=profiles.RECORD_FIELDS,
                           measure_fields=profiles.MEASURE_FIELDS, code_lists=profiles.CODE_LISTS, **LABELS)


@bp.get("/typical-cases")
@requires(PUBLISH_CASES)
def typical_cases() -> str:
    """The provincial DRC's view of typical cases: their state, the public link, withdrawal."""
    status = request.args.get("status") or None
    rows = exposure.list_cases(db.session, current_user, status if status in TYPICAL_CASE_STATUSES else None)
    return render_template("credit/typical_cases.html", rows=rows, status=status or "", **LABELS)


@bp.post("/typical-cases/<int:case_id>/withdraw")
@requires(PUBLISH_CASES)
@refused(back=lambda case_id: url_for(".typical_cases"), passes=(NotFound,))
def withdraw_typical_case(case_id: int) -> Any:
    """Take a published case off the public page; the reason is required and logged."""
    case = exposure.withdraw(db.session, exposure.get_case(db.session, case_id), request.form.get("reason", ""),
                             current_user)
    flash(f"典型案例「{case.title}」已从公开页面撤下。", "success")
    return redirect(url_for(".typical_cases"), 303)


@bp.post("/typical-cases/preview")
@requires(VIEW_TASK)
def preview_typical_case() -> str:
    """The public page exactly as it would look with the title and text being edited (opened in a new tab)."""
    human = instances.get_task(db.session, request.form.get("task_id", ""))
    instances.ensure_can_see(db.session, human, current_user)
    case = exposure.case_of_instance(db.session, human.instance_id)
    if case is None:
        raise FormInvalid({"task_id": "该任务不是典型案例的任务"})
    editable = {"title", "public_text"} <= set(instances.task_form(human).get("properties", {}))
    title = request.form.get("title", case.title) if editable else case.title
    text = request.form.get("public_text", case.public_text) if editable else case.public_text
    view, errors = exposure.preview(db.session, case, title.strip(), text.strip())
    return render_template("public/typical_case.html", case=view, preview=True, errors=errors)


def _started(record_id: int, instance: Any) -> Any:
    """After a process was started on the record: open its task when it is the caller's, else say where it went."""
    task = instances.first_open_task(db.session, instance)
    if task is not None and instances.can_work_on(task, current_user):
        return redirect(url_for("inbox.task", task_id=task.id), 303)
    flash(f"已发起「{instance.model.name}」" + (f"，待办已送{task.department.name}" if task else ""), "success")
    return redirect(url_for(".record", record_id=record_id), 303)


def init_app(app: Flask) -> None:
    """The officials' pages, the public pages of typical cases and published records, the task preview."""
    from web.credit.public import bp as public_bp

    app.register_blueprint(bp)
    app.register_blueprint(public_bp)
