"""Scheduler tick: fire due timers, one transaction per instance, never the same timer twice."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.workflow import clock
from engine.workflow.instances import fire_due_timers
from engine.workflow.models import ProcessInstance

logger = logging.getLogger(__name__)


def tick(session: Session, now: datetime | None = None, batch: int = 100) -> int:
    """Fire every instance whose earliest timer is due; returns how many instances were stepped.

    Each instance is locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL), stepped and committed on its own,
    so two schedulers share the work and a failure leaves the others unaffected.
    """
    moment = now or clock.now()
    fired = 0
    while True:
        query = (select(ProcessInstance)
                 .where(ProcessInstance.next_timer_at <= moment, ProcessInstance.status == "running")
                 .order_by(ProcessInstance.next_timer_at).limit(1))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=ProcessInstance)
        instance = session.scalar(query)
        if instance is None:
            session.rollback()
            return fired
        try:
            fire_due_timers(session, instance, moment)
            session.commit()
            fired += 1
        except EngineError as exc:
            session.rollback()
            logger.error("timer of instance %s failed: %s", instance.id, exc.message)
            _park(session, instance.id, exc.message)
        if fired >= batch:
            return fired


def _park(session: Session, instance_id: int, message: str) -> None:
    """Mark an instance whose timer step fails as `error`, so the tick does not retry it forever."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is not None:
        instance.status, instance.error = "error", message
        session.commit()
