"""The public complaint column: submit (CSRF, honeypot, pledge, USCC check, rate limit), receipt, tracking."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from engine.cases.models import CaseEvent, Complaint
from tests.conftest import COMPLAINT_FORM

# the sample complaint as the public column posts it: the respondent typed by name, a phone with dashes, markup in
# the facts, the pledge ticked and the honeypot empty
FORM = {**{k: v for k, v in COMPLAINT_FORM.items() if k != "respondent_code"}, "contact_phone": "138-8800-1234",
        "respondent_name": "昆明市官渡区商务局", "facts": COMPLAINT_FORM["facts"] + "<script>alert(1)</script>",
        "pledge": "yes", "website": ""}


@pytest.fixture(autouse=True)
def _fresh_limits(app) -> Iterator[None]:  # noqa: ANN001
    from web.public import limiter

    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()


def _count(session) -> int:  # noqa: ANN001
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Complaint))


def _submit(client, **changes: str):  # noqa: ANN001, ANN202
    return client.post("/public/complaints/new", data={**FORM, **changes})


def test_form_renders_with_limits_from_the_schema(client) -> None:  # noqa: ANN001
    page = client.get("/public/complaints/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="csrf_token"' in html
    assert re.search(r'name="facts"[^>]*maxlength="10000"', html)
    assert re.search(r'name="complainant_name"[^>]*maxlength="200"', html)
    assert "真实性" in html
    assert 'name="website"' in html  # the honeypot


def test_submission_gives_a_printable_receipt_with_the_tracking_code(client, session) -> None:  # noqa: ANN001
    done = _submit(client)
    assert done.status_code == 303, done.get_data(as_text=True)
    receipt = client.get(done.headers["Location"])
    html = receipt.get_data(as_text=True)
    complaint = session.scalar(select(Complaint))
    assert complaint.tracking_code in html
    assert "打印回执" in html
    assert complaint.channel == "credit_yunnan"
    assert complaint.registered_by_id is None
    assert complaint.respondent is not None  # the exact department name was matched to the organisation data
    assert complaint.respondent.code == "km-guandu-commerce"
    assert complaint.intake_department.is_credit_lead
    assert complaint.facts.endswith("<script>alert(1)</script>")  # stored as text, escaped on output


def test_unknown_respondent_is_taken_as_free_text(client, session) -> None:  # noqa: ANN001
    assert _submit(client, respondent_name="某某县某某管理委员会").status_code == 303
    complaint = session.scalar(select(Complaint))
    assert complaint.respondent_id is None
    assert complaint.respondent_name == "某某县某某管理委员会"


def test_department_search(client) -> None:  # noqa: ANN001
    rows = client.get("/public/departments", query_string={"q": "官渡"}).get_json()
    assert {"code": "km-guandu-commerce", "name": "昆明市官渡区商务局"} in rows
    assert client.get("/public/departments", query_string={"q": "%"}).get_json() == []
    assert client.get("/public/departments").get_json() == []


def test_bad_uscc_and_missing_pledge_are_field_errors(client, session) -> None:  # noqa: ANN001
    bad = _submit(client, complainant_uscc="91350203M0001QAY9B")
    assert bad.status_code == 422
    assert "统一社会信用代码校验位不正确" in bad.get_data(as_text=True)
    no_pledge = _submit(client, pledge="", contact_phone="abc")
    html = no_pledge.get_data(as_text=True)
    assert no_pledge.status_code == 422
    assert "请阅读并勾选真实性承诺" in html
    assert "请填写有效的联系电话" in html
    too_long = _submit(client, claims="诉" * 5001)
    assert too_long.status_code == 422
    assert "长度应在 1–5000 字之间" in too_long.get_data(as_text=True)
    assert _count(session) == 0


def test_honeypot_rejects_without_storing(client, session) -> None:  # noqa: ANN001
    caught = _submit(client, website="http://spam.example")
    assert caught.status_code == 400
    assert "提交未被接受" in caught.get_data(as_text=True)
    assert _count(session) == 0


def test_rate_limit_answers_429_in_chinese(app, client, monkeypatch, session) -> None:  # noqa: ANN001
    monkeypatch.setitem(app.config, "PUBLIC_SUBMIT_RATE_LIMIT", "2 per minute")
    assert _submit(client, pledge="").status_code == 422
    assert _submit(client, pledge="").status_code == 422
    limited = _submit(client)
    assert limited.status_code == 429
    assert "提交过于频繁" in limited.get_data(as_text=True)
    assert _count(session) == 0
    assert client.get("/public/complaints/new").status_code == 200  # reading the form is not limited


def test_post_without_csrf_token_is_refused_in_chinese(make_app, session) -> None:  # noqa: ANN001
    strict = make_app(WTF_CSRF_ENABLED=True)
    browser = strict.test_client()
    refused = browser.post("/public/complaints/new", data=FORM)
    assert refused.status_code == 400
    assert "页面已过期或缺少安全校验信息" in refused.get_data(as_text=True)
    assert _count(session) == 0
    page = browser.get("/public/complaints/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post("/public/complaints/new", data={**FORM, "csrf_token": token}).status_code == 303


def test_tracking_shows_status_and_public_notes_only(client, session) -> None:  # noqa: ANN001
    _submit(client)
    complaint = session.scalar(select(Complaint))
    session.add(CaseEvent(complaint_id=complaint.id, kind="note", summary="内部意见：企业材料疑似夸大，需要核查"))
    session.add(CaseEvent(complaint_id=complaint.id, kind="note", summary="转交",
                          public_note="您的投诉已转交昆明市商务局核实。"))
    session.commit()

    wrong = client.post("/public/track", data={"tracking_code": complaint.tracking_code, "phone_last4": "9999"})
    assert wrong.status_code == 404
    assert "未查到该投诉" in wrong.get_data(as_text=True)
    unknown = client.post("/public/track", data={"tracking_code": "YN000000XXXXXXXX", "phone_last4": "1234"})
    assert unknown.status_code == 404

    found = client.post("/public/track", data={"tracking_code": complaint.tracking_code.lower(), "phone_last4": "1234"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "受理审查中" in html or "已登记" in html
    assert "您的投诉已收到" in html
    assert "您的投诉已转交昆明市商务局核实。" in html
    assert "内部意见" not in html
    assert "投诉登记（渠道" not in html  # internal summaries never shown
    assert "<script>alert(1)</script>" not in html


def test_oversize_body_is_refused_in_chinese(client, session) -> None:  # noqa: ANN001
    huge = _submit(client, facts="事" * (3 * 1024 * 1024))
    assert huge.status_code == 413
    assert "提交的内容过大" in huge.get_data(as_text=True)
    assert _count(session) == 0


def test_the_column_address_opens_the_complaint_form(client) -> None:  # noqa: ANN001
    answer = client.get("/public/")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/public/complaints/new")
    page = client.get("/public/", follow_redirects=True).get_data(as_text=True)
    assert "典型案例" in page  # the public site's navigation


def test_ten_wrong_digits_lock_the_code_for_every_address(app, client, session, monkeypatch) -> None:  # noqa: ANN001
    """Issue 18, item 3: the lock is the code's, not the address's; it is audited and ends by itself."""
    from datetime import timedelta

    from engine.audit.models import AuditEvent
    from engine.intake import services as intake_services
    from web.public import limiter

    _submit(client)
    code = session.scalar(select(Complaint)).tracking_code
    with app.app_context():
        limiter.reset()
    for i in range(10):  # from ten addresses, so the per-address rate limit never applies
        wrong = client.post("/public/track", data={"tracking_code": code, "phone_last4": f"{i:04d}"},
                            environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})
        assert wrong.status_code == (404 if i < 9 else 429), i
    assert "已暂停查询" in wrong.get_data(as_text=True)
    other = app.test_client()
    right = other.post("/public/track", data={"tracking_code": code, "phone_last4": "1234"},
                       environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert right.status_code == 429  # a new address, even with the right digits
    assert "已暂停查询" in right.get_data(as_text=True)
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "tracking_locked")).all()
    assert event.after["failures"] == 10
    later = intake_services.utcnow() + timedelta(minutes=31)
    monkeypatch.setattr(intake_services, "utcnow", lambda: later)
    again = other.post("/public/track", data={"tracking_code": code, "phone_last4": "1234"},
                       environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert again.status_code == 200  # the lock ended by itself
    assert "您的投诉已收到" in again.get_data(as_text=True)
