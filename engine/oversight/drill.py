"""The cases behind a number: every dashboard figure as a condition on `complaint`, with the same definitions.

`figure_cases(session, figure, period, scope, ...)` returns (rows, total) newest first; the dashboard links
each number to it (through `figure_rows`, which lists a number of measures as those measures: `figure_measures`). Figures counted on breach records list the cases those records came from (records entered
from another source without a complaint are counted but have no case to list; the page says so).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.expression import ColumnElement

from engine.cases.models import Complaint
from engine.credit.models import APPROVED_STATUSES, AppliedMeasure, BreachRecord, PlatformDelivery
from engine.db import as_utc
from engine.errors import NotFound
from engine.org.models import Department
from engine.oversight.periods import Period
from engine.oversight.query import Query, intake_kind, verdict
from engine.oversight.scope import PROVINCE_CODE, UNKNOWN_CODE, Scope
from engine.oversight.sql import days_between, moment
from engine.oversight.stages import STAGES
from engine.oversight.statistics import (
    COUNTED_PLATFORM,
    LATE_DELIVERY,
    REQUIRED_RECORD_FIELDS,
    VERIFY_TASK,
    delivery_conditions,
    delivery_status,
)
from engine.workflow import clock
from engine.workflow.models import HumanTask

FIGURES: dict[str, str] = {
    "received": "收到投诉", "accepted": "受理", "rejected": "不予受理", "merged": "合并办理", "pending": "待受理审查",
    "verified": "已核实", "founded": "核实属实", "unfounded": "核实不属实", "disputed": "有分歧",
    "rectifying": "整改中", "rectified": "已整改办结", "breach_reported": "确认违约失信办结",
    "verify_due": "应按期核实", "verify_on_time": "按期核实", "verify_late": "逾期核实",
    "overdue": "当前逾期", "supervised": "当前逾期且挂牌督办",
    "breaches": "确认违约失信（记录）", "measures_applied": "实施惩戒措施", "repairs": "信用修复",
    "records_missing": "记录缺少必填字段", "deliveries_bad": "推送迟延或失败",
}
FIGURES.update({f"stage:{k}": f"已完成「{v}」" for k, v in STAGES.items() if k != "total"})


MEASURE_FIGURES = frozenset({"measures_applied"})  # numbers of measures, not of cases: listed as measures
# numbers of record versions queued for the provincial platform, listed as those versions: figure → status
DELIVERY_FIGURES: dict[str, str | None] = {
    "deliveries": None, "deliveries_on_time": "delivered_on_time", "deliveries_late": "delivered_late",
    "deliveries_failing": "failing", "deliveries_pending": "pending"}
FIGURES.update({"deliveries": "推送平台（记录版本）", "deliveries_on_time": "按时送达的记录版本",
                "deliveries_late": "迟延送达的记录版本", "deliveries_failing": "推送失败待重试的记录版本",
                "deliveries_pending": "等待推送的记录版本"})


@dataclass
class Drill:
    """What lies behind one number: `kind` "cases" (complaints) or "measures" (applied measures), a page of rows
    and how many there are in all — as many as the number says."""

    kind: str
    rows: list[Any]
    total: int


def figure_rows(session: Session, figure: str, period: Period, scope: Scope, *, channel: str | None = None,
                domain: str | None = None, now: datetime | None = None, limit: int = 50, offset: int = 0) -> Drill:
    """The rows a figure counts: its measures for a number of measures, otherwise its cases (`figure_cases`)."""
    if figure in MEASURE_FIGURES:
        measures, total = figure_measures(session, period, scope, channel=channel, domain=domain, now=now,
                                          limit=limit, offset=offset)
        return Drill("measures", measures, total)
    if figure in DELIVERY_FIGURES:
        versions, total = figure_deliveries(session, DELIVERY_FIGURES[figure], period, scope, channel=channel,
                                            domain=domain, now=now, limit=limit, offset=offset)
        return Drill("deliveries", versions, total)
    cases, total = figure_cases(session, figure, period, scope, channel=channel, domain=domain, now=now,
                                limit=limit, offset=offset)
    return Drill("cases", cases, total)


def figure_measures(session: Session, period: Period, scope: Scope, *, channel: str | None = None,
                    domain: str | None = None, now: datetime | None = None, limit: int = 50,
                    offset: int = 0) -> tuple[list[AppliedMeasure], int]:
    """The measures counted in 实施惩戒措施, newest first, and how many: applied in the period (and by `now`) to
    records in the scope — the statistics' own conditions (`Query.record_where`), so the list has exactly as
    many rows as the figure, records migrated without a complaint included."""
    q = Query(period, scope, channel, domain, as_utc(now) or clock.now())
    base = (select(AppliedMeasure).join(BreachRecord, BreachRecord.id == AppliedMeasure.record_id)
            .where(AppliedMeasure.applied_at >= q.start, AppliedMeasure.applied_at < q.end,
                   AppliedMeasure.applied_at <= q.now_param("now_applied"), *q.record_where()))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.options(joinedload(AppliedMeasure.record))
                           .order_by(AppliedMeasure.applied_at.desc(), AppliedMeasure.id.desc())
                           .limit(limit).offset(offset))
    return list(rows.unique()), int(total)


def figure_deliveries(session: Session, status: str | None, period: Period, scope: Scope, *,
                      channel: str | None = None, domain: str | None = None, now: datetime | None = None,
                      limit: int = 50, offset: int = 0) -> tuple[list[tuple[PlatformDelivery, BreachRecord]], int]:
    """The record versions counted in 推送平台 (all, or those of one `delivery_status`), newest first, each with its
    record, and how many: the statistics' own conditions (`delivery_conditions`), provincial platform only."""
    q = Query(period, scope, channel, domain, as_utc(now) or clock.now())
    where = delivery_conditions(q) + ([delivery_status(q) == status] if status is not None else [])
    joined = BreachRecord.id == PlatformDelivery.record_id
    total = session.scalar(select(func.count()).select_from(PlatformDelivery).join(BreachRecord, joined)
                           .where(*where)) or 0
    rows = session.execute(select(PlatformDelivery, BreachRecord).join(BreachRecord, joined).where(*where)
                           .order_by(PlatformDelivery.created_at.desc(), PlatformDelivery.id.desc())
                           .limit(limit).offset(offset))
    return [(delivery, record) for delivery, record in rows], int(total)


def figure_cases(session: Session, figure: str, period: Period, scope: Scope, *, channel: str | None = None,
                 domain: str | None = None, now: datetime | None = None, limit: int = 50,
                 offset: int = 0) -> tuple[list[Complaint], int]:
    """The complaints counted in `figure` (a key of FIGURES), newest first, and how many there are."""
    where = figure_conditions(figure, period, scope, channel=channel, domain=domain, now=now)
    total = session.scalar(select(func.count()).select_from(Complaint).where(*where)) or 0
    rows = session.scalars(select(Complaint).where(*where).order_by(Complaint.received_at.desc(), Complaint.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), int(total)


def figure_conditions(figure: str, period: Period, scope: Scope, *, channel: str | None = None,
                      domain: str | None = None, now: datetime | None = None) -> list[ColumnElement]:
    """Conditions on `complaint` selecting the cases of `figure` (NotFound for an unknown figure)."""
    if figure not in FIGURES:
        raise NotFound(f"未知的统计项：{figure}")
    start, end = moment("drill_start", period.start_utc), moment("drill_end", period.end_utc)
    current = moment("drill_now", as_utc(now) or clock.now())
    received = and_(Complaint.received_at >= start, Complaint.received_at < end)
    where: list[Any] = [*_scope(scope)]
    if channel:
        where.append(Complaint.channel == channel)
    if domain:
        where.append(Complaint.domain == domain)
    live_task = or_(HumanTask.outcome.is_(None), HumanTask.outcome == "completed")
    verify_due = and_(HumanTask.complaint_id == Complaint.id, HumanTask.spec_name == VERIFY_TASK, live_task,
                      HumanTask.due_at >= start, HumanTask.due_at < end,
                      or_(HumanTask.completed_at.is_not(None), HumanTask.due_at < current))
    overdue = and_(HumanTask.complaint_id == Complaint.id, HumanTask.completed_at.is_(None), HumanTask.due_at < current)
    record_in_period = and_(BreachRecord.complaint_id == Complaint.id, BreachRecord.determined_on >= period.start,
                            BreachRecord.determined_on <= period.end, BreachRecord.status.in_(APPROVED_STATUSES))
    if figure in ("received", "accepted", "rejected", "merged", "pending"):
        where.append(received)
        if figure != "received":
            where.append(intake_kind() == figure)
    elif figure in ("verified", "founded", "unfounded", "disputed", "rectifying", "rectified", "breach_reported"):
        where.append(received)
        if figure == "verified":
            where.append(verdict().is_not(None))
        elif figure == "rectifying":
            where += [verdict() == "founded", Complaint.status != "closed"]
        elif figure in ("rectified", "breach_reported"):
            where.append(Complaint.result == figure)
        else:
            where.append(verdict() == figure)
    elif figure == "verify_due":
        where.append(exists().where(verify_due))
    elif figure == "verify_on_time":
        where.append(exists().where(verify_due, HumanTask.completed_at <= HumanTask.due_at))
    elif figure == "verify_late":
        where.append(exists().where(verify_due, or_(HumanTask.completed_at.is_(None),
                                                    HumanTask.completed_at > HumanTask.due_at)))
    elif figure == "overdue":
        where.append(exists().where(overdue))
    elif figure == "supervised":
        where += [exists().where(overdue), Complaint.supervised_at.is_not(None)]
    elif figure == "breaches":
        where.append(exists().where(record_in_period))
    elif figure == "records_missing":
        missing = or_(*(or_(getattr(BreachRecord, a).is_(None), getattr(BreachRecord, a) == "")
                        for a in REQUIRED_RECORD_FIELDS))
        where.append(exists().where(record_in_period, missing))
    elif figure == "repairs":
        where.append(exists().where(BreachRecord.complaint_id == Complaint.id, BreachRecord.repaired_on >= period.start,
                                    BreachRecord.repaired_on <= period.end))
    elif figure == "measures_applied":
        where.append(exists().where(BreachRecord.complaint_id == Complaint.id, AppliedMeasure.record_id == BreachRecord.id,
                                    AppliedMeasure.applied_at >= start, AppliedMeasure.applied_at < end))
    elif figure == "deliveries_bad":
        late = days_between(PlatformDelivery.delivered_at, PlatformDelivery.created_at) > LATE_DELIVERY.total_seconds() / 86400
        bad = or_(and_(PlatformDelivery.delivered_at.is_not(None), late),
                  and_(PlatformDelivery.delivered_at.is_(None), PlatformDelivery.attempts > 0))
        where.append(exists().where(BreachRecord.complaint_id == Complaint.id, PlatformDelivery.record_id == BreachRecord.id,
                                    PlatformDelivery.target == COUNTED_PLATFORM, PlatformDelivery.created_at >= start,
                                    PlatformDelivery.created_at < end, bad))
    else:  # stage:<task>
        where.append(exists().where(HumanTask.complaint_id == Complaint.id, HumanTask.spec_name == figure[6:],
                                    HumanTask.outcome == "completed", HumanTask.completed_at >= start,
                                    HumanTask.completed_at < end))
    return where


def _scope(scope: Scope) -> list[ColumnElement]:
    if scope.department_id:
        return [Complaint.respondent_id == scope.department_id]
    if scope.prefecture == UNKNOWN_CODE:
        return [Complaint.respondent_id.is_(None)]
    if scope.prefecture == PROVINCE_CODE:
        return [Complaint.respondent_id.in_(select(Department.id).where(Department.prefecture_code.is_(None)))]
    if scope.prefecture:
        return [Complaint.respondent_id.in_(select(Department.id).where(Department.prefecture_code == scope.prefecture))]
    return []
