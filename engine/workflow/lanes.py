"""Where a lane's task goes: a registered lane resolver, else an administrator-defined lane role."""
from __future__ import annotations

from engine.org.services import provincial_credit_office
from engine.workflow.registry import LANES, LaneAssignment, StepContext


def resolve_lane(ctx: StepContext, lane_name: str | None) -> LaneAssignment:
    """Where a task in lane `lane_name` goes for this case: a code-backed resolver, else an
    administrator-defined role (engine/workflow/lane_roles.py), else the provincial DRC with a note."""
    from engine.workflow.lane_roles import find_active

    code_backed = LANES.get(lane_name or "ndrc")
    if code_backed is not None:
        return code_backed.resolve(ctx) or LANES["ndrc"].resolve(ctx)
    defined = find_active(ctx.session, lane_name)
    if defined is not None and defined.department.is_active:
        return LaneAssignment(defined.department, defined.required_role)
    return LaneAssignment(provincial_credit_office(ctx.session), "ndrc",
                          note=f"泳道「{lane_name}」不是已启用的泳道角色，任务转由省发展改革委处理")
