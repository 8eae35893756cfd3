"""Who may see which statistics: the whole province, one prefecture, or one department; enforced here.

The provincial DRC (role `ndrc`, or the province-level credit lead department) sees all of Yunnan and may
narrow to any prefecture or department. A prefecture credit lead (role `prefecture_lead` in the prefecture's
credit lead department) sees its own prefecture only, and departments in it. Nobody else sees the dashboard.

A case belongs to the prefecture of its respondent (被投诉主体); provincial departments form the group
"省直" (code 530000); a case without a known respondent department forms the group "未指明" (code "none").
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, PermissionDenied
from engine.org import permissions
from engine.org.demo import PREFECTURES as _DEMO_PREFECTURES
from engine.org.models import Department, Official

PROVINCE_CODE = "530000"
UNKNOWN_CODE = "none"
# Yunnan's 16 prefecture-level divisions (code → name), then the two extra groups.
PREFECTURES: dict[str, str] = {code: name for code, (_slug, name) in _DEMO_PREFECTURES.items()}
GROUP_LABELS: dict[str, str] = {**PREFECTURES, PROVINCE_CODE: "省直部门", UNKNOWN_CODE: "未指明被投诉主体"}


@dataclass(frozen=True)
class Scope:
    """What a set of figures covers: all of Yunnan, one prefecture group, or one respondent department."""

    prefecture: str | None = None  # a code of GROUP_LABELS
    department_id: int | None = None
    label: str = "云南省（全省）"

    @classmethod
    def province(cls) -> Scope:
        return cls()

    @classmethod
    def of_prefecture(cls, code: str) -> Scope:
        if code not in GROUP_LABELS:
            raise NotFound(f"未知的州（市）代码：{code}")
        return cls(prefecture=code, label=GROUP_LABELS[code])

    @classmethod
    def of_department(cls, department: Department) -> Scope:
        return cls(prefecture=group_of(department), department_id=department.id, label=department.name)

    @property
    def kind(self) -> str:
        return "department" if self.department_id else "prefecture" if self.prefecture else "province"


def group_of(department: Department | None) -> str:
    """The prefecture group code of a respondent department."""
    if department is None:
        return UNKNOWN_CODE
    return department.prefecture_code or PROVINCE_CODE


def sees_province(official: Official) -> bool:
    """The provincial DRC (engine.org.permissions.sees_all_cases)."""
    return permissions.sees_all_cases(official)


def lead_prefecture(official: Official) -> str | None:
    """The prefecture a prefecture credit lead answers for, or None (engine.org.permissions.prefecture_lead_of)."""
    return permissions.prefecture_lead_of(official)


def may_see_dashboard(official: Official) -> bool:
    """`see_statistics` (engine.org.permissions); the scope then follows from sees_province / lead_prefecture."""
    return permissions.allowed(official, permissions.SEE_STATISTICS)


def resolve_scope(session: Session, official: Official, prefecture: str | None = None,
                  department_code: str | None = None) -> Scope:
    """The scope `official` asked for, or PermissionDenied; a prefecture lead's default is its prefecture."""
    if not may_see_dashboard(official):
        raise PermissionDenied("只有省发展改革委和州（市）信用牵头单位可以查看统计调度")
    own = None if sees_province(official) else lead_prefecture(official)
    if department_code:
        dept = session.scalar(select(Department).where(Department.code == department_code))
        if dept is None:
            raise NotFound(f"未找到部门：{department_code}")
        scope = Scope.of_department(dept)
    elif prefecture:
        scope = Scope.of_prefecture(prefecture)
    else:
        scope = Scope.of_prefecture(own) if own else Scope.province()
    check_scope(official, scope)
    return scope


def check_scope(official: Official, scope: Scope) -> None:
    """PermissionDenied unless `official` may see figures of `scope`."""
    if not may_see_dashboard(official):
        raise PermissionDenied("只有省发展改革委和州（市）信用牵头单位可以查看统计调度")
    if sees_province(official):
        return
    own = lead_prefecture(official)
    if own is None:
        raise PermissionDenied("只有省发展改革委和州（市）信用牵头单位可以查看统计调度")
    if scope.prefecture != own:
        raise PermissionDenied(f"州（市）信用牵头单位只能查看本州（市）（{GROUP_LABELS.get(own, own)}）的统计")
