"""补正: requests for more material and the complainant's answers.

Deliberately an action beside the procedure, not a step of the diagram: a department handling the case may
need material at any step (screening, verification, rectification review), and modelling that in BPMN would
mean a boundary event on every user task. The request is a `SupplementRequest` row plus a case event whose
public note the complainant (tracking page) and the channel (update feed) see; the answer — text and
files — is a case event, evidence files marked with the request, and a notification to the requesting
department. Officials who want the deadlines to stand still meanwhile use the clock pause (暂停计时).
"""
from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.db import as_utc, utcnow
from engine.deadlines import dates
from engine.errors import ConflictError, FormInvalid, NotFound, PermissionDenied
from engine.intake import evidence
from engine.intake.models import SupplementRequest
from engine.notify.models import Notification
from engine.org import permissions
from engine.org.models import Official
from engine.workflow.clock import local_date

logger = logging.getLogger(__name__)
NOTE_MAX = 2000
ANSWER_MAX = 5000
CLOSED = ("closed", "merged")


def may_request(session: Session, official: Official, complaint: Complaint) -> bool:
    """`request_supplement` (engine.org.permissions: the provincial DRC and intake officials who may see the case,
    or a department holding an open task), while the case is open."""
    return complaint.status not in CLOSED and permissions.allowed(official, permissions.REQUEST_SUPPLEMENT, complaint)


def request_supplement(session: Session, complaint: Complaint, official: Official, note: str,
                       due_date: date | None = None, now: datetime | None = None) -> SupplementRequest:
    """Ask the complainant for more material; the note is shown to them (and to the channel)."""
    if not may_request(session, official, complaint):
        if complaint.status in CLOSED:
            raise ConflictError("该案件已办结或已合并，不能再要求补正")
        raise PermissionDenied(permissions.MESSAGES[permissions.REQUEST_SUPPLEMENT])
    note = (note or "").strip()
    moment = as_utc(now) or utcnow()
    errors = {}
    if not note:
        errors["note"] = "请写明需要投诉人补正的材料（投诉人可见）"
    elif len(note) > NOTE_MAX:
        errors["note"] = f"补正说明不超过 {NOTE_MAX} 字"
    if due_date is not None and due_date < local_date(moment):
        errors["due_date"] = "补正期限不能早于今天"
    elif due_date is not None and due_date > dates.LATEST:
        errors["due_date"] = f"补正期限应在 {dates.LATEST.isoformat()} 之前，请检查年份"
    if errors:
        raise FormInvalid(errors)
    if open_request(session, complaint) is not None:
        raise ConflictError("该案件已有尚未答复的补正要求，请等待投诉人答复")
    request = SupplementRequest(complaint_id=complaint.id, department_id=official.department_id,
                                requested_by_id=official.id, requested_at=moment, note=note, due_date=due_date)
    session.add(request)
    session.flush()
    deadline = f"（请于 {due_date.isoformat()} 前补正）" if due_date else ""
    session.add(CaseEvent(
        complaint_id=complaint.id, at=moment, actor_id=official.id, actor_label=official.label,
        kind="supplement_requested", summary=f"要求投诉人补正材料：{note}{deadline}",
        data={"supplement_id": request.id},
        public_note=f"请补正材料：{note}{deadline}请在本页“补正材料”处填写说明并上传文件。"))
    audit(session, "supplement_requested", official, "supplement_request", request.id, complaint_id=complaint.id,
          after={"note": note, "due_date": due_date.isoformat() if due_date else None})
    logger.info("%s asked for material on complaint %s", official.username, complaint.id)
    return request


def answer_supplement(session: Session, complaints: list[Complaint], request_id: int, text: str,
                      uploads: list[evidence.Upload], policy: evidence.EvidencePolicy,
                      now: datetime | None = None) -> SupplementRequest:
    """The complainant's answer (text and/or files) to an open request on one of `complaints` — the
    complaint they tracked and the case that answers for it. Nothing is kept if any file is refused."""
    request = session.get(SupplementRequest, request_id)
    if request is None or request.complaint_id not in {c.id for c in complaints}:
        raise NotFound("未找到该补正要求")
    if request.answered_at is not None:
        raise ConflictError("该补正要求已经答复过了")
    if complaints[-1].status == "closed":  # the case that answers for the complaint was closed meanwhile
        raise ConflictError("案件已办结，无需再补正材料")
    text = (text or "").strip()
    if len(text) > ANSWER_MAX:
        raise FormInvalid({"answer_text": f"补正说明不超过 {ANSWER_MAX} 字"})
    if not text and not uploads:
        raise FormInvalid({"answer_text": "请填写补正说明或上传补正材料"})
    complaint = session.get(Complaint, request.complaint_id)
    if complaint.status == "merged":  # asked before the merge: the answer belongs to the surviving case
        complaint = complaints[-1]
    staged = evidence.stage(uploads, policy, already=evidence.count_for(session, complaint))
    moment = as_utc(now) or utcnow()
    # claim the request only if still open: of two answers sent at the same moment, one finds it answered
    claimed = session.execute(update(SupplementRequest).where(
        SupplementRequest.id == request.id, SupplementRequest.answered_at.is_(None))
        .values(answered_at=moment, answer_text=text)).rowcount
    if not claimed:
        evidence.discard(staged)
        raise ConflictError("该补正要求已经答复过了")
    rows = evidence.keep(session, complaint, staged, policy, "complainant", supplement_id=request.id, now=moment)
    names = "、".join(r.original_name for r in rows)
    session.add(CaseEvent(
        complaint_id=complaint.id, at=moment, actor_label="投诉人", kind="supplement_answered",
        summary=f"投诉人答复补正要求：{text or '（无文字说明）'}" + (f"；材料：{names}" if names else ""),
        data={"supplement_id": request.id, "evidence_ids": [r.id for r in rows]},
        public_note="已收到您补正的材料" + (f"（{len(rows)} 个文件）" if rows else "") + "，承办部门将继续办理。"))
    session.add(Notification(
        department_id=request.department_id, complaint_id=complaint.id, kind="info", created_at=moment,
        title=f"投诉人已补正材料（案件 {complaint.tracking_code}）",
        body=(text[:500] or "（无文字说明）") + (f"\n材料：{names}" if names else "")))
    session.flush()
    audit(session, "supplement_answered", "投诉人", "supplement_request", request.id, complaint_id=complaint.id,
          after={"files": len(rows), "text_length": len(text)})
    logger.info("complaint %s: supplement request %s answered", complaint.id, request.id)
    return request


def open_request(session: Session, complaint: Complaint) -> SupplementRequest | None:
    return session.scalar(select(SupplementRequest).where(
        SupplementRequest.complaint_id == complaint.id, SupplementRequest.answered_at.is_(None))
        .order_by(SupplementRequest.id.desc()).limit(1))


def requests_of(session: Session, complaints: list[Complaint]) -> list[SupplementRequest]:
    """Every request on these cases, oldest first."""
    ids = list({c.id for c in complaints})
    return list(session.scalars(select(SupplementRequest).where(SupplementRequest.complaint_id.in_(ids))
                                .order_by(SupplementRequest.requested_at, SupplementRequest.id)))


def files_by_request(session: Session, requests: list[SupplementRequest]) -> dict[int, list]:
    from engine.intake.models import EvidenceFile

    ids = [r.id for r in requests]
    found: dict[int, list] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(select(EvidenceFile).where(EvidenceFile.supplement_id.in_(ids))
                                   .order_by(EvidenceFile.id)):
            found[row.supplement_id].append(row)  # type: ignore[index]
    return found
