"""补正: an official asks for more material, the complainant sees it on the tracking page and answers there
with text and files; the answer reaches the case page and the requesting department's notifications."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.cases.models import CaseEvent, Complaint
from engine.intake.models import EvidenceFile, SupplementRequest
from engine.notify.models import Notification
from tests.evidence_samples import EXE, PDF, files
from tests.integration.test_evidence import _stored
from tests.integration.test_public import FORM


@pytest.fixture
def store(app, tmp_path: Path, monkeypatch) -> Path:  # noqa: ANN001
    from web.public import limiter

    directory = tmp_path / "evidence"
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(directory))
    with app.app_context():
        limiter.reset()
    return directory


@pytest.fixture
def case(client, store, session) -> Complaint:  # noqa: ANN001
    assert client.post("/public/complaints/new", data=FORM).status_code == 303
    return session.scalar(select(Complaint))


def _track(client, complaint: Complaint):  # noqa: ANN001, ANN202
    return client.post("/public/track", data={"tracking_code": complaint.tracking_code, "phone_last4": "1234"})


def test_request_answered_on_the_tracking_page_reaches_the_case(app, case, store, session, api) -> None:  # noqa: ANN001
    officials = app.test_client()
    asked = api("intake").post(f"/api/v1/complaints/{case.id}/supplements",
                               json={"note": "请补充提供协议约定的付款节点证明及催款记录", "due_date": "2099-01-15"})
    assert asked.status_code == 201, asked.get_json()
    request_id = asked.get_json()["id"]
    again = api("intake").post(f"/api/v1/complaints/{case.id}/supplements", json={"note": "再补一份"})
    assert again.status_code == 409
    assert api("qj-commerce").post(f"/api/v1/complaints/{case.id}/supplements", json={"note": "x"}).status_code == 403

    complainant = app.test_client()
    page = _track(complainant, case).get_data(as_text=True)
    assert "请补充提供协议约定的付款节点证明及催款记录" in page
    assert "2099-01-15" in page
    assert f'action="/public/track/supplements/{request_id}"' in page

    refused = complainant.post(f"/public/track/supplements/{request_id}", content_type="multipart/form-data",
                               data={"answer_text": "付款节点证明见附件", "evidence": files(("付款证明.pdf", EXE))})
    assert refused.status_code == 422
    assert "内容不符" in refused.get_data(as_text=True)
    assert "付款节点证明见附件" in refused.get_data(as_text=True)  # the text is kept for the second try
    session.expire_all()
    assert session.get(SupplementRequest, request_id).answered_at is None
    assert _stored(store) == []

    done = complainant.post(f"/public/track/supplements/{request_id}", content_type="multipart/form-data",
                            data={"answer_text": "付款节点证明见附件", "evidence": files(("付款证明.pdf", PDF))})
    assert done.status_code == 303
    shown = complainant.get(done.headers["Location"]).get_data(as_text=True)
    assert "已收到您的补正材料" in shown
    assert "付款证明.pdf" in shown
    twice = complainant.post(f"/public/track/supplements/{request_id}", data={"answer_text": "再答一次"})
    assert twice.status_code == 409

    session.expire_all()
    answered = session.get(SupplementRequest, request_id)
    assert answered.answer_text == "付款节点证明见附件"
    row = session.scalar(select(EvidenceFile).where(EvidenceFile.supplement_id == request_id))
    assert (row.original_name, row.source, row.complaint_id) == ("付款证明.pdf", "complainant", case.id)
    notice = session.scalar(select(Notification).where(Notification.complaint_id == case.id))
    assert notice.department_id == answered.department_id
    assert "投诉人已补正材料" in notice.title

    listed = api("intake").get(f"/api/v1/complaints/{case.id}/supplements").get_json()
    assert listed[0]["answer_text"] == "付款节点证明见附件"
    assert listed[0]["evidence_ids"] == [row.id]
    officials.post("/login", data={"username": "intake", "password": "Lvyue@2026"})
    case_page = officials.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "付款节点证明见附件" in case_page
    assert f"/cases/evidence/{row.id}" in case_page


def test_answering_needs_a_tracked_complaint_and_some_content(app, case, session, api) -> None:  # noqa: ANN001
    request_id = api("intake").post(f"/api/v1/complaints/{case.id}/supplements",
                                    json={"note": "请补充合同原件扫描件"}).get_json()["id"]
    stranger = app.test_client()
    refused = stranger.post(f"/public/track/supplements/{request_id}", data={"answer_text": "见附件"})
    assert refused.status_code == 403
    assert "请先用查询码" in refused.get_data(as_text=True)
    _track(stranger, case)
    empty = stranger.post(f"/public/track/supplements/{request_id}", data={"answer_text": "  "})
    assert empty.status_code == 422
    assert "请填写补正说明或上传补正材料" in empty.get_data(as_text=True)
    stranger.post("/public/track/forget")
    assert stranger.post(f"/public/track/supplements/{request_id}", data={"answer_text": "x"}).status_code == 403
    session.expire_all()
    assert session.get(SupplementRequest, request_id).answered_at is None


def test_request_from_the_case_page_is_escaped_and_needs_a_handling_department(app, case, session, demo_password) -> None:  # noqa: ANN001
    officials = app.test_client()
    officials.post("/login", data={"username": "intake", "password": demo_password})
    empty = officials.post(f"/intake/cases/{case.id}/supplements", data={"note": ""}, follow_redirects=True)
    assert "请写明需要投诉人补正的材料" in empty.get_data(as_text=True)
    past = officials.post(f"/intake/cases/{case.id}/supplements", data={"note": "补充", "due_date": "2001-01-01"},
                          follow_redirects=True)
    assert "补正期限不能早于今天" in past.get_data(as_text=True)
    sent = officials.post(f"/intake/cases/{case.id}/supplements", data={"note": "<script>alert(1)</script>请补充"},
                          follow_redirects=True)
    html = sent.get_data(as_text=True)
    assert "已向投诉人发出补正要求" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;请补充" in html  # stored as text, escaped on output
    assert "<script>alert(1)</script>" not in html
    assert session.scalar(select(func.count()).select_from(SupplementRequest)) == 1
    officials.post("/logout")
    officials.post("/login", data={"username": "qj-commerce", "password": demo_password})
    assert officials.post(f"/intake/cases/{case.id}/supplements", data={"note": "x"}).status_code == 403


def test_the_channel_reads_the_request_in_its_view_and_feed(client, session, api) -> None:  # noqa: ANN001
    from datetime import UTC, datetime, timedelta

    from engine.intake.services import create_channel_key
    from tests.integration.test_channels import BASE

    _row, key = create_channel_key(session, "hotline_12345")
    session.commit()
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cid = client.post("/api/v1/complaints", json={**BASE, "external_ref": "12345-S"},
                      headers={"X-Api-Key": key}).get_json()["id"]
    assert api("intake").post(f"/api/v1/complaints/{cid}/supplements",
                              json={"note": "请补充合同扫描件"}).status_code == 201
    view = client.get(f"/api/v1/complaints/{cid}", headers={"X-Api-Key": key}).get_json()
    assert any("请补充合同扫描件" in n["note"] for n in view["public_notes"])
    feed = client.get("/api/v1/channel/updates", query_string={"since": since}, headers={"X-Api-Key": key})
    assert any("请补充合同扫描件" in item["note"] for item in feed.get_json()["items"])


def test_two_answers_at_the_same_moment_one_is_kept_the_other_is_409(app, case, store, session, api,  # noqa: ANN001
                                                                     monkeypatch) -> None:
    from engine.intake import evidence
    from tests.integration.test_after_closing import submitted_together

    request_id = api("intake").post(f"/api/v1/complaints/{case.id}/supplements",
                                    json={"note": "请补充合同原件扫描件"}).get_json()["id"]
    first, second = submitted_together(app, case, f"/public/track/supplements/{request_id}",
                                       {"answer_text": "见附件"}, monkeypatch, evidence, "stage")
    assert (first.status_code, second.status_code) == (303, 409)
    assert "该补正要求已经答复过了" in second.get_data(as_text=True)
    session.expire_all()
    assert session.get(SupplementRequest, request_id).answer_text == "见附件"
    answered = session.scalars(select(CaseEvent).where(CaseEvent.kind == "supplement_answered")).all()
    assert len(answered) == 1
