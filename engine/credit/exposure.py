"""Published typical cases (曝光典型案例, seed clause 八): selection, the personal-data check of the public text,
approval by a second official, publication and withdrawal.

The order of the steps is `processes/typical_case.bpmn`; its service operations (engine/credit/operations.py)
call the functions here. Functions flush and never commit. What the public sees of a case is `public_view`:
the officials' preview and the public page render the same object with the same template.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import DOMAINS, CaseEvent, Complaint
from engine.credit.models import (
    SELECTION_REASONS,
    SEVERITIES,
    TYPICAL_CASE_STATUSES,
    AppliedMeasure,
    BreachRecord,
    TypicalCase,
)
from engine.credit.redaction import check_public_text, mask, personal_terms
from engine.errors import ConflictError, FormInvalid, NotFound, PermissionDenied
from engine.org import permissions
from engine.org.models import Official
from engine.paging import Total, capped_count
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI
from engine.workflow.registry import start_facts

logger = logging.getLogger(__name__)

PROCESS = "typical_case"
start_facts(PROCESS, "record_id", "typical_case_id")  # start_typical_case
OPEN_STATUSES = ("selecting", "redacting", "pending_approval")
REPAIR_WITHDRAWAL = "违约失信记录已完成信用修复，停止公示"
TITLE_MAX, TEXT_MAX = 200, 5000

def draft(session: Session, record: BreachRecord, now: datetime) -> tuple[str, str]:
    """A first title and text for the redaction step: the record's public facts, the complainant masked. Measures
    in force at `now` are 已依法实施; those that ended (lifted, or past their last day) are named as ended."""
    domain = DOMAINS.get(record.domain, record.domain)
    title = f"{record.respondent_name}{domain}领域违约失信典型案例"
    today = _local_day(now)
    running = [m for m in record.measures if m.ended_at is None and (m.until is None or m.until >= today)]
    ended = [m for m in record.measures if m not in running]
    in_force = "、".join(dict.fromkeys(m.measure_type.name for m in running))
    over = "、".join(dict.fromkeys(f"{m.measure_type.name}（{_end_day(m):%Y年%m月%d日}结束）" for m in ended))
    handling = "".join([f"已依法实施失信惩戒措施：{in_force}。" if in_force else "",
                        f"曾实施的失信惩戒措施已结束：{over}。" if over else ""]) or (
        "该违约失信行为已纳入政务信用记录，并按规定公示。")
    text = (f"{record.determined_on:%Y年%m月%d日}，{record.determining_name}认定{record.respondent_name}在{domain}"
            f"领域存在违约失信行为（{record.document_number}）。\n\n"
            f"失信事实：{record.facts}\n\n认定依据：{record.basis}\n\n处理情况：{handling}")
    terms = personal_terms(session, record)
    return mask(title, terms)[:TITLE_MAX], mask(text, terms)[:TEXT_MAX]


# --- what the public sees ------------------------------------------------------------------------------------

@dataclass
class PublicCase:
    """A typical case as the public page shows it (the preview renders the same object)."""

    id: int | None
    title: str
    text: str
    facts: dict[str, str] = field(default_factory=dict)
    published_on: date | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.text or "") if p.strip()]


def public_facts(record: BreachRecord) -> dict[str, str]:
    """The record's fields shown with a typical case: the respondent (a government body), never the complainant."""
    return {
        "respondent_name": record.respondent_name, "respondent_uscc": record.respondent_uscc or "",
        "determining_name": record.determining_name, "determined_on": record.determined_on.isoformat(),
        "document_number": record.document_number, "domain": DOMAINS.get(record.domain, record.domain),
        "severity": SEVERITIES.get(record.severity, record.severity),
    }


def public_view(case: TypicalCase, title: str | None = None, text: str | None = None) -> PublicCase:
    published = case.published_at.astimezone(SHANGHAI).date() if case.published_at else None
    return PublicCase(case.id, case.title if title is None else title, case.public_text if text is None else text,
                      dict(case.public_facts or public_facts(case.record)), published)


def preview(session: Session, case: TypicalCase, title: str, text: str) -> tuple[PublicCase, dict[str, str]]:
    """The page the public would see for this title and text, and what the check would refuse in them."""
    view = public_view(case, title, text)
    if case.status in ("selecting", "redacting"):  # frozen at redaction: what the approver sees is what is published
        view.facts = public_facts(case.record)
    if case.status != "published":
        view.published_on = _local_day(clock.now())
    return view, check_public_text(session, case.record, title, text)


def published_cases(session: Session, limit: int = 20, offset: int = 0) -> tuple[list[TypicalCase], Total]:
    query = select(TypicalCase).where(TypicalCase.status == "published")
    total = capped_count(session, query, offset)
    rows = session.scalars(query.order_by(TypicalCase.published_at.desc(), TypicalCase.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), total


def get_published(session: Session, case_id: int) -> TypicalCase:
    case = session.get(TypicalCase, case_id)
    if case is None or case.status != "published":
        raise NotFound("该典型案例不存在或已撤下")
    return case


# --- officials -------------------------------------------------------------------------------------------

def may_manage(actor: Official) -> bool:
    """Selecting, editing and withdrawing typical cases is the provincial DRC's (clause 八): `publish_cases`."""
    return permissions.allowed(actor, permissions.PUBLISH_CASES)


def get_case(session: Session, case_id: int) -> TypicalCase:
    case = session.get(TypicalCase, int(case_id))
    if case is None:
        raise NotFound("典型案例不存在")
    return case


def case_of_instance(session: Session, instance_id: int) -> TypicalCase | None:
    return session.scalar(select(TypicalCase).where(TypicalCase.instance_id == instance_id))


def cases_of_record(session: Session, record_id: int) -> list[TypicalCase]:
    return list(session.scalars(select(TypicalCase).where(TypicalCase.record_id == record_id)
                                .order_by(TypicalCase.id)))


def list_cases(session: Session, actor: Official, status: str | None = None, limit: int = 100,
               offset: int = 0) -> list[TypicalCase]:
    permissions.require(actor, permissions.PUBLISH_CASES)
    query = select(TypicalCase)
    if status:
        query = query.where(TypicalCase.status == status)
    return list(session.scalars(query.order_by(TypicalCase.id.desc()).limit(limit).offset(offset)))


def start_exposure(session: Session, record: BreachRecord, actor: Official, now: datetime | None = None) -> Any:
    """Start typical_case.bpmn for `record` (provincial DRC): its first task, 选定典型案例, is in the DRC's inbox."""
    from engine.workflow.instances import start_instance

    moment = now or clock.now()
    permissions.require(actor, permissions.PUBLISH_CASES)
    if record.status != "active":
        raise ConflictError("该违约失信记录已修复，不能作为典型案例曝光")
    current = session.scalar(select(TypicalCase).where(
        TypicalCase.record_id == record.id, TypicalCase.status.in_((*OPEN_STATUSES, "published"))))
    if current is not None:
        raise ConflictError(f"该记录已有典型案例（{TYPICAL_CASE_STATUSES[current.status]}），不能重复选定",
                            typical_case_id=current.id)
    case = TypicalCase(record_id=record.id, complaint_id=record.complaint_id, status="selecting",
                       started_by_id=actor.id, created_at=moment, updated_at=moment)
    session.add(case)
    session.flush()
    complaint = session.get(Complaint, record.complaint_id) if record.complaint_id else None
    instance = start_instance(session, PROCESS, complaint, actor, now=moment,
                              data={"record_id": record.id, "typical_case_id": case.id})
    case.instance_id = instance.id
    session.flush()
    logger.info("%s started typical case %s for record %s", actor.username, case.id, record.id)
    return instance


def select_case(session: Session, case: TypicalCase, reason: str, note: str | None, actor: Official | None,
                now: datetime) -> TypicalCase:
    """The DRC's choice, checked against the seed's criteria; prepares the draft for the redaction step."""
    _expect(case, "selecting")
    record = case.record
    if record.status != "active":
        raise ConflictError("该违约失信记录已修复，不能作为典型案例曝光")
    note = (note or "").strip()
    if reason not in SELECTION_REASONS:
        raise FormInvalid({"selection_reason": "请选择选定理由：情节严重、多次违约失信或被公开通报批评"})
    if reason == "serious" and record.severity != "serious":
        raise FormInvalid({"selection_reason": (
            f"该记录的失信程度为「{SEVERITIES.get(record.severity, record.severity)}」，不能以情节严重为由选定")})
    if reason == "repeated":
        same = (BreachRecord.respondent_id == record.respondent_id if record.respondent_id is not None
                else BreachRecord.respondent_name == record.respondent_name)
        count = session.scalar(select(func.count()).select_from(BreachRecord).where(same)) or 0
        if count < 2:
            raise FormInvalid({"selection_reason": "该被投诉主体只有 1 条违约失信记录，不能以多次违约失信为由选定"})
    if reason == "criticised" and not note and not any(
            m.measure_type.code == "public_criticism" for m in record.measures):
        raise FormInvalid({"selection_note": "该记录未实施公开通报批评措施，请说明通报批评或社会关注的情况"})
    case.selection_reason, case.selection_note = reason, note or None
    case.selected_by_id = actor.id if actor else None
    case.selected_at = now
    case.title, case.public_text = draft(session, record, now)
    _move(session, case, "redacting", actor, now, "typical_case_selected",
          f"选定为曝光典型案例（{SELECTION_REASONS[reason]}），进入脱敏编辑", reason=reason)
    return case


def drop_case(session: Session, case: TypicalCase, note: str | None, actor: Official | None,
              now: datetime) -> TypicalCase:
    _expect(case, "selecting")
    case.selection_note = (note or "").strip() or None
    _move(session, case, "dropped", actor, now, "typical_case_dropped",
          "未选定为曝光典型案例" + (f"：{case.selection_note}" if case.selection_note else ""))
    return case


def submit_redaction(session: Session, case: TypicalCase, title: str, text: str, actor: Official | None,
                     now: datetime) -> TypicalCase:
    """Store the edited public text; refused (FormInvalid, per field) while it still contains personal data."""
    _expect(case, "redacting")
    title, text = (title or "").strip(), (text or "").strip()
    errors = check_public_text(session, case.record, title, text)
    if errors:
        raise FormInvalid(errors, "公开文本中仍含有个人信息，未提交审核。请按提示修改。")
    case.title, case.public_text = title[:TITLE_MAX], text[:TEXT_MAX]
    case.public_facts = public_facts(case.record)
    case.redacted_by_id = actor.id if actor else None
    case.redacted_at = now
    _move(session, case, "pending_approval", actor, now, "typical_case_redacted",
          f"典型案例公开文本已脱敏编辑（{case.title}），提交负责人审核")
    return case


def review(session: Session, case: TypicalCase, approved: bool, remarks: str | None, actor: Official | None,
           now: datetime) -> TypicalCase:
    """A leader other than the editor approves (→ published) or sends the text back for editing."""
    _expect(case, "pending_approval")
    if actor is not None and actor.id == case.redacted_by_id:
        raise PermissionDenied("审核人不能是编辑公开文本的同一人，请由另一位负责人审核")
    case.review_remarks = (remarks or "").strip() or None
    if not approved:
        _move(session, case, "redacting", actor, now, "typical_case_returned",
              "负责人退回典型案例公开文本修改" + (f"：{case.review_remarks}" if case.review_remarks else ""))
        return case
    if case.record.status != "active":
        raise ConflictError("该违约失信记录已修复，不能公开曝光")
    errors = check_public_text(session, case.record, case.title, case.public_text)  # the text may not have changed,
    if errors:  # but the complainants may have (a merge): never publish what the check refuses
        raise ConflictError("公开文本中含有个人信息，不能公开：" + "；".join(errors.values()))
    case.approved_by_id = actor.id if actor else None
    case.approved_at = case.published_at = now
    _move(session, case, "published", actor, now, "typical_case_published",
          f"典型案例「{case.title}」经负责人审核后在信用云南网站公开曝光")
    return case


def withdraw(session: Session, case: TypicalCase, reason: str, actor: Official, now: datetime | None = None
             ) -> TypicalCase:
    """Take a published case off the public page (provincial DRC); the reason is required and logged."""
    permissions.require(actor, permissions.PUBLISH_CASES)
    reason = (reason or "").strip()
    if not reason:
        raise FormInvalid({"reason": "请填写撤下理由"})
    if len(reason) > 2000:
        raise FormInvalid({"reason": "撤下理由过长（最多 2000 字）"})
    return _withdraw(session, case, reason, actor, now or clock.now())


def withdraw_for_repair(session: Session, record: BreachRecord, actor: Official | None, now: datetime,
                        reason: str = REPAIR_WITHDRAWAL) -> None:
    """Credit repair (or the record's withdrawal) stops publication: the record's published cases go with it."""
    for case in session.scalars(select(TypicalCase).where(TypicalCase.record_id == record.id,
                                                          TypicalCase.status == "published")):
        _withdraw(session, case, reason, actor, now)


def _withdraw(session: Session, case: TypicalCase, reason: str, actor: Official | None, now: datetime
              ) -> TypicalCase:
    _expect(case, "published", "只有已公开的典型案例可以撤下")
    case.withdrawn_at, case.withdrawal_reason = now, reason
    case.withdrawn_by_id = actor.id if actor else None
    case.withdrawn_by_label = actor.label if actor else "系统（流程）"
    _move(session, case, "withdrawn", actor, now, "typical_case_withdrawn",
          f"典型案例「{case.title}」已从公开页面撤下：{reason}", reason=reason)
    return case


def _expect(case: TypicalCase, status: str, message: str | None = None) -> None:
    if case.status != status:
        raise ConflictError(message or f"该典型案例当前为「{TYPICAL_CASE_STATUSES.get(case.status, case.status)}」，"
                                       "不能执行此操作，请刷新后查看")


def _move(session: Session, case: TypicalCase, status: str, actor: Official | None, now: datetime, kind: str,
          summary: str, **data: Any) -> None:
    """Change the status; the case's history (CaseEvent) and the audit chain record it in the same transaction."""
    before = case.status
    case.status, case.updated_at = status, now
    session.flush()
    if case.complaint_id is not None:
        session.add(CaseEvent(complaint_id=case.complaint_id, at=now, actor_id=actor.id if actor else None,
                              actor_label=actor.label if actor else "系统（流程）", kind=kind, summary=summary,
                              data={"typical_case_id": case.id, "record_id": case.record_id, **data}))
    audit(session, kind, actor, "typical_case", case.id, before={"status": before},
          after={"status": status, "record_id": case.record_id, **data}, complaint_id=case.complaint_id, now=now)
    logger.info("typical case %s: %s → %s by %s", case.id, before, status, actor.username if actor else "system")


def _end_day(measure: AppliedMeasure) -> date:
    """The last day of an ended measure: the day it was ended, or its `until` day when that came first."""
    ended = _local_day(measure.ended_at) if measure.ended_at else None
    return min(d for d in (ended, measure.until) if d is not None)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()
