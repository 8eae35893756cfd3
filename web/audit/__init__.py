"""The audit log in the browser, for system administrators and the provincial DRC: search and export.

Filters: case (tracking code or id), person (username), department (code), action and period (Beijing dates,
both days included). Newest first, 100 a page. Export gives the matching events as JSON lines with their
hashes (at most EXPORT_LIMIT; `flask --app web audit export` has no limit). Every search and export is itself
an audit event (`view_audit`, `audit_exported`).
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from engine.audit import services as audit
from engine.cases.disclosure import Disclosure
from engine.org.models import Department
from engine.org.permissions import VIEW_AUDIT
from web.extensions import db
from web.permissions import protect

bp = Blueprint("audit", __name__, url_prefix="/audit")
protect(bp, VIEW_AUDIT)  # system administrators and the provincial DRC
SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE = 100
EXPORT_LIMIT = 50_000
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the period filter's bounds
ACTION_LABELS = {
    "login": "登录", "login_failed": "登录失败", "login_refused_locked": "锁定期间拒绝登录", "account_locked": "账户锁定",
    "account_unlocked": "解除锁定", "login_throttled": "登录过于频繁被拒绝", "tracking_locked": "查询码暂停查询",
    "session_ended": "结束会话", "logout": "退出", "password_set": "设置密码", "token_created": "创建访问令牌",
    "token_revoked": "吊销访问令牌", "complaint_registered": "登记投诉", "view_contact": "查看投诉人联系方式",
    "task_claimed": "认领任务", "task_unclaimed": "退回认领", "task_completed": "办理任务", "timer_fired": "定时器触发",
    "timer_failed": "定时器步骤出错", "clock_paused": "暂停计时", "clock_resumed": "恢复计时",
    "process_deployed": "部署流程版本", "scenario_saved": "保存流程场景", "scenario_deleted": "删除流程场景", "time_limit_changed": "修改办理时限", "process_migrated": "迁移流程版本", "instance_suspended": "挂起流程",
    "instance_resumed": "恢复流程", "instance_retried": "重试出错步骤", "breach_record_created": "生成违约失信记录",
    "breach_record_updated": "更新违约失信记录", "measure_applied": "实施惩戒措施", "measure_ended": "结束惩戒措施",
    "credit_repaired": "信用修复", "measure_type_saved": "维护惩戒措施清单", "platform_delivery_retry": "重新推送平台",
    "exchange_profile_saved": "修改平台对照", "exchange_profile_reset": "恢复默认平台对照",
    "view_audit": "查询审计日志", "audit_exported": "导出审计日志", "audit_pruned": "清理过期审计记录",
    "complaint_merged": "合并重复投诉", "duplicate_rejected": "排除疑似重复", "channel_key_created": "创建渠道密钥",
    "channel_key_revoked": "吊销渠道密钥", "signed_out_everywhere": "在所有设备上退出登录",
    "department_created": "新增部门", "department_updated": "修改部门", "official_created": "新增用户",
    "official_updated": "修改用户", "official_moved": "调动部门", "official_deactivated": "停用用户",
    "official_reactivated": "恢复启用用户",
}


class FilterError(ValueError):
    """A filter the form cannot use; the message says why, in Chinese."""


@bp.get("/")
def index() -> Any:
    """Search form and the newest matching events."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    try:
        filters = _filters(request.args)
    except FilterError as exc:
        return _render([], filters={}, page=1, has_next=False, error=str(exc)), 422
    rows = audit.search(db.session, **filters, newest_first=True, limit=PAGE + 1, offset=(page - 1) * PAGE)
    audit.record(db.session, "view_audit", current_user, "audit_event", None, after={**_plain(filters), "page": page})
    return _render(Disclosure(db.session, current_user).views(rows[:PAGE]), filters, page, len(rows) > PAGE)


@bp.get("/export")
def export() -> Response:
    """The matching events, oldest first, as JSON lines (UTF-8) with their hashes."""
    try:
        filters = _filters(request.args)
    except FilterError as exc:
        abort(Response(str(exc), 422, mimetype="text/plain"))
    rows = audit.search(db.session, **filters, limit=EXPORT_LIMIT)
    shown = Disclosure(db.session, current_user)  # case contents only where the viewer may see the case
    body = "".join(json.dumps(shown.export_line(event), ensure_ascii=False) + "\n" for event in rows)
    audit.record(db.session, "audit_exported", current_user, "audit_event", None,
                 after={**_plain(filters), "count": len(rows), "via": "browser"})
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M%S")
    return Response(body, mimetype="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="lvyue-audit-{stamp}.jsonl"',
        "X-Export-Count": str(len(rows)), "X-Export-Truncated": "1" if len(rows) >= EXPORT_LIMIT else "0"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(lambda action: ACTION_LABELS.get(action, action), "audit_action")
    app.add_template_filter(lambda value: json.dumps(value, ensure_ascii=False, default=str), "audit_json")


def _filters(args: Any) -> dict[str, Any]:
    """Query-string filters → keyword arguments of engine.audit.services.search."""
    filters: dict[str, Any] = {}
    case = (args.get("case") or "").strip()
    if case:
        if re.fullmatch(r"[0-9]{1,12}", case):  # str.isdigit() also takes "²", which int() refuses
            filters["complaint_id"] = int(case)
        else:
            filters["tracking_code"] = case[:40]
    for name in ("actor", "department", "action"):
        value = (args.get(name) or "").strip()[:100]
        if value:
            filters[name] = value
    since, until = _day(args.get("since"), "起始日期"), _day(args.get("until"), "截止日期")
    if since and until and until < since:
        raise FilterError("截止日期不能早于起始日期")
    if since:
        filters["since"] = datetime.combine(since, time(0), SHANGHAI)
    if until:  # the whole last day
        filters["until"] = datetime.combine(until + timedelta(days=1), time(0), SHANGHAI)
    return filters


def _day(value: str | None, label: str) -> date | None:
    if not (value or "").strip():
        return None
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise FilterError(f"{label}格式应为 YYYY-MM-DD") from exc
    if not FIRST_YEAR <= day.year <= LAST_YEAR:  # 9999-12-31 plus a day overflows
        raise FilterError(f"{label}须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间")
    return day


def _plain(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items()}


def _render(rows: list, filters: dict[str, Any], page: int, has_next: bool, error: str | None = None) -> str:
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    departments = db.session.execute(select(Department.code, Department.name).order_by(Department.name)).all()
    return render_template(
        "audit/index.html", rows=rows, args=args, page=page, has_next=has_next, error=error,
        departments=departments, actions=audit.actions(db.session), labels=ACTION_LABELS,
        export_url=url_for("audit.export", **args), filtered=bool(filters))
