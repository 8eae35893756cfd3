"""Create and read notifications."""
from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.notify.models import Notification
from engine.org.models import Official


def _for(official: Official):  # noqa: ANN202 - a Select filter
    return (Notification.department_id == official.department_id,
            or_(Notification.role.is_(None), Notification.role.in_(official.roles or [])))


def unread_count(session: Session, official: Official) -> int:
    return int(session.scalar(select(func.count()).select_from(Notification).where(
        *_for(official), Notification.read_at.is_(None))) or 0)


def recent(session: Session, official: Official, limit: int = 50) -> list[Notification]:
    return list(session.scalars(select(Notification).where(*_for(official))
                                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_all_read(session: Session, official: Official) -> int:
    result = session.execute(update(Notification).where(*_for(official), Notification.read_at.is_(None))
                             .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount
