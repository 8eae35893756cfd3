"""Officials' browser sessions as the server knows them (`official_session`): started at sign-in, checked on every
request against an idle and an absolute lifetime, ended by signing out (one, the others, or all).

The session data itself lives in Flask-Session's store (web/sessions.py: the database or Redis); this record is
what makes a copied or replayed cookie useless once the session has ended. Functions flush, the caller commits.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.audit.services import record
from engine.db import as_utc
from engine.errors import NotFound
from engine.org.models import Official, OfficialSession

TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often
REASONS = {"logout": "已退出", "idle": "长时间未操作", "absolute": "超过最长登录时间", "ended_by_self": "本人结束",
           "signed_out_everywhere": "在所有设备上退出", "password_set": "设置了新密码", "deactivated": "账户停用"}


def start(session: Session, official: Official, now: datetime, ip: str | None, user_agent: str | None) -> OfficialSession:
    """Record a new sign-in; its random key goes into the session data."""
    row = OfficialSession(key=secrets.token_urlsafe(32), official_id=official.id, created_at=now, last_seen_at=now,
                          ip=(ip or "")[:45] or None, user_agent=(user_agent or "")[:200] or None)
    session.add(row)
    session.flush()
    return row


def check(session: Session, key: str | None, official_id: int, now: datetime, idle: timedelta,
          absolute: timedelta) -> OfficialSession | None:
    """The live session `key` of the official, its last use noted; None if it ended, sat idle longer than
    `idle` or began longer ago than `absolute` (such a session is ended now)."""
    if not key:
        return None
    row = session.scalar(select(OfficialSession).where(OfficialSession.key == key))
    if row is None or row.official_id != official_id or row.ended_at is not None:
        return None
    if as_utc(row.created_at) + absolute <= now:
        _end(row, now, "absolute")
        return None
    if as_utc(row.last_seen_at) + idle <= now:
        _end(row, now, "idle")
        return None
    if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end(session: Session, key: str | None, now: datetime, reason: str = "logout") -> None:
    """End the session `key` (signing out)."""
    if key:
        session.execute(update(OfficialSession).where(OfficialSession.key == key, OfficialSession.ended_at.is_(None))
                        .values(ended_at=now, ended_reason=reason))


def end_all(session: Session, official: Official, now: datetime, reason: str, keep: str | None = None) -> int:
    """End every live session of the official (except `keep`); how many."""
    query = update(OfficialSession).where(OfficialSession.official_id == official.id,
                                          OfficialSession.ended_at.is_(None))
    if keep:
        query = query.where(OfficialSession.key != keep)
    return session.execute(query.values(ended_at=now, ended_reason=reason)).rowcount or 0


def end_one_of(session: Session, official: Official, session_id: int, now: datetime) -> OfficialSession:
    """The official ends one of their own sessions (from the profile page); audited."""
    row = session.get(OfficialSession, session_id)
    if row is None or row.official_id != official.id:
        raise NotFound("没有这个会话")
    if row.ended_at is None:
        _end(row, now, "ended_by_self")
        record(session, "session_ended", official, "official", official.id,
               after={"session": row.id, "ip": row.ip, "reason": "ended_by_self"}, now=now)
    return row


def end_others(session: Session, official: Official, keep: str | None, now: datetime) -> int:
    """The official ends every session but the current one; audited with the count."""
    count = end_all(session, official, now, "ended_by_self", keep=keep)
    record(session, "session_ended", official, "official", official.id,
           after={"sessions": count, "reason": "ended_by_self", "kept_current": True}, now=now)
    return count


def active(session: Session, official: Official, now: datetime, idle: timedelta,
           absolute: timedelta) -> Sequence[OfficialSession]:
    """The official's live sessions, newest use first."""
    rows = session.scalars(select(OfficialSession).where(OfficialSession.official_id == official.id,
                                                         OfficialSession.ended_at.is_(None))
                           .order_by(OfficialSession.last_seen_at.desc(), OfficialSession.id.desc()))
    return [r for r in rows if as_utc(r.last_seen_at) + idle > now and as_utc(r.created_at) + absolute > now]


def _end(row: OfficialSession, now: datetime, reason: str) -> None:
    row.ended_at, row.ended_reason = now, reason
