"""Breach records: created when a breach is confirmed, measures applied and ended, credit repair.

Every change the credit platforms must hear about bumps the record's `version` and queues a delivery in the
same transaction (`engine.credit.exchange.queue`). Functions here flush and never commit.
"""
from __future__ import annotations

import calendar as _calendar
import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.credit import exchange
from engine.credit.access import record_filter
from engine.credit.models import (
    RECORD_STATUSES,
    SEVERITIES,
    AppliedMeasure,
    BreachRecord,
    MeasureType,
    PlatformDelivery,
)
from engine.errors import ConflictError, FormInvalid, NotFound
from engine.org import permissions
from engine.org.models import Department, Official
from engine.paging import Total, capped_count
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI
from engine.workflow.registry import START_FACT_VALUES, start_facts

logger = logging.getLogger(__name__)

MEASURES_PROCESS = "measures"
REPAIR_PROCESS = "credit_repair"
start_facts(MEASURES_PROCESS, "record_id", "measure_id", action=("apply", "end"))  # start_measures
start_facts(REPAIR_PROCESS, "record_id", "eligible_from", "repair_rule")  # start_repair
REPAIR_END_REASON = "信用修复"

# code, name, level — the seed's clause (四): national measures, those for cities, local ones
MEASURE_CATALOGUE: list[tuple[str, str, str]] = [
    ("central_budget", "限制中央预算内资金支持", "national"),
    ("special_bonds", "限制地方政府专项债券申请", "national"),
    ("financing_recommendation", "限制各类融资项目推荐", "national"),
    ("ndrc_awards_pilots", "取消发展改革系统评优评先和试点示范资格", "city"),
    ("credit_demo_title", "取消社会信用体系建设示范区称号或参评资格", "city"),
    ("deadline_rectification", "限期整改", "local"),
    ("public_criticism", "公开通报批评", "local"),
    ("support_policies", "限制申请扶持政策", "local"),
    ("cancel_awards", "取消评优评先", "local"),
    ("government_procurement", "限制参加政府采购", "local"),
    ("accountability", "对主要负责人和直接责任人依法追究", "local"),
]

# severity → (minimum months before repair may be applied for, longest publication in months)
# 国办发〔2025〕22号 / 国家发展改革委令第36号: minor ≤ 3 months (repair any time), ordinary 3–12 months,
# serious 1–3 years; repair may be applied for once the minimum period has passed.
PUBLICATION_MONTHS: dict[str, tuple[int, int]] = {"minor": (0, 3), "ordinary": (3, 12), "serious": (12, 36)}


# --- dates ---------------------------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """`day` plus whole months; the 31st becomes the month's last day where the month is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def repair_dates(severity: str, publication_start: date) -> tuple[date, date]:
    """(earliest day repair may be applied for, last day of publication) for a record of `severity`."""
    if severity not in PUBLICATION_MONTHS:
        raise FormInvalid({"severity": "失信程度应为轻微、一般或严重"})
    minimum, maximum = PUBLICATION_MONTHS[severity]
    return add_months(publication_start, minimum), add_months(publication_start, maximum)


def repair_rule_text(record: BreachRecord) -> str:
    minimum, maximum = PUBLICATION_MONTHS[record.severity]
    label = SEVERITIES[record.severity]
    if minimum == 0:
        return f"{label}失信记录公示期最长 {maximum} 个月，可随时申请信用修复"
    return (f"{label}失信记录公示期最短 {minimum} 个月、最长 {maximum} 个月，"
            f"自 {record.repair_eligible_from:%Y年%m月%d日} 起可申请信用修复")


def _local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- the catalogue ---------------------------------------------------------------------------------------

def ensure_catalogue(session: Session) -> None:
    """Insert the seed's measures that are missing (by code); entries the DRC changed stay as they are."""
    known = set(session.scalars(select(MeasureType.code)))
    for code, name, level in MEASURE_CATALOGUE:
        if code not in known:
            session.add(MeasureType(code=code, name=name, level=level, updated_by="system", updated_at=clock.now()))
    session.flush()


def measure_types(session: Session, active_only: bool = True) -> list[MeasureType]:
    ensure_catalogue(session)
    query = select(MeasureType).order_by(MeasureType.id)
    if active_only:
        query = query.where(MeasureType.is_active.is_(True))
    return list(session.scalars(query))


def save_measure_type(session: Session, actor: Official, code: str, name: str, level: str,
                      is_active: bool = True) -> MeasureType:
    """Add or change a catalogue entry (provincial DRC only)."""
    from engine.credit.models import MEASURE_LEVELS

    permissions.require(actor, permissions.MANAGE_MEASURES)
    errors = {}
    if not code or len(code) > 40:
        errors["code"] = "请填写措施代码（不超过 40 个字符）"
    if not name.strip():
        errors["name"] = "请填写措施名称"
    if level not in MEASURE_LEVELS:
        errors["level"] = "层级应为国家、城市或地方层面"
    if errors:
        raise FormInvalid(errors)
    ensure_catalogue(session)
    entry = session.scalar(select(MeasureType).where(MeasureType.code == code))
    before = None
    if entry is None:
        entry = MeasureType(code=code)
        session.add(entry)
    else:
        before = {"name": entry.name, "level": entry.level, "is_active": entry.is_active}
    entry.name, entry.level, entry.is_active = name.strip(), level, is_active
    entry.updated_by, entry.updated_at = actor.username, clock.now()
    session.flush()
    audit(session, "measure_type_saved", actor, "measure_type", code, before=before,
          after={"name": entry.name, "level": level, "is_active": is_active})
    return entry


# --- records ---------------------------------------------------------------------------------------------

def get_record(session: Session, record_id: int) -> BreachRecord:
    record = session.get(BreachRecord, int(record_id))
    if record is None:
        raise NotFound("违约失信记录不存在")
    return record


def record_for_complaint(session: Session, complaint_id: int) -> BreachRecord | None:
    return session.scalar(select(BreachRecord).where(BreachRecord.complaint_id == complaint_id)
                          .order_by(BreachRecord.id.desc()).limit(1))


CODES_MISSING = ("不能确认违约失信：{names}在组织数据中没有统一社会信用代码，违约失信记录无法报送信用平台。"
                 "请系统管理员在「系统管理 → 部门管理」中补充后重新提交。")
RESPONDENT_UNKNOWN = ("不能确认违约失信：被投诉主体「{name}」不在组织数据中，无法取得其统一社会信用代码。请系统管理员在"
                      "「系统管理 → 部门管理」中新增名称为「{name}」的部门（含统一社会信用代码）后重新提交。")


def confirmation_parties(session: Session, complaint: Complaint) -> tuple[Department, Department]:
    """The respondent and the determining department (the case's supervisor: 谁认定) of a confirmation, both with
    a 统一社会信用代码 — else FormInvalid naming the department to fix, so no record leaves without the codes.

    A respondent registered by name only is looked up by that exact name among the active departments (an
    administrator may have added it since) and linked to the case when exactly one matches.
    """
    respondent = complaint.respondent
    if respondent is None:
        matches = session.scalars(select(Department).where(Department.name == complaint.respondent_name.strip(),
                                                           Department.is_active.is_(True))).all()
        if len(matches) != 1:
            message = RESPONDENT_UNKNOWN.format(name=complaint.respondent_name)
            raise FormInvalid({"_form": message}, message)
        respondent = complaint.respondent = matches[0]
    determining = complaint.supervisor or respondent.superior
    if determining is None:
        message = "不能确认违约失信：本案没有认定部门（被投诉主体没有上级部门或主管部门），请省发展改革委先指定认定部门。"
        raise FormInvalid({"_form": message}, message)
    missing = [f"{role}「{dept.name}」（部门代码 {dept.code}）" for role, dept in
               (("被投诉主体", respondent), ("认定部门", determining)) if not dept.uscc]
    if missing:
        message = CODES_MISSING.format(names="、".join(missing))
        raise FormInvalid({"_form": message}, message)
    return respondent, determining


def confirm_from_complaint(
    session: Session, complaint: Complaint, now: datetime, document_number: str, basis: str, facts: str,
    severity: str | None = None, rectification_deadline: Any = None,
) -> BreachRecord:
    """The draft breach record of a confirmed breach (or the case's earlier draft/withdrawn record, updated).

    The determining department is the case's supervisor (谁认定). The record stays internal — not public, not
    sent to the platforms, not eligible as a typical case — until the provincial DRC approves it at 复核
    (`publish_record`); sent back, it is withdrawn (`withdraw_record`).
    """
    severity = severity or "ordinary"
    determined_on = _local_day(now)
    eligible, publication_end = repair_dates(severity, determined_on)
    respondent, determining = confirmation_parties(session, complaint)
    fields = dict(
        respondent_id=respondent.id,
        respondent_name=complaint.respondent_name,
        respondent_uscc=respondent.uscc,
        respondent_division=respondent.division_code,
        respondent_prefecture=respondent.prefecture_code,
        determining_department_id=determining.id,
        determining_name=determining.name,
        determining_uscc=determining.uscc,
        determined_on=determined_on, document_number=document_number, basis=basis, facts=facts,
        domain=complaint.domain, amount=complaint.disputed_amount or complaint.contract_amount,
        rectification_deadline=_as_date(rectification_deadline), rectification_state="not_rectified",
        severity=severity, publication_start=determined_on, publication_end=publication_end,
        repair_eligible_from=eligible,
    )
    record = record_for_complaint(session, complaint.id)
    if record is not None and record.status in ("draft", "withdrawn"):  # sent back by the DRC and confirmed again
        for key, value in fields.items():
            setattr(record, key, value)
        record.status, record.version, record.updated_at = "draft", record.version + 1, now
        session.flush()
        _audit_record(session, record, "updated", None, now, before={"version": record.version - 1})
        return record
    if record is not None and record.status == "active":
        raise ConflictError("该案件已有公示中的违约失信记录，请先由省发展改革委纠错撤回后再重新确认")
    record = BreachRecord(complaint_id=complaint.id, source="complaint", status="draft", version=1,
                          created_at=now, updated_at=now, **fields)
    session.add(record)
    session.flush()
    _audit_record(session, record, "created", None, now)
    logger.info("draft breach record %s created for complaint %s", record.id, complaint.id)
    return record


def publish_record(session: Session, record: BreachRecord, actor: Official | None, now: datetime) -> BreachRecord:
    """The provincial DRC approved at 复核: the record is published from today, queued for the platforms and
    may become a typical case. A record the platforms already held (withdrawn, then confirmed again) goes out
    as a correction."""
    if record.status not in ("draft", "withdrawn"):  # withdrawn: the DRC corrected the case back to 复核
        raise ConflictError(f"违约失信记录当前为「{RECORD_STATUSES.get(record.status, record.status)}」，不能复核公开")
    before = record.status
    today = _local_day(now)
    eligible, publication_end = repair_dates(record.severity, today)
    record.status, record.updated_at = "active", now
    record.publication_start, record.publication_end, record.repair_eligible_from = today, publication_end, eligible
    if _was_delivered(session, record):  # withdrawn earlier, confirmed again: the platforms get a correction
        _changed(session, record, "corrected", now, actor, audit_as="published", before={"status": before})
    else:  # the first version anyone outside sees
        exchange.queue(session, record, "created", now)
        _audit_record(session, record, "published", actor, now, before={"version": record.version, "status": before})
    _case_event(session, record, now, actor, "breach_published",
                f"省发展改革委复核同意：违约失信记录自 {today:%Y年%m月%d日} 起公示，并推送信用信息共享平台")
    logger.info("breach record %s published", record.id)
    return record


def withdraw_record(session: Session, record: BreachRecord, reason: str, actor: Official | None,
                    now: datetime) -> BreachRecord:
    """Take a draft or published record back (sent back at 复核, or a decision corrected by the DRC): it is no
    longer shown or eligible; measures end; platforms that received it get a withdrawal; typical cases stop."""
    if record.status not in ("draft", "active"):
        raise ConflictError(f"违约失信记录当前为「{RECORD_STATUSES.get(record.status, record.status)}」，不能撤回")
    before = record.status
    for measure in record.active_measures:
        end_measure(session, measure, f"违约失信记录撤回：{reason}", actor, now, bump=False)
    record.status = "withdrawn"
    record.published_until = _local_day(now) if before == "active" else None
    if _was_delivered(session, record):
        _changed(session, record, "withdrawn", now, actor, before={"status": before, "reason": reason})
    else:  # never left the building: nothing to tell the platforms
        record.updated_at = now
        session.flush()
        _audit_record(session, record, "withdrawn", actor, now,
                      before={"version": record.version, "status": before, "reason": reason})
    shown = "（此前已公示的，停止公示并通知平台撤回）" if before == "active" else "（尚未公开，未推送平台）"
    _case_event(session, record, now, actor, "breach_withdrawn", f"违约失信记录撤回{shown}：{reason}")
    if before == "active":
        from engine.credit import exposure

        exposure.withdraw_for_repair(session, record, actor, now, reason=f"违约失信记录撤回：{reason}")
    logger.info("breach record %s withdrawn (%s)", record.id, before)
    return record


def _was_delivered(session: Session, record: BreachRecord) -> bool:
    """Whether any version of the record was ever queued for a platform."""
    return session.scalar(select(PlatformDelivery.id).where(PlatformDelivery.record_id == record.id).limit(1)) is not None


def create_record(session: Session, now: datetime | None = None, **fields: Any) -> BreachRecord:
    """A record from another source (e.g. migrated from the platform); fields as the model names them."""
    moment = now or clock.now()
    severity = fields.pop("severity", "ordinary")
    start = _as_date(fields.pop("publication_start", None)) or _as_date(fields.get("determined_on")) or _local_day(moment)
    eligible, publication_end = repair_dates(severity, start)
    fields.setdefault("determined_on", start)
    record = BreachRecord(severity=severity, publication_start=start, publication_end=publication_end,
                          repair_eligible_from=eligible, status="active", version=1, created_at=moment,
                          updated_at=moment, **fields)
    session.add(record)
    session.flush()
    exchange.queue(session, record, "created", moment)
    _audit_record(session, record, "created", None, moment)
    return record


def _changed(session: Session, record: BreachRecord, event: str, now: datetime, actor: Official | None = None,
             audit_as: str | None = None, before: dict | None = None) -> None:
    """A new version of the record: queued for the platforms and appended to the audit chain (as `audit_as`, by
    default the delivery event)."""
    record.version += 1
    record.updated_at = now
    session.flush()
    exchange.queue(session, record, event, now)
    _audit_record(session, record, audit_as or event, actor, now, before={"version": record.version - 1, **(before or {})})


RECORD_ACTIONS = {"created": "breach_record_created", "updated": "breach_record_updated",
                  "published": "breach_record_published", "withdrawn": "breach_record_withdrawn",
                  "measure_applied": "measure_applied", "measure_ended": "measure_ended", "repaired": "credit_repaired"}


def _audit_record(session: Session, record: BreachRecord, event: str, actor: Official | None, now: datetime,
                  before: dict | None = None) -> None:
    """Who changed a breach record (the process itself when `actor` is None: the task that led here is audited
    with its official in the same transaction), and the record's state after the change."""
    audit(session, RECORD_ACTIONS.get(event, f"breach_record_{event}"), actor or "系统（流程）", "breach_record",
          record.id, before=before, complaint_id=record.complaint_id, now=now, after={
              "version": record.version, "status": record.status, "severity": record.severity,
              "document_number": record.document_number,
              "active_measures": sorted(m.measure_type.code for m in record.active_measures)})


def _case_event(session: Session, record: BreachRecord, now: datetime, actor: Official | None, kind: str,
                summary: str, **data: Any) -> None:
    if record.complaint_id is None:
        return
    session.add(CaseEvent(complaint_id=record.complaint_id, at=now, actor_id=actor.id if actor else None,
                          actor_label=actor.label if actor else "系统（流程）", kind=kind, summary=summary,
                          data={"record_id": record.id, **data}))


# --- measures --------------------------------------------------------------------------------------------

def apply_measure(session: Session, record: BreachRecord, code: str, document_number: str, until: Any,
                  actor: Official | None, now: datetime) -> AppliedMeasure:
    if record.status != "active":
        raise ConflictError("该违约失信记录已修复，不能再实施惩戒措施")
    ensure_catalogue(session)
    measure_type = session.scalar(select(MeasureType).where(MeasureType.code == code, MeasureType.is_active.is_(True)))
    if measure_type is None:
        raise FormInvalid({"measure_code": "失信惩戒措施清单中没有该措施，请从清单中选择"})
    until_day = _as_date(until)
    if until_day is not None and until_day < _local_day(now):
        raise FormInvalid({"until": "截止日期不能早于今天"})
    running = next((m for m in record.active_measures if m.measure_type_id == measure_type.id), None)
    if running is not None:
        raise ConflictError(
            f"该记录已在实施「{measure_type.name}」（{running.document_number}，{_local_day(running.applied_at):%Y年%m月%d日}起），"
            "不能重复实施。请选择其他措施，或选择“放弃，本次不实施任何措施”结束此任务", measure_id=running.id)
    from engine.org.services import provincial_credit_office

    department = actor.department if actor else provincial_credit_office(session)  # measures are the DRC's
    measure = AppliedMeasure(record=record, measure_type=measure_type, department=department,
                             applied_by_id=actor.id if actor else None,
                             applied_by_label=actor.label if actor else "系统", applied_at=now,
                             document_number=document_number, until=until_day)
    session.add(measure)
    session.flush()
    _changed(session, record, "measure_applied", now, actor)
    _case_event(session, record, now, actor, "measure_applied",
                f"对违约失信记录实施惩戒措施：{measure_type.name}（{document_number}）", measure_id=measure.id)
    return measure


def expire_measure(session: Session, measure: AppliedMeasure, now: datetime) -> bool:
    """End a measure at the end of its `until` day (the timer of measures.bpmn fires at 23:59:59 that day in
    Yunnan); False when it ended already (lifted by the DRC or by credit repair meanwhile) or its day has not
    come yet."""
    if measure.ended_at is not None:
        return False
    if measure.until is None or measure.until > _local_day(now):
        logger.info("measure %s not expired at %s (until %s)", measure.id, now, measure.until)
        return False
    end_measure(session, measure, f"实施期限届满（截至 {measure.until:%Y年%m月%d日}）", None, now)
    logger.info("measure %s ended: its period ended on %s", measure.id, measure.until)
    return True


def end_measure(session: Session, measure: AppliedMeasure, reason: str, actor: Official | None,
                now: datetime, bump: bool = True, document_number: str | None = None) -> AppliedMeasure:
    """End a measure: the reason and the ending document (e.g. the repair decision) are kept apart."""
    if measure.ended_at is not None:
        raise ConflictError("该惩戒措施已经结束")
    measure.ended_at, measure.end_reason = now, reason
    measure.end_document_number = (document_number or "").strip() or None
    measure.ended_by_label = actor.label if actor else "系统（流程）"
    session.flush()
    if bump:
        _changed(session, measure.record, "measure_ended", now, actor)
    document = f"（{measure.end_document_number}）" if measure.end_document_number else ""
    _case_event(session, measure.record, now, actor, "measure_ended",
                f"惩戒措施「{measure.measure_type.name}」结束：{reason}{document}", measure_id=measure.id)
    return measure


def get_measure(session: Session, measure_id: int) -> AppliedMeasure:
    measure = session.get(AppliedMeasure, int(measure_id))
    if measure is None:
        raise NotFound("惩戒措施不存在")
    return measure


# --- credit repair ---------------------------------------------------------------------------------------

def ensure_repair_allowed(record: BreachRecord, now: datetime) -> None:
    """Refuse an application for repair before the minimum publication period of the record's class."""
    if record.status != "active":
        raise ConflictError("该违约失信记录已修复")
    today = _local_day(now)
    if today < record.repair_eligible_from:
        raise ConflictError(
            f"尚未到可申请信用修复的时间：{repair_rule_text(record)}（今天是 {today:%Y年%m月%d日}）",
            eligible_from=record.repair_eligible_from.isoformat())


def repair_record(session: Session, record: BreachRecord, document_number: str, actor: Official | None,
                  now: datetime) -> BreachRecord:
    """谁认定、谁修复: the record is repaired, every active measure ends, publication stops; platforms told."""
    if record.status != "active":
        raise ConflictError("该违约失信记录已修复")
    for measure in record.active_measures:
        end_measure(session, measure, REPAIR_END_REASON, actor, now, bump=False, document_number=document_number)
    today = _local_day(now)
    record.status = "repaired"
    record.repaired_on = today
    record.repair_document_number = document_number
    record.rectification_state = "rectified"
    record.published_until = today
    _changed(session, record, "repaired", now, actor)
    _case_event(session, record, now, actor, "credit_repaired", f"违约失信记录已完成信用修复（{document_number}）")
    from engine.credit import exposure

    exposure.withdraw_for_repair(session, record, actor, now)  # publication stops: typical cases too
    logger.info("breach record %s repaired (%s)", record.id, document_number)
    return record


# --- starting the processes --------------------------------------------------------------------------------

def _complaint_of(session: Session, record: BreachRecord) -> Complaint | None:
    return session.get(Complaint, record.complaint_id) if record.complaint_id else None


def start_measure_action(session: Session, record: BreachRecord, actor: Official, action: str = "apply",
                         measure_id: int | None = None, now: datetime | None = None) -> Any:
    """Start measures.bpmn for `record`: choose and apply a measure, or end an applied one."""
    from engine.workflow.instances import start_instance

    permissions.require(actor, permissions.MANAGE_MEASURES)
    if action not in START_FACT_VALUES[MEASURES_PROCESS]["action"]:
        raise FormInvalid({"action": "操作应为 apply（实施）或 end（解除）"})
    if record.status != "active":
        raise ConflictError("该违约失信记录已修复，不能再实施或解除惩戒措施")
    data: dict[str, Any] = {"record_id": record.id, "action": action, "measure_id": None}
    if action == "end":
        measure = get_measure(session, measure_id or 0)
        if measure.record_id != record.id or measure.ended_at is not None:
            raise ConflictError("该惩戒措施不属于此记录或已经结束")
        data["measure_id"] = measure.id
    ensure_catalogue(session)
    return start_instance(session, MEASURES_PROCESS, _complaint_of(session, record), actor, data=data, now=now)


def start_repair(session: Session, record: BreachRecord, actor: Official, now: datetime | None = None) -> Any:
    """Start credit_repair.bpmn for `record` (refused before the minimum publication period)."""
    from engine.workflow.instances import start_instance

    moment = now or clock.now()
    permissions.require(actor, permissions.APPLY_FOR_REPAIR, record)
    ensure_repair_allowed(record, moment)
    if record.repair_applied_at is not None:
        raise ConflictError("该记录的信用修复申请正在办理中")
    record.repair_applied_at = moment
    data = {"record_id": record.id, "eligible_from": record.repair_eligible_from.isoformat(),
            "repair_rule": repair_rule_text(record)}
    return start_instance(session, REPAIR_PROCESS, _complaint_of(session, record), actor, data=data, now=moment)


# --- who sees which records (engine.org.permissions: view_records) ------------------------------------------

def view_record(session: Session, record_id: int, official: Official) -> BreachRecord:
    record = get_record(session, record_id)
    permissions.require(official, permissions.VIEW_RECORDS, record)
    return record


def search_records(session: Session, official: Official, respondent: str | None = None,
                   domain: str | None = None, status: str | None = None, prefecture: str | None = None,
                   limit: int | None = 50, offset: int = 0, *, division: str | None = None,
                   rectification_state: str | None = None, determined_from: Any = None,
                   determined_to: Any = None, complaint_id: int | None = None) -> tuple[list[BreachRecord], Total]:
    """Records `official` may see, newest determination first, with the total count.

    `respondent`: part of the respondent's name, or its exact uscc; `division`: a 6-digit division code that is
    the respondent's own division or its prefecture; `determined_from`/`determined_to`: the determination date
    lies in that period (both days included); `complaint_id`: the records the case produced.
    """

    query = select(BreachRecord)
    clause = record_filter(official)
    if clause is not None:
        query = query.where(clause)
    if respondent:
        pattern = "%" + respondent.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(BreachRecord.respondent_name.like(pattern, escape="\\"),
                                BreachRecord.respondent_uscc == respondent))
    if domain:
        query = query.where(BreachRecord.domain == domain)
    if status:
        query = query.where(BreachRecord.status == status)
    if prefecture:
        query = query.where(BreachRecord.respondent_prefecture == prefecture)
    if division:
        query = query.where(or_(BreachRecord.respondent_division == division,
                                BreachRecord.respondent_prefecture == division))
    if rectification_state:
        query = query.where(BreachRecord.rectification_state == rectification_state)
    if complaint_id is not None:
        query = query.where(BreachRecord.complaint_id == complaint_id)
    if _as_date(determined_from) is not None:
        query = query.where(BreachRecord.determined_on >= _as_date(determined_from))
    if _as_date(determined_to) is not None:
        query = query.where(BreachRecord.determined_on <= _as_date(determined_to))
    total = capped_count(session, query, offset)
    query = query.order_by(BreachRecord.determined_on.desc(), BreachRecord.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), total


def published_records(session: Session, today: date, limit: int | None = None,
                      offset: int = 0) -> list[BreachRecord]:
    """Records currently in their publication period: repaired ones and those past their last day are removed
    (the public's view of them: engine.credit.publication)."""
    from engine.credit.publication import in_publication

    query = select(BreachRecord).where(in_publication(today)).order_by(BreachRecord.publication_start.desc(), BreachRecord.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
