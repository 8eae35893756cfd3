"""The workflow runtime's batch work, one transaction per unit: timer start events and due timers (steps of the
scheduler's `timer-tick`), and moving instances to another version (started by an administrator)."""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from engine.db import as_utc
from engine.errors import ConcurrentUpdate, EngineError
from engine.jobs import Settings, job
from engine.org.models import Official
from engine.workflow import clock, migration, start_timers, timers

logger = logging.getLogger(__name__)


def start_due_processes(session: Session, now: datetime | None = None) -> int:
    """Start one instance per due occurrence of a timer start event, each committed on its own; a failing start
    is recorded (not retried) and the others go on. Returns how many this call started."""
    moment = as_utc(now) or clock.now()
    started = 0
    for timer, due in start_timers.due_starts(session, moment):
        row = start_timers.claim(session, timer, due, moment)
        if row is None:
            session.rollback()  # another scheduler started this occurrence
            continue
        try:
            instance = start_timers.start(session, timer, due, row, moment)
            session.commit()
            started += 1
            logger.info("timer start %s/%s due %s started instance %s", timer.process_key, timer.event_id,
                        due.isoformat(), instance.id)
        except Exception as exc:  # one failing start must not stop the others; it is recorded, not retried
            session.rollback()
            logger.exception("timer start %s/%s due %s failed", timer.process_key, timer.event_id, due.isoformat())
            start_timers.record_failure(session, timer, due, moment, exc)
            session.commit()
    session.rollback()
    return started


def tick(session: Session, now: datetime | None = None, batch: int = 100) -> int:
    """Fire every instance whose earliest timer is due, each locked, stepped and committed on its own (two
    schedulers share the work; a failure leaves the others unaffected); returns how many were stepped."""
    moment = now or clock.now()
    fired, skipped = 0, set()
    while True:
        instance = timers.next_due(session, moment, skipped)
        if instance is None:
            session.rollback()
            return fired
        instance_id = instance.id
        try:
            timers.fire(session, instance, moment)
            session.commit()
            fired += 1
        except ConcurrentUpdate:
            session.rollback()  # an official stepped the same case just now: the next tick retries
            skipped.add(instance_id)
            logger.info("timer of instance %s deferred: concurrent step", instance_id)
        except Exception as exc:  # a failing timer step must not stop the tick for every other case
            session.rollback()
            message = exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
            logger.exception("timer of instance %s failed", instance_id)
            timers.park(session, instance_id, message)
            session.commit()
            skipped.add(instance_id)
        if fired >= batch:
            return fired


def migrate(session: Session, source_model_id: int, target_model_id: int, instance_ids: Iterable[int] | None,
            actor: Official, now: datetime | None = None,
            confirmations: Collection[str] | None = None) -> list[migration.Verdict]:
    """Move every migratable instance, one transaction each; refused or failing ones stay untouched
    (`migration.migrate_one` says which need a confirmation)."""
    ids = migration.instances_to_migrate(session, source_model_id, target_model_id, instance_ids)
    session.commit()
    moment = as_utc(now) or clock.now()
    results = []
    for instance_id in ids:
        try:
            verdict = migration.migrate_one(session, instance_id, source_model_id, target_model_id, actor, moment,
                                            confirmations)
            session.commit()
        except Exception as exc:  # one failing case must not stop the others
            session.rollback()
            logger.exception("migration of instance %s failed", instance_id)
            verdict = migration.failed(instance_id, exc)
        results.append(verdict)
    return results


@job("timer-tick", step="start-timers", order=10)
def start_timers_step(session: Session, settings: Settings) -> None:
    """Timer start events of deployed processes (e.g. the periodic bulletin)."""
    started = start_due_processes(session)
    if started:
        logger.info("scheduler tick started %s instance(s) by timer start events", started)


@job("timer-tick", step="timers", order=30)
def timers_step(session: Session, settings: Settings) -> None:
    """The instances' due timers."""
    fired = tick(session)
    if fired:
        logger.info("scheduler tick fired %s instance(s)", fired)
