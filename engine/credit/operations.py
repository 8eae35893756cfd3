"""Service operations of measures.bpmn, credit_repair.bpmn and typical_case.bpmn, confirming a breach in the
complaint process, and the lane of the provincial DRC's leaders (registered by engine/builtin.py: load_builtin)."""
from __future__ import annotations

from typing import Any

from engine.cases.operations import note_event
from engine.credit import exposure, services
from engine.errors import EngineError
from engine.org.services import provincial_credit_office
from engine.workflow.registry import LaneAssignment, StepContext, lane, operation


@lane("ndrc_leader", "省发展改革委信用处负责人（审核）")
def ndrc_leader(ctx: StepContext) -> LaneAssignment | None:
    """Approvals that need a leader of the provincial credit office (role `leader` there)."""
    return LaneAssignment(provincial_credit_office(ctx.session), "leader")


@operation("confirm_breach", "确认违约失信并生成违约失信记录", ("document_number", "basis", "facts"))
def confirm_breach(ctx: StepContext, document_number: str, basis: str, facts: str, severity: str | None = None,
                   rectification_deadline: str | None = None) -> dict[str, Any]:
    ctx.subject.breach_confirmed_at = ctx.now
    record = services.confirm_from_complaint(ctx.session, ctx.subject, ctx.now, document_number, basis, facts,
                                    severity, rectification_deadline)
    note_event(ctx, "breach_confirmed", f"认定部门确认被投诉主体违约失信（{document_number}），生成违约失信记录",
           record_id=record.id, record_version=record.version)
    return {"confirmed": True, "record_id": record.id}


@operation("publish_breach_record", "复核同意：公开案件的违约失信记录并推送信用信息共享平台")
def publish_breach_record(ctx: StepContext) -> dict[str, Any]:
    record = _draft_of_case(ctx)
    services.publish_record(ctx.session, record, ctx.actor, ctx.now)
    return {"record_id": record.id, "published": True}


@operation("withdraw_breach_record", "撤回案件的违约失信记录（未公开的不公开；已推送的通知平台撤回）", ("reason",))
def withdraw_breach_record(ctx: StepContext, reason: str) -> dict[str, Any]:
    record = _draft_of_case(ctx)
    if record.status != "withdrawn":  # already withdrawn by the DRC's correction
        services.withdraw_record(ctx.session, record, reason, ctx.actor, ctx.now)
    return {"record_id": record.id, "withdrawn": True}


def _draft_of_case(ctx: StepContext) -> Any:
    record = services.record_for_complaint(ctx.session, ctx.subject.id) if ctx.subject else None
    if record is None:
        raise EngineError("本案没有违约失信记录：请先由认定部门确认违约失信")
    return record


@operation("apply_measure", "对违约失信记录实施惩戒措施", ("record_id", "measure_code", "document_number", "until"))
def apply_measure(ctx: StepContext, record_id: int, measure_code: str, document_number: str,
                  until: str | None = None) -> dict[str, Any]:
    record = services.get_record(ctx.session, record_id)
    measure = services.apply_measure(ctx.session, record, measure_code, document_number, until, ctx.actor, ctx.now)
    return {"measure_id": measure.id, "record_version": record.version}


@operation("end_measure", "解除惩戒措施（原因与解除文书号分别记录）", ("measure_id", "reason"))
def end_measure(ctx: StepContext, measure_id: int, reason: str, document_number: str | None = None) -> dict[str, Any]:
    measure = services.get_measure(ctx.session, measure_id)
    services.end_measure(ctx.session, measure, reason, ctx.actor, ctx.now, document_number=document_number)
    return {"ended": measure.id, "record_version": measure.record.version}


@operation("expire_measure", "惩戒措施实施期限届满，自动结束", ("measure_id",))
def expire_measure(ctx: StepContext, measure_id: int) -> dict[str, Any]:
    measure = services.get_measure(ctx.session, measure_id)
    ended = services.expire_measure(ctx.session, measure, ctx.now)
    return {"expired": ended, "record_version": measure.record.version}


@operation("check_repair_allowed", "核对是否已过最短公示期（可申请信用修复）", ("record_id",))
def check_repair_allowed(ctx: StepContext, record_id: int) -> dict[str, Any]:
    record = services.get_record(ctx.session, record_id)
    services.ensure_repair_allowed(record, ctx.now)
    return {"allowed": True}


@operation("repair_record", "信用修复：修复记录、结束全部惩戒措施、停止公示并通知平台", ("record_id", "document_number"))
def repair_record(ctx: StepContext, record_id: int, document_number: str) -> dict[str, Any]:
    record = services.get_record(ctx.session, record_id)
    services.repair_record(ctx.session, record, document_number, ctx.actor, ctx.now)
    record.repair_applied_at = None
    return {"repaired": True, "record_version": record.version}


@operation("refuse_repair", "不予信用修复（记录理由）", ("record_id", "reasons"))
def refuse_repair(ctx: StepContext, record_id: int, reasons: str) -> dict[str, Any]:
    record = services.get_record(ctx.session, record_id)
    record.repair_applied_at = None
    services._case_event(ctx.session, record, ctx.now, ctx.actor, "repair_refused", f"不予信用修复：{reasons}")
    return {"repaired": False}


@operation("select_typical_case", "选定曝光典型案例（核对选定理由）并生成脱敏初稿",
           ("typical_case_id", "selection_reason", "selection_note"))
def select_typical_case(ctx: StepContext, typical_case_id: int, selection_reason: str,
                        selection_note: str | None = None) -> dict[str, Any]:
    case = exposure.get_case(ctx.session, typical_case_id)
    exposure.select_case(ctx.session, case, selection_reason, selection_note, ctx.actor, ctx.now)
    return {"status": case.status}


@operation("drop_typical_case", "不予选定为典型案例", ("typical_case_id", "selection_note"))
def drop_typical_case(ctx: StepContext, typical_case_id: int, selection_note: str | None = None) -> dict[str, Any]:
    case = exposure.get_case(ctx.session, typical_case_id)
    exposure.drop_case(ctx.session, case, selection_note, ctx.actor, ctx.now)
    return {"status": case.status}


@operation("submit_typical_case_text", "核查公开文本不含个人信息并提交审核", ("typical_case_id", "title", "public_text"))
def submit_typical_case_text(ctx: StepContext, typical_case_id: int, title: str, public_text: str) -> dict[str, Any]:
    case = exposure.get_case(ctx.session, typical_case_id)
    exposure.submit_redaction(ctx.session, case, title, public_text, ctx.actor, ctx.now)
    return {"status": case.status}


@operation("publish_typical_case", "负责人审核同意：在信用云南网站公开曝光", ("typical_case_id", "review_remarks"))
def publish_typical_case(ctx: StepContext, typical_case_id: int, review_remarks: str | None = None) -> dict[str, Any]:
    case = exposure.get_case(ctx.session, typical_case_id)
    exposure.review(ctx.session, case, True, review_remarks, ctx.actor, ctx.now)
    return {"status": case.status}


@operation("return_typical_case", "负责人退回公开文本修改", ("typical_case_id", "review_remarks"))
def return_typical_case(ctx: StepContext, typical_case_id: int, review_remarks: str | None = None) -> dict[str, Any]:
    case = exposure.get_case(ctx.session, typical_case_id)
    exposure.review(ctx.session, case, False, review_remarks, ctx.actor, ctx.now)
    return {"status": case.status}
