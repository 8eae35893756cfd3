"""The statutory time limits, due times computed from them (with the calendar of engine/deadlines/calendar.py) and
the administrators' entries: limits and holiday years."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.calendar import WorkCalendar, is_statutory_year
from engine.deadlines.models import CalendarDay, CalendarYear, TimeLimit
from engine.errors import NotFound
from engine.workflow.clock import SHANGHAI, end_of_day

logger = logging.getLogger(__name__)

DEFAULT_LIMITS = [
    ("screen", "受理审查", 7, "workday", None,
     "默认值，参照市场监管投诉举报处理办法：收到投诉之日起7个工作日内决定是否受理"),
    ("forward", "转交认定部门", 2, "workday", None,
     "默认值；发改财金〔2023〕1103号、云发改财金〔2023〕1064号要求“第一时间转交”"),
    ("verify", "核实认定", 15, "workday", 15,
     "默认值，参照信访工作条例的办理时限；可延长一次"),
    ("rectify", "整改", 30, "day", None,
     "默认值，参照保障中小企业款项支付条例：30日内支付（最长不超过60日）"),
    ("report_breach", "确认违约失信后报送省发展改革委", 5, "workday", None,
     "默认值；云发改财金〔2023〕1064号：拒不整改的确认为违约失信并推送至省发展改革委"),
    ("ndrc_review", "省发展改革委复核上报", 5, "workday", None,
     "默认值；云发改财金〔2023〕1064号：统一上报国家发展改革委"),
    ("dispute", "协调分歧", 30, "workday", None, "默认值；对有分歧投诉推动加快协商解决或运用法律手段解决"),
    ("repair", "信用修复决定", 5, "workday", None, "默认值；谁认定、谁修复"),
    ("order", "下达整改要求", 2, "workday", None,
     "默认值；云发改财金〔2023〕1064号：经核实属实的，立即督促被投诉主体整改"),
    ("rectify_max", "整改期限上限", 60, "day", None,
     "默认值，参照保障中小企业款项支付条例：最长不超过60日；督促整改和批准延期时，整改期限不得晚于此"),
    ("review_rectification", "审查整改情况", 5, "workday", None, "默认值；认定部门审查被投诉主体报告的整改情况"),
    ("extension", "延期整改", 15, "day", None,
     "默认值；被投诉主体申请延期、认定部门批准时新的整改期限的默认值"),
    ("extension_decision", "延期申请审查", 3, "workday", None, "默认值；认定部门对被投诉主体的延期申请作出决定"),
    ("bulletin_review", "调度通报审核", 5, "workday", None, "默认值；通报草稿由省发展改革委信用处负责人审核"),
    ("objection", "异议处理", 15, "workday", None, "默认值，参照信访工作条例的办理时限"),
]


@dataclass(frozen=True)
class Due:
    """A computed due time with what it rests on."""

    at: datetime
    basis: str
    provisional: bool  # a year on the way has no entered schedule: Monday–Friday was assumed


def due_for_limit(session: Session, key: str, start: datetime, calendar: WorkCalendar | None = None) -> Due:
    """When time limit `key` runs out for something started at `start` (end of that day in Yunnan)."""
    cal = calendar or WorkCalendar(session)
    limit = cal.time_limit(key)
    if limit is None:
        raise NotFound(f"未配置时限「{key}」")
    today = start.astimezone(SHANGHAI).date()
    if limit.unit == "workday":
        day, provisional = cal.add_workdays(today, limit.amount)
    else:
        day, provisional = today + timedelta(days=limit.amount), False
    basis = f"{limit.description}。依据：{limit.basis}"
    if provisional:
        basis += f"。注意：{day.year}年节假日安排尚未录入，暂按周一至周五计算"
    return Due(end_of_day(day), basis, provisional)


def workdays_before(due: datetime, n: int, calendar: WorkCalendar) -> datetime:
    """The end of the working day `n` working days before `due` (for reminders)."""
    return calendar.workdays_before(due, n)


def seed_time_limits(session: Session) -> int:
    """Insert the default time limits that are missing; returns how many were added."""
    existing = set(session.scalars(select(TimeLimit.key)))
    added = 0
    for key, label, amount, unit, extension, basis in DEFAULT_LIMITS:
        if key not in existing:
            session.add(TimeLimit(key=key, label=label, amount=amount, unit=unit, extension=extension, basis=basis))
            added += 1
    session.flush()
    return added


def list_time_limits(session: Session) -> list[TimeLimit]:
    return list(session.scalars(select(TimeLimit).order_by(TimeLimit.key)))


def update_time_limit(session: Session, key: str, amount: int, unit: str, basis: str,
                      extension: int | None, actor: str) -> TimeLimit:
    """Change a time limit; new deadlines use it, deadlines already set stay as they were."""
    from engine.db import utcnow
    from engine.errors import FormInvalid

    limit = session.get(TimeLimit, key)
    if limit is None:
        raise NotFound(f"未配置时限「{key}」")
    errors = {}
    if not 1 <= amount <= 365:
        errors["amount"] = "时限应在 1–365 之间"
    if unit not in ("workday", "day"):
        errors["unit"] = "单位应为工作日或自然日"
    if not basis.strip():
        errors["basis"] = "请填写依据"
    if extension is not None and not 0 <= extension <= 365:
        errors["extension"] = "延长期限应在 0–365 之间"
    if errors:
        raise FormInvalid(errors)
    before = _limit_values(limit)
    limit.amount, limit.unit, limit.basis, limit.extension = amount, unit, basis.strip(), extension or None
    limit.updated_by, limit.updated_at = actor, utcnow()
    session.flush()
    after = _limit_values(limit)
    if after != before:
        from engine.audit.services import record as audit

        audit(session, "time_limit_changed", actor, "time_limit", key, before=before,
              after={**after, "label": limit.label})
    logger.info("time limit %s set to %s %s by %s", key, amount, unit, actor)
    return limit


def _limit_values(limit: TimeLimit) -> dict[str, object]:
    return {"amount": limit.amount, "unit": limit.unit, "extension": limit.extension, "basis": limit.basis}


def limit_history(session: Session, key: str) -> list[dict[str, object]]:
    """Every change of time limit `key` (who, when, before and after), newest first, from the audit log."""
    from engine.audit.models import AuditEvent

    events = session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "time_limit", AuditEvent.object_id == key,
        AuditEvent.action == "time_limit_changed").order_by(AuditEvent.id.desc()))
    return [{"at": e.at, "actor": e.actor_label, "before": e.before or {}, "after": e.after or {}} for e in events]


def enter_year(session: Session, year: int, days: list[tuple[date, bool, str]], actor: str) -> CalendarYear:
    """Record a year's holiday schedule: holidays on weekdays and make-up working days; replaces earlier entries."""
    from sqlalchemy import delete

    from engine.errors import FormInvalid

    if is_statutory_year(year):
        raise FormInvalid({"year": f"{year}年的节假日安排已由国务院公布并内置，无需录入"})
    bad = [d for d, _, _ in days if d.year != year]
    if bad:
        raise FormInvalid({"days": f"日期 {bad[0].isoformat()} 不属于 {year} 年"})
    session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))
    for day, is_workday, note in days:
        session.add(CalendarDay(day=day, is_workday=is_workday, note=note[:100]))
    entry = session.get(CalendarYear, year) or CalendarYear(year=year, entered_by=actor)
    entry.entered_by = actor
    session.add(entry)
    session.flush()
    logger.info("calendar %s entered by %s (%s special days)", year, actor, len(days))
    return entry
