"""Pausing and resuming a case's clock through the API."""
from __future__ import annotations

from tests.conftest import COMPLAINT


def test_pause_and_resume_through_the_api(api) -> None:  # noqa: ANN001
    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    task = intake.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    intake.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True})

    supervisor = api("km-commerce")
    assert supervisor.post(f"/api/v1/complaints/{cid}/pause", json={}).status_code == 422
    assert api("guandu-commerce").post(f"/api/v1/complaints/{cid}/pause", json={"reason": "x"}).status_code == 403
    paused = supervisor.post(f"/api/v1/complaints/{cid}/pause", json={"reason": "等待投诉人补正材料"})
    assert paused.status_code == 200, paused.get_json()
    assert paused.get_json()["reason"] == "等待投诉人补正材料"
    again = supervisor.post(f"/api/v1/complaints/{cid}/pause", json={"reason": "再次"})
    assert again.status_code == 409
    assert "暂停" in again.get_json()["message"]
    resumed = supervisor.post(f"/api/v1/complaints/{cid}/resume")
    assert resumed.status_code == 200
    assert resumed.get_json()["shifted_workdays"] == 0
    history = supervisor.get(f"/api/v1/complaints/{cid}").get_json()["history"]
    assert [e["kind"] for e in history if e["kind"].startswith("clock_")] == ["clock_paused", "clock_resumed"]
