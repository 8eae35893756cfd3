"""Service operations of measures.bpmn and credit_repair.bpmn (registered by registry.load_builtin)."""
from __future__ import annotations

from typing import Any

from engine.credit import services
from engine.workflow.registry import StepContext, operation


@operation("apply_measure", "对违约失信记录实施惩戒措施", ("record_id", "measure_code", "document_number", "until"))
def apply_measure(ctx: StepContext, record_id: int, measure_code: str, document_number: str,
                  until: str | None = None) -> dict[str, Any]:
    record = services.get_record(ctx.session, record_id)
    measure = services.apply_measure(ctx.session, record, measure_code, document_number, until, ctx.actor, ctx.now)
    return {"measure_id": measure.id, "record_version": record.version}


@operation("end_measure", "解除惩戒措施", ("measure_id", "reason"))
def end_measure(ctx: StepContext, measure_id: int, reason: str) -> dict[str, Any]:
    measure = services.get_measure(ctx.session, measure_id)
    services.end_measure(ctx.session, measure, reason, ctx.actor, ctx.now)
    return {"ended": measure.id, "record_version": measure.record.version}


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
