"""The public complaint column in a real browser: department search (our script under the CSP), submit,
receipt with the tracking code, then follow the case with the code and the phone's last four digits."""
from __future__ import annotations

import pytest


def _problems(tab, problems: list[str]) -> None:  # noqa: ANN001
    """Script errors and console errors (CSP violations among them) are problems; 422/404 pages are expected."""
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error"
           and not msg.text.startswith("Failed to load resource") else None)
    tab.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))


@pytest.fixture
def page(open_tab):  # noqa: ANN001, ANN201
    return open_tab(watch=_problems)


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


@pytest.mark.e2e
def test_evidence_upload_and_supplement_answered_in_browser(page, app, api, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Upload a file with the complaint, follow it by tracking code, answer a 补正 request with a file."""
    from tests.evidence_samples import DOCX, EXE, PDF

    expect = pytest.importorskip("playwright.sync_api").expect
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    page.goto("/public/complaints/new")
    page.fill("#c-complainant_name", "云南滇信科技有限公司")
    page.fill("#c-complainant_uscc", "91440101MA5CJQ4N59")
    page.fill("#c-contact_person", "李明")
    page.fill("#c-contact_phone", "13888001234")
    page.fill("#c-respondent_name", "某某县某某管理委员会")
    page.fill("#c-agreement_name", "产业扶持协议")
    page.select_option("#c-domain", "industrial_support")
    page.select_option("#c-breach_type", "unpaid")
    page.fill("#c-facts", "协议约定的扶持资金至今未兑现。")
    page.fill("#c-claims", "请求兑现。")
    page.check("#c-pledge")
    page.set_input_files("#c-evidence", files=[
        {"name": "投资协议.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "催款函.pdf", "mimeType": "application/pdf", "buffer": EXE}])  # disguised: refused
    page.click("button:has-text('提交投诉')")
    expect(page.locator("#err-evidence")).to_contain_text("催款函.pdf")
    page.check("#c-pledge")
    page.set_input_files("#c-evidence", files=[{"name": "投资协议.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("button:has-text('提交投诉')")
    page.wait_for_url("**/public/complaints/receipt")
    expect(page.locator("#receipt-files")).to_contain_text("投资协议.pdf")
    code = page.inner_text("#tracking-code").strip()

    from sqlalchemy import select

    from engine.cases.models import Complaint
    from web.extensions import db

    with app.app_context():
        complaint_id = db.session.scalar(select(Complaint.id).where(Complaint.tracking_code == code))
    asked = api("intake").post(f"/api/v1/complaints/{complaint_id}/supplements",
                               json={"note": "请补充提供付款节点证明"})
    assert asked.status_code == 201, asked.get_json()

    page.click("nav >> text=进度查询")
    page.fill("#t-code", code)
    page.fill("#t-phone", "1234")
    page.click("button:has-text('查询')")
    page.wait_for_selector("#track-result")
    expect(page.locator("#track-files")).to_contain_text("投资协议.pdf")
    expect(page.locator(".supplement-note")).to_have_text("请补充提供付款节点证明")
    page.fill("textarea[name=answer_text]", "付款节点证明见附件")
    page.set_input_files("input[name=evidence]", files=[
        {"name": "付款证明.docx", "mimeType": "application/octet-stream", "buffer": DOCX}])
    page.click("button:has-text('提交补正')")
    expect(page.locator("#answer-done")).to_be_visible()
    expect(page.locator(".supplement .answer")).to_contain_text("付款证明.docx")
    expect(page.locator("#track-notes")).to_contain_text("已收到您补正的材料")
