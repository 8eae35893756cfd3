"""The process modeler in a real browser: open a version, see a problem list in Chinese, deploy a new version."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_inbox_browser import CHROMIUM, CHROMIUM_ARGS, live_url  # noqa: F401 - fixture reused

MODELER = Path(__file__).resolve().parents[2] / "web/static/vendor/bpmn-js/bpmn-modeler.production.min.js"


@pytest.fixture
def page(live_url: str):  # noqa: ANN201, F811
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    if not MODELER.exists():
        pytest.skip("bpmn-js modeler is not in web/static/vendor (run make vendor)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", base_url=live_url)
        context.set_default_timeout(15_000)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        context.close()
        browser.close()
        assert not errors, errors


@pytest.mark.e2e
def test_administrator_deploys_from_the_modeler(page, demo_password: str) -> None:  # noqa: ANN001
    page.goto("/login")
    page.fill("#username", "procadmin")
    page.fill("#password", demo_password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")

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
