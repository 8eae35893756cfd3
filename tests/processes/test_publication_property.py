"""A property over every path of complaint.bpmn: no breach record is public, delivered to a credit platform or
eligible as a typical case unless the provincial DRC approved it at 复核 — checked after every step."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.credit import exposure
from engine.credit.models import BreachRecord, PlatformDelivery
from engine.credit.publication import public_records
from engine.errors import ConflictError
from engine.workflow import jobs as workflow_jobs
from engine.workflow.clock import local_date
from tests.processes.conftest import ComplaintRun

BREACH = {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现", "severity": "ordinary"}
APPROVE = {"approved": True, "national_report_number": "云发改信用〔2026〕21号"}
SEND_BACK = {"approved": False, "review_remarks": "请补充认定依据"}
ORDER = {"deadline": "2026-04-30", "requirements": "兑现扶持资金"}
ACCEPT = ("screening", "intake", {"accepted": True})
FOUNDED = ("verify", "km-commerce", {"outcome": "founded", "explanation": "属实"})
NOT_RECTIFIED = [("report_rectification", "guandu-commerce", {"completed": False, "measures": "未落实"}),
                 ("review_rectification", "km-commerce", {"rectified": False})]
OVERDUE = ("tick", "", {"days": 60})  # the rectification deadline passes unreported
Step = tuple[str, str, dict]

PATHS: dict[str, list[Step]] = {
    "rejected": [("screening", "intake", {"accepted": False, "reason": "out_of_scope"})],
    "unfounded": [ACCEPT, ("verify", "km-commerce", {"outcome": "unfounded", "explanation": "已履行"})],
    "disputed": [ACCEPT, ("verify", "km-commerce", {"outcome": "disputed", "explanation": "有分歧"}),
                 ("resolve_dispute", "km-drc", {"method": "mediation", "resolution": "达成补充协议"})],
    "rectified": [ACCEPT, FOUNDED, ("order_rectification", "km-commerce", ORDER),
                  ("report_rectification", "guandu-commerce", {"completed": True, "measures": "已兑现"}),
                  ("review_rectification", "km-commerce", {"rectified": True})],
    "breach_approved": [ACCEPT, FOUNDED, ("order_rectification", "km-commerce", ORDER), *NOT_RECTIFIED,
                        ("confirm_breach_task", "km-commerce", BREACH), ("ndrc_review", "ndrc", APPROVE)],
    "sent_back_then_approved": [
        ACCEPT, FOUNDED, ("order_rectification", "km-commerce", ORDER), *NOT_RECTIFIED,
        ("confirm_breach_task", "km-commerce", BREACH), ("ndrc_review", "ndrc", SEND_BACK),
        ("confirm_breach_task", "km-commerce", {**BREACH, "basis": "协议第五条、第九条"}),
        ("ndrc_review", "ndrc", SEND_BACK), ("confirm_breach_task", "km-commerce", BREACH),
        ("ndrc_review", "ndrc", APPROVE)],
    "overdue_then_approved": [ACCEPT, FOUNDED, ("order_rectification", "km-commerce", ORDER), OVERDUE,
                              ("confirm_breach_task", "km-commerce", BREACH), ("ndrc_review", "ndrc", APPROVE)],
    "extension_approved_then_rectified": [
        ACCEPT, FOUNDED, ("order_rectification", "km-commerce", ORDER),
        ("report_rectification", "guandu-commerce", {"request_extension": True, "extension_reason": "审批未完"}),
        ("decide_extension", "km-commerce", {"extension_approved": True, "new_deadline": "2026-04-29",
                                             "decision_reason": "同意"}),
        ("report_rectification", "guandu-commerce", {"completed": True, "measures": "已兑现"}),
        ("review_rectification", "km-commerce", {"rectified": True})],
    "extension_refused_then_breach": [
        ACCEPT, FOUNDED, ("order_rectification", "km-commerce", ORDER),
        ("report_rectification", "guandu-commerce", {"request_extension": True, "extension_reason": "审批未完"}),
        ("decide_extension", "km-commerce", {"extension_approved": False, "decision_reason": "理由不成立"}),
        *NOT_RECTIFIED, ("confirm_breach_task", "km-commerce", BREACH), ("ndrc_review", "ndrc", SEND_BACK),
        ("confirm_breach_task", "km-commerce", BREACH), ("ndrc_review", "ndrc", APPROVE)],
}
ENDS = {"rejected": "rejected", "unfounded": "unfounded", "disputed": "disputed_resolved", "rectified": "rectified",
        "extension_approved_then_rectified": "rectified"}


def approved(run: ComplaintRun) -> bool:
    """Whether the DRC's last 复核 of the latest confirmation approved it."""
    decisions = [e.data for e in run.events("task_completed")
                 if e.data.get("task") in ("confirm_breach_task", "ndrc_review")]
    return bool(decisions) and decisions[-1]["task"] == "ndrc_review" and decisions[-1]["form"]["approved"] is True


def assert_nothing_leaks(run: ComplaintRun) -> None:
    session = run.session
    session.expire_all()
    records = list(session.scalars(select(BreachRecord).where(BreachRecord.complaint_id == run.complaint.id)))
    shown = {row["id"] for row in public_records(session, local_date(run.now), limit=None)[0]}
    for record in records:
        sent = session.scalar(select(PlatformDelivery.id).where(PlatformDelivery.record_id == record.id).limit(1))
        if approved(run):
            assert record.status == "active", run.steps
            assert record.id in shown, run.steps
            assert sent is not None, run.steps
            continue
        assert record.status in ("draft", "withdrawn"), run.steps
        assert record.id not in shown, run.steps
        assert sent is None, run.steps
        with pytest.raises(ConflictError):  # not eligible as a typical case either
            exposure.start_exposure(session, record, run.official("ndrc"), now=run.now)
        session.rollback()


@pytest.mark.parametrize("save_restore", [False, True])
@pytest.mark.parametrize("path", sorted(PATHS))
def test_no_record_is_public_or_sent_before_the_drc_approves(
        run_complaint: Callable[..., ComplaintRun], save_restore: bool, path: str) -> None:
    run = run_complaint(save_restore)
    assert_nothing_leaks(run)
    for spec_name, username, data in PATHS[path]:
        if spec_name == "tick":
            run.now += timedelta(days=data["days"])
            workflow_jobs.tick(run.session, now=run.now)
            run.session.commit()
            run._after_step()
        else:
            run.complete(spec_name, username, data)
        assert_nothing_leaks(run)
    if path in ENDS:
        run.assert_closed(ENDS[path])
        assert not run.session.scalars(select(BreachRecord).where(BreachRecord.complaint_id == run.complaint.id)).all()
    else:
        run.assert_closed("breach_reported")
