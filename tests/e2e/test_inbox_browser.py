"""One end-to-end run in a real browser: register, open the inbox, complete screening, see the diagram."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
VENDOR = Path(__file__).resolve().parents[2] / "web/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def live_url(app, bundled_model_ids) -> Iterator[str]:  # noqa: ANN001
    """The test app served on a free localhost port by a background thread, with CSRF checks on (as in
    production: forms and our JavaScript's writes to /api must carry the token)."""
    from werkzeug.serving import make_server

    csrf_before = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.config["WTF_CSRF_ENABLED"] = csrf_before


@pytest.fixture
def page(live_url: str):  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    if not VENDOR.exists():
        pytest.skip("bpmn-js is not in web/static/vendor (run make vendor)")
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
def test_intake_completes_screening_in_browser(page, demo_password: str) -> None:  # noqa: ANN001
    page.goto("/login")
    page.fill("#username", "intake")
    page.fill("#password", demo_password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")

    page.click("text=登记投诉")
    page.fill("#c-complainant_name", "云南滇信科技有限公司")
    page.fill("#c-complainant_uscc", "91440101MA5CJQ4N59")
    page.fill("#c-contact_person", "李明")
    page.fill("#c-contact_phone", "13888001234")
    page.select_option("#c-respondent_code", "km-guandu-commerce")
    page.fill("#c-agreement_name", "官渡区招商引资项目投资协议")
    page.select_option("#c-domain", "investment_promotion")
    page.select_option("#c-breach_type", "policy_unfulfilled")
    page.fill("#c-facts", "协议约定的产业扶持资金 300 万元至今未兑现。")
    page.fill("#c-claims", "请求按协议兑现扶持资金。")
    page.click("button:has-text('登记并启动办理')")
    page.wait_for_selector("text=投诉已登记，受理编号")
    case_url = page.url

    page.click("header >> text=待办")
    page.click("a.task-link:has-text('受理审查')")
    page.wait_for_selector("text=审查投诉是否属于政府违约失信投诉受理范围")
    page.check("input[name=accepted][value=true]")
    page.fill("#f-remarks", "材料齐全，予以受理。")
    page.click("button:has-text('提交')")
    page.wait_for_selector(".flash.success:has-text('已提交')")
    assert page.locator("a.task-link:has-text('受理审查')").count() == 0

    page.goto(case_url)
    page.wait_for_selector("#case-diagram[data-ready=true]")
    assert page.locator("#case-diagram .lv-done").count() > 0
    assert page.locator("#case-diagram .lv-current").count() > 0
