"""The audit log page: for system administrators and the provincial DRC; by case, person, department, period."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from engine.audit.models import AuditEvent
from engine.cases.models import Complaint
from tests.conftest import COMPLAINT


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


SECRET = "协议原件第7页载明扶持资金条款"


def _text(response) -> str:  # noqa: ANN001
    """A JSON response with its Chinese readable (the API escapes non-ASCII)."""
    assert response.status_code == 200, response.get_json()
    return json.dumps(response.get_json(), ensure_ascii=False)


def test_case_contents_in_the_audit_log_only_for_who_may_see_the_case(app, api, client, login) -> None:  # noqa: ANN001
    """A system administrator (no case access) reads field names only; the provincial DRC reads the values."""
    cid, _ = _case(api)
    [task] = api("intake").get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"]
    done = api("intake").post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True, "remarks": SECRET})
    assert done.status_code == 200, done.get_json()
    from engine.workflow.models import ProcessInstance
    from web.extensions import db

    with app.app_context():
        instance_id = db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.subject_id == cid))
    earlier = api("procadmin").get(f"/api/v1/instances/{instance_id}").get_json()["earlier"]
    back = api("procadmin").post(f"/api/v1/instances/{instance_id}/move-back",
                                 json={"task_id": earlier[0]["id"], "reason": "重新受理审查"})
    assert back.status_code == 200, back.get_json()  # its log entry carries the case data before and after
    assert SECRET in _text(api("procadmin").get(f"/api/v1/instances/{instance_id}"))  # sees every case

    login("sysadmin")
    page = client.get(f"/audit/?case={cid}").get_data(as_text=True)
    assert "意见：（已隐去）" in page  # the field (remarks) by its Chinese name, its value hidden
    assert "remarks" not in page
    assert SECRET not in page
    export = client.get(f"/audit/export?case={cid}").get_data(as_text=True)
    lines = [json.loads(line) for line in export.splitlines()]
    [completed] = [e for e in lines if e["action"] == "task_completed"]
    assert completed["after"]["form"] == {"accepted": "（已隐去）", "reason": None, "remarks": "（已隐去）"}
    assert completed["after"]["task"] == "screening"
    assert completed["redacted"] is True
    assert SECRET not in export
    searched = _text(api("sysadmin").get(f"/api/v1/audit?complaint_id={cid}"))
    assert SECRET not in searched
    assert "remarks" in searched
    instance_page = client.get(f"/processes/instances/{instance_id}").get_data(as_text=True)
    assert SECRET not in instance_page
    assert "重新受理审查" in instance_page
    assert SECRET not in _text(api("sysadmin").get(f"/api/v1/instances/{instance_id}"))

    login("ndrc")
    assert SECRET in client.get(f"/audit/?case={cid}").get_data(as_text=True)
    export = [json.loads(line) for line in client.get(f"/audit/export?case={cid}").get_data(as_text=True).splitlines()]
    [completed] = [e for e in export if e["action"] == "task_completed"]
    assert completed["after"]["form"]["remarks"] == SECRET
    assert completed["redacted"] is False


@pytest.mark.parametrize(("query", "field"), [
    ("complaint_id=99999999999999999999999", "complaint_id"),
    ("until=9999-12-31T23:59:59", "until"),
    ("since=0001-01-01", "since"),
])
def test_the_audit_api_refuses_out_of_range_filters_with_422(api, query, field) -> None:  # noqa: ANN001
    response = api("sysadmin").get(f"/api/v1/audit?{query}")
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
