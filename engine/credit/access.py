"""Who may see a breach record or apply for its repair (registered with engine/org/permissions.py: `rule`), and
`record_filter`, the SQL twin of `view_records` that lists use."""
from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_

from engine.credit.models import BreachRecord
from engine.org import permissions
from engine.org.models import Official


@permissions.rule(permissions.VIEW_RECORDS)
def _view_record(official: Official, record: BreachRecord | None) -> bool:
    """The provincial DRC all; a prefecture lead its prefecture; the determining department and the respondent."""
    if record is None or permissions.sees_all_cases(official):
        return True
    dept = official.department
    return (dept.id in (record.determining_department_id, record.respondent_id)
            or (dept.is_credit_lead and bool(dept.prefecture_code)
                and record.respondent_prefecture == dept.prefecture_code))


@permissions.rule(permissions.APPLY_FOR_REPAIR)
def _apply_for_repair(official: Official, record: BreachRecord | None) -> bool:
    """The respondent itself, its superior, or the provincial DRC on their behalf."""
    if record is None or official.has_role("ndrc"):
        return True
    respondent = record.respondent
    dept_id = official.department_id
    return respondent is not None and dept_id in (respondent.id, respondent.superior_id)


def record_filter(official: Official) -> ColumnElement[bool] | None:
    """SQL condition on BreachRecord for the records `official` may see (None: all)."""
    if permissions.VIEW_RECORDS not in permissions.granted(official):
        return false()
    if permissions.sees_all_cases(official):
        return None
    dept = official.department
    conditions = [BreachRecord.determining_department_id == dept.id, BreachRecord.respondent_id == dept.id]
    if dept.is_credit_lead and dept.prefecture_code:
        conditions.append(BreachRecord.respondent_prefecture == dept.prefecture_code)
    return or_(*conditions)
