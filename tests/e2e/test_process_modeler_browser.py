"""The process modeler in a real browser: open a version, see a problem list in Chinese, deploy a new version."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import MODELER, page_errors


@pytest.fixture
def page(open_tab):  # noqa: ANN001, ANN201
    return open_tab(requires=(MODELER,), watch=page_errors)


@pytest.mark.e2e
def test_administrator_deploys_from_the_modeler(page, browser_login) -> None:  # noqa: ANN001
    browser_login(page, "procadmin")

    page.goto("/processes/")
    page.click("#process-complaint a:has-text('打开编辑') >> nth=0")
    page.wait_for_selector("#process-modeler[data-ready=true]")
    assert page.locator(".djs-element[data-element-id=verify]").count() == 1

    forms = page.locator("[data-role=forms]")
    page.click("summary:has-text('表单（JSON Schema')")
    forms.fill(forms.input_value().replace('"verify.json"', '"verify_renamed.json"'))
    page.fill("#deploy-comment", "浏览器测试：缺少表单")
    page.click("button:has-text('部署为新版本')")
    page.wait_for_selector("[data-role=problems] li")
    assert "[verify] 用户任务 verify（核实认定） 的表单 verify.json 不存在" in page.inner_text("[data-role=problems]")
    assert page.locator(".djs-element.lv-problem[data-element-id=verify]").count() == 1

    forms.fill(forms.input_value().replace('"verify_renamed.json"', '"verify.json"'))
    page.fill("#deploy-comment", "浏览器测试：重新部署")
    page.click("button:has-text('部署为新版本')")
    page.wait_for_selector(".modeler-result.success:has-text('第')")
    result = page.inner_text("[data-role=result]")
    assert "已部署为 complaint" in result or "完全相同" in result
    assert page.inner_text("[data-role=problems]") == ""
