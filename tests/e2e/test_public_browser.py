"""The public complaint column in a real browser: department search (our script under the CSP), submit,
receipt with the tracking code, then follow the case with the code and the phone's last four digits."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def live_url(app, bundled_model_ids) -> Iterator[str]:  # noqa: ANN001
    from werkzeug.serving import make_server

    from web.public import limiter

    with app.app_context():
        limiter.reset()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            limiter.reset()


@pytest.fixture
def page(live_url: str):  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", base_url=live_url)
        context.set_default_timeout(15_000)
        tab = context.new_page()
        problems: list[str] = []
        tab.on("pageerror", lambda exc: problems.append(str(exc)))
        tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error"
               and not msg.text.startswith("Failed to load resource") else None)  # 422/404 pages are expected
        tab.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
        yield tab
        context.close()
        browser.close()
        assert not problems, problems  # includes CSP violations


@pytest.mark.e2e
def test_submit_and_track_in_browser(page) -> None:  # noqa: ANN001
    page.goto("/public/complaints/new")
    page.fill("#c-complainant_name", "云南滇信科技有限公司")
    page.fill("#c-complainant_uscc", "91350203M0001QAY9B")  # wrong check character first
    page.fill("#c-contact_person", "李明")
    page.fill("#c-contact_phone", "13888001234")
    page.type("#c-respondent_name", "昆明市官渡区商务局")
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.locator("#c-respondent_code")).to_have_value("km-guandu-commerce")  # set by our script
    page.fill("#c-agreement_name", "官渡区招商引资项目投资协议")
    page.select_option("#c-domain", "investment_promotion")
    page.select_option("#c-breach_type", "policy_unfulfilled")
    page.fill("#c-facts", "协议约定的产业扶持资金 300 万元至今未兑现。")
    page.fill("#c-claims", "请求按协议兑现扶持资金。")
    page.check("#c-pledge")
    page.click("button:has-text('提交投诉')")
    page.wait_for_selector("#err-complainant_uscc:has-text('校验位不正确')")

    page.fill("#c-complainant_uscc", "91440101MA5CJQ4N59")
    page.check("#c-pledge")
    page.click("button:has-text('提交投诉')")
    page.wait_for_url("**/public/complaints/receipt")
    code = page.inner_text("#tracking-code").strip()
    assert code.startswith("YN")

    page.click("nav >> text=进度查询")
    page.fill("#t-code", code)
    page.fill("#t-phone", "0000")
    page.click("button:has-text('查询')")
    page.wait_for_selector("text=未查到该投诉")
    page.fill("#t-code", code)
    page.fill("#t-phone", "1234")
    page.click("button:has-text('查询')")
    page.wait_for_selector("#track-result")
    assert "您的投诉已收到" in page.inner_text("#track-notes")
    assert page.inner_text("#track-status").strip()
