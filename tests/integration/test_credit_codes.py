"""统一社会信用代码 of the parties of a breach record: every demo department has a valid one, an administrator cannot
save a department without one, and confirming a breach is refused — naming the department to fix — while the
respondent or the determining department has none (no record leaves for the platforms with a null code)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.cases.services import open_tasks
from engine.credit import services
from engine.org.demo import DEMO_USCC, DEPARTMENTS, PUBLIC_INSTITUTIONS, demo_uscc
from engine.org.models import Department
from engine.uscc import uscc_problem
from tests.processes.conftest import ComplaintRun
from tests.processes.test_complaint import founded_until_review

CONFIRM = {"document_number": "昆商认〔2026〕9号", "severity": "ordinary", "basis": "《投资协议》第五条",
           "facts": "扶持资金经督促仍未兑现。"}


def _until_confirmation(session: Session, official: Callable, **overrides: str) -> ComplaintRun:
    run = ComplaintRun(session, official, False)
    run.register(**overrides)
    founded_until_review(run, completed=False)
    run.complete("review_rectification", "km-commerce", {"rectified": False, "review_comment": "拒不整改"})
    return run


def _set_code(session: Session, code: str, uscc: str | None) -> None:
    session.execute(update(Department).where(Department.code == code).values(uscc=uscc))
    session.commit()


def test_every_demo_department_has_a_valid_code_of_its_kind(session: Session) -> None:
    demo = {code for code, *_rest in DEPARTMENTS}
    rows = session.scalars(select(Department).where(Department.code.in_(demo))).all()
    assert len(rows) == len(demo)
    for dept in rows:
        assert dept.uscc is not None, dept.code
        assert uscc_problem(dept.uscc) is None, dept.code
        assert dept.uscc[:2] == ("12" if dept.code in PUBLIC_INSTITUTIONS else "11"), dept.code  # 事业单位 / 机关
        assert dept.uscc[2:8] == dept.division_code  # the registration authority's division
    assert len({d.uscc for d in rows}) == len(rows)


def test_confirmation_names_the_department_without_a_code_and_keeps_the_form(
        client, login, session: Session, official: Callable) -> None:  # noqa: ANN001
    run = _until_confirmation(session, official)
    respondent_code = session.scalar(select(Department.uscc).where(Department.code == "km-guandu-commerce"))
    _set_code(session, "km-guandu-commerce", None)
    _set_code(session, "km-commerce", None)
    [task] = open_tasks(session, run.complaint)
    assert task.spec_name == "confirm_breach_task"

    login("km-commerce")
    refused = client.post(f"/tasks/{task.id}", data=CONFIRM)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "不能确认违约失信：被投诉主体「昆明市官渡区商务局」（部门代码 km-guandu-commerce）、认定部门「昆明市商务局」" in page
    assert "没有统一社会信用代码" in page
    assert "系统管理 → 部门管理" in page
    assert "昆商认〔2026〕9号" in page  # what the official typed is still in the form
    session.expire_all()
    assert services.record_for_complaint(session, run.complaint.id) is None
    assert [t.id for t in open_tasks(session, run.complaint)] == [task.id]

    _set_code(session, "km-guandu-commerce", respondent_code)  # the respondent fixed; the determining one not yet
    api = client.post(f"/api/v1/tasks/{task.id}/complete", json=CONFIRM)
    assert api.status_code == 422
    message = api.get_json()["message"]
    assert "认定部门「昆明市商务局」（部门代码 km-commerce）在组织数据中没有统一社会信用代码" in message
    assert "被投诉主体" not in message

    _set_code(session, "km-commerce", DEMO_USCC["km-commerce"])
    assert client.post(f"/tasks/{task.id}", data=CONFIRM).status_code == 303
    session.expire_all()
    record = services.record_for_complaint(session, run.complaint.id)
    assert record is not None
    assert (record.respondent_uscc, record.determining_uscc) == (respondent_code, DEMO_USCC["km-commerce"])


def test_a_respondent_known_by_name_only_is_found_once_an_administrator_adds_it(
        client, login, session: Session, official: Callable) -> None:  # noqa: ANN001
    run = ComplaintRun(session, official, False)
    run.register(respondent_code=None, respondent_name="昆明市西山区商务局")
    run.complete("screening", "intake", {"accepted": True, "remarks": "属于受理范围"})
    run.complete("designate_supervisor", "ndrc", {"department_code": "km-commerce", "remarks": "指定"})
    run.complete("verify", "km-commerce", {"outcome": "founded", "explanation": "经核实，扶持资金确未兑现"})
    run.complete("order_rectification", "km-commerce", {"deadline": "2026-04-30", "requirements": "兑现扶持资金"})
    run.complete("report_rectification", "km-commerce", {"completed": False, "measures": "资金尚未落实"})
    run.complete("review_rectification", "km-commerce", {"rectified": False, "review_comment": "拒不整改"})
    [task] = open_tasks(session, run.complaint)

    login("km-commerce")
    refused = client.post(f"/tasks/{task.id}", data=CONFIRM)
    assert refused.status_code == 422
    assert ("被投诉主体「昆明市西山区商务局」不在组织数据中，无法取得其统一社会信用代码。请系统管理员在「系统管理 → 部门管理」中"
            "新增名称为「昆明市西山区商务局」的部门") in refused.get_data(as_text=True)

    login("sysadmin")
    added = client.post("/admin/departments/new", data={
        "code": "km-xishan-commerce", "name": "昆明市西山区商务局", "level": "county", "division_code": "530112",
        "prefecture_code": "530100", "superior": "km-commerce", "uscc": "", "is_active": "true"})
    assert added.status_code == 422  # the code is required
    assert "请填写统一社会信用代码" in added.get_data(as_text=True)
    code = demo_uscc("km-xishan-commerce", "530112")
    added = client.post("/admin/departments/new", data={
        "code": "km-xishan-commerce", "name": "昆明市西山区商务局", "level": "county", "division_code": "530112",
        "prefecture_code": "530100", "superior": "km-commerce", "uscc": code, "is_active": "true"})
    assert added.status_code == 303

    login("km-commerce")
    assert client.post(f"/tasks/{task.id}", data=CONFIRM).status_code == 303
    session.expire_all()
    record = services.record_for_complaint(session, run.complaint.id)
    assert (record.respondent_name, record.respondent_uscc, record.respondent_division) == (
        "昆明市西山区商务局", code, "530112")
    assert session.get(type(run.complaint), run.complaint.id).respondent.code == "km-xishan-commerce"


def test_the_cli_refuses_a_department_without_a_code(app, bundled_model_ids) -> None:  # noqa: ANN001
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["org", "create-department", "bs-finance", "保山市财政局", "--level", "prefecture",
                                  "--division", "530500", "--prefecture", "530500"])
    assert refused.exit_code == 2
    assert "uscc: 请填写统一社会信用代码" in refused.output
