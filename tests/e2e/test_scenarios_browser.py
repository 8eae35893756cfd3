"""试运行 in a real browser: every scenario passes on the bundled diagram; after a change through bpmn-js the
changed ones are listed, their paths marked on the diagram, and deploy goes ahead only once confirmed."""
from __future__ import annotations

import json

import pytest

from engine.workflow import specs
from tests.conftest import PROCESSES
from tests.e2e.test_process_modeler_browser import page  # noqa: F401 - fixture reused

SWAP = """() => {
  const modeler = document.getElementById('process-modeler').lvModeler;
  const registry = modeler.get('elementRegistry'), modeling = modeler.get('modeling'), moddle = modeler.get('moddle');
  const set = (id, body) => modeling.updateProperties(registry.get(id),
    {conditionExpression: moddle.create('bpmn:FormalExpression', {body: body})});
  set('flow_27_gw_rectified_notify_rectified', 'not rectified');
  set('flow_28_gw_rectified_confirm_breach_task', 'rectified');
}"""


def run_trial(page) -> None:  # noqa: ANN001, F811
    page.click("button:has-text('试运行')")
    page.wait_for_selector("#process-modeler[data-scenarios-shown=true]")


@pytest.mark.e2e
def test_trial_run_marks_paths_and_deploy_needs_confirmation(page, browser_login) -> None:  # noqa: ANN001, F811
    browser_login(page, "procadmin")
    page.goto("/processes/")
    page.click("#process-complaint a:has-text('打开编辑') >> nth=0")
    page.wait_for_selector("#process-modeler[data-ready=true]")

    scenarios = specs.bundle_from_directory(PROCESSES / "complaint.bpmn").scenarios
    page.click("summary:has-text('场景（JSON')")
    page.fill("[data-role=scenarios]", json.dumps(scenarios, ensure_ascii=False))
    run_trial(page)
    runs = page.locator(".scenario-run")
    assert runs.count() == len(scenarios)
    assert page.locator(".scenario-run[data-status=passed]").count() == len(scenarios)
    assert f"共 {len(scenarios)} 个场景：通过 {len(scenarios)}" in page.inner_text("[data-role=scenario-summary]")
    page.click(".scenario-run[data-scenario='核实不属实'] button")
    assert page.locator(".djs-element.lv-path[data-element-id=end_unfounded]").count() == 1
    assert page.locator(".djs-element.lv-path[data-element-id=flow_15_gw_outcome_notify_unfounded]").count() == 1
    assert page.locator(".djs-element.lv-path[data-element-id=order_rectification]").count() == 0

    page.evaluate(SWAP)
    run_trial(page)
    changed = page.locator(".scenario-run[data-status=changed]")
    assert changed.count() >= 2
    rectified = page.locator(".scenario-run[data-scenario='属实，整改到位']")
    assert "结果与预期不同（与已部署版本不同）" in rectified.inner_text()
    rectified.locator("button").click()
    assert page.locator(".djs-element.lv-path-wait[data-element-id=confirm_breach_task]").count() == 1
    page.click(".scenario-run[data-scenario='属实，拒不整改，确认违约失信并经复核同意'] button")
    assert page.locator(".djs-element.lv-path-new[data-element-id=close_rectified]").count() == 1
    assert "仅已部署版本经过" in page.inner_text(".scenario-run[data-scenario='属实，拒不整改，确认违约失信并经复核同意']")

    page.fill("#deploy-comment", "浏览器测试：调换整改结论")
    page.click("button:has-text('部署为新版本')")
    page.wait_for_selector("button:has-text('确认场景结果变化，仍然部署'):visible")
    assert "在新版本上的结果与预期不同" in page.inner_text("[data-role=result]")
    page.click("button:has-text('确认场景结果变化，仍然部署')")
    page.wait_for_selector(".modeler-result.success:has-text('已部署为 complaint')")
