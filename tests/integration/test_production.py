"""The production setup, for real: gunicorn (gunicorn.conf.py, 2 workers) on 127.0.0.1 against a PostgreSQL
database migrated by the CLI, with Redis for the rate limits when it answers.

Health and readiness, a browser sign-in with its secure cookie, a task completed through the signed-in form,
metrics added up over both workers, JSON logs with the request id, and rate limits shared by the workers.
"""
from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bench.common import ROOT
from bench.live import Client, Deployment, Gunicorn, csrf_token, postgres_deployment
from engine.org.demo import DEMO_PASSWORD
from tests.integration.test_metrics import sample

PG = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG.startswith(("postgres://", "postgresql")),
                       reason="needs PostgreSQL: run with TEST_DATABASE_URL=postgresql://..."),
    pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None, reason="gunicorn not installed (prod extra)"),
]


def redis_answers() -> bool:
    if importlib.util.find_spec("redis") is None:
        return False
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


REDIS = redis_answers()
SEARCH_LIMIT = 4


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    settings = {"LVYUE_LOG_FORMAT": "json", "LVYUE_PUBLIC_SEARCH_RATE_LIMIT": f"{SEARCH_LIMIT} per minute"}
    if REDIS:
        settings.update({"LVYUE_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
                         "LVYUE_RATELIMIT_KEY_PREFIX": f"lvyue-test-{os.getpid()}"})
    with postgres_deployment("prod", PG, **settings) as prepared:
        prepared.workdir = tmp_path_factory.mktemp("gunicorn")
        yield prepared


@pytest.fixture(scope="module")
def server(deployment: Deployment) -> Iterator[Gunicorn]:
    running = Gunicorn(deployment, workers=2).start()
    yield running
    running.stop()


def test_health_and_readiness(server: Gunicorn) -> None:
    client = Client(server.port)
    assert client.request("GET", "/healthz")[0] == 200
    status, _, body = client.request("GET", "/readyz")
    assert (status, body) == (200, b"ready")  # migrated by `flask db upgrade`: at the head


def test_sign_in_and_complete_a_task_in_the_browser(server: Gunicorn, deployment: Deployment) -> None:
    from engine.workflow.models import HumanTask

    [complaint_id] = deployment.register_complaints(1, ["km-guandu-commerce"])
    browser = Client(server.port)
    assert browser.sign_in("intake", "wrong-password-1") == 200  # refused: the form again
    assert browser.sign_in("intake", DEMO_PASSWORD) == 302
    session_cookie = next(c for c in browser.set_cookies if c.startswith("session="))
    assert "Secure" in session_cookie  # production: cookies only over HTTPS
    assert "HttpOnly" in session_cookie
    with deployment.session() as session:
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.subject_id == complaint_id))
    status, _, page = browser.request("GET", f"/tasks/{task_id}")
    assert status == 200
    status, headers, _ = browser.request("POST", f"/tasks/{task_id}", form={
        "csrf_token": csrf_token(page), "accepted": "true", "remarks": "材料齐全"},
        headers={"X-Request-ID": "prod-test-complete-1"})
    assert status == 303, status
    assert headers["x-request-id"] == "prod-test-complete-1"
    with deployment.session() as session:
        done = session.get(HumanTask, task_id)
        assert done.outcome == "completed"
        nxt = session.scalar(select(HumanTask).where(HumanTask.subject_id == complaint_id,
                                                     HumanTask.completed_at.is_(None)))
        assert nxt.spec_name == "verify"

    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    ours = [e for e in lines if e.get("request_id") == "prod-test-complete-1"]
    assert {e.get("audit_action") for e in ours} >= {"task_completed"}
    assert any(e["logger"] == "lvyue.request" and e["status"] == 303 for e in ours)


def test_metrics_add_up_over_both_workers(server: Gunicorn) -> None:
    scraper = Client(server.port)
    before = sample(scraper.request("GET", "/metrics")[2].decode(), "lvyue_http_requests_total",
                    endpoint="ops.healthz", method="GET", status="200")
    for _ in range(20):  # new connections: gunicorn hands them to either worker
        Client(server.port).request("GET", "/healthz", headers={"Connection": "close"})
    text = scraper.request("GET", "/metrics")[2].decode()
    after = sample(text, "lvyue_http_requests_total", endpoint="ops.healthz", method="GET", status="200")
    assert after - before == 20
    assert "lvyue_timer_lag_seconds" in text
    pids = {line.split('pid="')[1].split('"')[0] for line in text.splitlines() if 'pid="' in line}
    assert not pids  # counters are summed over workers, not reported per worker


def test_a_revoked_token_is_refused_by_every_worker_at_once(server: Gunicorn, deployment: Deployment) -> None:
    import hashlib

    from engine.org.models import ApiToken

    token = deployment.tokens(["intake"])["intake"]

    def statuses() -> list[int]:  # new connections: gunicorn hands them to either worker
        return [Client(server.port, token).request("GET", "/api/v1/tasks?limit=1", headers={"Connection": "close"})[0]
                for _ in range(12)]

    assert statuses() == [200] * 12
    with deployment.session() as session:
        token_id = session.scalar(select(ApiToken.id).where(
            ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest()))
    deployment.flask("accounts", "revoke-token", str(token_id))
    assert statuses() == [401] * 12  # no worker keeps a token it has seen


@pytest.mark.skipif(not REDIS, reason="Redis does not answer on 127.0.0.1:6379")
def test_rate_limits_are_shared_by_the_workers_through_redis(server: Gunicorn) -> None:
    statuses = [Client(server.port).request("GET", "/public/departments?q=%E5%95%86%E5%8A%A1", headers={"Connection": "close"})[0]
                for _ in range(SEARCH_LIMIT + 3)]
    assert statuses == [200] * SEARCH_LIMIT + [429] * 3  # per worker in memory it would let up to 2 × 4 through


def test_the_scheduler_runs_as_its_own_process(deployment: Deployment) -> None:
    """`flask --app web run-scheduler` beside the workers: it steps instances whose timer column is due."""
    from datetime import timedelta

    from engine.workflow import clock
    from engine.workflow.models import ProcessInstance

    [complaint_id] = deployment.register_complaints(1, ["km-guandu-commerce"])
    with deployment.session() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.subject_id == complaint_id))
        real_due = instance.next_timer_at  # None while screening: no timer waits
        fake = instance.next_timer_at = clock.now() - timedelta(hours=1)  # looks due: the tick must step it
        session.commit()
    env = {**deployment.env(), "LVYUE_SCHEDULER_INTERVAL_SECONDS": "1"}
    log = deployment.workdir / "scheduler.log"
    with log.open("wb") as out:
        scheduler = subprocess.Popen([sys.executable, "-m", "flask", "--app", "web", "run-scheduler"],
                                     cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with deployment.session() as session:
                now_due = session.scalar(select(ProcessInstance.next_timer_at)
                                         .where(ProcessInstance.subject_id == complaint_id))
            if now_due is None or now_due > fake:
                break
            time.sleep(0.5)
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)
    assert now_due == real_due  # the tick stepped the instance, found no timer due, and wrote back the truth
    ticks = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(e["request_id"].startswith("tick-") for e in ticks), log.read_text()[-2000:]
