"""In Chromium: the form editor's live preview, the visual diff between two versions, and a bulk migration
from the migration page with its progress (one case refused and explained)."""
from __future__ import annotations

import pytest

from tests.e2e import conftest
from tests.e2e.test_process_modeler_browser import page  # noqa: F401 - fixture reused
from tests.integration.test_process_admin import VERIFY, Cases, deploy_payload, versions
from tests.processes.variants import with_legal_review


def sign_in(page, password: str) -> None:  # noqa: ANN001, F811
    """Sign in as the process administrator."""
    conftest.sign_in(page, "procadmin", password)


@pytest.mark.e2e
def test_form_editor_previews_the_form(page, demo_password: str) -> None:  # noqa: ANN001, F811
    sign_in(page, demo_password)
    page.goto("/processes/")
    page.click("#process-complaint a:has-text('打开编辑') >> nth=0")
    page.wait_for_selector("#process-modeler[data-ready=true]")
    page.click("summary:has-text('表单编辑与预览')")
    page.select_option("#form-pick", "verify.json")
    page.wait_for_selector("[data-role=form-preview] label:has-text('核实情况及说明')")
    page.click("summary:has-text('高级：表单 JSON Schema')")  # the raw schema beside the field list
    schema = page.locator("#form-schema")
    schema.fill(schema.input_value().replace("核实情况及说明", "核实情况说明（已改）"))
    page.wait_for_selector("[data-role=form-preview] label:has-text('核实情况说明（已改）')")
    assert "核实情况说明（已改）" in page.locator("[data-role=forms]").input_value()  # what the deploy sends
    schema.fill("{\"type\": \"object\"")
    page.wait_for_selector("[data-role=form-problems] li:has-text('不是有效的 JSON')")


@pytest.mark.e2e
def test_diff_marks_changes_and_migration_page_shows_progress(page, api, app, demo_password: str) -> None:  # noqa: ANN001, F811
    cases = Cases(api, app, False)
    v1 = versions(api)[max(versions(api))]
    v2 = api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(with_legal_review(), "法律审核")).get_json()
    at_legal = cases.start()
    cases.complete(at_legal, "screening", "intake", {"accepted": True})
    cases.complete(at_legal, "verify", "km-commerce", VERIFY)
    at_verify = cases.start()
    cases.complete(at_verify, "screening", "intake", {"accepted": True})

    sign_in(page, demo_password)
    page.goto("/processes/")
    page.click(f"#version-complaint-{v2['version']} a:has-text('与上一版比较')")
    page.wait_for_selector("#process-diff[data-ready=true]")
    assert page.locator("[data-role=to] .djs-element.lv-added[data-element-id=legal_review]").count() == 1
    assert page.locator("[data-role=to] .lv-badge.lv-added").count() >= 1
    assert page.locator("[data-role=from] .djs-element.lv-changed[data-element-id=flow_13_verify_excuse_rule]").count() == 1
    assert "新增 userTask legal_review 法律审核" in page.inner_text(".diff-list")

    page.goto(f"/processes/complaint/migrate?source={v2['id']}&target={v1['id']}")
    assert page.locator("tr[data-instance-id]").count() == 2
    page.click("button:has-text('预览')")
    page.wait_for_selector("#process-migration[data-state=previewed]")
    assert "可迁移 1，不能迁移 1" in page.inner_text("[data-role=progress-text]")
    timers = page.inner_text(f"tr[data-instance-id='{cases.instance(at_verify).id}'] [data-role=timers]")
    assert "「核实认定」核实认定逾期（保留）：" in timers  # the case's timers after the move
    page.click("button:has-text('迁移选中的案件')")
    page.wait_for_selector("#process-migration[data-state=confirming]")
    assert "确认迁移 1 个案件？不能迁移的 1 个保持原状。" in page.inner_text("[data-role=confirm-text]")
    assert cases.instance(at_verify).model_id == v2["id"]  # nothing moves before the confirmation
    page.click("button:has-text('确认迁移')")
    page.wait_for_selector("#process-migration[data-state=done]")
    assert "已处理 2 / 2，已迁移 1，未迁移 1" in page.inner_text("[data-role=progress-text]")
    assert page.get_attribute("progress[data-role=progress]", "value") == "2"
    refused = page.inner_text(f"tr[data-instance-id='{cases.instance(at_legal).id}'] [data-role=result]")
    assert "当前步骤「法律审核」在目标版本中不存在" in refused
    assert cases.instance(at_verify).model_id == v1["id"]


def select_element(page, element_id: str) -> None:  # noqa: ANN001, F811
    page.locator("#process-modeler").evaluate(
        f"(root) => root.lvModeler.get('selection').select(root.lvModeler.get('elementRegistry').get('{element_id}'))")


@pytest.mark.e2e
def test_panel_edits_conditions_and_operation_parameters(page, api, demo_password: str) -> None:  # noqa: ANN001, F811
    sign_in(page, demo_password)
    page.goto("/processes/")
    page.click("#process-complaint a:has-text('打开编辑') >> nth=0")
    page.wait_for_selector("#process-modeler[data-ready=true][data-catalog=loaded]")
    select_element(page, "flow_03_gw_accepted_notify_rejected")
    assert page.input_value("#panel-condition") == "not accepted"
    page.fill("#panel-condition", "not accepted and True")
    page.press("#panel-condition", "Tab")
    select_element(page, "close_rejected")
    assert page.input_value("#panel-param-result") == '"rejected"'
    select_element(page, "notify_rejected")
    assert page.input_value("#panel-operation") == "notify_complainant"
    page.fill("#panel-param-message", '"您的投诉不予受理（浏览器测试）"')
    page.press("#panel-param-message", "Tab")
    page.fill("#deploy-comment", "浏览器测试：条件与参数")
    page.click("button:has-text('部署为新版本')")
    # `accepted` / `not accepted and True` no longer obviously cover every case: a warning to acknowledge
    page.wait_for_selector("[data-role=problems] li[data-severity=warning]:has-text('gw_accepted')")
    page.click("button:has-text('已阅警告，仍然部署')")
    page.wait_for_selector(".modeler-result.success:has-text('已部署为 complaint')")
    assert "已确认 1 条警告" in page.text_content(".modeler-result")
    xml = api("procadmin").get(f"/api/v1/processes/complaint/versions/{max(versions(api))}").get_json()["bpmn_xml"]
    assert "not accepted and True" in xml
    assert "您的投诉不予受理（浏览器测试）" in xml
