"""Handling statistics (调度统计) for the dashboard, the JSON API, bulletins and the assessment table.

Public API (pure SQLAlchemy, no Flask; every number is computed by SQL aggregation, never by loading cases):

    figures(session, period, scope=Scope.province(), *, channel=None, domain=None, now=None) -> Figures
    ranking(session, period, by="prefecture" | "department", scope=Scope.province(), *,
            channel=None, domain=None, now=None, level=None) -> list[RankRow]

`period` is an `engine.oversight.periods.Period` (Yunnan calendar days, both ends included); `scope` an
`engine.oversight.scope.Scope` (check it for an official with `scope.resolve_scope` / `scope.check_scope`
first — these functions trust the scope they are given). `now` is the moment "overdue now" is measured at
(default: the injected clock). Every figure's definition is in docs/oversight.md; in short:

- received/accepted/rejected/merged/pending: complaints whose `received_at` falls in the period.
- verification on time: verify tasks (`human_task.spec_name = 'verify'`, not withdrawn or merged) whose
  `due_at` falls in the period and that are done or already past due at `now`; on time when
  `completed_at <= due_at`. Pauses (补正) already moved `due_at` later, so they do not count against it.
- stage days: completed tasks of each stage whose `completed_at` falls in the period, from `created_at` to
  `completed_at`, minus time the case's clock was paused; "total" is received → closed for cases closed in
  the period (not rejected, not merged). Median and 90th percentile with linear interpolation (oversight/sql.py).
- founded rate, rectification rate: cases received in the period, by how verification came out.
- overdue now: open tasks past due at `now` (whatever the period), with how long.
- breaches, measures, repairs, data quality: by the record's determination day, the measure's applied/ended
  time, the repair day, the delivery's queueing time.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement, Select

from engine.cases.models import CHANNELS, DOMAINS, Complaint
from engine.credit.models import AppliedMeasure, BreachRecord, PlatformDelivery
from engine.db import as_utc
from engine.org.models import Department
from engine.oversight.periods import Period
from engine.oversight.query import (  # noqa: F401 - intake_kind, verdict, REQUIRED_RECORD_FIELDS re-exported
    REQUIRED_RECORD_FIELDS,
    VERIFY_TASK,
    Query,
    complaint_group,
    field_missing,
    intake_kind,
    key_column,
    no_jit,
    on_time_task,
    overdue_task,
    record_group,
    record_key,
    record_missing,
    round2,
    verdict,
    verify_due_task,
)
from engine.oversight.scope import GROUP_LABELS, PREFECTURES, PROVINCE_CODE, Scope
from engine.oversight.sql import days_between, local_month
from engine.oversight.stages import STAGES, StageTiming, stage_timings  # noqa: F401 - re-exported
from engine.workflow import clock
from engine.workflow.models import HumanTask

OVERDUE_BUCKETS: dict[str, str] = {"d0_5": "5 天以内", "d6_15": "6–15 天", "d16_30": "16–30 天", "d31_": "30 天以上"}
LATE_DELIVERY = timedelta(days=1)  # 实时共享: a version delivered more than a day after it was queued is late
# The figures count the versions queued for the provincial platform (docs/oversight.md); the national platform's
# rows are copies of them (engine.credit.exchange.fan_out) and would count each version twice.
COUNTED_PLATFORM = "provincial"


# --- results ---------------------------------------------------------------------------------------------

@dataclass
class Intake:
    """Complaints received in the period by how screening came out."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    merged: int = 0  # merged into another case as the same matter (横向归集)
    pending: int = 0  # not screened yet

    def add(self, kind: str, n: int) -> None:
        self.received += n
        setattr(self, kind, getattr(self, kind) + n)


@dataclass
class OnTime:
    due: int = 0  # verify tasks due in the period that are done or past due
    on_time: int = 0
    late: int = 0  # completed after the due time
    late_open: int = 0  # still open, past due

    @property
    def rate(self) -> float | None:
        return round(self.on_time / self.due, 4) if self.due else None


@dataclass
class Outcomes:
    verified: int = 0
    founded: int = 0
    unfounded: int = 0
    disputed: int = 0
    rectifying: int = 0  # founded, rectification still under way
    rectified: int = 0
    breach_reported: int = 0

    @property
    def founded_rate(self) -> float | None:
        return round(self.founded / self.verified, 4) if self.verified else None

    @property
    def rectification_rate(self) -> float | None:
        done = self.rectified + self.breach_reported
        return round(self.rectified / done, 4) if done else None


@dataclass
class Overdue:
    total: int = 0
    supervised: int = 0  # of which the case is under 挂牌督办
    max_days: float | None = None
    mean_days: float | None = None
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OVERDUE_BUCKETS, 0))
    by_stage: dict[str, int] = field(default_factory=dict)


@dataclass
class Credit:
    breaches_confirmed: int = 0
    breaches_migrated: int = 0  # of which entered from another source (source != 'complaint')
    records_with_measures: int = 0  # of the period's records, those with at least one measure applied
    repeat_respondents: int = 0  # respondents with a record in the period and another one up to its end
    measures_applied: int = 0
    measures_ended: int = 0
    measures_active: int = 0  # not ended at `now`
    repairs: int = 0


@dataclass
class Quality:
    records: int = 0  # records determined in the period
    records_missing: int = 0  # of which missing at least one required field
    missing_by_field: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REQUIRED_RECORD_FIELDS, 0))
    deliveries: int = 0  # record versions queued for the platform in the period
    delivered_on_time: int = 0
    delivered_late: int = 0
    failing: int = 0  # not delivered, at least one failed attempt
    pending: int = 0  # not delivered, not tried yet


@dataclass
class Figures:
    period: Period
    scope: Scope
    channel: str | None
    domain: str | None
    now: datetime
    intake: Intake
    by_channel: dict[str, Intake]
    by_domain: dict[str, Intake]
    by_prefecture: dict[str, Intake]
    by_month: dict[str, Intake]
    verification: OnTime
    verification_by_month: dict[str, OnTime]
    stages: list[StageTiming]
    outcomes: Outcomes
    overdue: Overdue
    credit: Credit
    quality: Quality

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, rates included."""
        data = asdict(self)
        data["period"] = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        data["scope"] = {"kind": self.scope.kind, "prefecture": self.scope.prefecture,
                         "department_id": self.scope.department_id, "label": self.scope.label}
        data["now"] = as_utc(self.now).isoformat()
        data["verification"]["rate"] = self.verification.rate
        for month, item in self.verification_by_month.items():
            data["verification_by_month"][month]["rate"] = item.rate
        data["outcomes"]["founded_rate"] = self.outcomes.founded_rate
        data["outcomes"]["rectification_rate"] = self.outcomes.rectification_rate
        return data


@dataclass
class RankRow:
    """One prefecture group or department: the figures a bulletin ranks and the assessment scores."""

    key: str
    label: str
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    verify_due: int = 0
    verify_on_time: int = 0
    verified: int = 0
    founded: int = 0
    rectified: int = 0
    breach_reported: int = 0
    overdue_now: int = 0
    breaches_confirmed: int = 0
    records_with_measures: int = 0
    repeat_respondents: int = 0
    measures_applied: int = 0
    repairs: int = 0
    records_missing: int = 0
    deliveries: int = 0
    deliveries_late_or_failing: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return round(self.verify_on_time / self.verify_due, 4) if self.verify_due else None

    @property
    def rectification_rate(self) -> float | None:
        done = self.rectified + self.breach_reported
        return round(self.rectified / done, 4) if done else None

    @property
    def founded_rate(self) -> float | None:
        return round(self.founded / self.verified, 4) if self.verified else None

    @property
    def data_quality_rate(self) -> float | None:
        """Share of the period's records complete in every required field."""
        if not self.breaches_confirmed:
            return None
        return round(1 - self.records_missing / self.breaches_confirmed, 4)

    @property
    def punishment_rate(self) -> float | None:
        """Share of the period's records with at least one measure applied."""
        if not self.breaches_confirmed:
            return None
        return round(self.records_with_measures / self.breaches_confirmed, 4)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "on_time_rate": self.on_time_rate, "rectification_rate": self.rectification_rate,
                "founded_rate": self.founded_rate, "data_quality_rate": self.data_quality_rate,
                "punishment_rate": self.punishment_rate}


# --- public functions --------------------------------------------------------------------------------------

def figures(session: Session, period: Period, scope: Scope | None = None, *, channel: str | None = None,
            domain: str | None = None, now: datetime | None = None) -> Figures:
    """Every dashboard figure for `period` within `scope`, optionally narrowed to one channel and domain."""
    q = Query(period, scope or Scope.province(), channel, domain, as_utc(now) or clock.now())
    no_jit(session)
    intake, by_channel, by_domain, by_pref, by_month = Intake(), {}, {}, {}, {}
    for channel_code, domain_code, group, month, kind, n in _intake_cells(session, q):
        intake.add(kind, n)
        by_channel.setdefault(channel_code, Intake()).add(kind, n)
        by_domain.setdefault(domain_code, Intake()).add(kind, n)
        by_pref.setdefault(group, Intake()).add(kind, n)
        by_month.setdefault(month, Intake()).add(kind, n)
    verification_by_month = {m: OnTime() for m in period.months()}
    verification = OnTime()
    for _key, month, values in _verification(session, q, key=None, by_month=True):
        for item in (verification, verification_by_month.setdefault(month, OnTime())):
            item.due += values.due
            item.on_time += values.on_time
            item.late += values.late
            item.late_open += values.late_open
    return Figures(
        period=period, scope=q.scope, channel=channel, domain=domain, now=q.now, intake=intake,
        by_channel=_ordered(by_channel, CHANNELS), by_domain=_ordered(by_domain, DOMAINS),
        by_prefecture=_ordered(by_pref, GROUP_LABELS),
        by_month={m: by_month.get(m, Intake()) for m in period.months()},
        verification=verification, verification_by_month=verification_by_month,
        stages=stage_timings(session, period, q.scope, channel=channel, domain=domain, now=q.now),
        outcomes=_outcomes(session, q, key=None).get("all", Outcomes()),
        overdue=_overdue(session, q),
        credit=_credit(session, q, key=None).get("all", Credit()),
        quality=_quality(session, q),
    )


def ranking(session: Session, period: Period, by: str = "prefecture", scope: Scope | None = None, *,
            channel: str | None = None, domain: str | None = None, now: datetime | None = None,
            level: str | None = None) -> list[RankRow]:
    """One row per prefecture group (all 16 prefectures and 省直, even when empty) or per respondent department.

    by="department": complaints, outcomes and records count for the respondent department; verification on
    time counts for the department that held the verify task (the determining department). `level`
    ("province" / "prefecture" / "county") keeps departments of that level only. Rows in the order of the
    division codes (prefecture) or of received complaints, most first (department).
    """
    if by not in ("prefecture", "department"):
        raise ValueError("by must be 'prefecture' or 'department'")
    q = Query(period, scope or Scope.province(), channel, domain, as_utc(now) or clock.now())
    no_jit(session)
    rows: dict[str, RankRow] = {}

    def row(key: Any) -> RankRow:
        key = str(key)
        if key not in rows:
            rows[key] = RankRow(key=key, label=GROUP_LABELS.get(key, key))
        return rows[key]

    if by == "prefecture":
        for code in [*PREFECTURES, PROVINCE_CODE]:
            if q.scope.prefecture in (None, code):
                row(code)
    for _c, _d, group, _m, kind, n in _intake_cells(session, q, key=by):
        r = row(group)
        r.received += n
        if kind in ("accepted", "rejected"):
            setattr(r, kind, getattr(r, kind) + n)
    for key, _month, values in _verification(session, q, key=by, by_month=False):
        r = row(key)
        r.verify_due += values.due
        r.verify_on_time += values.on_time
    for key, o in _outcomes(session, q, key=by).items():
        r = row(key)
        r.verified, r.founded, r.rectified, r.breach_reported = o.verified, o.founded, o.rectified, o.breach_reported
    for key, n in _overdue_by(session, q, key=by).items():
        row(key).overdue_now = n
    for key, c in _credit(session, q, key=by).items():
        r = row(key)
        r.breaches_confirmed, r.records_with_measures = c.breaches_confirmed, c.records_with_measures
        r.repeat_respondents, r.measures_applied, r.repairs = c.repeat_respondents, c.measures_applied, c.repairs
    for key, (missing, deliveries, bad) in _quality_by(session, q, key=by).items():
        r = row(key)
        r.records_missing, r.deliveries, r.deliveries_late_or_failing = missing, deliveries, bad
    if by == "department":
        depts = {str(d.id): d for d in session.scalars(select(Department).where(
            Department.id.in_([int(k) for k in rows if k.isdigit()])))}
        for key, r in list(rows.items()):
            dept = depts.get(key)
            if dept is None or (level and dept.level != level):
                del rows[key]
            else:
                r.label = dept.name
        return sorted(rows.values(), key=lambda r: (-r.received, r.label))
    order = list(GROUP_LABELS)
    return sorted(rows.values(), key=lambda r: order.index(r.key) if r.key in order else len(order))


# --- the queries --------------------------------------------------------------------------------------------

def _intake_cells(session: Session, q: Query, key: str | None = None) -> list[tuple]:
    """(channel, domain, group, month, kind, count) cells; `key="department"` puts the respondent in `group`."""
    respondent = aliased(Department)
    group = cast(Complaint.respondent_id, String) if key == "department" else complaint_group(respondent)
    inner = (select(Complaint.channel.label("channel"), Complaint.domain.label("domain"), group.label("grp"),
                    local_month(Complaint.received_at).label("month"), intake_kind().label("kind"))
             .select_from(Complaint).outerjoin(respondent, respondent.id == Complaint.respondent_id)
             .where(Complaint.received_at >= q.start, Complaint.received_at < q.end, *q.complaint_where(respondent))
             .subquery())
    dims = (inner.c.channel, inner.c.domain, inner.c.grp, inner.c.month, inner.c.kind)
    return [tuple(r) for r in session.execute(select(*dims, func.count()).group_by(*dims)).all()]


def _verification(session: Session, q: Query, key: str | None, by_month: bool) -> list[tuple[str, str, OnTime]]:
    respondent = aliased(Department)
    now = q.now_param()
    inner = (select(key_column(key, respondent, task_department=True).label("k"),
                    (local_month(HumanTask.due_at) if by_month else literal_column("''")).label("month"),
                    case((on_time_task(), 1), else_=0).label("on_time"),
                    case((HumanTask.completed_at.is_(None), 1), else_=0).label("open")))
    inner = (q.tasks(inner, respondent, joined=q.filtered or key == "prefecture")
             .where(verify_due_task(q.start, q.end, now))
             .subquery())
    rows = session.execute(select(inner.c.k, inner.c.month, func.count(), func.sum(inner.c.on_time),
                                  func.sum(inner.c.open)).group_by(inner.c.k, inner.c.month)).all()
    result = []
    for k, month, due, on_time, still_open in rows:
        due, on_time, still_open = int(due), int(on_time or 0), int(still_open or 0)
        result.append((k, month, OnTime(due, on_time, due - on_time - still_open, still_open)))
    return result


def _outcomes(session: Session, q: Query, key: str | None) -> dict[str, Outcomes]:
    respondent = aliased(Department)
    inner = (select(key_column(key, respondent).label("k"), verdict().label("verdict"),
                    Complaint.result.label("result"), Complaint.status.label("status"))
             .select_from(Complaint).outerjoin(respondent, respondent.id == Complaint.respondent_id)
             .where(Complaint.received_at >= q.start, Complaint.received_at < q.end, *q.complaint_where(respondent))
             .subquery())
    founded = inner.c.verdict == "founded"
    rows = session.execute(select(
        inner.c.k,
        func.count(inner.c.verdict),
        func.sum(case((founded, 1), else_=0)),
        func.sum(case((inner.c.verdict == "unfounded", 1), else_=0)),
        func.sum(case((inner.c.verdict == "disputed", 1), else_=0)),
        func.sum(case((and_(founded, inner.c.status != "closed"), 1), else_=0)),
        func.sum(case((inner.c.result == "rectified", 1), else_=0)),
        func.sum(case((inner.c.result == "breach_reported", 1), else_=0)),
    ).group_by(inner.c.k)).all()
    return {str(r[0]): Outcomes(*(int(v or 0) for v in r[1:])) for r in rows}


def _overdue_rows(q: Query, key: str | None) -> Select:
    respondent = aliased(Department)
    now = q.now_param()
    return (select(key_column(key, respondent).label("k"), HumanTask.spec_name.label("stage"),
                   days_between(now, HumanTask.due_at).label("days"),
                   case((Complaint.supervised_at.is_not(None), 1), else_=0).label("supervised"))
            .select_from(HumanTask).join(Complaint, Complaint.id == HumanTask.subject_id)
            .outerjoin(respondent, respondent.id == Complaint.respondent_id)
            .where(overdue_task(now), *q.complaint_where(respondent)))


def _overdue(session: Session, q: Query) -> Overdue:
    inner = _overdue_rows(q, None).subquery()
    d = inner.c.days
    bucket = case((d <= 5, literal_column("'d0_5'")), (d <= 15, literal_column("'d6_15'")),
                  (d <= 30, literal_column("'d16_30'")), else_=literal_column("'d31_'"))
    cells = select(inner.c.stage, bucket.label("bucket"), inner.c.supervised, inner.c.days).subquery()
    rows = session.execute(select(cells.c.stage, cells.c.bucket, func.count(), func.sum(cells.c.supervised),
                                  func.max(cells.c.days), func.sum(cells.c.days))
                           .group_by(cells.c.stage, cells.c.bucket)).all()
    result, total_days = Overdue(), 0.0
    for stage, bucket_name, n, supervised, longest, days_sum in rows:
        result.total += n
        result.supervised += int(supervised or 0)
        result.buckets[bucket_name] += n
        result.by_stage[stage] = result.by_stage.get(stage, 0) + n
        result.max_days = max(result.max_days or 0.0, float(longest))
        total_days += float(days_sum or 0)
    if result.total:
        result.max_days = round2(result.max_days)
        result.mean_days = round2(total_days / result.total)
    return result


def _overdue_by(session: Session, q: Query, key: str) -> dict[str, int]:
    inner = _overdue_rows(q, key).subquery()
    return {str(k): int(n) for k, n in session.execute(select(inner.c.k, func.count()).group_by(inner.c.k))}


def _credit(session: Session, q: Query, key: str | None) -> dict[str, Credit]:
    start, end = q.period.start, q.period.end
    has_measure = exists().where(AppliedMeasure.record_id == BreachRecord.id)
    inner = (select(record_key(key).label("k"),
                    case((BreachRecord.source != "complaint", 1), else_=0).label("migrated"),
                    case((has_measure, 1), else_=0).label("measured"))
             .where(*q.records_determined())
             .subquery())
    result: dict[str, Credit] = defaultdict(Credit)
    for k, n, migrated, measured in session.execute(select(
            inner.c.k, func.count(), func.sum(inner.c.migrated), func.sum(inner.c.measured)).group_by(inner.c.k)):
        c = result[str(k)]
        c.breaches_confirmed, c.breaches_migrated, c.records_with_measures = int(n), int(migrated or 0), int(measured or 0)
    # respondents with a record in the period and at least two up to its end (重复失信)
    base = (select(record_key(key).label("k"), BreachRecord.respondent_name.label("who"),
                   BreachRecord.determined_on.label("day"))
            .where(BreachRecord.determined_on <= end, *q.record_where()).subquery())
    repeat = (select(base.c.k, base.c.who).group_by(base.c.k, base.c.who)
              .having(func.count() >= 2, func.max(base.c.day) >= start)).subquery()
    for k, n in session.execute(select(repeat.c.k, func.count()).group_by(repeat.c.k)):
        result[str(k)].repeat_respondents = int(n)
    measures = (select(record_key(key).label("k"),
                       case((and_(AppliedMeasure.applied_at >= q.start, AppliedMeasure.applied_at < q.end), 1),
                            else_=0).label("applied"),
                       case((and_(AppliedMeasure.ended_at >= q.start, AppliedMeasure.ended_at < q.end), 1),
                            else_=0).label("ended"),
                       case((or_(AppliedMeasure.ended_at.is_(None), AppliedMeasure.ended_at > q.now_param()), 1),
                            else_=0).label("active"))
                .select_from(AppliedMeasure).join(BreachRecord, BreachRecord.id == AppliedMeasure.record_id)
                .where(AppliedMeasure.applied_at <= q.now_param("now_applied"), *q.record_where()).subquery())
    for k, applied, ended, active in session.execute(select(
            measures.c.k, func.sum(measures.c.applied), func.sum(measures.c.ended), func.sum(measures.c.active))
            .group_by(measures.c.k)):
        c = result[str(k)]
        c.measures_applied, c.measures_ended, c.measures_active = int(applied or 0), int(ended or 0), int(active or 0)
    repairs = (select(record_key(key).label("k"))
               .where(*q.records_repaired())
               .subquery())
    for k, n in session.execute(select(repairs.c.k, func.count()).group_by(repairs.c.k)):
        result[str(k)].repairs = int(n)
    return dict(result)


def _quality(session: Session, q: Query) -> Quality:
    result = Quality()
    columns = [func.count(), func.sum(case((record_missing(), 1), else_=0))]
    columns += [func.sum(case((field_missing(a), 1), else_=0)) for a in REQUIRED_RECORD_FIELDS]
    row = session.execute(select(*columns).where(*q.records_determined())).one()
    result.records, result.records_missing = int(row[0]), int(row[1] or 0)
    result.missing_by_field = {a: int(v or 0) for a, v in zip(REQUIRED_RECORD_FIELDS, row[2:], strict=True)}
    status = delivery_status(q)
    inner = (select(status.label("status")).select_from(PlatformDelivery)
             .join(BreachRecord, BreachRecord.id == PlatformDelivery.record_id)
             .where(*delivery_conditions(q)).subquery())
    for name, n in session.execute(select(inner.c.status, func.count()).group_by(inner.c.status)):
        setattr(result, name, int(n))
        result.deliveries += int(n)
    return result


def delivery_conditions(q: Query) -> list[ColumnElement]:
    """The platform deliveries the figures count (PlatformDelivery joined to its BreachRecord): versions queued
    for the provincial platform in the period, of records in the query's scope."""
    return [PlatformDelivery.target == COUNTED_PLATFORM, PlatformDelivery.created_at >= q.start,
            PlatformDelivery.created_at < q.end, *q.record_where()]


def delivery_status(q: Query | None = None) -> ColumnElement:
    """delivered_on_time / delivered_late / failing / pending of a delivery row (the same for every query)."""
    late_days = LATE_DELIVERY.total_seconds() / 86400
    delivered = PlatformDelivery.delivered_at.is_not(None)
    return case(
        (and_(delivered, days_between(PlatformDelivery.delivered_at, PlatformDelivery.created_at) <= late_days),
         literal_column("'delivered_on_time'")),
        (delivered, literal_column("'delivered_late'")),
        (PlatformDelivery.attempts > 0, literal_column("'failing'")),
        else_=literal_column("'pending'"))


def delivery_late_or_failing() -> ColumnElement:
    """A delivery row counted in 迟报或推送失败: delivered late, or not delivered after a failed attempt."""
    return delivery_status().in_(("delivered_late", "failing"))


def _quality_by(session: Session, q: Query, key: str) -> dict[str, tuple[int, int, int]]:
    inner = (select(record_key(key).label("k"), case((record_missing(), 1), else_=0).label("missing"))
             .where(*q.records_determined())
             .subquery())
    result: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for k, missing in session.execute(select(inner.c.k, func.sum(inner.c.missing)).group_by(inner.c.k)):
        result[str(k)][0] = int(missing or 0)
    bad = case((delivery_late_or_failing(), 1), else_=0)
    deliveries = (select(record_key(key).label("k"), bad.label("bad")).select_from(PlatformDelivery)
                  .join(BreachRecord, BreachRecord.id == PlatformDelivery.record_id)
                  .where(*delivery_conditions(q)).subquery())
    for k, n, n_bad in session.execute(select(deliveries.c.k, func.count(), func.sum(deliveries.c.bad))
                                       .group_by(deliveries.c.k)):
        result[str(k)][1], result[str(k)][2] = int(n), int(n_bad or 0)
    return {k: (v[0], v[1], v[2]) for k, v in result.items()}


def _ordered(items: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    order = list(labels)
    return dict(sorted(items.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0])))


