"""Append audit events to the hash chain (in the caller's transaction), verify the chain, search and prune.

Each event's `hash` is SHA-256 over a canonical JSON of its content and the previous event's hash, so
changing, inserting or removing a row in the middle breaks every link after it. Appends are serialized:
on PostgreSQL by a transaction-level advisory lock taken before the last hash is read (held until the
caller commits — record last, commit soon); on SQLite by taking the database's single write lock
before the read (without it, two writers read the same last hash: the driver starts the transaction
only at the first write).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.db import as_utc, utcnow
from engine.org.models import Department, Official

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = 0x4C7659_4155  # "LvY" "AU": one application-wide key for audit appends
PRUNED = "audit_pruned"
_request_ip: ContextVar[str | None] = ContextVar("audit_request_ip", default=None)


def set_request_ip(ip: str | None) -> object:
    """Set the client address for this context; returns a token for `reset_request_ip`."""
    return _request_ip.set(ip)


def reset_request_ip(token: object) -> None:
    _request_ip.reset(token)  # type: ignore[arg-type]


def record(
    session: Session, action: str, actor: Official | str | None, object_type: str, object_id: object,
    before: dict | None = None, after: dict | None = None, complaint_id: int | None = None,
    ip: str | None = None, now: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain and flush (never commit): it commits or rolls back with the caller."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":  # a write that changes nothing takes the database's write lock before the read
        session.execute(text("UPDATE audit_event SET id = id WHERE 0 = 1"))
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    if isinstance(actor, Official):
        actor_id, label = actor.id, f"{actor.username} {actor.label}"
    else:
        actor_id, label = None, actor or "系统"
    event = AuditEvent(
        at=(as_utc(now) or utcnow()).astimezone(UTC), actor_id=actor_id, actor_label=label[:300],
        ip=(ip or _request_ip.get()), action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:64], complaint_id=complaint_id,
        before=_plain(before), after=_plain(after), prev_hash=prev,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    logger.info("audit #%s %s %s:%s by %s", event.id, action, object_type, event.object_id, label,
                extra={"audit_id": event.id, "audit_action": action})
    return event


def event_hash(event: AuditEvent) -> str:
    """SHA-256 of the event's canonical content followed by the previous hash."""
    content = {
        "at": _canonical_time(event.at), "actor_id": event.actor_id, "actor_label": event.actor_label,
        "ip": event.ip, "action": event.action, "object_type": event.object_type, "object_id": event.object_id,
        "complaint_id": event.complaint_id, "before": event.before, "after": event.after,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((canonical + event.prev_hash).encode()).hexdigest()


def verify_chain(session: Session, batch: int = 1000) -> tuple[bool, int | None, str]:
    """Recompute every link in id order: (ok, id of the first broken event or None, message)."""
    anchors = _prune_anchors(session)
    expected_prev: str | None = None
    count = 0
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch))
    try:
        for event in events:
            if expected_prev is None:  # the oldest row kept: genesis, or attested by a prune event
                if event.prev_hash != GENESIS and anchors.get(event.id) != event.prev_hash:
                    return False, event.id, f"审计链断裂：第 {event.id} 条的前序哈希既非链首也无裁剪记录佐证（之前的记录被删除？）"
            elif event.prev_hash != expected_prev:
                return False, event.id, f"审计链断裂：第 {event.id} 条的前序哈希与上一条不符（记录被删除、插入或改动）"
            if event_hash(event) != event.hash:
                return False, event.id, f"审计链断裂：第 {event.id} 条的内容与其哈希不符（记录被改动）"
            expected_prev = event.hash
            count += 1
    finally:
        events.close()  # a server-side cursor on PostgreSQL
    return True, None, f"审计链完整：共 {count} 条记录"


def search(
    session: Session, complaint_id: int | None = None, actor: str | None = None, since: datetime | None = None,
    until: datetime | None = None, action: str | None = None, limit: int = 100, offset: int = 0,
    department: str | None = None, newest_first: bool = False, tracking_code: str | None = None,
) -> list[AuditEvent]:
    """Events matching every given filter, oldest first (or newest first).

    `actor` is a username or an official's id; `department` a department code: events by its officials;
    `tracking_code` the case's tracking code (an unknown code matches nothing).
    """
    query = select(AuditEvent).order_by(AuditEvent.id.desc() if newest_first else AuditEvent.id)
    if department:
        query = query.where(AuditEvent.actor_id.in_(
            select(Official.id).join(Department, Official.department_id == Department.id)
            .where(Department.code == department)))
    if complaint_id is not None:
        query = query.where(AuditEvent.complaint_id == complaint_id)
    if tracking_code:
        from engine.cases.models import Complaint

        query = query.where(AuditEvent.complaint_id.in_(
            select(Complaint.id).where(Complaint.tracking_code == tracking_code)))
    if actor:
        official_id = int(actor) if re.fullmatch(r"[0-9]{1,12}", actor) else session.scalar(
            select(Official.id).where(Official.username == actor))
        by_label = AuditEvent.actor_label == actor  # failed sign-ins carry only the name typed
        query = query.where(by_label if official_id is None else or_(AuditEvent.actor_id == official_id, by_label))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query.limit(limit).offset(offset)))


def as_dict(event: AuditEvent) -> dict:
    """One event as an export line: every field the hash covers, the hashes, times in UTC."""
    return {
        "id": event.id, "at": as_utc(event.at).isoformat(), "actor_id": event.actor_id,
        "actor_label": event.actor_label, "ip": event.ip, "action": event.action, "object_type": event.object_type,
        "object_id": event.object_id, "complaint_id": event.complaint_id, "before": event.before,
        "after": event.after, "prev_hash": event.prev_hash, "hash": event.hash,
    }


def actions(session: Session) -> list[str]:
    """Every action the log holds, for a search form's choices."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def prune(session: Session, before: datetime, actor: str) -> int:
    """Delete events older than `before` (the caller enforces the retention window) and record it.

    The prune event names the first kept event and its prev_hash, so verify_chain still accepts the chain.
    """
    first_kept = session.scalar(select(AuditEvent).where(AuditEvent.at >= before).order_by(AuditEvent.id).limit(1))
    doomed = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.at < before)) or 0
    if not doomed:
        return 0
    if first_kept is not None:
        cutoff_id = first_kept.id
    else:
        cutoff_id = (session.scalar(select(func.max(AuditEvent.id))) or 0) + 1
    session.execute(delete(AuditEvent).where(AuditEvent.id < cutoff_id))
    record(session, PRUNED, actor, "audit_event", None, after={
        "before": before.isoformat(), "deleted": doomed,
        "first_kept_id": first_kept.id if first_kept else None,
        "first_kept_prev_hash": first_kept.prev_hash if first_kept else None,
    })
    return doomed


def _prune_anchors(session: Session) -> dict[int, str]:
    """first kept id → its prev_hash, as attested by prune events (themselves part of the chain)."""
    anchors: dict[int, str] = {}
    for after in session.scalars(select(AuditEvent.after).where(AuditEvent.action == PRUNED)):
        if isinstance(after, dict) and after.get("first_kept_id") is not None:
            anchors[int(after["first_kept_id"])] = str(after.get("first_kept_prev_hash"))
    return anchors


def _canonical_time(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: dict | None) -> dict | None:
    """What the JSON column will give back (dates and decimals as strings), so the hash survives a reload."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))
