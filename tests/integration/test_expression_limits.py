"""Expressions are data at deploy and bounded at run time — through the deploy API and the case API."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.cases.models import CaseEvent
from engine.workflow.models import ProcessInstance
from tests.conftest import COMPLAINT
from tests.integration.test_process_admin import deploy_payload
from tests.processes.test_deploy import REJECTION_MESSAGE, changed

SCREENING_STATUS = '<spiffworkflow:property name="caseStatus" value="screening" />'


def with_pre_script(script: str):  # noqa: ANN201
    """The bundled complaint process with `script` run before 受理审查 (screening) becomes ready."""
    escaped = script.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;")
    return changed(SCREENING_STATUS, f'{SCREENING_STATUS}</spiffworkflow:properties>'
                                     f'<spiffworkflow:preScript>{escaped}</spiffworkflow:preScript>'
                                     '<spiffworkflow:properties>')


def instance_of(app, cid: int) -> tuple[ProcessInstance, list[str]]:  # noqa: ANN001
    from web.extensions import db

    with app.app_context():
        found = db.session.scalar(select(ProcessInstance).where(ProcessInstance.subject_id == cid))
        db.session.expunge(found)
        kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.complaint_id == cid)
                                   .order_by(CaseEvent.id)).all()
        return found, list(kinds)


@pytest.mark.parametrize(("script", "limit"), [
    ("for i in range(10**9):\n    pass", "range 的长度超过"),
    # 100 000 steps take well under the 0.5 s limit, but on a loaded machine the clock may stop it first
    ("n = 0\nfor i in range(100000):\n    for j in range(100000):\n        n += 1", "计算步骤超过|运行时间超过"),
    ("x = ((((9**64)**64)**64)**64) % 7", "乘方的结果超过"),
    ("x = 'a' * 10**9", "文本或列表长度超过"),
])
def test_a_script_over_a_limit_deploys_and_parks_the_case_in_error(api, app, script: str, limit: str) -> None:  # noqa: ANN001
    deployed = api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(with_pre_script(script), "限额"))
    assert deployed.status_code == 201, deployed.get_json()  # deploy reads the script, it does not run it

    created = api("intake").post("/api/v1/complaints", json=COMPLAINT)
    assert created.status_code == 201, created.get_json()  # the complaint is kept; its process waits for repair
    instance, kinds = instance_of(app, created.get_json()["id"])
    assert instance.status == "error"
    assert "受理审查" in instance.error
    assert "表达式超出运行限制" in instance.error
    assert any(reason in instance.error for reason in limit.split("|")), instance.error
    assert kinds == ["registered", "step_failed"]


def test_a_service_parameter_over_a_limit_parks_the_case_when_reached(api, app) -> None:  # noqa: ANN001
    bundle = changed(REJECTION_MESSAGE, "&quot;x&quot; * 10**9")
    assert api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(bundle, "大文本")).status_code == 201
    cid = api("intake").post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    task = api("intake").get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    done = api("intake").post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": False, "reason": "incomplete"})
    assert done.status_code == 200, done.get_json()  # the official's decision is kept
    instance, kinds = instance_of(app, cid)
    assert instance.status == "error"
    assert "告知不予受理" in instance.error
    assert "文本或列表长度超过 100000" in instance.error
    assert kinds[-1] == "step_failed"


@pytest.mark.parametrize(("old", "new", "message"), [
    ('limit("verify")', "((((9**64)**64)**64)**64) % 7", "的结果是数字，不是ISO 8601 日期时间"),
    ("<bpmn:conditionExpression>accepted</bpmn:conditionExpression>",
     "<bpmn:conditionExpression>" + "(" * 100_000 + "accepted" + ")" * 100_000 + "</bpmn:conditionExpression>",
     "表达式过长"),
    ("<bpmn:conditionExpression>accepted</bpmn:conditionExpression>",
     "<bpmn:conditionExpression>" + "not " * 4000 + "accepted</bpmn:conditionExpression>", "表达式嵌套过深"),
    ("<bpmn:conditionExpression>accepted</bpmn:conditionExpression>",
     "<bpmn:conditionExpression>" + "-" * 15_000 + "accepted</bpmn:conditionExpression>", "表达式嵌套过深"),
])
def test_huge_or_deeply_nested_expressions_are_a_422_at_deploy(api, old: str, new: str, message: str) -> None:  # noqa: ANN001
    response = api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(changed(old, new), "深"))
    assert response.status_code == 422, response.get_json()
    assert message in "\n".join(p["message"] for p in response.get_json()["errors"]["_diagram"])
