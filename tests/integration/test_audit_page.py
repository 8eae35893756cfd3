"""The audit log page: for system administrators and the provincial DRC; by case, person, department, period."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from engine.audit.models import AuditEvent
from engine.cases.models import Complaint
from tests.integration.test_api_smoke import COMPLAINT


@pytest.fixture
def login(client, demo_password):  # noqa: ANN001, ANN201
    def sign_in(username: str) -> None:
        client.post("/logout")
        response = client.post("/login", data={"username": username, "password": demo_password})
        assert response.status_code == 302, response.get_data(as_text=True)

    return sign_in


def _case(api) -> tuple[int, str]:  # noqa: ANN001
    body = api("intake").post("/api/v1/complaints", json=COMPLAINT).get_json()
    return body["id"], body["tracking_code"]


def _ids(page: str) -> set[int]:
    import re

    return {int(m) for m in re.findall(r'id="audit-(\d+)"', page)}


def test_only_auditors_see_the_audit_page(client, login) -> None:  # noqa: ANN001
    assert client.get("/audit/").status_code == 302  # not signed in: the sign-in page
    login("km-commerce")
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export").status_code == 403
    assert 'href="/audit/"' not in client.get("/").get_data(as_text=True)  # no menu entry for officials
    for auditor in ("sysadmin", "ndrc"):
        login(auditor)
        page = client.get("/audit/")
        assert page.status_code == 200
        assert "审计日志" in page.get_data(as_text=True)
        assert 'href="/audit/"' in page.get_data(as_text=True)  # the menu entry


def test_search_by_case_person_department_and_period(app, api, client, login) -> None:  # noqa: ANN001
    from web.extensions import db

    cid, code = _case(api)
    other_cid, _ = _case(api)
    login("km-commerce")  # an official of 昆明市商务局 signs in: `login` by km-commerce
    login("sysadmin")
    with app.app_context():
        case_events = set(db.session.scalars(select(AuditEvent.id).where(AuditEvent.complaint_id == cid)))
        km_login = db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "login",
                                                                 AuditEvent.actor_label.startswith("km-commerce ")))
        old = db.session.scalar(select(AuditEvent.id).where(AuditEvent.complaint_id == other_cid).limit(1))
        db.session.execute(update(AuditEvent).where(AuditEvent.id == old)  # back-dated, only for the query
                           .values(at=datetime(2026, 1, 15, 3, tzinfo=UTC)))
        db.session.commit()
    assert case_events

    by_code = client.get(f"/audit/?case={code}").get_data(as_text=True)
    assert _ids(by_code) == case_events
    assert _ids(client.get(f"/audit/?case={cid}").get_data(as_text=True)) == case_events
    assert "登记投诉" in by_code  # actions shown with their Chinese label
    assert _ids(client.get("/audit/?case=YN0000000000").get_data(as_text=True)) == set()

    by_person = _ids(client.get("/audit/?actor=km-commerce").get_data(as_text=True))
    by_department = _ids(client.get("/audit/?department=km-commerce").get_data(as_text=True))
    assert km_login in by_person
    assert km_login in by_department
    assert not by_department & case_events  # the cases were registered by 受理 staff of the DRC
    drc = _ids(client.get("/audit/?department=ndrc&action=complaint_registered").get_data(as_text=True))
    assert len(drc) == 2

    january = _ids(client.get("/audit/?since=2026-01-15&until=2026-01-15").get_data(as_text=True))
    assert january == {old}
    bad = client.get("/audit/?since=2026-02-01&until=2026-01-01")
    assert bad.status_code == 422
    assert "截止日期不能早于起始日期" in bad.get_data(as_text=True)
    assert client.get("/audit/?since=15.1.2026").status_code == 422

    with app.app_context():
        views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view_audit")).all()
    assert any(v.after.get("tracking_code") == code for v in views)  # the searches are audited themselves


def test_export_gives_json_lines_with_hashes_and_is_audited(app, api, client, login) -> None:  # noqa: ANN001
    from web.extensions import db

    cid, code = _case(api)
    login("ndrc")
    response = client.get(f"/audit/export?case={code}")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="lvyue-audit-')
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert lines
    assert {line["complaint_id"] for line in lines} == {cid}
    assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)  # oldest first
    assert all(len(line["hash"]) == 64 and len(line["prev_hash"]) == 64 for line in lines)
    assert int(response.headers["X-Export-Count"]) == len(lines)
    with app.app_context():
        exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit_exported"))
        assert exported.after == {"tracking_code": code, "count": len(lines), "via": "browser"}
        assert exported.actor_label.startswith("ndrc ")
        assert db.session.scalar(select(Complaint.tracking_code).where(Complaint.id == cid)) == code
    assert datetime.now(UTC) - timedelta(minutes=5) < datetime.fromisoformat(lines[0]["at"])


@pytest.mark.parametrize(("query", "status", "message"), [
    ("case=²", 200, None),  # a digit to str.isdigit, not to int(): searched as a tracking code (matches nothing)
    ("case=99999999999999999999999", 200, None),  # too long for an id: a tracking code, matches nothing
    ("actor=²", 200, None),
    ("actor=99999999999999999999999", 200, None),
    ("until=9999-12-31", 422, "截止日期须在 2000 年至 2100 年之间"),
    ("since=0001-01-01", 422, "起始日期须在 2000 年至 2100 年之间"),
])
def test_odd_filters_give_a_page_or_a_chinese_error(client, login, query, status, message) -> None:  # noqa: ANN001
    login("sysadmin")
    for url in (f"/audit/?{query}", f"/audit/export?{query}"):
        response = client.get(url)
        assert response.status_code == status, url
        if message:
            assert message in response.get_data(as_text=True)
        elif url.startswith("/audit/?"):
            assert _ids(response.get_data(as_text=True)) == set()
