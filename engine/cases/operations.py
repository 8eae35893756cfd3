"""Service operations of the complaint processes that service tasks in the diagrams call by name
(registered with the workflow runtime by engine/builtin.py)."""
from __future__ import annotations

import logging
from typing import Any

from engine.cases.models import CaseEvent
from engine.errors import EngineError, FormInvalid, NotFound
from engine.org.services import get_department
from engine.workflow.registry import StepContext, operation

logger = logging.getLogger(__name__)


def note_event(ctx: StepContext, kind: str, summary: str, public_note: str | None = None, **data: Any) -> None:
    """One line of the case's history written by the process (nothing for an instance of no case)."""
    if ctx.subject is None:
        return
    ctx.session.add(CaseEvent(
        complaint_id=ctx.subject.id, at=ctx.now, actor_id=None, actor_label="系统（流程）",
        kind=kind, summary=summary, data=data, public_note=public_note,
    ))


@operation("resolve_supervisor", "按组织数据确定认定部门（上级部门或主管部门）",
           stub=lambda: {"found": True, "supervisor": "（场景：组织数据中的上级部门）"})
def resolve_supervisor(ctx: StepContext) -> dict[str, Any]:
    complaint = ctx.subject
    superior = complaint.respondent.superior if complaint and complaint.respondent else None
    if superior is None:
        note_event(ctx, "supervisor_unknown", "组织数据中没有被投诉主体的上级部门或主管部门，需由省发展改革委指定")
        return {"found": False}
    complaint.supervisor = superior
    note_event(ctx, "forwarded", f"已转交认定部门：{superior.name}", supervisor=superior.code)
    return {"found": True, "supervisor": superior.code}


@operation("assign_supervisor", "由省发展改革委指定认定部门", ("department_code",))
def assign_supervisor(ctx: StepContext, department_code: str) -> dict[str, Any]:
    try:
        dept = get_department(ctx.session, department_code)
    except NotFound as exc:
        raise FormInvalid({"department_code": "组织数据中没有该部门，请从列表中选择"}) from exc
    ctx.subject.supervisor = dept
    note_event(ctx, "forwarded", f"省发展改革委指定认定部门并转交：{dept.name}", supervisor=dept.code)
    return {"found": True, "supervisor": dept.code}


@operation("notify_complainant", "向投诉人反馈", ("message",))
def notify_complainant(ctx: StepContext, message: str) -> dict[str, Any]:
    note_event(ctx, "complainant_notice", f"已向投诉人反馈：{message}", public_note=message)
    return {"sent": True}


@operation("record_report", "记录报送（报省发展改革委或国家发展改革委）", ("recipient", "summary"))
def record_report(ctx: StepContext, recipient: str, summary: str) -> dict[str, Any]:
    note_event(ctx, "report", f"报送{recipient}：{summary}", recipient=recipient)
    return {"reported": True}


@operation("close_case", "办结案件", ("result",))
def close_case(ctx: StepContext, result: str) -> dict[str, Any]:
    from engine.cases.status import RESULTS

    if result not in RESULTS:
        raise EngineError(f"未知的办结结果：{result}")
    ctx.subject.result = result
    ctx.subject.status = "closed"
    ctx.subject.closed_at = ctx.now
    note_event(ctx, "closed", f"案件办结：{RESULTS[result]}", result=result)
    logger.info("complaint %s closed with %s", ctx.subject.id, result)
    return {"closed": True}


@operation("notify_lane", "通知泳道对应的部门（站内消息）", ("lane", "kind", "title", "message"), lane_parameters=("lane",))
def notify_lane(ctx: StepContext, lane: str, kind: str, title: str, message: str) -> dict[str, Any]:
    from sqlalchemy import select

    from engine.notify.mail import enqueue
    from engine.notify.models import Notification
    from engine.org.models import Official
    from engine.workflow.lane_roles import find_active
    from engine.workflow.lanes import resolve_lane
    from engine.workflow.registry import LANES

    if lane not in LANES and find_active(ctx.session, lane) is None:
        raise EngineError(f"未知的泳道角色：{lane}")
    assignment = resolve_lane(ctx, lane)
    notice = Notification(
        department_id=assignment.department.id, role=assignment.role,
        complaint_id=ctx.subject.id if ctx.subject else None, kind=kind, title=title, body=message,
        created_at=ctx.now)
    ctx.session.add(notice)
    ctx.session.flush()
    recipients = ctx.session.scalars(select(Official).where(
        Official.department_id == assignment.department.id, Official.is_active.is_(True),
        Official.email.is_not(None)))
    case = f"（案件 {ctx.subject.tracking_code}）" if ctx.subject else ""
    for official in recipients:
        if assignment.role is None or official.has_role(assignment.role):
            enqueue(ctx.session, f"notification:{notice.id}:{official.id}", official.email,
                    f"【履约】{title}{case}", f"{official.full_name}：\n\n{message}\n\n（本邮件由系统自动发送）")
    note_event(ctx, kind, f"{title}（已通知{assignment.department.name}）", department=assignment.department.code)
    return {"notified": assignment.department.code}


@operation("flag_supervision", "挂牌督办（标记案件并记录）", ("reason",))
def flag_supervision(ctx: StepContext, reason: str) -> dict[str, Any]:
    if ctx.subject is not None and ctx.subject.supervised_at is None:
        ctx.subject.supervised_at = ctx.now
    note_event(ctx, "supervision", f"挂牌督办：{reason}")
    return {"flagged": True}
