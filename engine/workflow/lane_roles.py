"""Lane roles that administrators define and map to a department, usable as lane names without code.

Code-backed lanes (registered by the domain packages, e.g. `engine/cases/lanes.py`) resolve per case; an
administrator-defined role always resolves to its one department (optionally demanding an official role). Names may not shadow a
code-backed lane. A role is never deleted, only deactivated: versions already deployed may name it, and
their tasks then fall back to the provincial DRC with a note in the case history.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.db import as_utc
from engine.errors import FormInvalid, NotFound
from engine.org.models import ROLES, Department, Official
from engine.workflow import clock
from engine.workflow.models import LaneRole
from engine.workflow.registry import LANES, require_loaded

logger = logging.getLogger(__name__)
FORBIDDEN_CHARACTERS = set("\"'<>&\\{}")


@dataclass
class LaneRoleInput:
    """What an administrator enters for a lane role."""

    name: str
    label: str
    department_code: str
    required_role: str | None = None
    is_active: bool = True


def list_roles(session: Session, active_only: bool = False) -> list[LaneRole]:
    query = select(LaneRole).order_by(LaneRole.name)
    if active_only:
        query = query.where(LaneRole.is_active.is_(True))
    return list(session.scalars(query))


def active_names(session: Session) -> set[str]:
    """Names of the administrator-defined roles that new diagrams may use as lane names."""
    return set(session.scalars(select(LaneRole.name).where(LaneRole.is_active.is_(True))))


def find_active(session: Session, name: str | None) -> LaneRole | None:
    if not name:
        return None
    return session.scalar(select(LaneRole).where(LaneRole.name == name, LaneRole.is_active.is_(True)))


def get_role(session: Session, role_id: int) -> LaneRole:
    role = session.get(LaneRole, role_id)
    if role is None:
        raise NotFound("泳道角色不存在")
    return role


def known_lanes(session: Session) -> list[dict[str, object]]:
    """Every lane name a diagram may use: code-backed resolvers first, then active administrator-defined roles."""
    require_loaded()
    lanes: list[dict[str, object]] = [
        {"name": lane.name, "label": lane.label, "kind": "builtin", "department": None} for lane in LANES.values()]
    for role in list_roles(session, active_only=True):
        lanes.append({"name": role.name, "label": role.label, "kind": "defined",
                      "department": {"code": role.department.code, "name": role.department.name},
                      "required_role": role.required_role})
    return lanes


def create_role(session: Session, data: LaneRoleInput, actor: Official, now: datetime | None = None) -> LaneRole:
    """Define a new lane role; errors per field (Chinese) as FormInvalid, nothing stored."""
    name = (data.name or "").strip()
    errors = _check_name(session, name)
    department = _check_common(session, data, errors)
    if errors:
        raise FormInvalid(errors)
    role = LaneRole(name=name, label=data.label.strip(), department_id=department.id,
                    required_role=data.required_role or None, is_active=bool(data.is_active),
                    updated_by=actor.username, updated_at=as_utc(now) or clock.now())
    session.add(role)
    session.flush()
    audit(session, "lane_role_created", actor, "lane_role", role.id, before=None, after=_snapshot(role, department))
    logger.info("%s defined lane role %s → %s", actor.username, name, department.code)
    return role


def update_role(session: Session, role_id: int, data: LaneRoleInput, actor: Official,
                now: datetime | None = None) -> LaneRole:
    """Change a role's label, department, required official role or activity; its name stays."""
    role = get_role(session, role_id)
    errors: dict[str, str] = {}
    department = _check_common(session, data, errors)
    if errors:
        raise FormInvalid(errors)
    before = _snapshot(role, role.department)
    role.label, role.department_id, role.department = data.label.strip(), department.id, department
    role.required_role, role.is_active = data.required_role or None, bool(data.is_active)
    role.updated_by, role.updated_at = actor.username, as_utc(now) or clock.now()
    session.flush()
    audit(session, "lane_role_updated", actor, "lane_role", role.id, before=before,
          after=_snapshot(role, department))
    logger.info("%s updated lane role %s → %s (active %s)", actor.username, role.name, department.code,
                role.is_active)
    return role


def _check_name(session: Session, name: str) -> dict[str, str]:
    require_loaded()
    if not name:
        return {"name": "请填写泳道名称（流程图中泳道的名称）"}
    if len(name) > 50:
        return {"name": "泳道名称不能超过 50 个字符"}
    if any(ch.isspace() for ch in name) or FORBIDDEN_CHARACTERS & set(name):
        return {"name": "泳道名称不能包含空格、引号、尖括号、& 等符号"}
    if name in LANES:
        return {"name": f"「{name}」是系统内置的泳道角色，请换一个名称"}
    if session.scalar(select(LaneRole.id).where(LaneRole.name == name)) is not None:
        return {"name": f"泳道角色「{name}」已存在"}
    return {}


def _check_common(session: Session, data: LaneRoleInput, errors: dict[str, str]) -> Department | None:
    if not (data.label or "").strip():
        errors["label"] = "请填写说明（例如：省司法厅法规审查处）"
    elif len(data.label.strip()) > 200:
        errors["label"] = "说明不能超过 200 个字符"
    if data.required_role and data.required_role not in ROLES:
        errors["required_role"] = f"岗位「{data.required_role}」不存在"
    department = session.scalar(select(Department).where(Department.code == (data.department_code or "").strip()))
    if department is None:
        errors["department_code"] = "请选择存在的部门"
    elif not department.is_active:
        errors["department_code"] = f"部门「{department.name}」已停用"
    return department


def _snapshot(role: LaneRole, department: Department) -> dict[str, object]:
    return {"name": role.name, "label": role.label, "department": department.code,
            "required_role": role.required_role, "is_active": role.is_active}
