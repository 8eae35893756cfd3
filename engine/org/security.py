"""Account security: sign-in with lockout, the password policy, unlocking, listing and revoking tokens.

Every operation here flushes and records an audit event; the caller commits (also after a failed sign-in,
so the failure count and its audit event are kept).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.services import record
from engine.db import utcnow
from engine.errors import FormInvalid, NotFound
from engine.org.models import ApiToken, Official
from engine.org.services import hash_password

logger = logging.getLogger(__name__)
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("lvyue-timing-equaliser-0")
MIN_PASSWORD_LENGTH = 10
POLICY_TEXT = f"至少 {MIN_PASSWORD_LENGTH} 个字符，同时包含字母和数字，不能包含用户名"
BAD_CREDENTIALS = "用户名或密码不正确"


@dataclass
class SignIn:
    """The outcome of a sign-in attempt: the official, or a message for the sign-in page."""

    official: Official | None
    message: str | None = None
    locked: bool = False


def sign_in(session: Session, username: str, password: str, max_failures: int = 5) -> SignIn:
    """Check a password; count failures and lock the account at `max_failures`. Audits every attempt."""
    official = session.scalar(select(Official).where(Official.username == username))
    if official is None or not official.is_active:
        _verify(_DUMMY_HASH, password)  # same cost as a real check: no user enumeration by timing
        record(session, "login_failed", username[:64], "official", username[:64], after={"reason": "unknown_or_inactive"})
        return SignIn(None, BAD_CREDENTIALS)
    if official.locked_at is not None:
        record(session, "login_refused_locked", official, "official", official.id)
        return SignIn(None, locked_message(max_failures), locked=True)
    if not _verify(official.password_hash, password):
        before = {"failed_logins": official.failed_logins or 0}
        official.failed_logins = (official.failed_logins or 0) + 1
        locked = official.failed_logins >= max_failures
        if locked:
            official.locked_at = utcnow()
        record(session, "account_locked" if locked else "login_failed", official, "official", official.id,
               before=before, after={"failed_logins": official.failed_logins, "reason": "bad_password"})
        if locked:
            logger.warning("account %s locked after %s failed sign-ins", official.username, official.failed_logins)
            return SignIn(None, locked_message(max_failures), locked=True)
        left = max_failures - official.failed_logins
        return SignIn(None, f"{BAD_CREDENTIALS}。再失败 {left} 次账户将被锁定。" if left <= 2 else BAD_CREDENTIALS)
    if official.failed_logins:
        official.failed_logins = 0
    if _hasher.check_needs_rehash(official.password_hash):  # stronger parameters since it was set
        official.password_hash = hash_password(password)
        logger.info("password hash of %s renewed with the current argon2 parameters", official.username)
    record(session, "login", official, "official", official.id)
    return SignIn(official)


def locked_message(max_failures: int) -> str:
    return f"该账户因连续 {max_failures} 次登录失败已被锁定。请联系系统管理员解锁。"


def unlock(session: Session, username: str, actor: Official | str) -> Official:
    official = _official(session, username)
    before = {"failed_logins": official.failed_logins, "locked_at": official.locked_at}
    official.failed_logins, official.locked_at = 0, None
    record(session, "account_unlocked", actor, "official", official.id, before=before, after={"failed_logins": 0})
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
    official.failed_logins, official.locked_at = 0, None
    official.session_generation = (official.session_generation or 0) + 1  # the old password's sessions end
    record(session, "password_set", actor, "official", official.id, after={"sessions_ended": True})
    return official


def sign_out_everywhere(session: Session, username: str, actor: Official | str) -> Official:
    """End every browser session of the official: each request compares its session's generation with this one.
    API tokens are separate (revoke them one by one)."""
    official = _official(session, username)
    before = official.session_generation or 0
    official.session_generation = before + 1
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
