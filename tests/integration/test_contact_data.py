"""The complainant's contact data: in full for the provincial DRC, intake and the handling departments (each view
audited: who, when, from where, which case), masked for the respondent, a prefecture lead looking on, and
administrators — on the case page and in the API."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.audit.models import AuditEvent
from engine.cases.contact import mask_address, mask_name, mask_phone
from tests.conftest import COMPLAINT
from tests.integration.test_api_smoke import DEADLINE

PHONE = COMPLAINT["contact_phone"]  # 13888001234
ADDRESS = "昆明市官渡区关上街道春城路 12 号"
FULL = {"intake", "ndrc", "km-commerce", "km-commerce-lead"}  # DRC, intake, the determining department
MASKED = {"km-drc", "guandu-commerce", "procadmin"}  # prefecture overview, the respondent, process admin


def _next(caller, cid: int, body: dict) -> None:  # noqa: ANN001
    task = caller.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    assert caller.post(f"/api/v1/tasks/{task['id']}/complete", json=body).status_code == 200


@pytest.fixture
def case_at_rectification(api) -> int:  # noqa: ANN001
    """A case whose respondent (官渡区商务局) now holds the report task, so it sees the case too."""
    cid = api("intake").post("/api/v1/complaints", json={**COMPLAINT, "contact_address": ADDRESS}).get_json()["id"]
    _next(api("intake"), cid, {"accepted": True})
    _next(api("km-commerce"), cid, {"outcome": "founded", "explanation": "属实"})
    _next(api("km-commerce"), cid, {"deadline": DEADLINE, "requirements": "兑现扶持资金"})
    assert api("guandu-commerce").get(f"/api/v1/tasks?complaint_id={cid}").get_json()["total"] == 1
    return cid


def _contact_views(app, cid: int) -> list[AuditEvent]:  # noqa: ANN001
    from web.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "view_contact", AuditEvent.complaint_id == cid).order_by(AuditEvent.id)))


def test_api_shows_contact_data_in_full_only_to_handlers_and_audits_each_view(app, api,  # noqa: ANN001
                                                                              case_at_rectification) -> None:
    cid = case_at_rectification
    for username in sorted(FULL | MASKED):
        body = api(username).get(f"/api/v1/complaints/{cid}").get_json()
        if username in FULL:
            assert (body["contact_person"], body["contact_phone"], body["contact_address"]) == (
                "李明", PHONE, ADDRESS), username
            assert body["contact_masked"] is False
        else:
            assert (body["contact_person"], body["contact_phone"], body["contact_address"]) == (
                "李*", "138********", "昆明市官渡区****"), username
            assert body["contact_masked"] is True
            # the last four digits open the public tracking page; generated values (the tracking code, timestamps
            # with microseconds) may contain any four digits by chance and are left out of the scan
            text = re.sub(r"\d{4}-\d{2}-\d{2}T[\d:.]+[+-]\d{2}:\d{2}", "", str(body).replace(body["tracking_code"], ""))
            assert PHONE[-4:] not in text
    assert api("sysadmin").get(f"/api/v1/complaints/{cid}").status_code == 403

    views = _contact_views(app, cid)
    assert sorted(e.actor_label.split()[0] for e in views) == sorted(FULL)
    assert {(e.ip, e.object_type, e.object_id, e.after["via"]) for e in views} == {
        ("127.0.0.1", "complaint", str(cid), "api")}


def test_case_page_masks_for_the_respondent_and_audits_the_handlers_view(app, api,  # noqa: ANN001
                                                                         case_at_rectification) -> None:
    cid = case_at_rectification
    respondent = api("guandu-commerce").get(f"/cases/{cid}").get_data(as_text=True)
    assert "138********" in respondent
    assert PHONE not in respondent
    assert ADDRESS not in respondent
    assert "已隐去" in respondent
    assert _contact_views(app, cid) == []

    handler = api("km-commerce").get(f"/cases/{cid}").get_data(as_text=True)
    assert PHONE in handler
    assert ADDRESS in handler
    assert "已隐去" not in handler
    [view] = _contact_views(app, cid)
    assert view.actor_label.startswith("km-commerce ")
    assert view.after == {"via": "case_page"}


def test_masks() -> None:
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("") == ""
    assert mask_phone("0871-6123456") == "087*********"
    assert mask_phone("110") == "110****"
    assert mask_address("  ") is None
    assert mask_address("昆明市") == "昆明市****"
