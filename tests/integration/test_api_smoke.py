"""The complaint lifecycle through the HTTP API, as other government systems use it."""
from __future__ import annotations

from datetime import timedelta

from engine.workflow.clock import local_date
from tests.conftest import COMPLAINT, COMPLAINT_FORM

DEADLINE = (local_date() + timedelta(days=20)).isoformat()  # a rectification deadline inside the allowed window


def _only_task(caller, complaint_id: int) -> dict:
    body = caller.get(f"/api/v1/tasks?complaint_id={complaint_id}").get_json()
    assert body["total"] == 1, body
    return body["items"][0]


def test_refused_rectification_is_confirmed_and_reported(api) -> None:
    intake = api("intake")
    created = intake.post("/api/v1/complaints", json=COMPLAINT)
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    assert created.get_json()["tracking_code"].startswith("YN")

    task = _only_task(intake, cid)
    assert task["spec_name"] == "screening"
    assert intake.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True}).status_code == 200

    supervisor = api("km-commerce")
    assert api("guandu-commerce").get(f"/api/v1/tasks?complaint_id={cid}").get_json()["total"] == 0
    task = _only_task(supervisor, cid)
    assert task["spec_name"] == "verify"
    assert task["department"]["code"] == "km-commerce"
    bad = supervisor.post(f"/api/v1/tasks/{task['id']}/complete",
                          json={"outcome": "unfounded", "respondent_reason": "staff_change", "explanation": "换届"})
    assert bad.status_code == 422
    assert "人员变动" in bad.get_json()["errors"]["outcome"]
    ok = supervisor.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "founded", "explanation": "属实"})
    assert ok.status_code == 200

    task = _only_task(supervisor, cid)
    supervisor.post(f"/api/v1/tasks/{task['id']}/complete", json={"deadline": DEADLINE, "requirements": "兑现"})
    respondent = api("guandu-commerce")
    task = _only_task(respondent, cid)
    assert task["spec_name"] == "report_rectification"
    respondent.post(f"/api/v1/tasks/{task['id']}/complete", json={"completed": False, "measures": "资金未落实"})
    task = _only_task(supervisor, cid)
    supervisor.post(f"/api/v1/tasks/{task['id']}/complete", json={"rectified": False})
    task = _only_task(supervisor, cid)
    supervisor.post(f"/api/v1/tasks/{task['id']}/complete",
                    json={"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现"})
    ndrc = api("ndrc")
    task = _only_task(ndrc, cid)
    done = ndrc.post(f"/api/v1/tasks/{task['id']}/complete",
                     json={"approved": True, "national_report_number": "云发改信用〔2026〕21号"})
    assert done.status_code == 200

    case = ndrc.get(f"/api/v1/complaints/{cid}").get_json()
    assert case["status"] == "closed"
    assert case["result"] == "breach_reported"
    assert case["open_tasks"] == []
    assert any("国家发展改革委" in e["summary"] for e in case["history"])


def test_openapi_is_served(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/complaints" in spec["paths"]
    assert "/api/v1/tasks/{task_id}/complete" in spec["paths"]


def test_task_detail_has_its_form_and_utc_times(api) -> None:  # noqa: ANN001
    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    listed = _only_task(intake, cid)
    detail = intake.get(f"/api/v1/tasks/{listed['id']}")
    assert detail.status_code == 200, detail.get_json()
    body = detail.get_json()
    assert body["form"]["properties"]["accepted"]["type"] == "boolean"
    assert body["form_name"] == "screening.json"
    assert "受理审查" in body["due_basis"]
    assert body["due_at"].endswith("+00:00")
    assert api("km-commerce").get(f"/api/v1/tasks/{listed['id']}").status_code == 403
    assert intake.get("/api/v1/tasks/no-such-task").status_code == 404


def test_the_severity_of_a_confirmed_breach_sets_its_publication_and_repair_dates(api) -> None:  # noqa: ANN001
    """确认违约失信's 失信程度 (docs/api.md, docs/guide-zh.md): serious → published 3 years, repair after 1 year."""
    from datetime import date

    from engine.credit.services import add_months

    intake, supervisor, ndrc = api("intake"), api("km-commerce"), api("ndrc")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    intake.post(f"/api/v1/tasks/{_only_task(intake, cid)['id']}/complete", json={"accepted": True})
    for form in ({"outcome": "founded", "explanation": "属实"}, {"deadline": DEADLINE, "requirements": "兑现"}):
        supervisor.post(f"/api/v1/tasks/{_only_task(supervisor, cid)['id']}/complete", json=form)
    respondent = api("guandu-commerce")
    respondent.post(f"/api/v1/tasks/{_only_task(respondent, cid)['id']}/complete",
                    json={"completed": False, "measures": "资金未落实"})
    supervisor.post(f"/api/v1/tasks/{_only_task(supervisor, cid)['id']}/complete", json={"rectified": False})
    confirm = _only_task(supervisor, cid)
    assert confirm["spec_name"] == "confirm_breach_task"
    breach = {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现"}
    wrong = supervisor.post(f"/api/v1/tasks/{confirm['id']}/complete", json={**breach, "severity": "grave"})
    assert wrong.status_code == 422
    assert set(wrong.get_json()["errors"]) == {"severity"}
    done = supervisor.post(f"/api/v1/tasks/{confirm['id']}/complete", json={**breach, "severity": "serious"})
    assert done.status_code == 200, done.get_json()
    ndrc.post(f"/api/v1/tasks/{_only_task(ndrc, cid)['id']}/complete",
              json={"approved": True, "national_report_number": "云发改信用〔2026〕21号"})
    [record] = [r for r in ndrc.get("/api/v1/breach-records").get_json()["items"] if r["complaint_id"] == cid]
    detail = ndrc.get(f"/api/v1/breach-records/{record['id']}").get_json()
    start = date.fromisoformat(detail["publication_start"])
    assert (detail["severity"], detail["publication_end"], detail["repair_eligible_from"]) == (
        "serious", add_months(start, 36).isoformat(), add_months(start, 12).isoformat())


def test_a_respondent_named_exactly_is_linked_on_every_channel(api, client, login) -> None:  # noqa: ANN001
    by_name = {k: v for k, v in COMPLAINT.items() if k != "respondent_code"}
    cid = api("intake").post("/api/v1/complaints", json={**by_name, "respondent_name": " 昆明市官渡区商务局 "}).get_json()["id"]
    body = api("intake").get(f"/api/v1/complaints/{cid}").get_json()
    assert body["respondent_code"] == "km-guandu-commerce"  # the API, as the public column always did
    login("intake")
    page = client.post("/cases/new", data={**by_name, "respondent_name": "昆明市官渡区商务局", "is_private_enterprise": "true",
                                           "in_litigation": "false"})
    assert page.status_code == 303, page.get_data(as_text=True)
    shown = api("intake").get(page.headers["Location"].replace("/cases/", "/api/v1/complaints/")).get_json()
    assert shown["respondent_code"] == "km-guandu-commerce"  # and the officials' form
    cid = api("intake").post("/api/v1/complaints", json={**by_name, "respondent_name": "某县某局"}).get_json()["id"]
    unknown = api("intake").get(f"/api/v1/complaints/{cid}").get_json()
    assert (unknown["respondent_code"], unknown["respondent_name"]) == (None, "某县某局")  # kept by name only


def test_the_officials_form_refuses_bad_input_in_chinese_and_stores_nothing(client, login, session) -> None:  # noqa: ANN001
    """The officials' page parses and checks like the public column: Chinese field errors, nothing written."""
    from sqlalchemy import func, select

    from engine.cases.models import Complaint

    login("intake")
    form = COMPLAINT_FORM
    bad = client.post("/cases/new", data={**form, "complainant_uscc": "91350203M0001QAY9B", "contact_phone": "abc",
                                         "claims": "诉" * 5001})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "统一社会信用代码校验位不正确" in html
    assert "请填写有效的联系电话" in html
    assert "长度应在 1–5000 字之间" in html
    no_respondent = client.post("/cases/new", data={**form, "respondent_code": "", "respondent_name": ""})
    assert no_respondent.status_code == 422
    assert "请选择被投诉主体或填写其名称" in no_respondent.get_data(as_text=True)
    unknown = client.post("/cases/new", data={**form, "respondent_code": "no-such-department"})
    assert unknown.status_code == 422
    assert "组织数据中没有该被投诉主体" in unknown.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Complaint)) == 0
