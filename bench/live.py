"""A real deployment on loopback: scratch PostgreSQL database set up with the CLI, gunicorn started, stopped or killed.

Shared by the load test (bench/load.py), the production-setup test and the fault test (tests/integration).
Only 127.0.0.1 is ever contacted. The database is migrated with `flask --app web db upgrade` (as in
production, so /readyz passes), gets the demo organisation and the bundled processes.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.common import COMPLAINT, ROOT, scratch_postgres

SECRET_KEY = "live-test-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Deployment:
    """The environment of one deployment: database URL and the LVYUE_* settings the services get."""

    database_url: str
    settings: dict[str, str] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(os.environ.get("TMPDIR", "/tmp")))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LVYUE_", "PROMETHEUS_"))}
        env.update({"DATABASE_URL": self.database_url, "LVYUE_SECRET_KEY": SECRET_KEY,
                    "PYTHONPATH": str(ROOT), **self.settings})
        return env

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`flask --app web ARGS` against this deployment's database."""
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "web", *args], cwd=ROOT, env=self.env(),
                                capture_output=True, text=True, timeout=300, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result

    def prepare(self) -> None:
        """Schema by the migrations, demo organisation, time limits and bundled processes — as an operator would."""
        self.flask("db", "upgrade")
        self.flask("org", "seed-demo")
        self.flask("processes", "deploy-bundled")

    @contextmanager
    def session(self) -> Iterator[Session]:
        engine = create_engine(self.database_url)
        try:
            with Session(engine, expire_on_commit=False) as session:
                yield session
        finally:
            engine.dispose()

    def tokens(self, usernames: list[str]) -> dict[str, str]:
        """A fresh API token for each official."""
        import engine.models  # noqa: F401 - the whole schema
        from engine.org.models import Official
        from engine.org.services import create_token

        with self.session() as session:
            found = {o.username: o for o in session.scalars(select(Official).where(Official.username.in_(usernames)))}
            tokens = {name: create_token(session, found[name], "live") for name in usernames}
            session.commit()
        return tokens

    def register_complaints(self, count: int, respondents: list[str]) -> list[int]:
        """Register `count` complaints (round robin over respondent codes) through the engine, committed."""
        import engine.models  # noqa: F401
        from engine.builtin import load_builtin
        from engine.cases.services import register_complaint

        load_builtin()
        ids = []
        with self.session() as session:
            for i in range(count):
                raw = {**COMPLAINT, "respondent_code": respondents[i % len(respondents)],
                       "agreement_number": f"LOAD-{i:05d}"}
                complaint, _ = register_complaint(session, raw, None)
                session.commit()
                ids.append(complaint.id)
        return ids


class Gunicorn:
    """gunicorn with gunicorn.conf.py, in its own process group, on a free loopback port."""

    def __init__(self, deployment: Deployment, workers: int = 2, log: Path | None = None) -> None:
        self.deployment = deployment
        self.workers = workers
        self.port = free_port()
        self.log = log or deployment.workdir / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Gunicorn:
        env = {**self.deployment.env(), "LVYUE_BIND": f"127.0.0.1:{self.port}", "LVYUE_WORKERS": str(self.workers)}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")], cwd=ROOT, env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if Client(self.port).request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"gunicorn did not answer within {timeout}s: {self.log.read_text()[-3000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its live workers so far (Linux /proc)."""
        if self.process is None:
            return 0.0
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        return sum(process_cpu_seconds(pid) for pid in pids)

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a crash or an OOM kill of the host would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM to the master), SIGKILL if it does not finish in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None:  # workers left behind by a killed master
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


class Client:
    """A keep-alive HTTP client for 127.0.0.1 with a cookie jar that ignores the Secure flag (tests over HTTP)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 60) -> None:
        self.port, self.token, self.timeout = port, token, timeout
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None, form: dict | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        sent = dict(headers or {})
        data = None
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data, sent["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=sent)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()  # the server closed an idle keep-alive connection: retry once on a new one
                if attempt == 2 or method != "GET":
                    raise
        for raw in response.headers.get_all("Set-Cookie") or []:
            self.set_cookies.append(raw)
            for name, morsel in SimpleCookie(raw).items():
                self.cookies[name] = morsel.value
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, payload = self.request(method, path, body=body)
        return status, json.loads(payload) if payload else None

    def sign_in(self, username: str, password: str) -> int:
        """The browser's sign-in: read the form's CSRF token, post it; returns the status (302 when signed in)."""
        _, _, page = self.request("GET", "/login")
        return self.request("POST", "/login", form={
            "csrf_token": csrf_token(page), "username": username, "password": password})[0]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process from /proc/PID/stat (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def csrf_token(page: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page)
    if match is None:
        raise AssertionError("no csrf_token in the page")
    return match[1].decode()


@contextmanager
def postgres_deployment(label: str, server: str | None = None, **settings: str) -> Iterator[Deployment]:
    """A prepared deployment on a scratch PostgreSQL database on `server` (dropped afterwards)."""
    with scratch_postgres(label, server) as url:
        deployment = Deployment(url, settings)
        deployment.prepare()
        yield deployment
