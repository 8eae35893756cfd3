"""(c) Steps through the HTTP API: Flask test client, and optionally a real werkzeug server on loopback."""
from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from bench.common import COMPLAINT, STEPS, check, stats


def make_app(url: str) -> Flask:
    from web import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key",
                       "WTF_CSRF_ENABLED": False, "LOG_LEVEL": "WARNING"})


def tokens(app: Flask) -> dict[str, str]:
    """A bearer token for each official the procedure needs."""
    from engine.org.models import Official
    from engine.org.services import create_token
    from web.extensions import db

    result = {}
    with app.app_context():
        for username in {u for _, _, u in STEPS} | {"intake"}:
            user = db.session.scalar(select(Official).where(Official.username == username))
            result[username] = create_token(db.session, user, "bench")
        db.session.commit()
    return result


class Caller:
    """POST/GET JSON with a bearer token, through the test client or a real HTTP connection."""

    def __init__(self, app: Flask, port: int | None = None) -> None:
        self.client = app.test_client() if port is None else None
        self.conn = http.client.HTTPConnection("127.0.0.1", port) if port is not None else None

    def call(self, method: str, url: str, token: str, body: object = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        if self.client is not None:
            resp = self.client.open(url, method=method, headers=headers, json=body)
            return resp.status_code, resp.get_json()
        assert self.conn is not None
        payload = json.dumps(body).encode() if body is not None else None
        if payload is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, url, body=payload, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.getheader("Connection", "").lower() == "close" or resp.version == 10:
            self.conn.close()
        return resp.status, json.loads(data) if data else None


def walk_api(caller: Caller, keys: dict[str, str], cases: int) -> dict[str, Any]:
    """Register `cases` complaints and complete their steps; time registration, inbox reads and completions."""
    posts: list[float] = []
    cpu = 0.0
    reads: list[float] = []
    registers: list[float] = []
    by_name: dict[str, list[float]] = {name: [] for name, _, _ in STEPS}
    for _ in range(cases):
        start = time.perf_counter()
        status, created = caller.call("POST", "/api/v1/complaints", keys["intake"], COMPLAINT)
        registers.append(time.perf_counter() - start)
        check(status == 201, created)
        for name, data, username in STEPS:
            start = time.perf_counter()
            status, page = caller.call("GET", f"/api/v1/tasks?complaint_id={created['id']}", keys[username])
            reads.append(time.perf_counter() - start)
            check(status == 200 and page["total"] == 1, page)
            task = page["items"][0]
            check(task["spec_name"] == name, (task["spec_name"], name))
            cpu_start, start = time.process_time(), time.perf_counter()
            status, body = caller.call("POST", f"/api/v1/tasks/{task['id']}/complete", keys[username], data)
            elapsed = time.perf_counter() - start
            cpu += time.process_time() - cpu_start
            check(status == 200, body)
            posts.append(elapsed)
            by_name[name].append(elapsed)
    return {
        "cases": cases,
        "step": stats(posts).as_dict(),
        "step_cpu_mean_ms": round(cpu * 1000 / len(posts), 4),  # client and server: both run in this process
        "get_inbox_of_case": stats(reads).as_dict(),
        "post_complaint": stats(registers).as_dict(),
        "step_median_ms_by_task": {k: round(stats(v).median_ms, 4) for k, v in by_name.items()},
    }


def run_api(url: str, cases: int, server_cases: int) -> dict[str, Any]:
    app = make_app(url)
    keys = tokens(app)
    walk_api(Caller(app), keys, 3)  # warm up
    result: dict[str, Any] = {"test_client": walk_api(Caller(app), keys, cases)}
    if server_cases:
        server = make_server("127.0.0.1", 0, app, threaded=False)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            caller = Caller(app, server.server_port)
            walk_api(caller, keys, 2)
            result["werkzeug_loopback"] = walk_api(caller, keys, server_cases)
        finally:
            server.shutdown()
            thread.join()
    with app.app_context():
        from web.extensions import db

        db.engine.dispose()
    return result
