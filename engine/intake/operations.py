"""Service operations of processes/objection.bpmn (registered by engine/builtin.py: load_builtin)."""
from __future__ import annotations

from typing import Any

from engine.intake import feedback
from engine.workflow.registry import StepContext, operation


@operation("reopen_case", "异议成立：重新办理案件（从投诉处置流程开始处重新运行）", ("objection_id", "reason"))
def reopen_case(ctx: StepContext, objection_id: int, reason: str) -> dict[str, Any]:
    feedback.decide(ctx.session, int(objection_id), True, reason, ctx.actor, ctx.now)
    return {"reopened": True}


@operation("dismiss_objection", "异议不成立：维持办理结果并告知投诉人理由", ("objection_id", "reason"))
def dismiss_objection(ctx: StepContext, objection_id: int, reason: str) -> dict[str, Any]:
    feedback.decide(ctx.session, int(objection_id), False, reason, ctx.actor, ctx.now)
    return {"reopened": False}
