"""Inbox queries: read only the `human_task` projection, in the order its index holds."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.org.models import Official
from engine.paging import Total, capped_count
from engine.workflow.models import HumanTask


@dataclass(frozen=True)
class InboxFilter:
    """Narrowing an official's inbox: `claimed` is 'me', 'others', 'unclaimed' or None for all."""

    claimed: str | None = None
    complaint_id: int | None = None
    lane: str | None = None


def inbox(session: Session, official: Official, filters: InboxFilter | None = None,
          limit: int = 50, offset: int = 0) -> tuple[list[HumanTask], Total]:
    """Open tasks of the official's department that their roles allow, soonest due first; and the total."""
    query = _visible(official, filters or InboxFilter())
    total = capped_count(session, query, offset)
    rows = session.scalars(query.order_by(HumanTask.due_at, HumanTask.id).limit(limit).offset(offset)).all()
    return list(rows), total


def _visible(official: Official, f: InboxFilter):  # noqa: ANN202 - a Select
    query = select(HumanTask).where(
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
    if f.complaint_id:
        query = query.where(HumanTask.complaint_id == f.complaint_id)
    if f.lane:
        query = query.where(HumanTask.lane == f.lane)
    return query
