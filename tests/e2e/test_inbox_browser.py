"""One end-to-end run in a real browser: register, open the inbox, complete screening, see the diagram."""
from __future__ import annotations

import pytest

from tests.conftest import COMPLAINT
from tests.e2e.conftest import VIEWER, page_errors


@pytest.fixture
def page(open_tab):  # noqa: ANN001, ANN201
    return open_tab(requires=(VIEWER,), watch=page_errors)


@pytest.mark.e2e
def test_intake_completes_screening_in_browser(page, browser_login) -> None:  # noqa: ANN001
    browser_login(page, "intake")

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


@pytest.mark.e2e
def test_case_page_diagram_satisfies_the_csp_in_a_browser(open_tab, api, browser_login) -> None:  # noqa: ANN001
    """bpmn-js must draw the diagram without the CSP refusing anything (no 'unsafe-inline' needed)."""
    cid = api("intake").post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    messages: list[str] = []
    tab = open_tab(requires=(VIEWER,), watch=lambda tab, _problems: tab.on("console", lambda m: messages.append(m.text)))
    browser_login(tab, "intake")
    tab.goto(f"/cases/{cid}")
    tab.wait_for_selector("#case-diagram[data-ready=true]", timeout=15_000)
    assert tab.locator("#case-diagram .lv-current").count() > 0
    assert not [m for m in messages if "Content Security Policy" in m], messages
