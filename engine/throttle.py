"""Failure throttling by key: an increasing delay after a few failures, then a temporary lock that ends by itself.

Used for password sign-in (key `login:<username>`, for existing and unknown usernames alike, so the answers do not
tell which usernames exist) and for following a complaint with its tracking code (key `track:<code>`, whatever
address the guesses come from). The rows live in the database, so every worker process sees the same counts.

Functions flush, the caller commits (also after a refusal, so the count is kept).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, as_utc

FORGET_AFTER = timedelta(hours=24)  # failures older than this (since the last one) start again from zero


class Throttle(Base):
    """Consecutive failures for one key and, while it lasts, the moment until which attempts are refused."""

    __tablename__ = "throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # set while a lock (not a delay) runs


@dataclass(frozen=True)
class Policy:
    """`free` failures pass; each further one blocks for `delay_seconds`, doubling up to `max_delay_seconds`;
    the `lock_after`-th locks for `lock_minutes`."""

    free: int
    lock_after: int
    lock_minutes: int
    delay_seconds: int = 0
    max_delay_seconds: int = 60

    def block_after(self, failures: int) -> tuple[timedelta | None, bool]:
        """How long the `failures`-th consecutive failure blocks, and whether that is a lock."""
        if failures >= self.lock_after:
            return timedelta(minutes=self.lock_minutes), True
        if failures > self.free and self.delay_seconds:
            seconds = min(self.delay_seconds * 2 ** (failures - self.free - 1), self.max_delay_seconds)
            return timedelta(seconds=seconds), False
        return None, False


@dataclass(frozen=True)
class Block:
    """Attempts for a key are refused until `until`; `locked`: a lock (not just a delay); `new`: it began now."""

    until: datetime
    locked: bool
    failures: int
    new: bool = False

    def seconds_left(self, now: datetime) -> int:
        return max(int((self.until - now).total_seconds() + 0.999), 1)


def blocked(session: Session, key: str, now: datetime) -> Block | None:
    """The running delay or lock of `key`, if any."""
    row = session.get(Throttle, key)
    if row is None or row.blocked_until is None or as_utc(row.blocked_until) <= now:
        return None
    return Block(as_utc(row.blocked_until), row.locked_at is not None, row.failures)


def failed(session: Session, key: str, now: datetime, policy: Policy) -> Block | None:
    """Count one failure; the delay or lock it starts, if any. Counting is one UPDATE, so simultaneous failures
    all count."""
    row = session.get(Throttle, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(Throttle(key=key, failures=0, last_failure_at=now))
        except IntegrityError:  # another request created it first
            pass
        row = session.get(Throttle, key)
    if as_utc(row.last_failure_at) < now - FORGET_AFTER or (
            row.locked_at is not None and row.blocked_until is not None and as_utc(row.blocked_until) <= now):
        row.failures, row.locked_at, row.blocked_until = 0, None, None  # forgotten, or the lock has run out
        session.flush()
    session.execute(update(Throttle).where(Throttle.key == key)
                    .values(failures=Throttle.failures + 1, last_failure_at=now))
    session.refresh(row)
    length, lock = policy.block_after(row.failures)
    if length is None:
        return None
    row.blocked_until = now + length
    row.locked_at = now if lock else None
    session.flush()
    return Block(row.blocked_until, lock, row.failures, new=True)


def succeeded(session: Session, key: str) -> None:
    """A success forgets the failures of `key`."""
    row = session.get(Throttle, key)
    if row is not None:
        session.delete(row)
        session.flush()


def clear(session: Session, key: str) -> Throttle | None:
    """End a delay or lock at once (an administrator's unlock); the row as it was, or None."""
    row = session.get(Throttle, key)
    if row is not None:
        session.delete(row)
        session.flush()
    return row


def locks(session: Session, prefix: str, now: datetime) -> dict[str, Block]:
    """Running locks (not delays) of the keys starting with `prefix`, by the rest of the key."""
    rows = session.scalars(select(Throttle).where(Throttle.key.startswith(prefix, autoescape=True),
                                                  Throttle.locked_at.is_not(None), Throttle.blocked_until > now))
    return {row.key.removeprefix(prefix): Block(as_utc(row.blocked_until), True, row.failures) for row in rows}
