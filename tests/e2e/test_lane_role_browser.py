"""In Chromium: define a lane role mapped to a department, add a user task in a new lane with the modeler's
pick lists, deploy; a new case reaches that task in the department's inbox."""
from __future__ import annotations

import json

import pytest

from tests.e2e.test_process_modeler_browser import page  # noqa: F401 - fixture reused
from tests.integration.test_process_admin import VERIFY, Cases
from tests.processes.variants import LEGAL_REVIEW_FORM

ADD_TASK_IN_NEW_LANE = """
(root) => {
  const modeler = root.lvModeler;
  const registry = modeler.get("elementRegistry"), modeling = modeler.get("modeling");
  const factory = modeler.get("elementFactory");
  const participant = registry.get("Participant_complaint");
  const lane = modeling.addLane(participant, "bottom");
  const verify = registry.get("verify"), rule = registry.get("excuse_rule");
  const task = modeling.createShape(factory.createShape({type: "bpmn:UserTask"}),
    {x: rule.x + 55, y: lane.y + lane.height / 2}, participant);
  modeling.removeConnection(registry.get("flow_13_verify_excuse_rule"));
  modeling.connect(verify, task);
  modeling.connect(task, rule);
  return {lane: lane.id, task: task.id};
}
"""


@pytest.mark.e2e
def test_new_lane_role_in_the_modeler_then_a_case_reaches_it(page, api, app, browser_login) -> None:  # noqa: ANN001, F811
    def sign_in(username: str) -> None:
        browser_login(page, username)

    sign_in("procadmin")
    page.click("header >> text=流程管理")
    page.click("nav.subnav >> text=泳道角色")
    page.fill("#name", "法规审查处")
    page.fill("#label", "省政府法规审查处（合法性审查）")
    page.select_option("#department_code", "yn-gov")
    page.click("button:has-text('新增')")
    page.wait_for_selector("text=已新增泳道角色「法规审查处」")

    page.click("nav.subnav >> text=流程版本")
    page.click("#process-complaint a:has-text('打开编辑') >> nth=0")
    page.wait_for_selector("#process-modeler[data-ready=true][data-catalog=loaded]")
    forms = page.locator("[data-role=forms]")
    page.click("summary:has-text('表单（JSON Schema')")
    bundle_forms = json.loads(forms.input_value())
    bundle_forms["legal_review.json"] = LEGAL_REVIEW_FORM
    forms.fill(json.dumps(bundle_forms, ensure_ascii=False))

    root = page.locator("#process-modeler")
    ids = root.evaluate(ADD_TASK_IN_NEW_LANE)
    root.evaluate(f"(root) => root.lvModeler.get('selection').select(root.lvModeler.get('elementRegistry').get('{ids['lane']}'))")
    assert "法规审查处 — 省政府法规审查处（合法性审查）（云南省人民政府）" in page.inner_text("#panel-lane")
    page.select_option("#panel-lane", "法规审查处")
    root.evaluate(f"(root) => root.lvModeler.get('selection').select(root.lvModeler.get('elementRegistry').get('{ids['task']}'))")
    page.fill("#panel-name", "法规审查")
    page.press("#panel-name", "Tab")
    page.select_option("#panel-form", "legal_review.json")

    page.fill("#deploy-comment", "浏览器测试：法规审查处审查")
    page.click("button:has-text('部署为新版本')")
    page.wait_for_selector(".modeler-result.success:has-text('已部署为 complaint')")
    assert page.inner_text("[data-role=problems]") == ""

    cases = Cases(api, app, False)
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})
    cases.complete(cid, "verify", "km-commerce", VERIFY)
    task = cases.task(cid, "yn-gov")
    assert (task["title"], task["lane"], task["department"]["code"]) == ("法规审查", "法规审查处", "yn-gov")

    page.click("form.inline button:has-text('退出')")
    sign_in("yn-gov")
    assert page.locator("a.task-link:has-text('法规审查')").count() == 1
