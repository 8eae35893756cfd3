"""Prometheus metrics: who may scrape, request and task-completion counters, gauges read from the database."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from engine.workflow import clock
from engine.workflow.models import HumanTask, ProcessInstance
from tests.conftest import COMPLAINT


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the text exposition (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match and match[1] == name and ",".join(sorted((match[2] or "").split(","))).strip(",") == want:
            return float(match[3])
    return 0.0


def scrape(client) -> str:  # noqa: ANN001
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_metrics_are_for_loopback_or_the_token_only(make_app, bundled_model_ids) -> None:  # noqa: ANN001
    app = make_app(METRICS_TOKEN="s3cret-scrape-token", METRICS_ALLOWED_IPS=["127.0.0.1", "10.8.0.0/16"])
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.8.3.4"}).status_code == 200
    outsider = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outsider).status_code == 404
    assert client.get("/metrics", environ_base=outsider, headers={"Authorization": "Bearer wrong"}).status_code == 404
    ok = client.get("/metrics", environ_base=outsider, headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert ok.status_code == 200
    no_token = make_app(METRICS_ALLOWED_IPS=[]).test_client()
    assert no_token.get("/metrics").status_code == 404


def test_requests_are_counted_by_endpoint_and_status(client) -> None:  # noqa: ANN001
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page")
    after = scrape(client)
    labels = {"endpoint": "ops.healthz", "method": "GET", "status": "200"}
    assert sample(after, "lvyue_http_requests_total", **labels) - sample(before, "lvyue_http_requests_total", **labels) == 3
    missing = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert sample(after, "lvyue_http_requests_total", **missing) - sample(before, "lvyue_http_requests_total", **missing) == 1
    count = "lvyue_http_request_duration_seconds_count"
    assert sample(after, count, endpoint="ops.healthz", method="GET") - sample(before, count, endpoint="ops.healthz",
                                                                               method="GET") == 3
    assert sample(after, "lvyue_http_requests_total", endpoint="metrics.metrics", method="GET", status="200") == 0


def test_task_completions_count_committed_steps_only(api, client) -> None:  # noqa: ANN001
    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    task = intake.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    before = sample(scrape(client), "lvyue_task_completions_total", process="complaint", task="screening")
    assert intake.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": "maybe"}).status_code == 422
    assert intake.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True}).status_code == 200
    assert intake.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True}).status_code == 409
    after = sample(scrape(client), "lvyue_task_completions_total", process="complaint", task="screening")
    assert after - before == 1


def test_gauges_show_timer_lag_and_overdue_tasks(app, api, client) -> None:  # noqa: ANN001
    from web.extensions import db

    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    quiet = scrape(client)
    assert sample(quiet, "lvyue_timer_lag_seconds") == 0
    assert sample(quiet, "lvyue_tasks_open", process="complaint") == 1
    assert sample(quiet, "lvyue_tasks_overdue", process="complaint") == 0
    assert sample(quiet, "lvyue_instances", status="running") == 1
    assert sample(quiet, "lvyue_email_outbox_backlog") == 0
    with app.app_context():
        now = clock.now()
        db.session.execute(update(ProcessInstance).where(ProcessInstance.subject_id == cid)
                           .values(next_timer_at=now - timedelta(minutes=5)))
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.subject_id == cid))
        db.session.execute(update(HumanTask).where(HumanTask.id == task_id).values(due_at=now - timedelta(days=1)))
        db.session.commit()
    late = scrape(client)
    assert 300 <= sample(late, "lvyue_timer_lag_seconds") < 400
    assert sample(late, "lvyue_timers_due") == 1
    assert sample(late, "lvyue_tasks_overdue", process="complaint") == 1
