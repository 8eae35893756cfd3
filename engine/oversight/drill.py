"""The cases behind a number: every dashboard figure as a condition on `complaint`, with the same definitions.

`figure_cases(session, figure, period, scope, ...)` returns (rows, total) newest first; the dashboard links
each number to it (through `figure_rows`, which lists a number of measures as those measures: `figure_measures`). Figures counted on breach records list the cases those records came from (records entered
from another source without a complaint are counted but have no case to list; the page says so).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.expression import ColumnElement

from engine.cases.models import Complaint
from engine.credit.models import APPROVED_STATUSES, AppliedMeasure, BreachRecord, PlatformDelivery
from engine.db import as_utc
from engine.errors import NotFound
from engine.org.models import Department
from engine.oversight.figures import FIGURES as ALL_FIGURES
from engine.oversight.periods import Period
from engine.oversight.query import (
    Query,
    intake_kind,
    on_time_task,
    overdue_task,
    record_missing,
    verdict,
    verify_due_task,
)
from engine.oversight.scope import PROVINCE_CODE, UNKNOWN_CODE, Scope
from engine.oversight.sql import moment
from engine.oversight.statistics import (
    COUNTED_PLATFORM,
    delivery_conditions,
    delivery_late_or_failing,
    delivery_status,
)
from engine.workflow import clock
from engine.workflow.models import HumanTask

# the figures a number on the dashboard links to: key → label, from the one definition (figures.py)
FIGURES: dict[str, str] = {key: figure.label for key, figure in ALL_FIGURES.items()
                           if key not in ("on_time_rate", "founded_rate", "rectification_rate", "punishment_rate",
                                          "data_quality_rate", "records_with_measures", "repeat_respondents",
                                          "measures_ended")}


MEASURE_FIGURES = frozenset({"measures_applied"})  # numbers of measures, not of cases: listed as measures
# numbers of breach records, listed as those records (records migrated without a complaint included)
RECORD_FIGURES = frozenset({"breaches", "records_missing", "repairs"})
# numbers of tasks, listed as those tasks with their cases (a reopened case can have two verify tasks)
TASK_FIGURES = frozenset({"verify_due", "verify_on_time", "verify_late", "overdue", "supervised"})
# numbers of record versions queued for the provincial platform, listed as those versions: figure → status
DELIVERY_FIGURES: dict[str, str | None] = {
    "deliveries": None, "deliveries_on_time": "delivered_on_time", "deliveries_late": "delivered_late",
    "deliveries_failing": "failing", "deliveries_pending": "pending"}

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
    if figure in RECORD_FIGURES:
        records, total = figure_records(session, figure, period, scope, channel=channel, domain=domain, now=now,
                                        limit=limit, offset=offset)
        return Drill("records", records, total)
    if figure in TASK_FIGURES:
        tasks, total = figure_tasks(session, figure, period, scope, channel=channel, domain=domain, now=now,
                                    limit=limit, offset=offset)
        return Drill("tasks", tasks, total)
    cases, total = figure_cases(session, figure, period, scope, channel=channel, domain=domain, now=now,
                                limit=limit, offset=offset)
    return Drill("cases", cases, total)


def figure_records(session: Session, figure: str, period: Period, scope: Scope, *, channel: str | None = None,
                   domain: str | None = None, now: datetime | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[list[BreachRecord], int]:
    """The breach records counted in 确认违约失信, 缺少必填字段的记录 or 信用修复, newest first, and how many: the
    statistics' own conditions (`Query.records_determined`, `records_repaired`, `record_missing`)."""
    q = Query(period, scope, channel, domain, as_utc(now) or clock.now())
    where = q.records_repaired() if figure == "repairs" else q.records_determined()
    if figure == "records_missing":
        where = [*where, record_missing()]
    total = session.scalar(select(func.count()).select_from(BreachRecord).where(*where)) or 0
    rows = session.scalars(select(BreachRecord).where(*where)
                           .order_by(BreachRecord.determined_on.desc(), BreachRecord.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)


def figure_tasks(session: Session, figure: str, period: Period, scope: Scope, *, channel: str | None = None,
                 domain: str | None = None, now: datetime | None = None, limit: int = 50,
                 offset: int = 0) -> tuple[list[tuple[HumanTask, Complaint]], int]:
    """The tasks counted in a figure of verification on time or of overdue tasks, each with its case, by due time,
    and how many: the statistics' own conditions (`verify_due_task`, `on_time_task`, `overdue_task`)."""
    q = Query(period, scope, channel, domain, as_utc(now) or clock.now())
    now_param = q.now_param()
    if figure in ("overdue", "supervised"):
        where = [overdue_task(now_param)] + ([Complaint.supervised_at.is_not(None)] if figure == "supervised" else [])
    else:
        where = [verify_due_task(q.start, q.end, now_param)]
        if figure != "verify_due":
            where.append(on_time_task() if figure == "verify_on_time" else ~on_time_task())
    where += _scope(scope) + ([Complaint.channel == channel] if channel else []) + (
        [Complaint.domain == domain] if domain else [])
    joined = select(HumanTask, Complaint).join(Complaint, Complaint.id == HumanTask.subject_id).where(*where)
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    rows = session.execute(joined.order_by(HumanTask.due_at, HumanTask.id).limit(limit).offset(offset))
    return [(task, complaint) for task, complaint in rows], int(total)


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
    verify_due = and_(HumanTask.subject_id == Complaint.id, verify_due_task(start, end, current))
    overdue = and_(HumanTask.subject_id == Complaint.id, overdue_task(current))
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
        where.append(exists().where(verify_due, on_time_task()))
    elif figure == "verify_late":
        where.append(exists().where(verify_due, ~on_time_task()))
    elif figure == "overdue":
        where.append(exists().where(overdue))
    elif figure == "supervised":
        where += [exists().where(overdue), Complaint.supervised_at.is_not(None)]
    elif figure == "breaches":
        where.append(exists().where(record_in_period))
    elif figure == "records_missing":
        where.append(exists().where(record_in_period, record_missing()))
    elif figure == "repairs":
        where.append(exists().where(BreachRecord.complaint_id == Complaint.id, BreachRecord.repaired_on >= period.start,
                                    BreachRecord.repaired_on <= period.end))
    elif figure == "measures_applied":
        where.append(exists().where(BreachRecord.complaint_id == Complaint.id, AppliedMeasure.record_id == BreachRecord.id,
                                    AppliedMeasure.applied_at >= start, AppliedMeasure.applied_at < end))
    elif figure == "deliveries_bad":
        where.append(exists().where(BreachRecord.complaint_id == Complaint.id, PlatformDelivery.record_id == BreachRecord.id,
                                    PlatformDelivery.target == COUNTED_PLATFORM, PlatformDelivery.created_at >= start,
                                    PlatformDelivery.created_at < end, delivery_late_or_failing()))
    else:  # stage:<task>
        where.append(exists().where(HumanTask.subject_id == Complaint.id, HumanTask.spec_name == figure[6:],
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
