"""Record audit events (in the caller's transaction) and search them.

The hash chains behind them are in engine/audit/chains.py: one chain per case (a few shard chains for events
of no case), sealed periodically into one global chain of Merkle roots — appends lock their own chain's head,
never the whole log. `verify`, `seal` and `prune` are re-exported here.

The log knows no other package: an actor is anything with `id`, `username` and `label` (an official), and the
names a search may filter by (a username, a department's code, a case's tracking code) are resolved by the
packages that own them, registered with `name_resolver` (engine/org/services.py, engine/cases/disclosure.py).
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, make_transient_to_detached

from engine.audit import chains
from engine.audit.chains import GENESIS, PRUNED, Verification, event_hash, prune, seal, verify
from engine.audit.models import AuditEvent
from engine.db import as_utc, utcnow

__all__ = ["GENESIS", "PRUNED", "Verification", "actions", "as_dict", "event_hash", "prune", "record", "search",
           "seal", "verify", "verify_chain"]
logger = logging.getLogger(__name__)
_request_ip: ContextVar[str | None] = ContextVar("audit_request_ip", default=None)


class Actor(Protocol):
    """Who acted, as the log records them (engine.org.models.Official)."""

    id: int
    username: str
    label: str


# filter name ("username", "department", "tracking_code") → (session, name) → what it stands for: an official's
# id (username), or SQL selecting the officials' ids (department) or the case's id (tracking_code)
_RESOLVERS: dict[str, Callable[[Session, str], Any]] = {}


def name_resolver(kind: str) -> Callable:
    """Register how a search turns a name of `kind` into ids (see _RESOLVERS)."""

    def register(fn: Callable[[Session, str], Any]) -> Callable[[Session, str], Any]:
        _RESOLVERS[kind] = fn
        return fn

    return register


def _resolve(kind: str, session: Session, name: str) -> Any:
    if kind not in _RESOLVERS:
        raise RuntimeError(f"no audit name resolver for {kind}: call engine.builtin.load_builtin() first")
    return _RESOLVERS[kind](session, name)


def set_request_ip(ip: str | None) -> object:
    """Set the client address for this context; returns a token for `reset_request_ip`."""
    return _request_ip.set(ip)


def reset_request_ip(token: object) -> None:
    _request_ip.reset(token)  # type: ignore[arg-type]


def record(
    session: Session, action: str, actor: Actor | str | None, object_type: str, object_id: object,
    before: dict | None = None, after: dict | None = None, complaint_id: int | None = None,
    ip: str | None = None, now: datetime | None = None,
) -> AuditEvent:
    """Append one event to this transaction's chain and flush (never commit): it commits or rolls back with the
    caller. Locks that chain's head row — the case's, or a shard's — until the caller ends the transaction."""
    if actor is not None and not isinstance(actor, str):
        actor_id, label = actor.id, f"{actor.username} {actor.label}"
    else:
        actor_id, label = None, actor or "系统"
    event = AuditEvent(
        at=(as_utc(now) or utcnow()).astimezone(UTC), actor_id=actor_id, actor_label=label[:300],
        ip=(ip or _request_ip.get()), action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:64], complaint_id=complaint_id,
        before=_plain(before), after=_plain(after), chain=chains.chain_for(session, complaint_id),
    )
    chains.append(session, event)
    make_transient_to_detached(event)  # inserted already: the session holds it without inserting it again
    session.add(event)
    session.flush()
    logger.info("audit #%s %s %s:%s by %s", event.id, action, object_type, event.object_id, label,
                extra={"audit_id": event.id, "audit_action": action})
    return event


def verify_chain(session: Session, batch: int = 1000) -> tuple[bool, int | None, str]:
    """(ok, id of the first broken event or None, message): `chains.verify` in short."""
    result = verify(session, batch)
    return result.ok, result.broken_id, result.message


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
        query = query.where(AuditEvent.actor_id.in_(_resolve("department", session, department)))
    if complaint_id is not None:
        query = query.where(AuditEvent.complaint_id == complaint_id)
    if tracking_code:
        query = query.where(AuditEvent.complaint_id.in_(_resolve("tracking_code", session, tracking_code)))
    if actor:
        official_id = int(actor) if re.fullmatch(r"[0-9]{1,12}", actor) else _resolve("username", session, actor)
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
        "after": event.after, "chain": event.chain, "seq": event.seq, "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def actions(session: Session) -> list[str]:
    """Every action the log holds, for a search form's choices."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def _plain(value: dict | None) -> dict | None:
    """What the JSON column will give back (dates and decimals as strings), so the hash survives a reload."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))
