"""The public pages on a 390 px phone: no horizontal scrolling, the header menu wraps between items (never inside
one), the breach records list is a list of cards, the tracking page's 办件进度 fits, and a favicon is declared."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.services import register_complaint
from engine.credit import services as credit
from engine.org.models import Department
from tests.conftest import COMPLAINT

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(open_tab) -> object:  # noqa: ANN001
    return open_tab(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)


@pytest.fixture
def public_data(session: Session, official) -> str:  # noqa: ANN001
    """A record in its publication period (long names and basis) and a complaint to track; its tracking code."""
    resp = session.scalar(select(Department).where(Department.code == "km-guandu-commerce"))
    credit.create_record(
        session, source="test", respondent_id=resp.id, respondent_name=resp.name, respondent_uscc="11530111015190489A",
        respondent_division=resp.division_code, respondent_prefecture=resp.prefecture_code,
        determining_name="昆明市商务局", determined_on=date.today(), document_number="昆商认〔2026〕3号",
        basis="与某企业签订的《官渡区招商引资项目投资协议》第五条、第九条约定的产业扶持资金逾期未兑现",
        facts="多次催告仍未兑现", domain="investment_promotion", severity="serious")
    complaint, _ = register_complaint(session, COMPLAINT, official("intake"))
    session.commit()
    return complaint.tracking_code


def _fits(page) -> None:  # noqa: ANN001
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url}: page is {width[0]} px wide on a {width[1]} px screen"
    # each menu item on one line: a link broken inside a word has several line boxes
    broken = page.evaluate("""() => [...document.querySelectorAll('header nav a')]
        .filter(a => a.getClientRects().length > 1 || a.getBoundingClientRect().height > 2 * parseFloat(
            getComputedStyle(a).lineHeight || getComputedStyle(a).fontSize) + 1).map(a => a.textContent)""")
    assert broken == [], f"{page.url}: menu items broken across lines: {broken}"
    icon = page.evaluate("() => document.querySelector('link[rel=icon]')?.href")
    assert icon, f"{page.url}: no favicon"


@pytest.mark.e2e
def test_public_pages_fit_a_phone(phone, public_data: str, live_url: str) -> None:  # noqa: ANN001, F811
    for path in ("/public/complaints/new", "/public/track", "/bulletins/public/", "/public/typical-cases",
                 "/public/breach-records"):
        phone.goto(path)
        _fits(phone)

    phone.goto("/public/breach-records")
    cards = phone.evaluate("""() => [...document.querySelectorAll('table.public-records tbody tr')]
        .map(tr => getComputedStyle(tr).display)""")
    assert cards == ["block"], cards
    label = phone.evaluate("""() => getComputedStyle(
        document.querySelector('table.public-records td[data-label]'), '::before').content""")
    assert "失信主体" in label
    assert phone.request.get(phone.evaluate("() => document.querySelector('link[rel=icon]').href")).ok

    phone.goto("/public/track")
    phone.fill("#t-code", public_data)
    phone.fill("#t-phone", "1234")
    phone.click("button:has-text('查询')")
    phone.wait_for_selector("#track-milestones")
    assert "已收到投诉" in phone.inner_text("#track-milestones")
    assert "受理审查" in phone.inner_text("#current-step")
    _fits(phone)
