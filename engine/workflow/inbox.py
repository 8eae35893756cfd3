"""Inbox queries: read only the `human_task` projection, in the order its index holds."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.org.models import Official
from engine.paging import Total, capped_count
from engine.workflow.models import HumanTask

OPEN_TASKS_INDEX = "ix_human_task_open_department_due"


@dataclass(frozen=True)
class InboxFilter:
    """Narrowing an official's inbox: `claimed` is 'me', 'others', 'unclaimed' or None for all."""

    claimed: str | None = None
    subject_id: int | None = None  # the tasks of one subject's instances (a case)
    lane: str | None = None


def inbox(session: Session, official: Official, filters: InboxFilter | None = None,
          limit: int = 50, offset: int = 0) -> tuple[list[HumanTask], Total]:
    """Open tasks of the official's department that their roles allow, soonest due first; and the total."""
    query = _visible(official, filters or InboxFilter())
    total = capped_count(session, query.with_only_columns(HumanTask.id).order_by(*ORDER), offset, ordered=True)
    rows = session.scalars(query.order_by(*ORDER).limit(limit).offset(offset)).all()
    return list(rows), total


ORDER = (HumanTask.due_at, HumanTask.id)  # the order of ix_human_task_open_department_due


def _visible(official: Official, f: InboxFilter, through_index: bool = True):  # noqa: ANN202 - a Select
    """The open tasks `official` may see. SQLite is told to read the department's open tasks through their index
    (`through_index`): given statistics of many completed tasks, its planner picked a statistics index and
    sorted, 50–170 ms at 100 000 open tasks instead of well under 1 ms (bench/README.md)."""
    query = select(HumanTask)
    if through_index:
        query = query.with_hint(HumanTask, f"INDEXED BY {OPEN_TASKS_INDEX}", "sqlite")
    query = query.where(
        HumanTask.department_id == official.department_id,
        HumanTask.completed_at.is_(None),
        or_(HumanTask.role.is_(None), HumanTask.role.in_(official.roles or [])),
    )
    if f.claimed == "me":
        query = query.where(HumanTask.claimed_by_id == official.id)
    elif f.claimed == "unclaimed":
        query = query.where(HumanTask.claimed_by_id.is_(None))
    elif f.claimed == "others":
        query = query.where(HumanTask.claimed_by_id.is_not(None), HumanTask.claimed_by_id != official.id)
    if f.subject_id:
        query = query.where(HumanTask.subject_id == f.subject_id)
    if f.lane:
        query = query.where(HumanTask.lane == f.lane)
    return query
