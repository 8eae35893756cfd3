"""Lane resolvers of the complaint processes: lane names are roles, resolved to a department for each case
(registered with the workflow runtime by engine/builtin.py)."""
from __future__ import annotations

from engine.org.services import prefecture_credit_lead, provincial_credit_office
from engine.workflow.registry import LaneAssignment, StepContext, lane


def _to_ndrc(ctx: StepContext, why: str) -> LaneAssignment:
    return LaneAssignment(provincial_credit_office(ctx.session), "ndrc", note=why)


@lane("intake", "受理登记（投诉受理部门）")
def intake(ctx: StepContext) -> LaneAssignment | None:
    if ctx.subject is None:
        return _to_ndrc(ctx, "无关联投诉，由省发展改革委受理")
    return LaneAssignment(ctx.subject.intake_department, "intake")


@lane("ndrc", "省发展改革委信用处")
def ndrc(ctx: StepContext) -> LaneAssignment | None:
    return LaneAssignment(provincial_credit_office(ctx.session), "ndrc")


@lane("supervisor", "被投诉主体的上级部门或主管部门（认定部门）")
def supervisor(ctx: StepContext) -> LaneAssignment | None:
    complaint = ctx.subject
    if complaint is not None and complaint.supervisor is not None:
        return LaneAssignment(complaint.supervisor)
    if complaint is not None and complaint.respondent is not None and complaint.respondent.superior:
        return LaneAssignment(complaint.respondent.superior)
    return _to_ndrc(ctx, "认定部门未确定，任务转由省发展改革委处理")


@lane("respondent", "被投诉主体")
def respondent(ctx: StepContext) -> LaneAssignment | None:
    if ctx.subject is not None and ctx.subject.respondent is not None:
        return LaneAssignment(ctx.subject.respondent)
    return supervisor(ctx)


@lane("prefecture_lead", "被投诉主体所在州（市）信用牵头单位")
def prefecture_lead(ctx: StepContext) -> LaneAssignment | None:
    respondent_dept = ctx.subject.respondent if ctx.subject is not None else None
    lead = prefecture_credit_lead(ctx.session, respondent_dept.prefecture_code if respondent_dept else None)
    if lead is None:
        return _to_ndrc(ctx, "未找到被投诉主体所在州（市）的信用牵头单位，任务转由省发展改革委处理")
    return LaneAssignment(lead, "prefecture_lead")


@lane("supervisor_leader", "认定部门负责人")
def supervisor_leader(ctx: StepContext) -> LaneAssignment | None:
    found = supervisor(ctx)
    if found is None or found.role == "ndrc":
        return found
    return LaneAssignment(found.department, "leader", note=found.note)
