"""The procedure's legal safeguards through HTTP (issue 12): sane deadlines, nothing public or sent before the
provincial DRC's review, the respondent cannot steer its own case, decisions made with the file open, true
statuses, and the DRC's correction of a wrong decision."""
from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.credit.models import BreachRecord, PlatformDelivery
from engine.deadlines.calendar import WorkCalendar
from engine.workflow.clock import local_date
from tests.conftest import COMPLAINT
from tests.evidence_samples import PDF

BREACH = {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现扶持资金", "severity": "serious"}


def today() -> date:
    return local_date()


def add_workdays(start: date, n: int) -> date:
    """The n-th working day after `start` (no holiday year is entered in these tests)."""
    return WorkCalendar().add_workdays(start, n)[0]


def the_task(caller: Any, cid: int) -> dict:
    body = caller.get(f"/api/v1/tasks?complaint_id={cid}").get_json()
    assert body["total"] == 1, body
    return body["items"][0]


def complete(caller: Any, cid: int, data: dict, expect: int = 200) -> dict:
    task = the_task(caller, cid)
    response = caller.post(f"/api/v1/tasks/{task['id']}/complete", json=data)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def founded(api: Any) -> int:
    """A case verified as founded, waiting for the order to rectify; returns its id."""
    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    complete(intake, cid, {"accepted": True})
    complete(api("km-commerce"), cid, {"outcome": "founded", "explanation": "属实"})
    return cid


def ordered(api: Any, deadline: date | None = None) -> int:
    """A founded case with rectification ordered; returns its id."""
    cid = founded(api)
    complete(api("km-commerce"), cid, {"deadline": (deadline or today() + timedelta(days=20)).isoformat(),
                                       "requirements": "兑现扶持资金"})
    return cid


def confirmed(api: Any) -> int:
    """A case whose breach the determining department has confirmed (awaiting the DRC's 复核)."""
    cid = ordered(api)
    complete(api("guandu-commerce"), cid, {"completed": False, "measures": "资金未落实"})
    complete(api("km-commerce"), cid, {"rectified": False, "review_comment": "拒不整改"})
    complete(api("km-commerce"), cid, BREACH)
    return cid


def public_ids(client: Any) -> set[int]:
    body = client.get("/api/v1/public/breach-records").get_json()
    items = body["items"] if isinstance(body, dict) else body
    return {row["id"] for row in items}


def deliveries(session: Session, record_id: int) -> list[str]:
    session.expire_all()
    return [d.event for d in session.scalars(select(PlatformDelivery).where(PlatformDelivery.record_id == record_id)
                                             .order_by(PlatformDelivery.id))]


def record_of(session: Session, cid: int) -> BreachRecord:
    session.expire_all()
    record = session.scalar(select(BreachRecord).where(BreachRecord.complaint_id == cid))
    assert record is not None
    return record


# --- dates are sane ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("deadline", "message"), [
    (lambda: today() - timedelta(days=1), "不能早于"),  # a typo of the year, or of the day
    (lambda: today(), "不能早于"),
    (lambda: today() + timedelta(days=61), "不能晚于"),  # beyond 整改期限上限 (60 days)
    (lambda: date(2062, 1, 1), "不能晚于"),
    (lambda: "2026-13-01", "有效"),
    (lambda: "20270115", "有效"),
    (lambda: "2999-01-01", "请检查年份"),
])
def test_a_rectification_deadline_in_the_past_today_or_beyond_the_maximum_is_refused(api, deadline, message) -> None:  # noqa: ANN001
    cid, supervisor = founded(api), api("km-commerce")
    value = deadline()
    refused = complete(supervisor, cid, {"deadline": value if isinstance(value, str) else value.isoformat(),
                                         "requirements": "兑现"}, expect=422)
    assert message in refused["errors"]["deadline"]
    task = the_task(supervisor, cid)  # nothing moved: the order is still to be given
    assert task["spec_name"] == "order_rectification"
    earliest = add_workdays(today(), 1)
    complete(supervisor, cid, {"deadline": earliest.isoformat(), "requirements": "兑现"})
    assert the_task(api("guandu-commerce"), cid)["spec_name"] == "report_rectification"


def test_the_order_form_is_prefilled_from_the_rectify_limit_with_its_basis(api, client, login) -> None:  # noqa: ANN001
    cid, supervisor = founded(api), api("km-commerce")
    task = the_task(supervisor, cid)
    assert task["due_at"] is not None  # 下达整改要求: a named time limit, not a number in the diagram
    detail = supervisor.get(f"/api/v1/tasks/{task['id']}").get_json()
    expected = (today() + timedelta(days=30)).isoformat()  # the bundled rectify limit: 30 days
    assert detail["form_defaults"] == {"deadline": expected}
    assert "整改：30日" in detail["date_hints"]["deadline"]
    assert f"最晚 {(today() + timedelta(days=60)).isoformat()}" in detail["date_hints"]["deadline"]
    login("km-commerce")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    earliest, latest = add_workdays(today(), 1).isoformat(), (today() + timedelta(days=60)).isoformat()
    assert f'name="deadline" value="{expected}" min="{earliest}" max="{latest}"' in page  # the picker's bounds
    assert "保障中小企业款项支付条例" in page  # the limit's legal basis is shown beside the field
    refused = client.post(f"/tasks/{task['id']}", data={"deadline": today().isoformat(), "requirements": "兑现"})
    assert refused.status_code == 422
    assert "整改期限不能早于" in refused.get_data(as_text=True)


def test_statuses_say_what_is_true(api) -> None:  # noqa: ANN001
    cid, intake = founded(api), api("intake")
    case = intake.get(f"/api/v1/complaints/{cid}").get_json()
    assert (case["status"], case["status_label"]) == ("ordering", "待下达整改要求")  # not yet 整改中
    complete(api("km-commerce"), cid, {"deadline": (today() + timedelta(days=20)).isoformat(), "requirements": "兑现"})
    case = intake.get(f"/api/v1/complaints/{cid}").get_json()
    assert (case["status"], case["status_label"]) == ("rectifying", "整改中")


# --- nothing is public or sent before the DRC's review ----------------------------------------------------------------

def test_a_confirmed_breach_stays_internal_until_the_drc_approves(api, client, session) -> None:  # noqa: ANN001
    cid = confirmed(api)
    record = record_of(session, cid)
    assert record.status == "draft"
    assert record.id not in public_ids(client)
    assert "拒不兑现扶持资金" not in client.get("/public/breach-records").get_data(as_text=True)
    assert deliveries(session, record.id) == []
    listed = api("ndrc").get(f"/api/v1/breach-records/{record.id}").get_json()
    assert listed["status"] == "draft"

    ndrc = api("ndrc")
    task = the_task(ndrc, cid)
    detail = ndrc.get(f"/api/v1/tasks/{task['id']}").get_json()
    [reviewed] = detail["compare"]  # 复核 shows what it reviews: number, basis, facts
    assert reviewed["task"] == "confirm_breach_task"
    assert reviewed["values"]["认定文书文号"] == "昆商认〔2026〕3号"
    assert reviewed["values"]["认定依据"] == "协议第五条"
    assert reviewed["values"]["失信事实"] == "拒不兑现扶持资金"
    assert reviewed["values"]["失信程度"].startswith("严重")
    assert reviewed["department"] == "昆明市商务局"

    missing = complete(ndrc, cid, {"approved": False}, expect=422)  # sending back needs a reason
    assert "退回理由" in missing["errors"]["review_remarks"]
    complete(ndrc, cid, {"approved": False, "review_remarks": "认定依据不充分"})
    record = record_of(session, cid)
    assert record.status == "withdrawn"
    assert record.id not in public_ids(client)
    assert deliveries(session, record.id) == []
    history = ndrc.get(f"/api/v1/complaints/{cid}").get_json()["history"]
    assert any(e["kind"] == "breach_withdrawn" and "认定依据不充分" in e["summary"] for e in history)
    audit = ndrc.get(f"/api/v1/audit?complaint_id={cid}").get_json()
    assert "breach_record_withdrawn" in {e["action"] for e in audit["items"]}

    complete(api("km-commerce"), cid, {**BREACH, "basis": "协议第五条、第九条"})
    assert record_of(session, cid).status == "draft"
    assert deliveries(session, record.id) == []
    complete(ndrc, cid, {"approved": True, "national_report_number": "云发改信用〔2026〕21号"})
    record = record_of(session, cid)
    assert (record.status, record.basis) == ("active", "协议第五条、第九条")
    assert record.publication_start == today()  # published from the day of approval
    assert record.id in public_ids(client)
    assert deliveries(session, record.id) == ["created"]


# --- the respondent cannot steer its own case ------------------------------------------------------------------------

def test_the_respondent_cannot_pause_its_deadline_or_ask_for_supplements(api) -> None:  # noqa: ANN001
    cid = ordered(api)
    respondent = api("guandu-commerce")
    assert the_task(respondent, cid)["spec_name"] == "report_rectification"  # it holds the open task
    paused = respondent.post(f"/api/v1/complaints/{cid}/pause", json={"reason": "我们需要更多时间"})
    assert paused.status_code == 403
    assert "被投诉主体不能暂停本案计时" in paused.get_json()["message"]
    asked = respondent.post(f"/api/v1/complaints/{cid}/supplements", json={"note": "请补充材料"})
    assert asked.status_code == 403
    assert "被投诉主体不能向投诉人提出补正要求" in asked.get_json()["message"]
    assert api("km-commerce").post(f"/api/v1/complaints/{cid}/pause", json={"reason": "等待补正"}).status_code == 200


def test_an_extension_is_applied_for_by_the_respondent_and_decided_by_the_determining_department(
        api, client) -> None:  # noqa: ANN001
    first = today() + timedelta(days=20)
    cid = ordered(api, deadline=first)
    respondent, supervisor = api("guandu-commerce"), api("km-commerce")
    missing = complete(respondent, cid, {"request_extension": True}, expect=422)
    assert "理由" in missing["errors"]["extension_reason"]
    complete(respondent, cid, {"request_extension": True, "extension_reason": "资金审批流程尚未走完"})
    task = the_task(supervisor, cid)
    assert task["spec_name"] == "decide_extension"
    case = supervisor.get(f"/api/v1/complaints/{cid}").get_json()
    assert case["status_label"] == "延期申请审查中"
    detail = supervisor.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert [d["task"] for d in detail["compare"]] == ["order_rectification", "report_rectification"]
    assert detail["compare"][1]["values"]["申请延期的理由"] == "资金审批流程尚未走完"
    assert complete(supervisor, cid, {"extension_approved": True, "decision_reason": "同意"}, expect=422)[
        "errors"]["new_deadline"] == "同意延期时必须填写新的整改期限"
    late = (today() + timedelta(days=90)).isoformat()
    assert "不能晚于" in complete(supervisor, cid, {"extension_approved": True, "new_deadline": late,
                                                   "decision_reason": "同意"}, expect=422)["errors"]["new_deadline"]
    second = today() + timedelta(days=40)
    complete(supervisor, cid, {"extension_approved": True, "new_deadline": second.isoformat(), "decision_reason": "同意"})
    task = the_task(respondent, cid)
    assert task["spec_name"] == "report_rectification"
    assert task["due_at"] == f"{second.isoformat()}T15:59:59+00:00"  # the end of that day in Yunnan
    # refused: the deadline stays
    complete(respondent, cid, {"request_extension": True, "extension_reason": "再延一次"})
    complete(supervisor, cid, {"extension_approved": False, "decision_reason": "理由不成立"})
    assert the_task(respondent, cid)["due_at"] == f"{second.isoformat()}T15:59:59+00:00"
    notes = [e["summary"] for e in supervisor.get(f"/api/v1/complaints/{cid}").get_json()["history"]]
    assert any("同意被投诉主体延期整改，新的整改期限至 " + second.isoformat() in n for n in notes)
    assert any("不同意被投诉主体延期整改，整改期限仍至 " + second.isoformat() in n for n in notes)
    tracking = supervisor.get(f"/api/v1/complaints/{cid}").get_json()["tracking_code"]
    page = client.post("/public/track", data={"tracking_code": tracking, "phone_last4": "1234"}).get_data(as_text=True)
    assert "被投诉主体申请延期整改" in page  # the complainant's timeline hears of it
    assert "新的整改期限至 " + second.isoformat() in page


# --- every decision is made with the file open ---------------------------------------------------------------------

def test_decisions_evidence_and_supplements_at_each_step_of_the_breach_path(api) -> None:  # noqa: ANN001
    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    uploaded = intake.post(f"/api/v1/complaints/{cid}/evidence", data={"evidence": [(io.BytesIO(PDF), "协议.pdf")]},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    screening = intake.get(f"/api/v1/tasks/{the_task(intake, cid)['id']}").get_json()
    assert screening["decisions"] == []
    assert [f["original_name"] for f in screening["evidence"]] == ["协议.pdf"]  # 受理审查 sees the files
    assert screening["evidence"][0]["download_url"].endswith("/content")
    complete(intake, cid, {"accepted": True, "remarks": "材料齐全"})

    supervisor = api("km-commerce")
    intake.post(f"/api/v1/complaints/{cid}/supplements", json={"note": "请补充付款凭证"})
    verify = supervisor.get(f"/api/v1/tasks/{the_task(supervisor, cid)['id']}").get_json()
    [screened] = verify["decisions"]
    assert (screened["task"], screened["title"], screened["department"]) == ("screening", "受理审查", "云南省发展和改革委员会（信用处）")
    assert screened["values"] == {"审查结论": "受理", "审查意见": "材料齐全"}
    assert screened["official"] == "张受理"
    assert [s["note"] for s in verify["supplements"]] == ["请补充付款凭证"]
    complete(supervisor, cid, {"outcome": "founded", "explanation": "属实"})
    deadline = (today() + timedelta(days=20)).isoformat()
    complete(supervisor, cid, {"deadline": deadline, "requirements": "三十日内兑现扶持资金"})

    respondent = api("guandu-commerce")
    report = respondent.get(f"/api/v1/tasks/{the_task(respondent, cid)['id']}").get_json()
    assert [d["task"] for d in report["decisions"]] == ["screening", "verify", "order_rectification"]
    assert report["decisions"][-1]["values"] == {"整改期限": deadline, "整改要求": "三十日内兑现扶持资金"}
    assert report["evidence"] is None
    assert report["evidence_count"] == 1
    complete(respondent, cid, {"completed": False, "measures": "资金未落实"})

    review = supervisor.get(f"/api/v1/tasks/{the_task(supervisor, cid)['id']}").get_json()
    assert [d["task"] for d in review["compare"]] == ["order_rectification", "report_rectification"]
    assert review["compare"][0]["values"]["整改要求"] == "三十日内兑现扶持资金"  # the order beside the report
    assert review["compare"][1]["values"]["整改措施及履约情况"] == "资金未落实"
    complete(supervisor, cid, {"rectified": False, "review_comment": "拒不整改"})
    confirm = supervisor.get(f"/api/v1/tasks/{the_task(supervisor, cid)['id']}").get_json()
    assert [d["task"] for d in confirm["decisions"]] == [
        "screening", "verify", "order_rectification", "report_rectification", "review_rectification"]
    assert confirm["decisions"][-1]["values"]["审查结论"].startswith("拒不整改")


def test_the_task_page_shows_the_decisions_and_the_compared_steps(api, client, login) -> None:  # noqa: ANN001
    cid = ordered(api)
    complete(api("guandu-commerce"), cid, {"completed": True, "measures": "已拨付首期资金"})
    task = the_task(api("km-commerce"), cid)
    login("km-commerce")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "办理经过" in page
    assert "对照审查" in page
    assert "兑现扶持资金" in page
    assert "已拨付首期资金" in page


# --- a wrong decision can be corrected by the DRC --------------------------------------------------------------------

def test_the_drc_corrects_a_wrong_decision_and_what_rested_on_it_is_withdrawn(api, client, session) -> None:  # noqa: ANN001
    cid = confirmed(api)
    ndrc = api("ndrc")
    complete(ndrc, cid, {"approved": True, "national_report_number": "云发改信用〔2026〕21号"})
    record = record_of(session, cid)
    assert record.id in public_ids(client)

    assert api("km-commerce").get(f"/api/v1/complaints/{cid}/correction").status_code == 403
    steps = ndrc.get(f"/api/v1/complaints/{cid}/correction").get_json()
    verify = next(s for s in steps if s["name"] == "核实认定")
    assert ndrc.post(f"/api/v1/complaints/{cid}/correction", json={"task_id": verify["id"]}).status_code == 422
    refused = api("km-commerce").post(f"/api/v1/complaints/{cid}/correction",
                                      json={"task_id": verify["id"], "reason": "x"})
    assert refused.status_code == 403
    done = ndrc.post(f"/api/v1/complaints/{cid}/correction",
                     json={"task_id": verify["id"], "reason": "核实结论与合同约定不符，需重新核实"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "verifying"
    assert done.get_json()["result"] is None

    record = record_of(session, cid)
    assert record.status == "withdrawn"
    assert record.id not in public_ids(client)
    assert deliveries(session, record.id) == ["created", "withdrawn"]  # the platforms are told
    assert the_task(api("km-commerce"), cid)["spec_name"] == "verify"
    history = ndrc.get(f"/api/v1/complaints/{cid}").get_json()["history"]
    [corrected] = [e for e in history if e["kind"] == "case_corrected"]
    assert "核实结论与合同约定不符" in corrected["summary"]
    assert "已公示的违约失信记录（昆商认〔2026〕3号）" in corrected["summary"]
    assert "办结结果" in corrected["summary"]
    actions = {e["action"] for e in ndrc.get(f"/api/v1/audit?complaint_id={cid}").get_json()["items"]}
    assert {"case_corrected", "breach_record_withdrawn", "task_moved_back"} <= actions
    detail = api("km-commerce").get(f"/api/v1/tasks/{the_task(api('km-commerce'), cid)['id']}").get_json()
    superseded = [d["task"] for d in detail["decisions"] if d["superseded"]]
    assert superseded[0] == "verify"
    assert "confirm_breach_task" in superseded
    assert "ndrc_review" in superseded
    complete(api("km-commerce"), cid, {"outcome": "unfounded", "explanation": "经重新核实，已按约付款"})
    assert ndrc.get(f"/api/v1/complaints/{cid}").get_json()["result"] == "unfounded"


@pytest.mark.parametrize(("due_date", "message"), [
    ("2999-12-31", "请检查年份"),
    ((date(2000, 1, 3)).isoformat(), "不能早于今天"),
])
def test_a_supplement_due_date_is_checked_like_every_date(api, due_date, message) -> None:  # noqa: ANN001
    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    refused = intake.post(f"/api/v1/complaints/{cid}/supplements", json={"note": "请补充付款凭证", "due_date": due_date})
    assert refused.status_code == 422
    assert message in refused.get_json()["errors"]["due_date"]
    assert intake.get(f"/api/v1/complaints/{cid}/supplements").get_json() == []  # nothing kept
