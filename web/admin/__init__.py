"""Administration pages (provincial DRC, system administrators): time limits and the working-day calendar."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.deadlines import services as deadlines
from engine.deadlines import views as deadline_views
from engine.deadlines.models import TimeLimit
from engine.errors import FormInvalid, NotFound
from engine.org.permissions import ADMINISTER_ORG, ADMINISTER_TIME_LIMITS
from web.errors import refused
from web.extensions import db
from web.permissions import may, protect

bp = Blueprint("admin", __name__, url_prefix="/admin")

UNITS = {"workday": "工作日", "day": "自然日"}
DAY_KINDS = {"休": False, "假": False, "班": True}
LINE = re.compile(r"^(\S+)\s+(\S)(?:\s+(.*))?$")


protect(bp, ADMINISTER_TIME_LIMITS)  # views of other sections (departments, users) declare their own


def may_administer() -> bool:
    """Whether the header shows 系统管理: time limits and calendar, or departments and users."""
    return may(ADMINISTER_TIME_LIMITS) or may(ADMINISTER_ORG)


@bp.get("/")
def index() -> object:
    return redirect(url_for("admin.time_limits"))


@bp.get("/time-limits")
def time_limits() -> str:
    """Every time limit of the procedure with its legal basis."""
    return render_template("admin/time_limits.html", limits=deadlines.list_time_limits(db.session), units=UNITS)


@bp.route("/time-limits/<key>", methods=["GET", "POST"])
@refused(lambda exc, key: _time_limit_page(key, _posted_limit(), exc.errors), errors=(FormInvalid,))
def edit_time_limit(key: str) -> object:
    """Change a limit's amount, unit, extension and basis; deadlines already set keep their due times."""
    limit = _time_limit(key)
    if request.method != "POST":
        return _time_limit_page(key, {"amount": str(limit.amount), "unit": limit.unit,
                                      "extension": str(limit.extension or ""), "basis": limit.basis}, {})
    values = _posted_limit()
    amount, errors = _parse_int(values["amount"], "amount", {}, required=True)
    extension, errors = _parse_int(values["extension"], "extension", errors, required=False)
    if errors:
        return _time_limit_page(key, values, errors)
    deadlines.update_time_limit(db.session, key, amount, values["unit"], values["basis"], extension, actor=_actor())
    flash(f"已保存时限「{limit.label}」。此后新计算的期限按新规定执行，已确定的期限不变。", "success")
    return redirect(url_for("admin.time_limits"), 303)


def _time_limit(key: str) -> TimeLimit:
    limit = db.session.get(TimeLimit, key)
    if limit is None:
        raise NotFound(f"未配置时限「{key}」")
    return limit


def _posted_limit() -> dict[str, str]:
    return {name: (request.form.get(name) or "").strip() for name in ("amount", "unit", "extension", "basis")}


def _time_limit_page(key: str, values: dict[str, str], errors: dict[str, str]) -> object:
    return render_template("admin/time_limit_edit.html", limit=_time_limit(key), values=values, errors=errors,
                           units=UNITS, history=deadlines.limit_history(db.session, key)), 422 if errors else 200


@bp.route("/calendar", methods=["GET", "POST"])
@refused(lambda exc: _calendar_page(request.form.get("days", ""), exc.errors, []), errors=(FormInvalid,))
def calendar() -> object:
    """Known years (built in or entered) and the form to enter a year's holidays and make-up working days."""
    year_text = request.values.get("year", "").strip()
    if request.method == "GET":
        days_text = "\n".join(f"{d.day.isoformat()} {'班' if d.is_workday else '休'} {d.note}".rstrip()
                              for d in deadline_views.year_special_days(db.session, int(year_text))
                              ) if year_text.isdigit() else ""
        return _calendar_page(days_text, {}, [])
    days_text = request.form.get("days", "")
    errors: dict[str, str] = {}
    year = int(year_text) if year_text.isdigit() else None
    if year is None or not 2000 <= year <= 2100:
        errors["year"] = "请填写四位数年份（例如 2027）"
    days, line_errors = parse_days(days_text, year)
    if errors or line_errors:
        return _calendar_page(days_text, errors, line_errors)
    deadlines.enter_year(db.session, year, days, actor=_actor())
    flash(f"已录入 {year} 年节假日安排（{len(days)} 个调整日）。此后新计算的期限按此执行。", "success")
    return redirect(url_for("admin.calendar"), 303)


def _calendar_page(days_text: str, errors: dict[str, str], line_errors: list[str]) -> object:
    return render_template(
        "admin/calendar.html", years=deadline_views.calendar_years(db.session),
        year_text=request.values.get("year", "").strip(), days_text=days_text, errors=errors, line_errors=line_errors,
    ), 422 if errors or line_errors else 200


def parse_days(text: str, year: int | None) -> tuple[list[tuple[date, bool, str]], list[str]]:
    """Lines `2027-01-01 休 元旦` / `2027-02-07 班 春节调休` → (date, is_workday, note); errors per line."""
    days: list[tuple[date, bool, str]] = []
    errors: list[str] = []
    seen: set[date] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.replace("\u3000", " ").strip()
        if not line or line.startswith("#"):
            continue
        match = LINE.match(line)
        if match is None:
            errors.append(f"第 {number} 行「{line}」：格式应为“日期 休/班 说明”，例如 2027-01-01 休 元旦")
            continue
        day_text, kind, note = match.group(1), match.group(2), (match.group(3) or "").strip()
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            errors.append(f"第 {number} 行「{line}」：日期“{day_text}”无效，应为 YYYY-MM-DD，例如 2027-01-01")
            continue
        if kind not in DAY_KINDS:
            errors.append(f"第 {number} 行「{line}」：第二项应为“休”（放假）或“班”（调休上班），而不是“{kind}”")
            continue
        if year is not None and day.year != year:
            errors.append(f"第 {number} 行「{line}」：日期不属于 {year} 年")
            continue
        if day in seen:
            errors.append(f"第 {number} 行「{line}」：日期 {day.isoformat()} 重复")
            continue
        seen.add(day)
        days.append((day, DAY_KINDS[kind], note))
    return days, errors


def _parse_int(text: str, name: str, errors: dict[str, str], required: bool) -> tuple[int | None, dict[str, str]]:
    if not text:
        if required:
            errors = {**errors, name: "请填写整数"}
        return None, errors
    try:
        return int(text), errors
    except ValueError:
        return None, {**errors, name: f"“{text}”不是整数，请填写整数"}


def _actor() -> str:
    return f"{current_user.full_name}（{current_user.username}）"[:100]


def init_app(app: Flask) -> None:
    from web.admin import org  # noqa: F401 - 部门管理 and 用户管理 on this blueprint

    app.register_blueprint(bp)
    app.context_processor(lambda: {"may_administer": may_administer})
