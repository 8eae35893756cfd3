"""After closing: the complainant rates the handling and, within a window, objects (asks for the case to be
reopened). Both reach the provincial DRC: a rating as a notification, an objection as a task of
processes/objection.bpmn, where the DRC reopens the case or dismisses the objection with a reason that the
complainant reads on the tracking page.

Ratings and objections belong to one closing (`for_closed_at`): after a reopened case is closed again, the
complainant may rate and object again. For a merged complaint they concern the surviving case.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.cases.services import COMPLAINT_PROCESS
from engine.cases.services import _process_data as process_facts  # the same case facts as at registration
from engine.db import as_utc
from engine.errors import ConflictError, FormInvalid, NotFound
from engine.intake.models import CaseRating, Objection
from engine.notify.models import Notification
from engine.org.models import Official
from engine.org.services import provincial_credit_office
from engine.workflow import clock
from engine.workflow.registry import start_facts

logger = logging.getLogger(__name__)
OBJECTION_PROCESS = "objection"
start_facts(OBJECTION_PROCESS, "objection_id", "complaint_id", "objection_reason", "result")  # file_objection
DEFAULT_WINDOW_DAYS = 15
COMMENT_MAX = 1000
REASON_MAX = 3000
_Row = TypeVar("_Row", CaseRating, Objection)


def rating_for(session: Session, complaint: Complaint) -> CaseRating | None:
    """The rating of the case's current closing, if any."""
    if complaint.closed_at is None:
        return None
    return session.scalar(select(CaseRating).where(
        CaseRating.complaint_id == complaint.id, CaseRating.for_closed_at == complaint.closed_at))


def objection_for(session: Session, complaint: Complaint) -> Objection | None:
    """The objection to the case's current closing, or else the newest one (e.g. decided: reopened)."""
    return session.scalar(select(Objection).where(Objection.complaint_id == complaint.id)
                          .order_by(Objection.filed_at.desc(), Objection.id.desc()).limit(1))


def ratings_of(session: Session, complaint: Complaint) -> list[CaseRating]:
    return list(session.scalars(select(CaseRating).where(CaseRating.complaint_id == complaint.id)
                                .order_by(CaseRating.rated_at)))


def objections_of(session: Session, complaint: Complaint) -> list[Objection]:
    return list(session.scalars(select(Objection).where(Objection.complaint_id == complaint.id)
                                .order_by(Objection.filed_at)))


def objection_deadline(complaint: Complaint, window_days: int) -> datetime | None:
    closed = as_utc(complaint.closed_at)
    return closed + timedelta(days=window_days) if complaint.status == "closed" and closed else None


def may_object(session: Session, complaint: Complaint, window_days: int, now: datetime | None = None) -> bool:
    deadline = objection_deadline(complaint, window_days)
    moment = as_utc(now) or clock.now()
    if deadline is None or moment > deadline:
        return False
    latest = objection_for(session, complaint)
    return latest is None or as_utc(latest.for_closed_at) != as_utc(complaint.closed_at)


def rate(session: Session, complaint: Complaint, score: object, comment: str,
         now: datetime | None = None) -> CaseRating:
    """Record the complainant's rating (1–5 and a comment) of a closed case; the DRC is notified."""
    if complaint.status != "closed" or complaint.closed_at is None:
        raise ConflictError("案件办结后才能评价")
    try:
        value = int(str(score))
    except ValueError:
        value = 0
    comment = (comment or "").strip()
    errors = {}
    if not 1 <= value <= 5:
        errors["score"] = "请选择 1–5 分的评价"
    if len(comment) > COMMENT_MAX:
        errors["comment"] = f"评价意见不超过 {COMMENT_MAX} 字"
    if errors:
        raise FormInvalid(errors)
    if rating_for(session, complaint) is not None:
        raise ConflictError("您已评价过本次办理结果")
    moment = as_utc(now) or clock.now()
    rating = _insert_once(session, CaseRating(complaint_id=complaint.id, for_closed_at=complaint.closed_at,
                                              score=value, comment=comment, rated_at=moment),
                          "您已评价过本次办理结果")
    session.add(CaseEvent(complaint_id=complaint.id, at=moment, actor_label="投诉人", kind="rated",
                          summary=f"投诉人评价办理结果：{value} 分" + (f"，意见：{comment}" if comment else ""),
                          data={"score": value}, public_note="感谢您对办理结果的评价。"))
    drc = provincial_credit_office(session)
    session.add(Notification(department_id=drc.id, role="ndrc", complaint_id=complaint.id, kind="info",
                             created_at=moment, title=f"投诉人评价：{value} 分（案件 {complaint.tracking_code}）",
                             body=comment or "（无评价意见）"))
    session.flush()
    audit(session, "case_rated", "投诉人", "complaint", complaint.id, complaint_id=complaint.id,
          after={"score": value})
    return rating


def object_to(session: Session, complaint: Complaint, reason: str, window_days: int = DEFAULT_WINDOW_DAYS,
              now: datetime | None = None) -> Objection:
    """File an objection (reopen request) against a closed case and start objection.bpmn for the DRC."""
    from engine.workflow.instances import start_instance

    moment = as_utc(now) or clock.now()
    reason = (reason or "").strip()
    if complaint.status != "closed":
        raise ConflictError("案件办结后才能提出异议")
    deadline = objection_deadline(complaint, window_days)
    if deadline is None or moment > deadline:
        raise ConflictError(f"已超过提出异议的期限（办结后 {window_days} 日内）")
    if not may_object(session, complaint, window_days, moment):
        raise ConflictError("您已对本次办理结果提出过异议")
    if not reason:
        raise FormInvalid({"reason": "请写明异议的理由"})
    if len(reason) > REASON_MAX:
        raise FormInvalid({"reason": f"异议理由不超过 {REASON_MAX} 字"})
    objection = _insert_once(session, Objection(complaint_id=complaint.id, for_closed_at=complaint.closed_at,
                                                reason=reason, filed_at=moment),
                             "您已对本次办理结果提出过异议")
    session.add(CaseEvent(complaint_id=complaint.id, at=moment, actor_label="投诉人", kind="objection_filed",
                          summary=f"投诉人对办理结果提出异议，申请重新办理：{reason}",
                          data={"objection_id": objection.id},
                          public_note="已收到您的异议（申请重新办理），省发展改革委将审核并在此答复。"))
    instance = start_instance(session, OBJECTION_PROCESS, complaint, None, now=moment, data={
        "objection_id": objection.id, "complaint_id": complaint.id, "objection_reason": reason,
        "result": complaint.result})
    objection.instance_id = instance.id
    audit(session, "objection_filed", "投诉人", "objection", objection.id, complaint_id=complaint.id,
          after={"instance_id": instance.id})
    logger.info("objection %s filed against complaint %s", objection.id, complaint.id)
    return objection


def decide(session: Session, objection_id: int, reopen: bool, reason: str, actor: Official | None,
           now: datetime) -> Objection:
    """The DRC's decision (called by objection.bpmn's service tasks): reopen the case — a new run of the
    complaint procedure from its start — or dismiss the objection; the reason is shown to the complainant."""
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("异议不存在")
    if objection.decided_at is not None:
        raise ConflictError("该异议已处理")
    complaint = session.get(Complaint, objection.complaint_id)
    objection.decision, objection.decision_reason = ("reopen" if reopen else "dismiss"), reason
    objection.decided_at, objection.decided_by_id = now, actor.id if actor else None
    label = actor.label if actor else "省发展改革委"
    if reopen:
        before = {"status": complaint.status, "result": complaint.result}
        complaint.status, complaint.result, complaint.closed_at = "registered", None, None
        session.add(CaseEvent(complaint_id=complaint.id, at=now, actor_id=actor.id if actor else None,
                              actor_label=label, kind="reopened", summary=f"异议成立，重新办理：{reason}",
                              data={"objection_id": objection.id, "before": before},
                              public_note=f"省发展改革委审核了您的异议，决定重新办理：{reason}"))
        session.flush()
        from engine.workflow.instances import start_instance

        start_instance(session, COMPLAINT_PROCESS, complaint, actor, data=process_facts(complaint), now=now)
    else:
        session.add(CaseEvent(complaint_id=complaint.id, at=now, actor_id=actor.id if actor else None,
                              actor_label=label, kind="objection_dismissed", summary=f"异议不成立，维持办理结果：{reason}",
                              data={"objection_id": objection.id},
                              public_note=f"省发展改革委审核了您的异议，决定维持办理结果：{reason}"))
    session.flush()
    audit(session, "objection_decided", actor or label, "objection", objection.id, complaint_id=complaint.id,
          after={"decision": objection.decision})
    return objection


def _insert_once(session: Session, row: _Row, refused: str) -> _Row:
    """Insert a rating or objection of one closing; a second one submitted at the same moment (both passed the
    check before either was stored) meets the unique constraint and becomes a ConflictError, not a 500."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise ConflictError(refused) from exc
    return row
