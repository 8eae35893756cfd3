"""Structured logs: the request id is honoured or made, returned, and on every line the request writes."""
from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from engine.audit.models import AuditEvent
from web import logs


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What our root handler writes, while the test runs; text format again afterwards."""
    buffer = io.StringIO()
    yield buffer
    logs.configure_logging("INFO", "text")


def _capture(buffer: io.StringIO) -> None:
    for handler in logging.getLogger().handlers:
        if getattr(handler, "lvyue", False):
            handler.setStream(buffer)  # type: ignore[attr-defined]


def test_request_id_is_honoured_or_generated(client) -> None:  # noqa: ANN001
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.headers["X-Request-ID"] == "lb-7f3a.42"
    made = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)  # uuid4().hex
    assert made != client.get("/healthz").headers["X-Request-ID"]
    hostile = client.get("/healthz", headers={"X-Request-ID": "x\" injected=1" + "a" * 200})
    assert hostile.headers["X-Request-ID"] != "x\" injected=1" + "a" * 200
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-ID"])


def test_json_lines_carry_the_request_id_into_the_audit_line(make_app, log_lines, bundled_model_ids) -> None:  # noqa: ANN001
    app = make_app(LOG_FORMAT="json", WTF_CSRF_ENABLED=False)
    _capture(log_lines)
    response = app.test_client().post("/login", data={"username": "km-commerce", "password": "wrong-password-1"},
                                      headers={"X-Request-ID": "req-audit-1"})
    assert response.status_code == 200
    entries = [json.loads(line) for line in log_lines.getvalue().splitlines()]  # every line is JSON
    assert entries
    ours = [e for e in entries if e["request_id"] == "req-audit-1"]
    access = [e for e in ours if e["logger"] == "lvyue.request"]
    assert access
    assert access[-1]["status"] == 200
    assert access[-1]["path"] == "/login"
    assert access[-1]["method"] == "POST"
    assert access[-1]["duration_ms"] >= 0
    audit_lines = [e for e in ours if e.get("audit_action") == "login_failed"]
    assert len(audit_lines) == 1
    assert audit_lines[0]["time"].endswith("Z")
    assert audit_lines[0]["level"] == "INFO"
    from web.extensions import db

    with app.app_context():
        event = db.session.get(AuditEvent, audit_lines[0]["audit_id"])
        assert event is not None
        assert event.action == "login_failed"


def test_text_lines_show_the_request_id(make_app, log_lines, bundled_model_ids) -> None:  # noqa: ANN001
    app = make_app(LOG_FORMAT="text")
    _capture(log_lines)
    client = app.test_client()
    client.get("/login", headers={"X-Request-ID": "plain-1"})
    client.get("/healthz", headers={"X-Request-ID": "probe-1"})
    line = next(x for x in log_lines.getvalue().splitlines() if "GET /login" in x)
    assert "[plain-1] lvyue.request: GET /login 200" in line
    assert "probe-1" not in log_lines.getvalue()  # health probes write no line while they succeed


def test_outside_a_request_the_id_is_a_dash_or_the_tick(log_lines) -> None:  # noqa: ANN001
    logs.configure_logging("INFO", "json")
    _capture(log_lines)
    logging.getLogger("lvyue.test").info("hello %s", "世界")
    with logs.request_id_context("tick-abc"):
        logging.getLogger("lvyue.test").warning("in a tick", extra={"fired": 3})
    first, second = (json.loads(line) for line in log_lines.getvalue().splitlines())
    assert first["request_id"] == "-"
    assert first["message"] == "hello 世界"
    assert second == {**second, "request_id": "tick-abc", "level": "WARNING", "fired": 3}


def _complete_screening(app) -> str:  # noqa: ANN001
    """Register a complaint and complete its screening through the API with a bearer token; the request id."""
    from sqlalchemy import select

    from engine.org.models import Official
    from engine.org.services import create_token
    from tests.conftest import COMPLAINT
    from web.extensions import db

    with app.app_context():
        token = create_token(db.session, db.session.scalar(select(Official).where(Official.username == "intake")), "t")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/complaints", json=COMPLAINT, headers=headers)
    assert created.status_code == 201, created.get_json()
    task = client.get(f"/api/v1/tasks?complaint_id={created.get_json()['id']}", headers=headers).get_json()["items"][0]
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True},
                       headers={**headers, "X-Request-ID": "step-1"})
    assert done.status_code == 200, done.get_json()
    return "step-1"


def test_a_step_logs_what_it_did_without_the_engines_chatter(make_app, log_lines, bundled_model_ids) -> None:  # noqa: ANN001
    app = make_app(LOG_FORMAT="json", WTF_CSRF_ENABLED=False)
    _capture(log_lines)
    request_id = _complete_screening(app)
    entries = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    ours = [e for e in entries if e["request_id"] == request_id]
    assert [e["status"] for e in ours if e["logger"] == "lvyue.request"] == [200]  # the request's line
    assert [e["audit_action"] for e in ours if e.get("audit_action") == "task_completed"] == ["task_completed"]
    assert any("completed task screening" in e["message"] for e in ours)
    assert not [e for e in entries if e["logger"].startswith("spiff")]  # no line per task state change
    assert not [e for e in entries if "data" in e or "internal_data" in e]  # no task data (personal data) in logs


def test_the_engines_lines_come_back_at_info_without_task_data(make_app, log_lines, bundled_model_ids) -> None:  # noqa: ANN001
    app = make_app(LOG_FORMAT="json", WTF_CSRF_ENABLED=False, LOG_WORKFLOW_LEVEL="DEBUG")  # clamped to INFO
    _capture(log_lines)
    request_id = _complete_screening(app)
    spiff = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    spiff = [e for e in spiff if e["logger"].startswith("spiff") and e["request_id"] == request_id]
    assert any(e["message"] == "State changed to COMPLETED" and e["task_spec"] == "screening" for e in spiff)
    assert not [e for e in spiff if "data" in e or "internal_data" in e]
    with pytest.raises(RuntimeError, match="LOG_WORKFLOW_LEVEL"):
        make_app(LOG_WORKFLOW_LEVEL="loud")


def test_an_unknown_log_format_refuses_to_start(make_app, bundled_model_ids) -> None:  # noqa: ANN001
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        make_app(LOG_FORMAT="xml")
