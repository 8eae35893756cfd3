"""Rating and objection after closing: objection.bpmn (the DRC reopens or dismisses), plain and through a
save/restore round trip of the objection instance."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.cases.services import instance_of, open_tasks
from engine.errors import ConflictError, FormInvalid, PermissionDenied
from engine.intake import feedback
from engine.intake.models import CaseRating, Objection
from engine.notify.models import Notification
from engine.workflow.instances import complete_task
from engine.workflow.models import ProcessInstance
from tests.processes.conftest import ComplaintRun, round_trip

RunComplaint = Callable[..., ComplaintRun]
save_restore = pytest.mark.parametrize("save_restore", [False, True])


def closed_case(run_complaint: RunComplaint, save_restore: bool) -> ComplaintRun:
    run = run_complaint(save_restore)
    run.complete("screening", "intake", {"accepted": False, "reason": "out_of_scope", "remarks": None})
    run.assert_closed("rejected")
    return run


def objected(run: ComplaintRun, reason: str = "我方协议属于招商引资范围，不应不予受理") -> Objection:
    objection = feedback.object_to(run.session, run.complaint, reason, window_days=15, now=run._tick())
    run.session.commit()
    instance = run.session.get(ProcessInstance, objection.instance_id)
    if run.save_restore:
        round_trip(run.session, instance)
    return objection


@save_restore
def test_objection_reopens_the_case(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = closed_case(run_complaint, save_restore)
    first_instance = instance_of(run.session, run.complaint)
    objection = objected(run)
    with pytest.raises(ConflictError, match="已对本次办理结果提出过异议"):
        feedback.object_to(run.session, run.complaint, "再次异议", window_days=15, now=run._tick())
    [task] = open_tasks(run.session, run.complaint)
    assert (task.spec_name, task.lane, task.role, task.department.code) == ("decide_objection", "ndrc", "ndrc", "ndrc")
    assert task.due_at is not None
    assert run.complaint.status == "closed"  # the objection's task does not change the case's status
    with pytest.raises(PermissionDenied):
        complete_task(run.session, task.id, {"reopen": True, "decision_reason": "x"}, run.official("intake"),
                      now=run._tick())
    with pytest.raises(FormInvalid):
        complete_task(run.session, task.id, {"reopen": True, "decision_reason": ""}, run.official("ndrc"),
                      now=run._tick())
    complete_task(run.session, task.id, {"reopen": True, "decision_reason": "该协议属于受理范围，重新受理审查"},
                  run.official("ndrc"), now=run._tick())
    run.session.commit()

    run.session.refresh(run.complaint)
    assert (run.complaint.status, run.complaint.result, run.complaint.closed_at) == ("screening", None, None)
    assert instance_of(run.session, run.complaint).id != first_instance.id  # a new run of the procedure
    assert run.session.get(ProcessInstance, objection.instance_id).status == "completed"
    if save_restore:
        round_trip(run.session, instance_of(run.session, run.complaint))
    run.session.refresh(objection)
    assert (objection.decision, objection.decision_reason) == ("reopen", "该协议属于受理范围，重新受理审查")
    assert [e.public_note for e in run.events("reopened")] == ["省发展改革委审核了您的异议，决定重新办理：该协议属于受理范围，重新受理审查"]
    run.complete("screening", "intake", {"accepted": False, "reason": "incomplete", "remarks": None})
    run.session.refresh(run.complaint)
    assert run.complaint.status == "closed"
    assert feedback.may_object(run.session, run.complaint, 15, run.now)  # a new closing: objection allowed again


@save_restore
def test_dismissed_objection_keeps_the_result_and_tells_why(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = closed_case(run_complaint, save_restore)
    objection = objected(run)
    [task] = open_tasks(run.session, run.complaint)
    complete_task(run.session, task.id, {"reopen": False, "decision_reason": "所涉事项已进入诉讼程序"},
                  run.official("ndrc"), now=run._tick())
    run.session.commit()
    run.session.refresh(run.complaint)
    assert (run.complaint.status, run.complaint.result) == ("closed", "rejected")
    assert open_tasks(run.session, run.complaint) == []
    assert [e.public_note for e in run.events("objection_dismissed")] == [
        "省发展改革委审核了您的异议，决定维持办理结果：所涉事项已进入诉讼程序"]
    run.session.refresh(objection)
    assert objection.decision == "dismiss"
    assert not feedback.may_object(run.session, run.complaint, 15, run.now)


@save_restore
def test_rating_and_the_objection_window(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    with pytest.raises(ConflictError, match="办结后才能评价"):
        feedback.rate(run.session, run.complaint, 5, "")
    run.complete("screening", "intake", {"accepted": False, "reason": "out_of_scope", "remarks": None})
    with pytest.raises(FormInvalid):
        feedback.rate(run.session, run.complaint, 6, "")
    feedback.rate(run.session, run.complaint, "4", "答复及时", now=run._tick())
    run.session.commit()
    with pytest.raises(ConflictError, match="已评价过"):
        feedback.rate(run.session, run.complaint, 5, "")
    assert run.session.scalar(select(CaseRating.score)) == 4
    notice = run.session.scalar(select(Notification).where(Notification.complaint_id == run.complaint.id))
    assert notice.department_id == run.official("ndrc").department_id
    assert notice.role == "ndrc"
    assert "4 分" in notice.title
    late = run.complaint.closed_at + timedelta(days=16)
    assert not feedback.may_object(run.session, run.complaint, 15, late)
    with pytest.raises(ConflictError, match="已超过提出异议的期限"):
        feedback.object_to(run.session, run.complaint, "理由", window_days=15, now=late)
    with pytest.raises(FormInvalid):
        feedback.object_to(run.session, run.complaint, "  ", window_days=15, now=run._tick())
