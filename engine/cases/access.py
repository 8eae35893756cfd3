"""Who may see and steer a case (registered with engine/org/permissions.py: `rule`), and `case_filter`, the SQL
twin of `view_case` that lists use."""
from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.orm import object_session

from engine.cases.models import Complaint
from engine.org import permissions
from engine.org.models import Department, Official
from engine.workflow.access import work_task
from engine.workflow.models import HumanTask

CLOSED_STATUSES = frozenset({"closed", "merged"})  # no more evidence is added to these


@permissions.rule(permissions.VIEW_CASE)
def view_case(official: Official, complaint: Complaint | None) -> bool:
    """The provincial DRC sees all; a prefecture lead its prefecture; others where their department
    registered the case or holds or held one of its tasks."""
    if complaint is None or permissions.sees_all_cases(official):
        return True
    dept = official.department
    if complaint.intake_department_id == dept.id:
        return True
    if (dept.is_credit_lead and dept.prefecture_code and complaint.respondent is not None
            and complaint.respondent.prefecture_code == dept.prefecture_code):
        return True
    return _took_part(official, complaint)


def _took_part(official: Official, complaint: Complaint) -> bool:
    session = object_session(complaint)
    return session is not None and bool(session.scalar(select(exists().where(
        HumanTask.subject_id == complaint.id, HumanTask.department_id == official.department_id))))


@permissions.rule(permissions.VIEW_CONTACT_DATA)
@permissions.rule(permissions.VIEW_EVIDENCE)
def _view_contact(official: Official, complaint: Complaint | None) -> bool:
    """Contact data and evidence files: the provincial DRC and intake officials, and the handling departments of
    the case (its determining department, or one that holds or held a task) — never the respondent, never from
    the mere prefecture overview, never administrators."""
    if complaint is None:
        return True
    if not view_case(official, complaint):
        return False
    if official.has_role("ndrc") or official.has_role("intake"):
        return True
    dept_id = official.department_id
    if complaint.respondent_id == dept_id:
        return False
    return complaint.supervisor_id == dept_id or _took_part(official, complaint)


@permissions.rule(permissions.ADD_EVIDENCE)
def _add_evidence(official: Official, complaint: Complaint | None) -> bool:
    """Those who may read the case's evidence, while the case is open (not closed, not merged)."""
    if complaint is None:
        return True
    return complaint.status not in CLOSED_STATUSES and _view_contact(official, complaint)


@permissions.rule(permissions.VIEW_TASK)
def _view_task(official: Official, human: HumanTask | None) -> bool:
    """Those who may work on a task may read it; so may those who may see its case."""
    if human is None or (permissions.WORK_TASK in permissions.granted(official) and work_task(official, human)):
        return True
    complaint = object_session(human).get(Complaint, human.subject_id) if human.subject_id else None
    return complaint is not None and permissions.allowed(official, permissions.VIEW_CASE, complaint)


@permissions.rule(permissions.PAUSE_CLOCK)
def _pause_clock(official: Official, complaint: Complaint | None) -> bool:
    """The provincial DRC, intake officials, the determining department or a department holding an open task —
    never the respondent: it may not stop the clock on its own deadlines (it applies for an extension instead)."""
    return _steers_case(official, complaint)


@permissions.rule(permissions.REQUEST_SUPPLEMENT)
def _request_supplement(official: Official, complaint: Complaint | None) -> bool:
    """As `_pause_clock`: the respondent never asks the complainant for material."""
    return _steers_case(official, complaint)


def _steers_case(official: Official, complaint: Complaint | None) -> bool:
    if complaint is None:
        return True
    if not view_case(official, complaint) or is_respondent_of(official, complaint):
        return False
    return (official.has_role("ndrc") or official.has_role("intake")
            or complaint.supervisor_id == official.department_id or _holds_open_task(official, complaint))


def is_respondent_of(official: Official, complaint: Complaint) -> bool:
    """Whether the official works for the body the complaint is about."""
    return complaint.respondent_id is not None and complaint.respondent_id == official.department_id


def _holds_open_task(official: Official, complaint: Complaint) -> bool:
    session = object_session(complaint)
    return session is not None and session.scalar(select(HumanTask.id).where(
        HumanTask.subject_id == complaint.id, HumanTask.completed_at.is_(None),
        HumanTask.department_id == official.department_id).limit(1)) is not None


def case_filter(official: Official) -> ColumnElement[bool] | None:
    """SQL condition on Complaint for the cases `official` may see (None: all)."""
    if permissions.VIEW_CASE not in permissions.granted(official):
        return false()
    if permissions.sees_all_cases(official):
        return None
    dept = official.department
    took_part = exists().where(HumanTask.subject_id == Complaint.id, HumanTask.department_id == dept.id)
    conditions = [Complaint.intake_department_id == dept.id, took_part]
    if dept.is_credit_lead and dept.prefecture_code:
        conditions.append(Complaint.respondent.has(Department.prefecture_code == dept.prefecture_code))
    return or_(*conditions)
