"""Account security: lockout and unlock, password policy, idle sessions, security headers, token revocation."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from engine.audit.models import AuditEvent
from engine.org.models import Official
from engine.org.security import password_problems
from web.security import CONTENT_SECURITY_POLICY

USER = "km-commerce"


@pytest.fixture
def account(app, bundled_model_ids) -> Iterator[str]:  # noqa: ANN001
    """A demo official whose password is restored afterwards (baseline row; throttle rows are removed anyway)."""
    from web.extensions import db
    from web.public import limiter

    with app.app_context():
        saved = db.session.scalar(select(Official.password_hash).where(Official.username == USER))
        limiter.reset()
    yield USER
    with app.app_context():
        official = db.session.scalar(select(Official).where(Official.username == USER))
        official.password_hash = saved
        db.session.commit()
        limiter.reset()


def _login(client, password: str, username: str = USER):  # noqa: ANN001, ANN202
    return client.post("/login", data={"username": username, "password": password})


def _actions(app, username: str) -> list[str]:  # noqa: ANN001
    from web.extensions import db

    with app.app_context():
        official_id = db.session.scalar(select(Official.id).where(Official.username == username))
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == official_id)
                                       .order_by(AuditEvent.id)))


@pytest.fixture
def clock(monkeypatch):  # noqa: ANN001, ANN201
    """Move the sign-in's clock (engine.org.security.utcnow) forward without sleeping."""
    from engine.db import utcnow
    from engine.org import security

    moments = [utcnow()]
    monkeypatch.setattr(security, "utcnow", lambda: moments[-1])

    def advance(seconds: float) -> None:
        moments.append(moments[-1] + timedelta(seconds=seconds))

    return advance


def test_failures_delay_then_lock_temporarily_and_the_lock_ends_by_itself(app, client, account, demo_password,  # noqa: ANN001
                                                                          clock) -> None:
    pages = [_login(client, "wrong-password-1").get_data(as_text=True) for _ in range(3)]
    assert all("用户名或密码不正确" in p and "再试" not in p and "锁定" not in p for p in pages)  # three free
    delayed = _login(client, "wrong-password-1").get_data(as_text=True)
    assert "请 2 秒后再试" in delayed
    refused = _login(client, demo_password)  # even the right password waits for the delay
    assert refused.status_code == 200
    assert "请 2 秒后再试" in refused.get_data(as_text=True)
    for seconds in (2, 4, 8, 16, 32):  # each failure doubles the wait (capped at 60 s)
        clock(seconds)
        page = _login(client, "wrong-password-1").get_data(as_text=True)
        assert f"请 {min(seconds * 2, 60)} 秒后再试" in page, (seconds, page)
    clock(60)
    locked = _login(client, "wrong-password-1").get_data(as_text=True)  # the tenth failure locks
    assert "已暂时锁定" in locked
    assert "约 15 分钟后）自动解锁" in locked
    assert "联系系统管理员" in locked
    clock(14 * 60)
    assert "已暂时锁定" in _login(client, demo_password).get_data(as_text=True)
    clock(61)
    assert _login(client, demo_password).status_code == 302  # the lock ended by itself
    actions = _actions(app, account)
    assert actions.count("account_locked") == 1
    assert actions.count("login_failed") == 10
    assert actions.count("login_throttled") == 1
    assert actions.count("login_refused_locked") == 1
    assert actions[-1] == "login"


def test_unknown_usernames_get_exactly_the_same_answers(app, client, account, clock) -> None:  # noqa: ANN001
    def answers(username: str) -> list[str]:
        texts = []
        for _ in range(10):
            clock(61)
            texts.append(_login(client, "wrong-password-1", username).get_data(as_text=True))
        texts.append(_login(client, "wrong-password-1", username).get_data(as_text=True))
        shown = [t[t.index('class="field-error"'):][:200] if 'class="field-error"' in t else t[-200:] for t in texts]
        return [re.sub(r"\d\d:\d\d", "HH:MM", t) for t in shown]  # the clock moved on between the two

    assert answers(account) == answers("no-such-user")
    from web.extensions import db

    with app.app_context():
        locks = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account_locked")).all()
        assert {e.actor_label.split(" ")[0] for e in locks} == {"km-commerce", "no-such-user"}
        assert all(e.after["minutes"] == 15 for e in locks)
        failed = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_label == "no-such-user",
                                                              AuditEvent.action == "login_failed")).all()
        assert failed[0].ip == "127.0.0.1"


def test_an_administrator_unlocks_in_the_browser_and_by_cli(app, client, account, demo_password,  # noqa: ANN001
                                                           monkeypatch) -> None:
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 2)
    _login(client, "nope-nope-1")
    assert "已暂时锁定" in _login(client, "nope-nope-1").get_data(as_text=True)
    admin = app.test_client()
    assert _login(admin, demo_password, "sysadmin").status_code == 302
    listing = admin.get("/admin/users?q=km-commerce").get_data(as_text=True)
    assert "已暂时锁定" in listing
    page = admin.get(f"/admin/users/{account}").get_data(as_text=True)
    assert "解除锁定" in page
    assert "到时自动解除" in page
    api_users = admin.get("/api/v1/users?q=km-commerce").get_json()["items"]
    assert next(u for u in api_users if u["username"] == account)["locked"] is True
    assert admin.post(f"/admin/users/{account}/unlock").status_code in (302, 303)
    assert "到时自动解除" not in admin.get(f"/admin/users/{account}").get_data(as_text=True)
    assert _login(client, demo_password).status_code == 302
    client.post("/logout")
    _login(client, "nope-nope-1")
    _login(client, "nope-nope-1")
    result = app.test_cli_runner().invoke(args=["accounts", "unlock", account])
    assert result.exit_code == 0, result.output
    assert _login(client, demo_password).status_code == 302
    actions = _actions(app, account)
    assert actions.count("account_locked") == 2
    from web.extensions import db

    with app.app_context():
        unlocked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account_unlocked")
                                      .order_by(AuditEvent.id)).all()
        assert len(unlocked) == 2
        assert unlocked[0].actor_label.startswith("sysadmin ")
        assert unlocked[0].before["failures"] == 2


def test_sign_in_is_rate_limited_per_address_and_per_account(app, account, demo_password, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "5 per minute")
    monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_RATE_LIMIT", "3 per minute")
    browser = app.test_client()
    answers = [_login(browser, f"wrong-{i}", f"guess-{i}").status_code for i in range(7)]
    assert answers == [200] * 5 + [429] * 2  # one address, many usernames
    too_many = _login(browser, demo_password)
    assert too_many.status_code == 429
    assert "请求过于频繁" in too_many.get_data(as_text=True)
    assert "Retry-After" in too_many.headers
    elsewhere = [app.test_client() for _ in range(4)]
    statuses = [b.post("/login", data={"username": "intake", "password": "wrong"},
                       environ_base={"REMOTE_ADDR": f"192.0.2.{i}"}).status_code for i, b in enumerate(elsewhere)]
    assert statuses == [200, 200, 200, 429]  # one username, many addresses


def test_password_policy() -> None:
    assert password_problems("abcdefghij1") == []
    assert password_problems("short1") == ["密码至少 10 个字符"]
    assert password_problems("onlyletters") == ["密码须包含数字"]
    assert password_problems("1234567890") == ["密码须包含字母"]


def test_set_password_prompts_and_enforces_the_policy(app, client, account) -> None:  # noqa: ANN001
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["accounts", "set-password", account], input="password\npassword\n")
    assert weak.exit_code == 2
    assert "密码至少 10 个字符" in weak.output
    ok = runner.invoke(args=["accounts", "set-password", account], input="Yunnan2026secure\nYunnan2026secure\n")
    assert ok.exit_code == 0, ok.output
    assert _login(client, "Yunnan2026secure").status_code == 302
    assert "password_set" not in _actions(app, account)  # done by an operator, not by the official
    missing = runner.invoke(args=["accounts", "set-password", "nobody-here"], input="Yunnan2026secure\nYunnan2026secure\n")
    assert missing.exit_code == 2


def test_idle_session_expires_and_each_request_refreshes_it(app, client, account, demo_password,  # noqa: ANN001
                                                            monkeypatch) -> None:
    assert app.permanent_session_lifetime == timedelta(minutes=30)
    assert _login(client, demo_password).status_code == 302
    start = time.time()

    def at(minutes: float) -> None:
        monkeypatch.setattr(time, "time", lambda: start + minutes * 60)

    at(20)
    assert client.get("/cases/").status_code == 200  # within 30 minutes; the cookie is re-signed now
    at(45)
    assert client.get("/cases/").status_code == 200  # 25 idle minutes since the last request
    at(80)
    response = client.get("/cases/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_security_headers_on_pages_api_and_errors(client) -> None:  # noqa: ANN001
    for url in ("/login", "/api/v1/tasks", "/no-such-page", "/healthz"):
        response = client.get(url)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "style-src 'self';" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_templates_have_no_inline_script_or_style() -> None:
    from pathlib import Path

    for template in (Path(__file__).resolve().parents[2] / "web" / "templates").rglob("*.html"):
        text = template.read_text()
        for inline in ("<script>", "<style", " style=", " onclick=", " onsubmit=", " onload=", "javascript:"):
            assert inline not in text, (template, inline)


def test_secure_cookie_outside_development_and_tests() -> None:
    from web import security

    for debug, testing, secure in ((False, False, True), (True, False, False), (False, True, False)):
        bare = Flask(__name__)
        bare.debug, bare.testing = debug, testing
        bare.config["SESSION_COOKIE_SECURE"] = None
        security.init_app(bare)
        assert bare.config["SESSION_COOKIE_SECURE"] is secure
    explicit = Flask(__name__)
    explicit.config["SESSION_COOKIE_SECURE"] = False  # an operator's explicit choice stands
    security.init_app(explicit)
    assert explicit.config["SESSION_COOKIE_SECURE"] is False


def test_tokens_are_listed_with_last_use_and_revocable(app, client, bundled_model_ids) -> None:  # noqa: ANN001
    from engine.org.services import create_token
    from web.extensions import db

    runner = app.test_cli_runner()
    with app.app_context():
        token = create_token(db.session, db.session.scalar(select(Official).where(Official.username == "intake")), "sync")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    listing = runner.invoke(args=["accounts", "list-tokens", "intake"]).output
    assert "sync" in listing
    assert "最近使用 从未" in listing
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    line = next(row for row in runner.invoke(args=["accounts", "list-tokens", "intake"]).output.splitlines() if "sync" in row)
    assert "最近使用 从未" not in line
    token_id = line.split("\t")[0]
    revoked = runner.invoke(args=["accounts", "revoke-token", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    assert "已吊销" in runner.invoke(args=["accounts", "list-tokens", "intake"]).output
    assert runner.invoke(args=["accounts", "revoke-token", "999999"]).exit_code == 2
    assert _actions(app, "intake")[-1] == "token_created"  # revocation is by an operator (cli:…)
