"""Timers: the due instance, firing its timers, parking a failing one (the loop is `engine/workflow/jobs.py: tick`),
and what a timer changed meanwhile when an official completes a task."""
from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.audit.services import record as audit
from engine.db import as_utc
from engine.workflow.instances import AuditMark, fire_due_timers
from engine.workflow.models import HumanTask, ProcessInstance

logger = logging.getLogger(__name__)
SCHEDULER = "调度程序"  # the audit log's actor for what timers do


def next_due(session: Session, now: datetime, skipped: Collection[int] = ()) -> ProcessInstance | None:
    """The running instance whose earliest timer is due longest, locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
    so two schedulers share the work); None when none is due. `skipped` ids are passed over."""
    query = (select(ProcessInstance)
             .where(ProcessInstance.next_timer_at <= now, ProcessInstance.status == "running")
             .order_by(ProcessInstance.next_timer_at).limit(1))
    if skipped:
        query = query.where(ProcessInstance.id.not_in(skipped))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=ProcessInstance)
    return session.scalar(query)


def fire(session: Session, instance: ProcessInstance, now: datetime) -> None:
    """Step `instance` through its due timers and log `timer_fired` (flushed; the caller commits)."""
    before = {"status": instance.status, "next_timer_at": _iso(instance.next_timer_at)}
    fire_due_timers(session, instance, now)
    audit(session, "timer_fired", SCHEDULER, "process_instance", instance.id, before=before,
          after={"status": instance.status, "next_timer_at": _iso(instance.next_timer_at)},
          complaint_id=instance.subject_id, now=now)


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def park(session: Session, instance_id: int, message: str) -> None:
    """Mark an instance whose timer step fails as `error`, so the tick does not retry it forever (flushed)."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is not None:
        before = instance.status
        instance.status, instance.error = "error", message
        audit(session, "timer_failed", SCHEDULER, "process_instance", instance_id, before={"status": before},
              after={"status": "error", "error": message}, complaint_id=instance.subject_id)
        session.flush()


# --- a timer and an official at the same moment ------------------------------------------------------------

def changed_by_timers_only(session: Session, task_id: str, since: AuditMark) -> bool:
    """Whether the task's case was changed after `since` by its timers alone: at least one timer step of the task's
    process instance, and nothing done by an official to that instance or its case. A completion that collided with
    such a change (a reminder firing at the same moment) may simply be run again."""
    task = session.get(HumanTask, task_id)
    if task is None:
        return False
    concerns = and_(AuditEvent.object_type == "process_instance", AuditEvent.object_id == str(task.instance_id))
    if task.subject_id is not None:
        concerns = or_(concerns, AuditEvent.complaint_id == task.subject_id)
    after = AuditEvent.id > since.event_id
    if since.chain is not None and since.chain == task.subject_id:
        after = or_(after, and_(AuditEvent.chain == since.chain, AuditEvent.seq > since.seq))
    events = session.execute(select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.object_type,
                                    AuditEvent.object_id).where(after, concerns)).all()
    fired = any(action == "timer_fired" and kind == "process_instance" and oid == str(task.instance_id)
                for action, _actor, kind, oid in events)
    return fired and all(actor is None for _action, actor, _kind, _oid in events)
