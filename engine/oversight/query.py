"""The building blocks of the statistics' SQL: one request's filters (`Query`) and the expressions that sort a
complaint or a record into a prefecture group, an intake outcome and a verdict — shared by statistics, stages
and drill so that a number and the list of its cases always use the same definitions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal_column, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, Select

from engine.cases.models import Complaint
from engine.credit.models import APPROVED_STATUSES, BreachRecord
from engine.oversight.periods import Period
from engine.oversight.scope import PROVINCE_CODE, UNKNOWN_CODE, Scope
from engine.oversight.sql import moment
from engine.workflow.models import HumanTask

# PostgreSQL's JIT compiler spends ~100 ms compiling each of these mid-sized aggregates and wins nothing back
# (measured in bench/oversight.py): the statistics turn it off for their own transaction (SET LOCAL).
DISABLE_JIT = True
VERIFY_TASK = "verify"
# Fields of a breach record the collection standard needs (attribute → label); empty or NULL counts as missing.
REQUIRED_RECORD_FIELDS: dict[str, str] = {
    "respondent_uscc": "失信主体统一社会信用代码",
    "respondent_division": "失信主体行政区划代码",
    "determining_name": "认定部门名称",
    "determining_uscc": "认定部门统一社会信用代码",
    "document_number": "认定文书号",
    "basis": "认定依据",
    "facts": "失信事实",
}


@dataclass
class Query:
    period: Period
    scope: Scope
    channel: str | None
    domain: str | None
    now: datetime

    @property
    def start(self) -> ColumnElement:
        return moment("period_start", self.period.start_utc)

    @property
    def end(self) -> ColumnElement:
        return moment("period_end", self.period.end_utc)

    def now_param(self, name: str = "now") -> ColumnElement:
        return moment(name, self.now)

    @property
    def filtered(self) -> bool:
        """Whether any condition needs the complaint (scope, channel or domain)."""
        return bool(self.scope.prefecture or self.scope.department_id or self.channel or self.domain)

    def tasks(self, query: Select, respondent: Any, joined: bool) -> Select:
        """`query` over human_task of complaints; joined to the complaint and its respondent only when needed
        (`joined`): on a million cases the join costs more than everything else in the query."""
        if not joined:
            return query.select_from(HumanTask).where(HumanTask.subject_id.is_not(None))
        return (query.select_from(HumanTask).join(Complaint, Complaint.id == HumanTask.subject_id)
                .outerjoin(respondent, respondent.id == Complaint.respondent_id).where(*self.complaint_where(respondent)))

    def complaint_where(self, respondent: Any) -> list[ColumnElement]:
        """Scope, channel and domain conditions on Complaint outer-joined to its respondent department."""
        conditions = []
        if self.scope.department_id:
            conditions.append(Complaint.respondent_id == self.scope.department_id)
        elif self.scope.prefecture == UNKNOWN_CODE:
            conditions.append(Complaint.respondent_id.is_(None))
        elif self.scope.prefecture == PROVINCE_CODE:
            conditions += [Complaint.respondent_id.is_not(None), respondent.prefecture_code.is_(None)]
        elif self.scope.prefecture:
            conditions.append(respondent.prefecture_code == self.scope.prefecture)
        if self.channel:
            conditions.append(Complaint.channel == self.channel)
        if self.domain:
            conditions.append(Complaint.domain == self.domain)
        return conditions

    def record_where(self) -> list[ColumnElement]:
        """Scope, channel and domain conditions on BreachRecord (channel: through its complaint); only records the
        DRC approved count (drafts awaiting 复核 and withdrawn records are not breaches)."""
        conditions: list[ColumnElement] = [BreachRecord.status.in_(APPROVED_STATUSES)]
        if self.scope.department_id:
            conditions.append(BreachRecord.respondent_id == self.scope.department_id)
        elif self.scope.prefecture:
            conditions.append(record_group() == literal_column(f"'{self.scope.prefecture}'"))
        if self.domain:
            conditions.append(BreachRecord.domain == self.domain)
        if self.channel:
            conditions.append(BreachRecord.complaint_id.in_(
                select(Complaint.id).where(Complaint.channel == self.channel)))
        return conditions


    def records_determined(self) -> list[ColumnElement]:
        """Records counted in 确认违约失信: determined in the period, in the query's scope, approved."""
        return [BreachRecord.determined_on >= self.period.start, BreachRecord.determined_on <= self.period.end,
                *self.record_where()]

    def records_repaired(self) -> list[ColumnElement]:
        """Records counted in 信用修复: repaired in the period, in the query's scope."""
        return [BreachRecord.repaired_on >= self.period.start, BreachRecord.repaired_on <= self.period.end,
                *self.record_where()]


def complaint_group(respondent: Any) -> ColumnElement:
    """Prefecture group of a complaint (outer-joined respondent department `respondent`)."""
    return case((Complaint.respondent_id.is_(None), literal_column(f"'{UNKNOWN_CODE}'")),
                else_=func.coalesce(respondent.prefecture_code, literal_column(f"'{PROVINCE_CODE}'")))


def record_group() -> ColumnElement:
    """Prefecture group of a breach record (its stored respondent prefecture)."""
    return case((BreachRecord.respondent_prefecture.is_not(None), BreachRecord.respondent_prefecture),
                (BreachRecord.respondent_id.is_(None), literal_column(f"'{UNKNOWN_CODE}'")),
                else_=literal_column(f"'{PROVINCE_CODE}'"))


def intake_kind() -> ColumnElement:
    """merged / rejected / pending (not screened yet) / accepted, from the case's status and result."""
    return case((Complaint.status == "merged", literal_column("'merged'")),
                (Complaint.result == "rejected", literal_column("'rejected'")),
                (Complaint.status.in_(("registered", "screening")), literal_column("'pending'")),
                else_=literal_column("'accepted'"))


def verdict() -> ColumnElement:
    """How verification came out: founded / unfounded / disputed, or NULL while not verified (or merged)."""
    return case(
        (Complaint.status == "merged", None),
        (Complaint.result == "unfounded", literal_column("'unfounded'")),
        (or_(Complaint.result == "disputed_resolved", Complaint.status == "negotiating"),
         literal_column("'disputed'")),
        (or_(Complaint.result.in_(("rectified", "breach_reported")), Complaint.breach_confirmed_at.is_not(None),
             Complaint.status.in_(("ordering", "rectifying", "extension_review", "reviewing", "confirming",
                                    "ndrc_review"))),
         literal_column("'founded'")),
        else_=None)


def key_column(key: str | None, respondent: Any, task_department: bool = False) -> ColumnElement:
    if key == "prefecture":
        return complaint_group(respondent)
    if key == "department":
        return cast(HumanTask.department_id if task_department else Complaint.respondent_id, String)
    return literal_column("'all'")


def record_key(key: str | None) -> ColumnElement:
    if key == "prefecture":
        return record_group()
    if key == "department":
        return cast(BreachRecord.respondent_id, String)
    return literal_column("'all'")


def no_jit(session: Session) -> None:
    if DISABLE_JIT and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def round2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- conditions a figure and its drill-down share (engine/oversight/figures.py) -----------------------------

def verify_due_task(start: ColumnElement, end: ColumnElement, now: ColumnElement) -> ColumnElement:
    """A verify task counted in 应核实认定: not withdrawn or merged, due in the period, done or already past due."""
    return and_(HumanTask.spec_name == VERIFY_TASK, or_(HumanTask.outcome.is_(None), HumanTask.outcome == "completed"),
                HumanTask.due_at >= start, HumanTask.due_at < end,
                or_(HumanTask.completed_at.is_not(None), HumanTask.due_at < now))


def on_time_task() -> ColumnElement:
    """A (verify) task completed by its due time."""
    return and_(HumanTask.completed_at.is_not(None), HumanTask.completed_at <= HumanTask.due_at)


def overdue_task(now: ColumnElement) -> ColumnElement:
    """An open task past its due time at `now` (当前逾期)."""
    return and_(HumanTask.completed_at.is_(None), HumanTask.due_at < now)


def record_missing() -> ColumnElement:
    """A breach record empty in at least one field the collection standard requires."""
    return or_(*(field_missing(a) for a in REQUIRED_RECORD_FIELDS))


def field_missing(attr: str) -> ColumnElement:
    col = getattr(BreachRecord, attr)
    return or_(col.is_(None), col == "")
