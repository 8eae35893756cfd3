"""Service operations of the bulletin process (processes/bulletin.bpmn)."""
from __future__ import annotations

from typing import Any

from engine.oversight import bulletins
from engine.workflow.registry import StepContext, operation


@operation("generate_bulletin", "生成调度通报（排队生成本期数字与排名快照）", ("period_kind", "period_start", "timer_due"))
def generate_bulletin(ctx: StepContext, period_kind: str, period_start: str | None, timer_due: str | None,
                      regenerate_reason: str | None = None, **_: Any) -> dict[str, Any]:
    """Queue a new revision of the period's bulletin (the previous unpublished one is superseded)."""
    period = bulletins.period_for(period_kind, period_start, timer_due)
    instance_id = ctx.instance.id if ctx.instance is not None else None
    previous = bulletins.bulletin_of_instance(ctx.session, instance_id) if instance_id else None
    source = "regenerated" if previous else ("timer" if timer_due else "manual")
    bulletin = bulletins.queue_bulletin(ctx.session, period_kind, period, ctx.now, instance_id, source,
                                        regenerate_reason if previous else None)
    return {"bulletin_id": bulletin.id, "revision": bulletin.revision, "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat()}


@operation("publish_bulletin", "发布调度通报", ("bulletin_id", "remarks", "publish_public"))
def publish_bulletin(ctx: StepContext, bulletin_id: int, remarks: str | None, publish_public: bool | None,
                     **_: Any) -> dict[str, Any]:
    bulletin = bulletins.publish(ctx.session, int(bulletin_id), remarks, bool(publish_public), ctx.now, ctx.actor)
    return {"published": True, "bulletin_id": bulletin.id, "public": bulletin.is_public}
