"""Who may work on or give back a task (registered with engine/org/permissions.py: `rule`), and the claimed
tasks an official hands back when moved or deactivated (registered with engine/org/admin.py: `holding`)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.org import admin, permissions
from engine.org.models import Official
from engine.workflow.instances import release_claims
from engine.workflow.models import HumanTask


@permissions.rule(permissions.WORK_TASK)
def work_task(official: Official, human: HumanTask | None) -> bool:
    """Its department, and its role when the lane demands one."""
    return human is None or (human.department_id == official.department_id
                             and (human.role is None or official.has_role(human.role)))


@permissions.rule(permissions.UNCLAIM_TASK)
def _unclaim(official: Official, human: HumanTask | None) -> bool:
    if human is None:
        return True
    return work_task(official, human) and (
        human.claimed_by_id in (official.id, None) or permissions.UNCLAIM_FOR_OTHERS in permissions.granted(official))


def claimed_count(session: Session, official: Official) -> int:
    """How many open tasks `official` has claimed."""
    return session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.claimed_by_id == official.id, HumanTask.completed_at.is_(None))) or 0


def _hand_back(session: Session, official: Official, actor: Official | str, reason: str) -> list[int]:
    return [human.id for human in release_claims(session, official, actor, reason)]


admin.holding(claimed_count, _hand_back)
