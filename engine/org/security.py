"""Account security: sign-in with throttling and a temporary lock, the password policy, unlocking, listing and revoking tokens.

Every operation here flushes and records an audit event; the caller commits (also after a failed sign-in,
so the failure count and its audit event are kept).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import throttle
from engine.audit.services import record
from engine.db import as_utc, utcnow
from engine.errors import FormInvalid, NotFound
from engine.org import sessions
from engine.org.models import ApiToken, Official
from engine.org.services import hash_password

logger = logging.getLogger(__name__)
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("lvyue-timing-equaliser-0")
MIN_PASSWORD_LENGTH = 10
POLICY_TEXT = f"至少 {MIN_PASSWORD_LENGTH} 个字符，同时包含字母和数字，不能包含用户名"
BAD_CREDENTIALS = "用户名或密码不正确"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class SignIn:
    """The outcome of a sign-in attempt: the official, or a message for the sign-in page."""

    official: Official | None
    message: str | None = None
    locked: bool = False


LOGIN_POLICY = throttle.Policy(free=3, delay_seconds=2, max_delay_seconds=60, lock_after=10, lock_minutes=15)


def login_key(username: str) -> str:
    return "login:" + (username or "").strip().lower()[:64]


def sign_in(session: Session, username: str, password: str, policy: throttle.Policy = LOGIN_POLICY,
            now: datetime | None = None) -> SignIn:
    """Check a password, throttled per username (known or not, so the answers do not tell which exist): after
    `policy.free` consecutive failures each one makes the next attempt wait (2 s, doubling), the
    `policy.lock_after`-th locks the username for `policy.lock_minutes`; both end by themselves. Audits every
    attempt and every lock."""
    now = now or utcnow()
    key = login_key(username)
    official = session.scalar(select(Official).where(Official.username == username))
    actor: Official | str = official if official is not None else username[:64]
    target = official.id if official is not None else username[:64]
    block = throttle.blocked(session, key, now)
    if block is not None:
        record(session, "login_refused_locked" if block.locked else "login_throttled", actor, "official", target,
               after={"until": block.until.isoformat(), "failures": block.failures}, now=now)
        return SignIn(None, blocked_message(block, now), locked=block.locked)
    if official is None or not official.is_active:
        _verify(_DUMMY_HASH, password)  # same cost as a real check: no user enumeration by timing
        reason = "unknown_or_inactive"
    elif _verify(official.password_hash, password):
        throttle.succeeded(session, key)
        if _hasher.check_needs_rehash(official.password_hash):  # stronger parameters since it was set
            official.password_hash = hash_password(password)
            logger.info("password hash of %s renewed with the current argon2 parameters", official.username)
        record(session, "login", official, "official", official.id, now=now)
        return SignIn(official)
    else:
        reason = "bad_password"
    block = throttle.failed(session, key, now, policy)
    record(session, "login_failed", actor, "official", target, after={"reason": reason}, now=now)
    if block is None:
        return SignIn(None, BAD_CREDENTIALS)
    if block.locked:
        record(session, "account_locked", actor, "official", target,
               after={"until": block.until.isoformat(), "failures": block.failures, "minutes": policy.lock_minutes},
               now=now)
        logger.warning("sign-in for %r locked until %s after %s failures", username[:64], block.until, block.failures)
    return SignIn(None, f"{BAD_CREDENTIALS}。{blocked_message(block, now)}", locked=block.locked)


def blocked_message(block: throttle.Block, now: datetime) -> str:
    """What the sign-in page says while a delay or lock runs (the same for every username)."""
    if not block.locked:
        return f"登录尝试过于频繁，请 {block.seconds_left(now)} 秒后再试。"
    minutes = max((block.seconds_left(now) + 59) // 60, 1)
    until = block.until.astimezone(SHANGHAI).strftime("%H:%M")
    return (f"连续登录失败次数过多，该账户已暂时锁定，将于 {until}（约 {minutes} 分钟后）自动解锁；"
            "如需立即解锁，请联系系统管理员。")


def lock_of(session: Session, username: str, now: datetime | None = None) -> throttle.Block | None:
    """The running delay or lock of a username's password sign-in (for the administrator's pages)."""
    return throttle.blocked(session, login_key(username), now or utcnow())


def with_locks(session: Session, officials: Iterable[Official], now: datetime | None = None) -> list[Official]:
    """The officials with `lock` set to their running sign-in lock (or None), for lists and the users API."""
    running = throttle.locks(session, "login:", now or utcnow())
    rows = list(officials)
    for official in rows:
        official.lock = running.get(official.username.lower())
    return rows


def unlock(session: Session, username: str, actor: Official | str) -> Official:
    """End a sign-in delay or lock at once (administrator's page, `flask accounts unlock`)."""
    official = _official(session, username)
    row = throttle.clear(session, login_key(username))
    before = ({"failures": row.failures, "until": as_utc(row.blocked_until).isoformat() if row.blocked_until else None}
              if row is not None else {"failures": 0})
    record(session, "account_unlocked", actor, "official", official.id, before=before, after={"failures": 0})
    return official


def password_problems(password: str, username: str | None = None) -> list[str]:
    """What keeps `password` from the policy: ≥10 characters with both letters and digits, not containing the
    username (empty: fine)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符")
    if not re.search(r"[A-Za-z]", password):
        problems.append("密码须包含字母")
    if not re.search(r"\d", password):
        problems.append("密码须包含数字")
    if username and len(username) >= 3 and username.lower() in password.lower():
        problems.append("密码不能包含用户名")
    return problems


def set_password(session: Session, username: str, password: str, actor: Official | str) -> Official:
    """Set a password that satisfies the policy; also clears a lockout."""
    problems = password_problems(password, username)
    if problems:
        raise FormInvalid({"password": "；".join(problems)}, "密码不符合要求：" + "；".join(problems))
    official = _official(session, username)
    official.password_hash = hash_password(password)
    throttle.clear(session, login_key(username))
    official.session_generation = (official.session_generation or 0) + 1  # the old password's sessions end
    sessions.end_all(session, official, utcnow(), "password_set")
    record(session, "password_set", actor, "official", official.id, after={"sessions_ended": True})
    return official


def sign_out_everywhere(session: Session, username: str, actor: Official | str) -> Official:
    """End every browser session of the official: each request compares its session's generation with this one.
    API tokens are separate (revoke them one by one)."""
    official = _official(session, username)
    before = official.session_generation or 0
    official.session_generation = before + 1
    sessions.end_all(session, official, utcnow(), "signed_out_everywhere")
    record(session, "signed_out_everywhere", actor, "official", official.id,
           before={"session_generation": before}, after={"session_generation": before + 1})
    logger.info("all sessions of %s ended by %s", official.username, getattr(actor, "username", actor))
    return official


def tokens_of(session: Session, username: str) -> list[ApiToken]:
    official = _official(session, username)
    return list(session.scalars(select(ApiToken).where(ApiToken.official_id == official.id).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int, actor: Official | str) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"没有编号为 {token_id} 的令牌")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, "token_revoked", actor, "api_token", token.id,
               after={"official": token.official.username, "label": token.label})
    return token


def _official(session: Session, username: str) -> Official:
    official = session.scalar(select(Official).where(Official.username == username))
    if official is None:
        raise NotFound(f"没有用户 {username}")
    return official


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
