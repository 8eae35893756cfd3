"""Handling days per stage: median and 90th percentile, net of clock pauses (see statistics' docstring).

Durations are counted per stage and hour in SQL and the percentiles taken from those counts; the exact
per-row methods stay for cross-checking (`method="window"` portable, `"native"` PostgreSQL percentile_cont).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, cast, func, literal_column, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement, Select

from engine.cases.models import Complaint
from engine.db import as_utc
from engine.deadlines.models import ClockPause
from engine.org.models import Department
from engine.oversight.periods import Period
from engine.oversight.query import Query, no_jit, round2
from engine.oversight.scope import Scope
from engine.oversight.sql import days_between, earlier, histogram_distribution, later, percentiles
from engine.workflow import clock
from engine.workflow.models import HumanTask

# Stages of complaint.bpmn whose handling time is measured (task id → label), in procedure order.
STAGES: dict[str, str] = {
    "screening": "受理审查",
    "designate_supervisor": "指定认定部门",
    "verify": "核实认定",
    "resolve_dispute": "协调分歧",
    "order_rectification": "督促整改",
    "report_rectification": "报告整改情况",
    "review_rectification": "审查整改情况",
    "confirm_breach_task": "确认违约失信",
    "ndrc_review": "省发展改革委复核上报",
    "total": "全流程（收到至办结）",
}
PERCENTS = (50, 90)


@dataclass
class StageTiming:
    stage: str
    label: str
    count: int
    mean_days: float | None
    median_days: float | None
    p90_days: float | None


def stage_timings(session: Session, period: Period, scope: Scope | None = None, *, channel: str | None = None,
                  domain: str | None = None, now: datetime | None = None,
                  method: str | None = None) -> list[StageTiming]:
    """Median and 90th-percentile handling days per stage (see module docstring).

    Default (`method=None`): durations counted in hour buckets in SQL (GROUP BY stage, hour), percentiles taken
    from those counts — exact for the hour-rounded durations, a few thousand rows at most whatever the number
    of cases. Paused time is subtracted by moving only the paused tasks between buckets (a join with
    clock_pause, which holds few rows). `method="window"` / `"native"` compute exact per-row percentiles with
    sql.percentiles (kept to cross-check; they sort every duration and cost seconds on a million cases).
    """
    q = Query(period, scope or Scope.province(), channel, domain, as_utc(now) or clock.now())
    no_jit(session)
    if method in ("window", "native"):
        return _exact_stage_timings(session, q, method)
    hist: dict[str, Counter] = defaultdict(Counter)
    for stage, hours_, n in _stage_hist(session, q):
        hist[stage][int(hours_)] += int(n)
    for stage, raw, adjusted, n in _pause_moves(session, q):
        hist[stage][int(raw)] -= int(n)
        hist[stage][max(int(adjusted), 0)] += int(n)
    result = []
    for stage, label in STAGES.items():
        dist = histogram_distribution(hist.get(stage, Counter()), PERCENTS, per_unit=HOURS_PER_DAY)
        result.append(StageTiming(stage, label, dist.count, round2(dist.mean), round2(dist.values.get(50)),
                                  round2(dist.values.get(90))))
    return result


HOURS_PER_DAY = 24
_TASK_STAGES = [s for s in STAGES if s != "total"]


def _hours(days: ColumnElement) -> ColumnElement:
    return cast(func.round(days * HOURS_PER_DAY), Integer)


def _stage_rows(q: Query, respondent: Any, task_columns: tuple = (),
                total_columns: tuple = ()) -> tuple[Select, Select]:
    """(tasks, total) selects of stage `g`, the extra columns and the raw duration in days (`raw`), filtered as
    the figures are."""
    tasks = q.tasks(select(HumanTask.spec_name.label("g"), *task_columns,
                           days_between(HumanTask.completed_at, HumanTask.created_at).label("raw")),
                    respondent, joined=q.filtered)
    tasks = tasks.where(HumanTask.spec_name.in_(_TASK_STAGES), HumanTask.outcome == "completed",
                        HumanTask.completed_at >= q.start, HumanTask.completed_at < q.end)
    total = (select(literal_column("'total'").label("g"), *total_columns,
                    days_between(Complaint.closed_at, Complaint.received_at).label("raw"))
             .select_from(Complaint).outerjoin(respondent, respondent.id == Complaint.respondent_id)
             .where(Complaint.status == "closed", Complaint.result.not_in(("rejected", "merged")),
                    Complaint.closed_at >= q.start, Complaint.closed_at < q.end, *q.complaint_where(respondent)))
    return tasks, total


def _stage_hist(session: Session, q: Query) -> list[tuple]:
    tasks, total = _stage_rows(q, aliased(Department))
    rows = union_all(tasks, total).subquery()
    inner = select(rows.c.g, _hours(rows.c.raw).label("h")).subquery()
    return [tuple(r) for r in session.execute(select(inner.c.g, inner.c.h, func.count()).group_by(inner.c.g, inner.c.h))]


def _pause_moves(session: Session, q: Query) -> list[tuple]:
    """(stage, raw hours, hours net of pauses, count) for the durations that overlap a clock pause."""
    pause_end = func.coalesce(ClockPause.resumed_at, q.now_param("pause_now"))

    def overlap(start: ColumnElement, end: ColumnElement) -> ColumnElement:
        return func.sum(days_between(earlier(pause_end, end), later(ClockPause.paused_at, start))).label("paused")

    tasks, total = _stage_rows(q, aliased(Department), (overlap(HumanTask.created_at, HumanTask.completed_at),),
                               (overlap(Complaint.received_at, Complaint.closed_at),))
    paused_cases = select(ClockPause.complaint_id).where(ClockPause.paused_at < q.end)  # few: drives the join
    tasks = (tasks.join(ClockPause, and_(ClockPause.complaint_id == HumanTask.subject_id,
                                         ClockPause.paused_at < HumanTask.completed_at, pause_end > HumanTask.created_at))
             .where(HumanTask.subject_id.in_(paused_cases))
             .group_by(HumanTask.id, HumanTask.spec_name, HumanTask.completed_at, HumanTask.created_at))
    total = (total.join(ClockPause, and_(ClockPause.complaint_id == Complaint.id,
                                         ClockPause.paused_at < Complaint.closed_at, pause_end > Complaint.received_at))
             .where(Complaint.id.in_(paused_cases))
             .group_by(Complaint.id, Complaint.closed_at, Complaint.received_at))
    per_case = union_all(tasks, total).subquery()
    moved = select(per_case.c.g, _hours(per_case.c.raw).label("raw_h"),
                   _hours(per_case.c.raw - per_case.c.paused).label("net_h")).subquery()
    return [tuple(r) for r in session.execute(
        select(moved.c.g, moved.c.raw_h, moved.c.net_h, func.count()).group_by(moved.c.g, moved.c.raw_h, moved.c.net_h))]


def _exact_stage_timings(session: Session, q: Query, method: str) -> list[StageTiming]:
    respondent = aliased(Department)
    pause_end = func.coalesce(ClockPause.resumed_at, q.now_param("pause_now"))

    def paused_days(case_id: ColumnElement, start: ColumnElement, end: ColumnElement) -> ColumnElement:
        overlap = days_between(earlier(pause_end, end), later(ClockPause.paused_at, start))
        return (select(func.coalesce(func.sum(overlap), 0.0))
                .where(ClockPause.complaint_id == case_id, ClockPause.paused_at < end, pause_end > start)
                .scalar_subquery())

    tasks, total = _stage_rows(q, respondent)
    tasks = tasks.with_only_columns(HumanTask.spec_name.label("g"), (
        days_between(HumanTask.completed_at, HumanTask.created_at)
        - paused_days(HumanTask.subject_id, HumanTask.created_at, HumanTask.completed_at)).label("v"))
    total = total.with_only_columns(literal_column("'total'").label("g"), (
        days_between(Complaint.closed_at, Complaint.received_at)
        - paused_days(Complaint.id, Complaint.received_at, Complaint.closed_at)).label("v"))
    found = percentiles(session, union_all(tasks, total), PERCENTS, method)
    result = []
    for stage, label in STAGES.items():
        dist = found.get(stage)
        if dist is None:
            result.append(StageTiming(stage, label, 0, None, None, None))
        else:
            result.append(StageTiming(stage, label, dist.count, round2(dist.mean), round2(dist.values[50]),
                                      round2(dist.values[90])))
    return result
