"""Administering the organisation: departments and officials — create, change, move, deactivate, reactivate.

Every operation requires `administer_org`, flushes, and records an audit event with the values before and
after (never a password); the caller commits. Nothing is deleted: a deactivated official keeps their history,
cannot sign in, loses their API tokens, and their claimed tasks go back to their department's inbox.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.db import utcnow
from engine.errors import ConflictError, FormInvalid, NotFound
from engine.org import permissions, sessions
from engine.org.models import LEVELS, ROLES, ApiToken, Department, Official
from engine.org.security import password_problems
from engine.org.services import hash_password
from engine.paging import Total, capped_count
from engine.uscc import uscc_problem

logger = logging.getLogger(__name__)
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
DIVISION = re.compile(r"^\d{6}$")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
USCC_REQUIRED = ("请填写统一社会信用代码（机关以 11 开头，事业单位以 12 开头）：被投诉主体和认定部门的代码随违约失信记录"
                 "报送信用平台")
DEPARTMENT_FIELDS = ("name", "level", "division_code", "prefecture_code", "superior", "uscc", "is_credit_lead",
                     "is_active")


@dataclass(frozen=True)
class Holding:
    """Something another package keeps in an official's hands (the workflow: claimed tasks, engine/workflow/access.py)
    that goes back when they are moved or deactivated: how many they hold, and hand them back (returns their ids)."""

    count: Callable[[Session, Official], int]
    release: Callable[[Session, Official, Official | str, str], list[int]]


HOLDINGS: list[Holding] = []


def holding(count: Callable[[Session, Official], int],
            release: Callable[[Session, Official, Official | str, str], list[int]]) -> None:
    """Register what an official holds and how it goes back (see Holding)."""
    HOLDINGS.append(Holding(count, release))


def _release_holdings(session: Session, official: Official, actor: Official | str, reason: str) -> list[int]:
    return [key for held in HOLDINGS for key in held.release(session, official, actor, reason)]


def _require_administrator(actor: Official | str) -> None:
    """A system administrator — or the operator at the command line (a string naming them: they hold the server)."""
    if not isinstance(actor, str):
        permissions.require(actor, permissions.ADMINISTER_ORG)


def _name(actor: Official | str) -> str:
    return actor if isinstance(actor, str) else actor.username


def _is(official: Official, actor: Official | str) -> bool:
    return not isinstance(actor, str) and official.id == actor.id


# --- departments ------------------------------------------------------------------------------------------

def list_departments(session: Session, q: str | None = None, active: bool | None = None, limit: int = 50,
                     offset: int = 0) -> tuple[list[Department], Total]:
    """Departments by code, filtered by name/code and state; with the total."""
    query = select(Department)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Department.name.like(like), Department.code.like(like)))
    if active is not None:
        query = query.where(Department.is_active.is_(active))
    total = capped_count(session, query, offset)
    return list(session.scalars(query.order_by(Department.code).limit(limit).offset(offset))), total


def create_department(session: Session, actor: Official | str, code: str, **data: Any) -> Department:
    """A new department; `data` as DEPARTMENT_FIELDS (superior: a department code)."""
    _require_administrator(actor)
    code = (code or "").strip()
    errors = {} if CODE.match(code) else {"code": "代码为 2–64 位小写字母、数字或连字符，例如 km-commerce"}
    if not errors and session.scalar(select(Department.id).where(Department.code == code)) is not None:
        errors["code"] = f"代码 {code} 已被使用"
    dept = Department(code=code, is_active=True, is_credit_lead=False)
    _apply(session, dept, data, errors)
    session.add(dept)
    session.flush()
    audit(session, "department_created", actor, "department", dept.code, after=_department_state(dept))
    logger.info("%s created department %s", _name(actor), dept.code)
    return dept


def update_department(session: Session, actor: Official | str, code: str, **data: Any) -> Department:
    _require_administrator(actor)
    dept = get_department(session, code)
    before = _department_state(dept)
    _apply(session, dept, data, {})
    session.flush()
    after = _department_state(dept)
    if after != before:
        audit(session, "department_updated", actor, "department", dept.code, before=before, after=after)
    return dept


def get_department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(f"未找到部门：{code}")
    return dept


def _apply(session: Session, dept: Department, data: dict[str, Any], errors: dict[str, str]) -> None:
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 200:
        errors["name"] = "请填写部门名称（不超过 200 字）"
    if data.get("level") not in LEVELS:
        errors["level"] = "请选择层级：省级、州（市）级或县（市、区）级"
    division = str(data.get("division_code") or "").strip()
    if not DIVISION.match(division):
        errors["division_code"] = "行政区划代码为 6 位数字，例如 530111"
    prefecture = str(data.get("prefecture_code") or "").strip() or None
    if prefecture and not DIVISION.match(prefecture):
        errors["prefecture_code"] = "所属州（市）代码为 6 位数字，例如 530100；省级部门留空"
    uscc = str(data.get("uscc") or "").strip().upper() or None
    if uscc is None:  # any department may be complained about or determine a breach; the platforms need its code
        errors["uscc"] = USCC_REQUIRED
    elif problem := uscc_problem(uscc):
        errors["uscc"] = problem
    elif uscc and session.scalar(select(Department.id).where(Department.uscc == uscc, Department.id != dept.id)):
        errors["uscc"] = "该统一社会信用代码已属于另一个部门"
    superior = None
    if data.get("superior"):
        superior = session.scalar(select(Department).where(Department.code == str(data["superior"]).strip()))
        if superior is None:
            errors["superior"] = "组织数据中没有该上级部门或主管部门"
        elif dept.id is not None and (superior.id == dept.id or _is_below(superior, dept)):
            errors["superior"] = "上级部门不能是本部门或其下级部门"
    if errors:
        raise FormInvalid(errors)
    dept.name, dept.level, dept.division_code, dept.prefecture_code = name, data["level"], division, prefecture
    dept.uscc, dept.superior = uscc, superior
    dept.is_credit_lead = bool(data.get("is_credit_lead"))
    dept.is_active = bool(data.get("is_active", True))


def _is_below(candidate: Department, dept: Department) -> bool:
    """Whether `candidate` lies under `dept` in the superior chain (a loop would follow)."""
    seen: set[int] = set()
    node: Department | None = candidate
    while node is not None and node.id not in seen:
        if node.superior_id == dept.id:
            return True
        seen.add(node.id)
        node = node.superior
    return False


def _department_state(dept: Department) -> dict[str, Any]:
    return {"code": dept.code, "name": dept.name, "level": dept.level, "division_code": dept.division_code,
            "prefecture_code": dept.prefecture_code, "superior": dept.superior.code if dept.superior else None,
            "uscc": dept.uscc, "is_credit_lead": dept.is_credit_lead, "is_active": dept.is_active}


# --- officials --------------------------------------------------------------------------------------------

def list_officials(session: Session, q: str | None = None, department: str | None = None,
                   active: bool | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Official], Total]:
    """Officials by username, filtered by name/username, department code and state; with the total."""
    query = select(Official)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Official.username.like(like), Official.full_name.like(like)))
    if department:
        query = query.where(Official.department.has(Department.code == department))
    if active is not None:
        query = query.where(Official.is_active.is_(active))
    total = capped_count(session, query, offset)
    return list(session.scalars(query.order_by(Official.username).limit(limit).offset(offset))), total


def open_claims(session: Session, official: Official) -> int:
    """How many open tasks `official` has claimed (what deactivating or moving them hands back)."""
    return sum(held.count(session, official) for held in HOLDINGS)


def get_official(session: Session, username: str) -> Official:
    official = session.scalar(select(Official).where(Official.username == username))
    if official is None:
        raise NotFound(f"没有用户 {username}")
    return official


def create_official(session: Session, actor: Official | str, username: str, full_name: str, email: str | None,
                    department: str, roles: list[str], password: str) -> Official:
    """A new official with an initial password that satisfies the policy (they can change it later)."""
    _require_administrator(actor)
    username = (username or "").strip()
    errors: dict[str, str] = {}
    if not USERNAME.match(username):
        errors["username"] = "用户名为 2–64 位字母、数字、点、下划线或连字符"
    elif session.scalar(select(Official.id).where(Official.username == username)) is not None:
        errors["username"] = f"用户名 {username} 已被使用"
    problems = password_problems(password, username)
    if problems:
        errors["password"] = "；".join(problems)
    official = Official(username=username, is_active=True)
    _apply_person(session, official, full_name, email, roles, errors, department=department)
    official.password_hash = hash_password(password)
    session.add(official)
    session.flush()
    audit(session, "official_created", actor, "official", official.id, after=_official_state(official))
    logger.info("%s created official %s", _name(actor), official.username)
    return official


def update_official(session: Session, actor: Official | str, username: str, full_name: str, email: str | None,
                    roles: list[str]) -> Official:
    """Name, e-mail and roles; an administrator's own roles only another administrator may change."""
    _require_administrator(actor)
    official = get_official(session, username)
    before = _official_state(official)
    if _is(official, actor) and set(roles) != set(official.roles or []):  # e.g. granting oneself `ndrc`
        raise FormInvalid({"roles": "不能更改自己的角色（请由另一位系统管理员操作）"})
    _apply_person(session, official, full_name, email, roles, {})
    session.flush()
    if _official_state(official) != before:
        audit(session, "official_updated", actor, "official", official.id, before=before,
              after=_official_state(official))
    return official


def move_official(session: Session, actor: Official | str, username: str, department: str) -> Official:
    """Move to another department; tasks they had claimed stay with the old department's inbox."""
    _require_administrator(actor)
    official = get_official(session, username)
    if _is(official, actor):  # a department's cases and lanes come with it
        raise ConflictError("不能调动自己的部门（请由另一位系统管理员操作）")
    target = session.scalar(select(Department).where(Department.code == department, Department.is_active.is_(True)))
    if target is None:
        raise FormInvalid({"department": "请选择一个在用的部门"})
    if target.id == official.department_id:
        return official
    before = _official_state(official)
    returned = _release_holdings(session, official, actor, "调动到其他部门")
    official.department = target
    session.flush()
    audit(session, "official_moved", actor, "official", official.id, before=before,
          after={**_official_state(official), "claims_returned": len(returned)})
    return official


def deactivate_official(session: Session, actor: Official | str, username: str, reason: str = "") -> Official:
    """No more sign-in (sessions end at their next request), tokens revoked, claimed tasks back to the inbox."""
    _require_administrator(actor)
    official = get_official(session, username)
    if _is(official, actor):
        raise ConflictError("不能停用自己的账户")
    if not official.is_active:
        return official
    before = _official_state(official)
    returned = _release_holdings(session, official, actor, "账户停用")
    now = utcnow()
    tokens = list(session.scalars(select(ApiToken).where(ApiToken.official_id == official.id,
                                                         ApiToken.revoked_at.is_(None))))
    for token in tokens:
        token.revoked_at = now
    official.is_active = False
    official.session_generation = (official.session_generation or 0) + 1  # reactivating revives no old session
    sessions.end_all(session, official, now, "deactivated")
    session.flush()
    audit(session, "official_deactivated", actor, "official", official.id, before=before, after={
        **_official_state(official), "reason": reason.strip()[:500], "claims_returned": returned,
        "tokens_revoked": [t.id for t in tokens]})
    logger.info("%s deactivated %s (%d claims returned, %d tokens revoked)", _name(actor), official.username,
                len(returned), len(tokens))
    return official


def reactivate_official(session: Session, actor: Official | str, username: str) -> Official:
    """Sign-in again (revoked tokens stay revoked)."""
    _require_administrator(actor)
    official = get_official(session, username)
    if official.is_active:
        return official
    if not official.department.is_active:
        raise ConflictError("该用户所在部门已停用，请先将其调动到在用的部门")
    before = _official_state(official)
    official.is_active = True
    session.flush()
    audit(session, "official_reactivated", actor, "official", official.id, before=before,
          after=_official_state(official))
    return official


def _apply_person(session: Session, official: Official, full_name: str, email: str | None, roles: list[str],
                  errors: dict[str, str], department: str | None = None) -> None:
    full_name = (full_name or "").strip()
    if not full_name or len(full_name) > 100:
        errors["full_name"] = "请填写姓名（不超过 100 字）"
    email = (email or "").strip() or None
    if email and (len(email) > 200 or not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email)):
        errors["email"] = "电子邮箱格式不正确"
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        errors["roles"] = "请至少选择一个角色" if not roles else f"未知角色：{'、'.join(unknown)}"
    target = None
    if department is not None:
        target = session.scalar(select(Department).where(Department.code == department,
                                                         Department.is_active.is_(True)))
        if target is None:
            errors["department"] = "请选择一个在用的部门"
    if errors:
        raise FormInvalid(errors)
    official.full_name, official.email = full_name, email
    official.roles = [r for r in ROLES if r in roles]  # the catalogue's order
    if target is not None:
        official.department = target


def _official_state(official: Official) -> dict[str, Any]:
    return {"username": official.username, "full_name": official.full_name, "email": official.email,
            "department": official.department.code if official.department else None,
            "roles": list(official.roles or []), "is_active": official.is_active}
