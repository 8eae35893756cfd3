"""Every path of complaint.bpmn at engine level, each run plain and through a save/restore round trip."""
from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy.orm import Session

from engine.cases.services import open_tasks
from engine.db import as_utc
from engine.errors import FormInvalid
from engine.workflow import specs
from engine.workflow.instances import complete_task, load_workflow
from tests.conftest import PROCESSES
from tests.processes.conftest import ComplaintRun

RunComplaint = Callable[..., ComplaintRun]
save_restore = pytest.mark.parametrize("save_restore", [False, True])

REJECTION_TEXT = {
    "out_of_scope": "不属于政府违约失信投诉受理范围",
    "incomplete": "材料不全且未按要求补正",
    "in_litigation": "已进入诉讼、仲裁或信访程序",
}


def accept(run: ComplaintRun) -> None:
    run.complete("screening", "intake", {"accepted": True, "remarks": "属于受理范围"}, department="ndrc")


def founded_until_review(run: ComplaintRun, completed: bool) -> None:
    """Accept, verify as founded, order rectification, and have the respondent report."""
    accept(run)
    run.complete("verify", "km-commerce", {"outcome": "founded", "explanation": "经核实，扶持资金确未兑现"},
                 department="km-commerce")
    run.complete("order_rectification", "km-commerce",
                 {"deadline": "2026-04-30", "requirements": "30 日内兑现扶持资金"}, department="km-commerce")
    report = run.task("report_rectification", "guandu-commerce", department="km-guandu-commerce")
    assert report.lane == "respondent"
    # the deadline is a date: the task is due at the end of that day in Yunnan
    assert as_utc(report.due_at) == datetime(2026, 4, 30, 15, 59, 59, tzinfo=UTC)
    run.complete("report_rectification", "guandu-commerce",
                 {"completed": completed, "measures": "已拨付" if completed else "资金尚未落实"})


# --- screening -----------------------------------------------------------------------------------------

@save_restore
@pytest.mark.parametrize("reason", sorted(REJECTION_TEXT))
def test_rejected_at_screening_tells_the_complainant_why(
        run_complaint: RunComplaint, save_restore: bool, reason: str) -> None:
    run = run_complaint(save_restore)
    screening = run.task("screening", "intake", department="ndrc")
    assert screening.lane == "intake"
    assert screening.role == "intake"
    assert run.complaint.status == "screening"
    run.complete("screening", "intake", {"accepted": False, "reason": reason, "remarks": "请补充材料"})

    run.assert_closed("rejected")
    [notice] = run.notices()
    assert notice == f"您的投诉不予受理，原因：{REJECTION_TEXT[reason]}。请补充材料"
    assert run.complaint.supervisor is None


@save_restore
def test_rejection_needs_a_reason(run_complaint: RunComplaint, session: Session,
                                  official: Callable, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    task = run.task("screening", "intake")
    with pytest.raises(FormInvalid) as caught:
        complete_task(session, task.id, {"accepted": False}, official("intake"), now=run.now)
    assert caught.value.errors == {"reason": "不予受理时必须选择原因"}
    session.rollback()
    run.complete("screening", "intake", {"accepted": False, "reason": "in_litigation"})
    run.assert_closed("rejected")
    assert run.notices() == ["您的投诉不予受理，原因：已进入诉讼、仲裁或信访程序"]


# --- finding the supervisor ----------------------------------------------------------------------------

@save_restore
def test_accepted_case_goes_to_the_respondents_superior(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    accept(run)
    verify = run.task("verify", "km-commerce", department="km-commerce")
    assert verify.lane == "supervisor"
    assert verify.role is None
    assert run.complaint.supervisor.code == "km-commerce"
    assert run.complaint.status == "verifying"
    assert [e.data["supervisor"] for e in run.events("forwarded")] == ["km-commerce"]
    assert run.events("supervisor_unknown") == []
    # the leader of the same department sees it too; the respondent itself does not
    run.task("verify", "km-commerce-lead")


@save_restore
@pytest.mark.parametrize(("respondent", "designated", "username"), [
    ("yn-university-hospital", "yn-gov", "yn-gov"),
    ("yx-hongta-park", "yn-commerce", "yn-commerce"),  # 省商务厅 oversees development zones
])
def test_unknown_supervisor_is_designated_by_the_ndrc(
        run_complaint: RunComplaint, save_restore: bool, respondent: str, designated: str, username: str) -> None:
    run = run_complaint(save_restore, respondent_code=respondent)
    accept(run)
    assert len(run.events("supervisor_unknown")) == 1
    designate = run.task("designate_supervisor", "ndrc", department="ndrc")
    assert designate.lane == "ndrc"
    assert designate.role == "ndrc"
    assert run.complaint.status == "assigning"
    run.task("designate_supervisor", "ndrc2")  # any ndrc official; the intake clerk does not see it (checked)
    run.complete("designate_supervisor", "ndrc", {"department_code": designated, "remarks": "指定"})

    verify = run.task("verify", username, department=designated)
    assert verify.lane == "supervisor"
    assert run.complaint.supervisor.code == designated
    assert [e.data["supervisor"] for e in run.events("forwarded")] == [designated]
    run.complete("verify", username, {"outcome": "unfounded", "explanation": "协议已履行完毕"})
    run.assert_closed("unfounded")


# --- verification outcomes -----------------------------------------------------------------------------

@save_restore
def test_unfounded_is_explained_and_reported(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    accept(run)
    run.complete("verify", "km-commerce",
                 {"outcome": "unfounded", "respondent_reason": "none", "explanation": "资金已于 2025 年 12 月拨付到位"})
    run.assert_closed("unfounded")
    assert run.notices() == ["经核实，投诉反映情况不属实。说明：资金已于 2025 年 12 月拨付到位"]
    [report] = run.events("report")
    assert report.data["recipient"] == "省发展改革委"
    assert "核实不属实：资金已于 2025 年 12 月拨付到位" in report.summary


@save_restore
@pytest.mark.parametrize(("respondent", "lead_user", "lead_dept", "supervisor_user"), [
    ("km-guandu-commerce", "km-drc", "km-drc", "km-commerce"),
    ("yn-commerce", "ndrc", "ndrc", "yn-gov"),  # a provincial respondent has no prefecture lead
])
def test_disputed_case_goes_to_the_prefecture_credit_lead(
        run_complaint: RunComplaint, save_restore: bool, respondent: str, lead_user: str, lead_dept: str,
        supervisor_user: str) -> None:
    run = run_complaint(save_restore, respondent_code=respondent)
    accept(run)
    run.complete("verify", supervisor_user,
                 {"outcome": "disputed", "respondent_reason": "contract_dispute", "explanation": "双方对条款理解不一"})
    dispute = run.task("resolve_dispute", lead_user, department=lead_dept)
    assert dispute.lane == "prefecture_lead"
    assert run.complaint.status == "negotiating"
    fallbacks = run.events("lane_fallback")
    if lead_dept == "ndrc":
        assert dispute.role == "ndrc"
        assert len(fallbacks) == 1
        assert "信用牵头单位" in fallbacks[0].summary
    else:
        assert dispute.role == "prefecture_lead"  # only credit-lead officials of the prefecture
        assert fallbacks == []
    run.complete("resolve_dispute", lead_user, {"method": "mediation", "resolution": "双方达成补充协议"})
    run.assert_closed("disputed_resolved")
    assert run.notices() == ["对有分歧的投诉，已通过调解处理：双方达成补充协议"]


@save_restore
def test_founded_and_rectified(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    founded_until_review(run, completed=True)
    review = run.task("review_rectification", "km-commerce", department="km-commerce")
    assert run.complaint.status == "reviewing"
    assert review.lane == "supervisor"
    run.complete("review_rectification", "km-commerce", {"rectified": True, "review_comment": "资金已到账"})
    run.assert_closed("rectified")
    assert run.notices() == ["经核实，投诉反映情况属实，已督促被投诉主体整改，整改期限至 2026-04-30。", "被投诉主体已完成整改。资金已到账"]
    assert run.complaint.breach_confirmed_at is None


@save_restore
def test_refused_rectification_is_confirmed_and_reported(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    founded_until_review(run, completed=False)
    run.complete("review_rectification", "km-commerce", {"rectified": False, "review_comment": "拒不整改"})
    assert run.complaint.status == "confirming"
    run.complete("confirm_breach_task", "km-commerce",
                 {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现"},
                 department="km-commerce")
    assert as_utc(run.complaint.breach_confirmed_at) == run.now
    ndrc_review = run.task("ndrc_review", "ndrc", department="ndrc")
    assert ndrc_review.role == "ndrc"
    run.complete("ndrc_review", "ndrc2", {"approved": True, "national_report_number": "云发改信用〔2026〕21号"})

    run.assert_closed("breach_reported")
    assert run.complaint.breach_confirmed_at is not None
    reports = {e.data["recipient"]: e.summary for e in run.events("report")}
    assert "云发改信用〔2026〕21号" in reports["国家发展改革委"]
    assert run.notices() == ["经核实，投诉反映情况属实，已督促被投诉主体整改，整改期限至 2026-04-30。",
                             "经认定，被投诉主体拒不整改，已确认为违约失信并依规上报。"]


@save_restore
def test_ndrc_sends_the_breach_back_for_more(run_complaint: RunComplaint, session: Session,
                                           official: Callable, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    founded_until_review(run, completed=False)
    run.complete("review_rectification", "km-commerce", {"rectified": False})
    breach = {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现"}
    run.complete("confirm_breach_task", "km-commerce", breach)
    task = run.task("ndrc_review", "ndrc")
    with pytest.raises(FormInvalid) as caught:  # approving needs the report number
        complete_task(session, task.id, {"approved": True}, official("ndrc"), now=run.now)
    assert caught.value.errors == {"national_report_number": "同意上报时必须填写上报文号"}
    session.rollback()

    run.complete("ndrc_review", "ndrc", {"approved": False, "review_remarks": "请补充认定依据"})
    assert run.complaint.status == "confirming"
    assert run.complaint.result is None
    run.complete("confirm_breach_task", "km-commerce-lead", {**breach, "basis": "协议第五条、第九条"},
                 department="km-commerce")
    run.complete("ndrc_review", "ndrc", {"approved": True, "national_report_number": "云发改信用〔2026〕22号"})
    run.assert_closed("breach_reported")
    assert run.steps.count("confirm_breach_task") == 2
    assert len(run.events("breach_confirmed")) == 2


# --- the excuse rule: 机构调整、人员变动不得作为理由 ----------------------------------------------------------

@save_restore
@pytest.mark.parametrize("excuse", ["restructuring", "staff_change"])
def test_the_form_refuses_an_excuse_as_unfounded(run_complaint: RunComplaint, session: Session,
                                                  official: Callable, save_restore: bool, excuse: str) -> None:
    run = run_complaint(save_restore)
    accept(run)
    task = run.task("verify", "km-commerce")
    with pytest.raises(FormInvalid) as caught:
        complete_task(session, task.id, {"outcome": "unfounded", "respondent_reason": excuse, "explanation": "换届"},
                      official("km-commerce"), now=run.now)
    assert set(caught.value.errors) == {"outcome"}
    assert "机构调整、人员变动" in caught.value.errors["outcome"]
    assert "不能认定为不属实" in caught.value.errors["outcome"]
    session.rollback()
    assert [t.id for t in open_tasks(session, run.complaint)] == [task.id]
    # the same excuse with a founded or disputed outcome is accepted
    run.complete("verify", "km-commerce", {"outcome": "founded", "respondent_reason": excuse, "explanation": "换届"})
    run.task("order_rectification", "km-commerce")


@pytest.fixture
def verify_form_without_rule(session: Session) -> None:
    """Deploy a variant of the bundled process whose verify form lacks the excuse rule (the allOf)."""
    bundle = specs.bundle_from_directory(PROCESSES / "complaint.bpmn")
    bundle.forms = copy.deepcopy(bundle.forms)
    del bundle.forms["verify.json"]["allOf"]
    model = specs.deploy(session, bundle, deployed_by="test", comment="表单不含机构调整规则")
    assert model.version == 2
    session.commit()


@save_restore
@pytest.mark.parametrize("excuse", ["restructuring", "staff_change"])
@pytest.mark.usefixtures("verify_form_without_rule")
def test_the_decision_table_alone_enforces_the_excuse_rule(
        run_complaint: RunComplaint, save_restore: bool, excuse: str) -> None:
    run = run_complaint(save_restore)
    assert run.instance().model.version == 2
    accept(run)
    run.complete("verify", "km-commerce", {"outcome": "unfounded", "respondent_reason": excuse, "explanation": "换届"})

    # the form let it through; the DMN table turned the conclusion into founded
    order = run.task("order_rectification", "km-commerce")
    assert order.spec_name == "order_rectification"
    assert run.notices() == []
    assert run.complaint.result is None
    data = load_workflow(run.instance()).get_task_from_id(UUID(order.id)).data
    assert data["outcome"] == "founded"
    assert data["excuse_overridden"] is True


@save_restore
@pytest.mark.usefixtures("verify_form_without_rule")
def test_the_decision_table_keeps_other_conclusions(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    accept(run)
    run.complete("verify", "km-commerce",
                 {"outcome": "unfounded", "respondent_reason": "funds_shortage", "explanation": "已拨付"})
    run.assert_closed("unfounded")
    assert load_workflow(run.instance()).data["excuse_overridden"] is False
