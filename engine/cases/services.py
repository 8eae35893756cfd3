"""Complaint operations: register (and start the procedure), read, who may see a case."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.cases.schemas import load_complaint
from engine.db import as_utc
from engine.errors import FormInvalid, NotFound
from engine.org import permissions
from engine.org.models import Department, Official
from engine.org.services import provincial_credit_office
from engine.workflow import clock, instances
from engine.workflow.models import HumanTask, ProcessInstance, ProcessModel
from engine.workflow.registry import start_facts

logger = logging.getLogger(__name__)
COMPLAINT_PROCESS = "complaint"
start_facts(COMPLAINT_PROCESS, "complaint_id", "domain", "breach_type", "in_litigation", "respondent_known")  # _process_data
_CODE_CHARS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def register_complaint(
    session: Session, raw: dict[str, Any], actor: Official | None, now: datetime | None = None
) -> tuple[Complaint, bool]:
    """Register a complaint and start its procedure; returns (complaint, created).

    Re-sending the same channel reference returns the case already registered (created=False).
    """
    try:
        data = load_complaint(raw)
    except ValidationError as exc:
        raise FormInvalid(_flatten(exc.messages)) from exc
    if data.get("external_ref"):
        existing = session.scalar(select(Complaint).where(
            Complaint.channel == data["channel"], Complaint.external_ref == data["external_ref"]))
        if existing is not None:
            return existing, False
    respondent = None
    if data.get("respondent_code"):
        respondent = session.scalar(select(Department).where(Department.code == data["respondent_code"]))
        if respondent is None:
            raise FormInvalid({"respondent_code": "组织数据中没有该被投诉主体，请从列表中选择或只填写名称"})
    elif data.get("respondent_name"):  # a department's exact name typed instead of chosen (every channel alike)
        respondent = session.scalar(select(Department).where(
            Department.name == data["respondent_name"].strip(), Department.is_active.is_(True)).limit(1))
    moment = as_utc(now) or clock.now()
    intake_dept = actor.department if actor is not None else provincial_credit_office(session)
    fields = {k: v for k, v in data.items() if k not in ("respondent_code",)}
    fields["respondent_name"] = respondent.name if respondent else data["respondent_name"]
    complaint = Complaint(
        **fields, tracking_code=_tracking_code(moment), respondent=respondent, intake_department=intake_dept,
        received_at=moment, registered_by=actor, status="registered",
    )
    try:
        with session.begin_nested():  # a concurrent resend of the same channel reference loses here
            session.add(complaint)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Complaint).where(
            Complaint.channel == data["channel"], Complaint.external_ref == data["external_ref"]))
        if existing is None:
            raise
        return existing, False
    session.add(CaseEvent(
        complaint_id=complaint.id, at=moment, actor_id=actor.id if actor else None,
        actor_label=actor.label if actor else "系统接口", kind="registered",
        summary=f"投诉登记（渠道：{complaint.channel}）",
        public_note="您的投诉已收到，我们将依法依规办理。",
    ))
    instances.start_instance(session, COMPLAINT_PROCESS, complaint, actor, data=_process_data(complaint), now=moment)
    audit(session, "complaint_registered", actor or "系统接口", "complaint", complaint.id, complaint_id=complaint.id,
          after={"tracking_code": complaint.tracking_code, "channel": complaint.channel, "status": complaint.status})
    logger.info("complaint %s registered by %s", complaint.tracking_code, actor.username if actor else "api")
    return complaint, True


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("投诉不存在")
    return complaint


def can_view_case(session: Session, official: Official, complaint: Complaint) -> bool:
    """`view_case` for this complaint (engine.org.permissions)."""
    return permissions.allowed(official, permissions.VIEW_CASE, complaint)


def view_complaint(session: Session, complaint_id: int, official: Official) -> Complaint:
    complaint = get_complaint(session, complaint_id)
    permissions.require(official, permissions.VIEW_CASE, complaint)
    return complaint


def history(session: Session, complaint: Complaint) -> list[CaseEvent]:
    return list(session.scalars(
        select(CaseEvent).where(CaseEvent.complaint_id == complaint.id).order_by(CaseEvent.at, CaseEvent.id)))


def open_tasks(session: Session, complaint: Complaint) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(
        HumanTask.subject_id == complaint.id, HumanTask.completed_at.is_(None)).order_by(HumanTask.created_at)))


def instance_of(session: Session, complaint: Complaint) -> ProcessInstance | None:
    """The complaint procedure's instance of this case (measures and repair run as instances of their own)."""
    return session.scalar(
        select(ProcessInstance).join(ProcessModel, ProcessModel.id == ProcessInstance.model_id)
        .where(ProcessInstance.subject_id == complaint.id, ProcessModel.key == COMPLAINT_PROCESS)
        .order_by(ProcessInstance.id.desc()).limit(1))


def _process_data(complaint: Complaint) -> dict[str, Any]:
    """The case facts the diagram may branch on."""
    return {
        "complaint_id": complaint.id,
        "domain": complaint.domain,
        "breach_type": complaint.breach_type,
        "in_litigation": complaint.in_litigation,
        "respondent_known": complaint.respondent_id is not None,
    }


def _tracking_code(moment: datetime) -> str:
    return "YN" + moment.strftime("%y%m%d") + "".join(secrets.choice(_CODE_CHARS) for _ in range(8))


def _flatten(messages: Any) -> dict[str, str]:
    if isinstance(messages, dict):
        return {k: (v[0] if isinstance(v, list) and v and isinstance(v[0], str) else str(v))
                for k, v in messages.items()}
    return {"_form": str(messages)}
