"""What officials see of deadlines: a task's due state, the inbox by due state, the overdue view, the calendar.

Read-only queries and rules for the web pages; nothing here changes the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.cases.search import CaseQuery, case_conditions
from engine.db import as_utc
from engine.deadlines.calendar import WorkCalendar, is_statutory_year
from engine.deadlines.models import CalendarDay, CalendarYear
from engine.org import permissions
from engine.org.models import Department, Official
from engine.paging import Total, capped_count
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI, end_of_day
from engine.workflow.inbox import InboxFilter
from engine.workflow.inbox import _visible as visible_tasks
from engine.workflow.models import HumanTask

SOON_WORKDAYS = 3  # "due soon": due by the end of the third working day from today
DUE_STATES = {"ok": "按期", "soon": "临近期限", "overdue": "已逾期"}
SORTS = {"due": "期限由近到远", "-due": "期限由远到近", "new": "最新到达", "task": "任务名称（升序）", "-task": "任务名称（降序）",
         "case": "受理编号（升序）", "-case": "受理编号（降序）"}
PROVISIONAL_NOTE = "下一年度节假日安排尚未录入，暂按周一至周五计算工作日"
FIRST_BUILTIN_YEAR = 2004


def soon_limit(now: datetime, calendar: WorkCalendar) -> datetime:
    """The moment up to which a due time counts as "due soon": end of the SOON_WORKDAYS-th working day."""
    today = as_utc(now).astimezone(SHANGHAI).date()
    day, _ = calendar.add_workdays(today, SOON_WORKDAYS)
    return end_of_day(day)


def due_state(due_at: datetime | None, now: datetime, calendar: WorkCalendar,
              soon: datetime | None = None) -> str | None:
    """"overdue" (past due), "soon" (due within SOON_WORKDAYS working days), "ok", or None without a due time.

    Pass `soon` (from soon_limit) when classifying many tasks at the same `now`.
    """
    if due_at is None:
        return None
    due, moment = as_utc(due_at), as_utc(now)
    if due < moment:
        return "overdue"
    return "soon" if due <= (soon or soon_limit(moment, calendar)) else "ok"


def workdays_to(due_at: datetime | None, now: datetime, calendar: WorkCalendar) -> int | None:
    """Working days from today (Yunnan) to the due day: positive = left (the due day counts, today does not),
    0 = due today, negative = working days past the due day (0 when overdue by less than one working day)."""
    if due_at is None:
        return None
    due, moment = as_utc(due_at), as_utc(now)
    today = moment.astimezone(SHANGHAI).date()
    due_day = due.astimezone(SHANGHAI).date()
    if due < moment:
        return -calendar.workdays_after(due_day, today)
    return calendar.workdays_after(today, due_day)


def countdown(state: str | None, workdays: int | None) -> str | None:
    """剩余 N 个工作日 / 今日到期 / 逾期 N 个工作日, for the text beside a due time."""
    if state is None or workdays is None:
        return None
    if state == "overdue":
        return f"逾期 {-workdays} 个工作日" if workdays < 0 else "已逾期，不足 1 个工作日"
    return f"剩余 {workdays} 个工作日" if workdays > 0 else "今日到期"


@dataclass(frozen=True)
class TaskRow:
    task: HumanTask
    state: str | None
    workdays: int | None = None  # workdays_to(): left (positive) or overdue (negative)

    @property
    def countdown(self) -> str | None:
        return countdown(self.state, self.workdays)


def task_row(task: HumanTask, moment: datetime, calendar: WorkCalendar, soon: datetime | None = None) -> TaskRow:
    """A task with its due state and working days left or overdue at `moment`."""
    return TaskRow(task, due_state(task.due_at, moment, calendar, soon), workdays_to(task.due_at, moment, calendar))


def inbox_by_due(session: Session, official: Official, filters: InboxFilter | None = None,
                 state: str | None = None, sort: str = "due", limit: int = 50, offset: int = 0,
                 now: datetime | None = None, cases: CaseQuery | None = None) -> tuple[list[TaskRow], Total]:
    """The official's inbox (same visibility as engine.workflow.inbox) filtered by due state in SQL, sorted.

    `state` is one of DUE_STATES or None for all; `sort` one of SORTS. Tasks without a due time sort last
    and match no state filter. `cases` narrows to tasks whose case matches the case filters (engine.cases.search).
    """
    moment = as_utc(now) or clock.now()
    cal = WorkCalendar(session)
    soon = soon_limit(moment, cal)
    query = visible_tasks(official, filters or InboxFilter())
    joined = (cases is not None and cases.narrows_cases) or sort.lstrip("-") == "case"
    if joined:
        query = query.join(Complaint, Complaint.id == HumanTask.subject_id)
        if cases is not None:
            query = query.where(*case_conditions(session, cases, moment))
    if state == "overdue":
        query = query.where(HumanTask.due_at < moment)
    elif state == "soon":
        query = query.where(HumanTask.due_at >= moment, HumanTask.due_at <= soon)
    elif state == "ok":
        query = query.where(HumanTask.due_at > soon)
    total = capped_count(session, query, offset)
    if sort == "-due":
        order = (HumanTask.due_at.desc().nulls_last(), HumanTask.id)
    elif sort == "new":
        order = (HumanTask.created_at.desc(), HumanTask.id)
    elif sort in ("task", "-task"):
        order = (HumanTask.title.desc() if sort == "-task" else HumanTask.title.asc(), HumanTask.due_at, HumanTask.id)
    elif sort in ("case", "-case"):
        order = (Complaint.tracking_code.desc() if sort == "-case" else Complaint.tracking_code.asc(), HumanTask.id)
    else:
        order = (HumanTask.due_at.asc().nulls_last(), HumanTask.id)
    tasks = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
    return [task_row(t, moment, cal, soon) for t in tasks], total


# --- the overdue view (逾期督办) ---------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueRow:
    task: HumanTask
    complaint: Complaint | None
    department: Department
    days_overdue: int  # calendar days since the due day (Yunnan dates)
    workdays_overdue: int
    supervised: bool  # 挂牌督办


def may_see_overdue(official: Official) -> bool:
    """`see_overdue`: the provincial DRC (all departments) and prefecture credit leads (their prefecture)."""
    return permissions.allowed(official, permissions.SEE_OVERDUE)


def overdue_scope(official: Official) -> str:
    """A Chinese phrase for what the overdue view covers for this official."""
    if permissions.overdue_prefecture(official) is None:
        return "全省各部门"
    return f"{official.department.name}所在州（市）各部门"


def overdue_tasks(session: Session, official: Official, now: datetime | None = None,
                  supervised_only: bool = False, limit: int = 50,
                  offset: int = 0) -> tuple[list[OverdueRow], Total]:
    """Open tasks past due across the departments under `official`, longest overdue first; and the total."""
    prefecture = permissions.overdue_prefecture(official)
    moment = as_utc(now) or clock.now()
    query = (select(HumanTask, Complaint, Department)
             .join(Department, HumanTask.department_id == Department.id)
             .outerjoin(Complaint, HumanTask.subject_id == Complaint.id)
             .where(HumanTask.completed_at.is_(None), HumanTask.due_at < moment))
    if prefecture is not None:
        query = query.where(Department.prefecture_code == prefecture)
    if supervised_only:
        query = query.where(Complaint.supervised_at.is_not(None))
    total = capped_count(session, query, offset)
    rows = session.execute(query.order_by(HumanTask.due_at, HumanTask.id).limit(limit).offset(offset)).all()
    cal = WorkCalendar(session)
    today = moment.astimezone(SHANGHAI).date()
    result = []
    for task, complaint, dept in rows:
        due_day = as_utc(task.due_at).astimezone(SHANGHAI).date()
        result.append(OverdueRow(task, complaint, dept, max((today - due_day).days, 0),
                                 cal.workdays_after(due_day, today),
                                 bool(complaint is not None and complaint.supervised_at is not None)))
    return result, total


# --- the working-day calendar for administrators ------------------------------------------------------

@dataclass(frozen=True)
class YearInfo:
    year: int
    source: str  # "builtin" | "entered" | "missing"
    entered_by: str | None = None
    entered_at: datetime | None = None
    special_days: int = 0


def calendar_years(session: Session, now: datetime | None = None, ahead: int = 2) -> list[YearInfo]:
    """Built-in years (chinesecalendar), entered years, and the next `ahead` years still missing; newest first."""
    this_year = (as_utc(now) or clock.now()).astimezone(SHANGHAI).year
    entered = {y.year: y for y in session.scalars(select(CalendarYear))}
    counts: dict[int, int] = {}
    if entered:
        for day in session.scalars(select(CalendarDay.day).where(CalendarDay.day >= date(min(entered), 1, 1))):
            counts[day.year] = counts.get(day.year, 0) + 1
    last = max([this_year + ahead, *entered])
    result = []
    for year in range(last, FIRST_BUILTIN_YEAR - 1, -1):
        if year in entered:
            e = entered[year]
            result.append(YearInfo(year, "entered", e.entered_by, e.entered_at, counts.get(year, 0)))
        elif is_statutory_year(year):
            result.append(YearInfo(year, "builtin"))
        elif year >= this_year:
            result.append(YearInfo(year, "missing"))
    return result


def year_special_days(session: Session, year: int) -> list[CalendarDay]:
    """The entered special days of `year`, in date order."""
    return list(session.scalars(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)).order_by(CalendarDay.day)))


def open_task_deadlines(tasks: list[HumanTask], now: datetime | None, session: Session) -> list[TaskRow]:
    """Open tasks (the case page's, a task page's) with their due state and working days left or overdue."""
    moment = as_utc(now) or clock.now()
    cal = WorkCalendar(session)
    soon = soon_limit(moment, cal)
    return [task_row(t, moment, cal, soon) for t in tasks]

