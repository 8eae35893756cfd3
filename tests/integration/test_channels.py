"""Channel intake API: X-Api-Key, idempotent resend, a channel sees only its own complaints, the update
feed, and duplicate candidates merged (every channel reference kept) or rejected by an intake official."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.cases.models import Complaint
from engine.intake.models import ComplaintReference, DuplicateCandidate
from engine.intake.services import create_channel_key, revoke_channel_key
from tests.conftest import COMPLAINT

BASE = {**COMPLAINT,
        "facts": "2023年3月我公司与官渡区商务局签订招商引资投资协议，约定我公司落地投产后给予产业扶持资金300万元。"
                 "我公司已按约完成投资并投产，但扶持资金至今未兑现，多次催告无果。"}
REWORDED = ("我司于2023年3月同官渡区商务局签署投资协议，协议约定企业投产后兑现300万元产业扶持资金。"
            "企业已于去年投产，商务局以领导调整为由一直未支付扶持资金。")


@pytest.fixture
def keys(session):  # noqa: ANN001, ANN201
    """Plain keys for three channels (and the id of the 12345 key)."""
    made = {}
    for channel in ("hotline_12345", "petition", "miit"):
        row, plain = create_channel_key(session, channel, f"测试 {channel}")
        made[channel] = plain
        made[channel + "_id"] = row.id
    session.commit()
    return made


def _send(client, key: str, body: dict):  # noqa: ANN001, ANN202
    return client.post("/api/v1/complaints", json=body, headers={"X-Api-Key": key})


def test_key_registers_in_its_channel_and_resend_is_idempotent(client, keys, session) -> None:  # noqa: ANN001
    body = {**BASE, "channel": "counter", "external_ref": "12345-20261128-000317"}
    first = _send(client, keys["hotline_12345"], body)
    assert first.status_code == 201, first.get_json()
    again = _send(client, keys["hotline_12345"], body)
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    complaint = session.get(Complaint, first.get_json()["id"])
    assert complaint.channel == "hotline_12345"  # forced to the key's channel
    assert complaint.registered_by_id is None
    assert session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.external_ref == "12345-20261128-000317")) == 1
    # the same reference from another channel is another complaint
    assert _send(client, keys["petition"], body).status_code == 201


def test_channel_must_send_its_reference_and_a_valid_key(client, keys, session) -> None:  # noqa: ANN001
    missing = _send(client, keys["hotline_12345"], BASE)
    assert missing.status_code == 422
    assert "编号" in missing.get_json()["errors"]["external_ref"]
    bad_code = _send(client, keys["hotline_12345"], {**BASE, "external_ref": "x-1", "complainant_uscc": "91350203M0001QAY9B"})
    assert bad_code.status_code == 422
    assert "校验位" in bad_code.get_json()["errors"]["complainant_uscc"]
    unknown = _send(client, "lvc_not-a-key", {**BASE, "external_ref": "x-2"})
    assert unknown.status_code == 401
    assert "X-Api-Key" in unknown.get_json()["message"]
    revoke_channel_key(session, keys["hotline_12345_id"])
    session.commit()
    assert _send(client, keys["hotline_12345"], {**BASE, "external_ref": "x-3"}).status_code == 401
    assert client.post("/api/v1/complaints", json=BASE).status_code == 401
    assert session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_channel_reads_only_its_own_complaints_without_internal_remarks(client, keys, api) -> None:  # noqa: ANN001
    cid = _send(client, keys["hotline_12345"], {**BASE, "external_ref": "12345-A"}).get_json()["id"]
    own = client.get(f"/api/v1/complaints/{cid}", headers={"X-Api-Key": keys["hotline_12345"]})
    assert own.status_code == 200
    body = own.get_json()
    assert body["status_label"]
    assert body["external_refs"] == ["12345-A"]
    assert [n["note"] for n in body["public_notes"]] == ["您的投诉已收到，我们将依法依规办理。"]
    assert body["public_notes"][0]["at"].endswith("+00:00")
    for internal in ("history", "open_tasks", "facts", "contact_phone", "summary"):
        assert internal not in body
    assert client.get(f"/api/v1/complaints/{cid}", headers={"X-Api-Key": keys["petition"]}).status_code == 403
    assert client.get("/api/v1/complaints/999999", headers={"X-Api-Key": keys["petition"]}).status_code == 404
    counter = api("intake").post("/api/v1/complaints", json={**BASE, "agreement_number": "OTHER-1"}).get_json()["id"]
    assert client.get(f"/api/v1/complaints/{counter}", headers={"X-Api-Key": keys["hotline_12345"]}).status_code == 403
    assert api("intake").get(f"/api/v1/complaints/{cid}").get_json()["history"]  # officials still see everything


def test_update_feed_since_a_time_is_ordered_and_paginated(client, keys) -> None:  # noqa: ANN001
    start = datetime.now(UTC) - timedelta(seconds=5)
    ids = [_send(client, keys["hotline_12345"], {**BASE, "agreement_number": f"N-{i}", "external_ref": f"12345-{i}"})
           .get_json()["id"] for i in range(3)]
    _send(client, keys["petition"], {**BASE, "external_ref": "other-channel"})
    headers = {"X-Api-Key": keys["hotline_12345"]}
    feed = client.get("/api/v1/channel/updates", query_string={"since": start.isoformat()}, headers=headers)
    assert feed.status_code == 200, feed.get_json()
    items = feed.get_json()["items"]
    assert [i["complaint_id"] for i in items] == ids  # only this channel's, oldest first
    assert [i["external_ref"] for i in items] == ["12345-0", "12345-1", "12345-2"]
    assert all(i["note"] == "您的投诉已收到，我们将依法依规办理。" and i["status"] for i in items)
    assert feed.get_json()["next"] is None

    page = client.get("/api/v1/channel/updates", query_string={"since": start.isoformat(), "limit": 2}, headers=headers)
    assert [i["complaint_id"] for i in page.get_json()["items"]] == ids[:2]
    nxt = page.get_json()["next"]
    rest = client.get("/api/v1/channel/updates", query_string={**nxt, "limit": 2}, headers=headers)
    assert [i["complaint_id"] for i in rest.get_json()["items"]] == ids[2:]

    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert client.get("/api/v1/channel/updates", query_string={"since": later}, headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/channel/updates", query_string={"since": later}).status_code == 401
    bad = client.get("/api/v1/channel/updates", query_string={"since": "yesterday"}, headers=headers)
    assert bad.status_code == 422
    assert "since" in bad.get_json()["errors"]


def test_merge_keeps_every_channel_reference_on_the_older_case(client, keys, api, session) -> None:  # noqa: ANN001
    older = _send(client, keys["hotline_12345"], {**BASE, "external_ref": "12345-M"}).get_json()["id"]
    newer = _send(client, keys["petition"], {**BASE, "facts": REWORDED, "external_ref": "XF-2026-0099"}).get_json()["id"]
    intake = api("intake")
    listed = intake.get("/api/v1/duplicates")
    assert listed.status_code == 200, listed.get_json()
    [candidate] = listed.get_json()
    assert {candidate["complaint"]["id"], candidate["other"]["id"]} == {older, newer}
    assert candidate["score"] >= 50
    assert candidate["reasons"]["same_agreement_number"] is True
    assert api("km-commerce").get("/api/v1/duplicates").status_code == 403

    merged = intake.post(f"/api/v1/duplicates/{candidate['id']}/merge")
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json()["survivor_id"] == older
    assert merged.get_json()["decision"] == "merged"
    assert intake.post(f"/api/v1/duplicates/{candidate['id']}/reject").status_code == 409

    refs = session.scalars(select(ComplaintReference).where(ComplaintReference.complaint_id == older)).all()
    assert [(r.channel, r.external_ref) for r in refs] == [("petition", "XF-2026-0099")]
    gone = intake.get(f"/api/v1/complaints/{newer}").get_json()
    assert gone["status"] == "merged"
    assert gone["open_tasks"] == []
    assert intake.get(f"/api/v1/complaints/{older}").get_json()["open_tasks"]  # the older case goes on

    petition = {"X-Api-Key": keys["petition"]}
    view = client.get(f"/api/v1/complaints/{newer}", headers=petition).get_json()
    assert view["merged_into"] == older
    assert view["status_label"] == "已合并办理"
    survivor = client.get(f"/api/v1/complaints/{older}", headers=petition)
    assert survivor.status_code == 200
    assert survivor.get_json()["external_refs"] == ["XF-2026-0099"]
    resend = _send(client, keys["petition"], {**BASE, "facts": REWORDED, "external_ref": "XF-2026-0099"})
    assert resend.status_code == 200
    assert resend.get_json()["id"] == older
    assert client.get(f"/api/v1/complaints/{older}", headers={"X-Api-Key": keys["hotline_12345"]}).get_json()[
        "external_refs"] == ["12345-M"]
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    notes = client.get("/api/v1/channel/updates", query_string={"since": since}, headers=petition).get_json()["items"]
    assert any("合并办理" in n["note"] for n in notes)


def test_reject_keeps_both_cases(client, keys, api, session) -> None:  # noqa: ANN001
    _send(client, keys["hotline_12345"], {**BASE, "external_ref": "12345-R"})
    _send(client, keys["miit"], {**BASE, "facts": REWORDED, "external_ref": "MIIT-R"})
    intake = api("intake")
    [candidate] = intake.get("/api/v1/duplicates").get_json()
    done = intake.post(f"/api/v1/duplicates/{candidate['id']}/reject")
    assert done.status_code == 200
    assert done.get_json()["decision"] == "rejected"
    assert intake.get("/api/v1/duplicates").get_json() == []
    statuses = session.scalars(select(Complaint.status)).all()
    assert "merged" not in statuses
    assert len(statuses) == 2
    assert session.scalar(select(DuplicateCandidate.decided_by_id)) is not None


def test_openapi_documents_channel_endpoints(client) -> None:  # noqa: ANN001
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/channel/updates" in spec["paths"]
    assert "/api/v1/duplicates/{candidate_id}/merge" in spec["paths"]
    assert spec["components"]["securitySchemes"]["channelKey"]["name"] == "X-Api-Key"
    update = spec["components"]["schemas"]["Update"]["properties"]
    assert update["external_ref"]["example"]


def test_duplicates_page_side_by_side_and_merge(client, keys, demo_password, session) -> None:  # noqa: ANN001
    older = _send(client, keys["hotline_12345"], {**BASE, "external_ref": "12345-P"}).get_json()["id"]
    _send(client, keys["petition"], {**BASE, "facts": REWORDED, "external_ref": "XF-P"})
    assert client.post("/login", data={"username": "km-commerce", "password": demo_password}).status_code == 302
    assert client.get("/intake/duplicates").status_code == 403
    client.post("/logout")
    assert client.post("/login", data={"username": "intake", "password": demo_password}).status_code == 302
    html = client.get("/intake/duplicates").get_data(as_text=True)
    assert "XF-P" in html
    assert "12345-P" in html
    assert "网上信访平台" in html
    assert "事实描述相似度" in html
    candidate = session.scalar(select(DuplicateCandidate))
    done = client.post(f"/intake/duplicates/{candidate.id}/merge", follow_redirects=True)
    assert "已合并" in done.get_data(as_text=True)
    assert "暂无待处理的疑似重复投诉" in done.get_data(as_text=True)
    session.expire_all()
    assert session.get(DuplicateCandidate, candidate.id).decision == "merged"
    assert session.scalar(select(ComplaintReference.complaint_id)) == older
    again = client.post(f"/intake/duplicates/{candidate.id}/reject", follow_redirects=True)
    assert "已处理" in again.get_data(as_text=True)


def test_every_intake_field_is_documented_with_an_example(client) -> None:  # noqa: ANN001
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("ComplaintInput", "ChannelComplaint", "Update", "CaseSide", "PublicNote"):
        for field, prop in schemas[name]["properties"].items():
            if prop.get("type") == "array" or "$ref" in prop:
                continue
            assert "example" in prop, (name, field)
    for field, prop in schemas["ComplaintInput"]["properties"].items():
        assert prop.get("description"), field
