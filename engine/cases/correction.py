"""纠错: the provincial DRC returns a case to an earlier step when a decision on it was wrong.

The case goes back to a completed user task of its complaint procedure (SpiffWorkflow's reset, as an
administrator's 退回 in engine/workflow/repair.py), with a reason. Whatever rested on the undone decisions
is withdrawn with it: the case's breach record (not shown, not eligible, platforms told where it had been
sent) and, for a case that had closed, its result. The history (with a note for the complainant) and the
audit log name the step, the reason and everything withdrawn. The caller commits.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.cases.services import instance_of
from engine.db import as_utc
from engine.errors import ConflictError, FormInvalid, NotFound
from engine.org import permissions
from engine.org.models import Official
from engine.workflow import clock, repair

logger = logging.getLogger(__name__)
REASON_MAX = 2000
# what other packages withdraw when a case goes back: (session, complaint, actor, reason, now) → labels of what
# they withdrew (the credit package: the case's breach record, engine/credit/correction.py)
Withdrawal = Callable[[Session, Complaint, Official, str, datetime], list[str]]
WITHDRAWALS: list[Withdrawal] = []


def withdrawal(fn: Withdrawal) -> Withdrawal:
    """Register what a correction withdraws that rests on the steps it undoes."""
    WITHDRAWALS.append(fn)
    return fn


def correctable_steps(session: Session, complaint: Complaint) -> list[dict[str, Any]]:
    """The completed user tasks of the case's procedure that the DRC may return it to (id, name, lane)."""
    instance = instance_of(session, complaint)
    if instance is None or instance.status not in ("running", "paused", "error", "completed"):
        return []
    return repair.steps(session, instance)["earlier"]


def correct_case(session: Session, complaint: Complaint, task_id: str, actor: Official, reason: str,
                 now: datetime | None = None) -> Complaint:
    """Return the case to the completed user task `task_id` because a decision was wrong; withdraw what
    rested on it. Only the provincial DRC may; the reason is required."""
    permissions.require(actor, permissions.CORRECT_CASE, complaint)
    reason = (reason or "").strip()
    if not reason:
        raise FormInvalid({"reason": "请写明纠错理由（将记入案件历史和审计日志）"})
    if len(reason) > REASON_MAX:
        raise FormInvalid({"reason": f"纠错理由不超过 {REASON_MAX} 字"})
    if complaint.status == "merged":
        raise ConflictError("该投诉已合并到其他案件办理，请在承办案件上纠错")
    instance = instance_of(session, complaint)
    if instance is None:
        raise NotFound("该案件没有办理流程")
    if not any(step["id"] == str(task_id) for step in correctable_steps(session, complaint)):
        raise FormInvalid({"task_id": "请选择本案已办理的人工步骤"})
    moment = as_utc(now) or clock.now()
    withdrawn = _withdraw_what_rests_on_it(session, complaint, actor, reason, moment)
    if instance.status == "completed":  # a closed case is reopened at the chosen step
        instance.status = "running"
        withdrawn.append(f"办结结果「{_result_label(complaint.result)}」")
        complaint.status, complaint.result, complaint.closed_at = "correcting", None, None
    repair.move_back(session, instance.id, str(task_id), actor, f"省发展改革委纠错：{reason}", now=moment)
    step = next(s["name"] for s in repair.steps(session, instance)["current"] if s["id"] == str(task_id))
    what = "；撤回：" + "、".join(withdrawn) if withdrawn else ""
    session.add(CaseEvent(
        complaint_id=complaint.id, at=moment, actor_id=actor.id, actor_label=actor.label, kind="case_corrected",
        summary=f"省发展改革委纠错，案件退回到「{step}」重新办理：{reason}{what}",
        data={"step": step, "reason": reason, "withdrawn": withdrawn},
        public_note=f"省发展改革委对本案的办理作出纠正，案件退回到「{step}」重新办理。"))
    session.flush()
    audit(session, "case_corrected", actor, "complaint", complaint.id, complaint_id=complaint.id,
          before={"status": complaint.status}, after={"step": step, "reason": reason, "withdrawn": withdrawn})
    logger.info("%s corrected complaint %s back to %s", actor.username, complaint.id, step)
    return complaint


def _withdraw_what_rests_on_it(session: Session, complaint: Complaint, actor: Official, reason: str,
                               now: datetime) -> list[str]:
    withdrawn = [label for withdraw in WITHDRAWALS for label in withdraw(session, complaint, actor, reason, now)]
    if complaint.breach_confirmed_at is not None:
        complaint.breach_confirmed_at = None
    return withdrawn


def _result_label(result: str | None) -> str:
    from engine.cases.status import result_label

    return result_label(result) or "—"
