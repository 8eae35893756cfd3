"""Organisation operations: passwords, tokens, lookups of superior departments and credit leads."""
from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from engine.audit.services import name_resolver
from engine.audit.services import record as audit
from engine.db import as_utc, utcnow
from engine.errors import NotFound
from engine.org.models import ApiToken, Department, Official

logger = logging.getLogger(__name__)
_hasher = PasswordHasher()
LAST_USE_GRANULARITY = timedelta(minutes=5)
# built once: read on every API request (with its official and department, joined)
_UNREVOKED_TOKEN = select(ApiToken).where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None))


@name_resolver("username")
def official_id(session: Session, username: str) -> int | None:
    """The id of the official with this username (an audit search's `actor`), or None."""
    return session.scalar(select(Official.id).where(Official.username == username))


@name_resolver("department")
def official_ids_of(_session: Session, code: str) -> Select:
    """SQL selecting the ids of the officials of the department with this code (an audit search's `department`)."""
    return select(Official.id).join(Department, Official.department_id == Department.id).where(Department.code == code)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, username: str, password: str) -> Official | None:
    """The active official with this username and password, or None."""
    official = session.scalar(select(Official).where(Official.username == username))
    if official is None or not official.is_active:
        return None
    try:
        _hasher.verify(official.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return official


def create_token(session: Session, official: Official, label: str = "") -> str:
    """Create an API token; returns the plain token, which is shown once and never stored."""
    plain = "lvy_" + secrets.token_urlsafe(32)
    token = ApiToken(official_id=official.id, token_hash=_digest(plain), label=label)
    session.add(token)
    session.flush()
    audit(session, "token_created", official, "api_token", token.id, after={"label": label})
    logger.info("api token created for %s", official.username)
    return plain


def official_for_token(session: Session, plain: str) -> Official | None:
    """The active official owning this unrevoked token; records its last use."""
    token = session.scalar(_UNREVOKED_TOKEN, {"digest": _digest(plain)})
    if token is None or not token.official.is_active:
        return None
    now = utcnow()
    last = as_utc(token.last_used_at)
    if last is None or now - last > LAST_USE_GRANULARITY:  # not a write on every request
        token.last_used_at = now
    return token.official


def get_department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(f"未找到部门：{code}")
    return dept


def department_name(session: Session, code: str | None, *known: Department | None) -> str | None:
    """The name of department `code`: from `known` (departments the caller holds) when one of them, else read."""
    if not code:
        return None
    for department in known:
        if department is not None and department.code == code:
            return department.name
    return session.scalar(select(Department.name).where(Department.code == code))


def active_departments(session: Session) -> list[Department]:
    """Departments in use, province first (level descending), then by code."""
    return list(session.scalars(select(Department).where(Department.is_active.is_(True))
                                .order_by(Department.level.desc(), Department.code)))


def department_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Department id → code for `ids` (unknown ids are left out)."""
    wanted = list(ids)
    if not wanted:
        return {}
    return dict(session.execute(select(Department.id, Department.code).where(Department.id.in_(wanted))).all())


def provincial_credit_office(session: Session) -> Department:
    """The provincial DRC credit office (ndrc): the province-level credit lead."""
    dept = session.scalar(
        select(Department).where(Department.level == "province", Department.is_credit_lead.is_(True))
    )
    if dept is None:
        raise NotFound("组织数据中没有省发展改革委信用牵头部门")
    return dept


def prefecture_credit_lead(session: Session, prefecture_code: str | None) -> Department | None:
    """The credit lead of a prefecture, or None when the prefecture has none on record."""
    if not prefecture_code:
        return None
    return session.scalar(
        select(Department).where(
            Department.level == "prefecture",
            Department.prefecture_code == prefecture_code,
            Department.is_credit_lead.is_(True),
        )
    )


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()
