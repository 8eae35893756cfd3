"""Server-side sessions (issue 18, item 1): signing out ends the session on the server, so a replayed cookie signs
nobody in; idle and absolute lifetimes; an official sees and ends their sessions on the profile page; the data
lives in the database, or in Redis when SESSION_REDIS_URL is set."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.audit.models import AuditEvent
from engine.org.models import OfficialSession, WebSession

USER = "km-commerce"


def _cookie(browser) -> str:  # noqa: ANN001
    cookie = browser.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _sign_in(app, password: str, username: str = USER, **environ: str):  # noqa: ANN001, ANN202
    browser = app.test_client()
    answer = browser.post("/login", data={"username": username, "password": password}, environ_base=environ)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return browser


def _replay(app, value: str):  # noqa: ANN001, ANN202
    """Another client that sends only the copied cookie value."""
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


def test_a_cookie_replayed_after_sign_out_signs_nobody_in(app, client, demo_password) -> None:  # noqa: ANN001
    browser = _sign_in(app, demo_password)
    copied = _cookie(browser)
    assert _replay(app, copied).get("/api/v1/tasks").status_code == 200  # the copy works while signed in
    assert browser.post("/logout").status_code == 302
    assert _cookie(browser) != copied  # a new id for the notice after signing out
    thief = _replay(app, copied)
    page = thief.get("/")
    assert page.status_code == 302
    assert "/login" in page.headers["Location"]
    api = _replay(app, copied).get("/api/v1/tasks")
    assert api.status_code == 401
    assert api.get_json()["message"]
    with app.app_context():
        from web.extensions import db

        assert db.session.scalar(select(func.count()).select_from(WebSession)
                                 .where(WebSession.id == "session:" + copied)) == 0  # the data is gone
        [row] = db.session.scalars(select(OfficialSession)).all()
        assert row.ended_reason == "logout"


def test_the_cookie_holds_only_a_random_id(app, client, demo_password) -> None:  # noqa: ANN001
    browser = _sign_in(app, demo_password)
    value = _cookie(browser)
    assert len(value) >= 40
    assert "." not in value  # no signed payload: the data is on the server
    assert _replay(app, value[:-2] + ("AA" if value[-2:] != "AA" else "BB")).get("/api/v1/tasks").status_code == 401
    with app.app_context():
        from web.extensions import db

        assert db.session.get(WebSession, "session:" + value) is not None


def test_a_session_ends_after_its_absolute_lifetime_however_active(app, client, demo_password,  # noqa: ANN001
                                                                   monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_LIFETIME", 3600)
    browser = _sign_in(app, demo_password)
    start = time.time()
    for minutes in (20, 40, 55):
        monkeypatch.setattr(time, "time", lambda m=minutes: start + m * 60)
        assert browser.get("/cases/").status_code == 200, minutes  # never idle for 30 minutes
    monkeypatch.setattr(time, "time", lambda: start + 61 * 60)
    ended = browser.get("/cases/")
    assert ended.status_code == 302
    assert "/login" in ended.headers["Location"]
    with app.app_context():
        from web.extensions import db

        assert db.session.scalar(select(OfficialSession.ended_reason)) == "absolute"


def test_the_profile_lists_sessions_and_ends_the_others(app, client, demo_password) -> None:  # noqa: ANN001
    office = _sign_in(app, demo_password, REMOTE_ADDR="192.0.2.10")
    laptop = _sign_in(app, demo_password, REMOTE_ADDR="192.0.2.20")
    phone = _sign_in(app, demo_password, REMOTE_ADDR="192.0.2.30")
    page = office.get("/profile").get_data(as_text=True)
    assert "当前有效的登录（3 个）" in page
    assert all(ip in page for ip in ("192.0.2.10", "192.0.2.20", "192.0.2.30"))
    assert "当前会话" in page
    with app.app_context():
        from web.extensions import db

        laptop_row = db.session.scalar(select(OfficialSession).where(OfficialSession.ip == "192.0.2.20"))
    assert office.post(f"/profile/sessions/{laptop_row.id}/end").status_code == 303
    assert laptop.get("/api/v1/tasks").status_code == 401
    assert phone.get("/api/v1/tasks").status_code == 200
    done = office.post("/profile/sessions/end-others", follow_redirects=True).get_data(as_text=True)
    assert "已结束其他 1 个会话" in done
    assert phone.get("/api/v1/tasks").status_code == 401
    assert office.get("/api/v1/tasks").status_code == 200  # this one goes on
    assert "当前有效的登录（1 个）" in office.get("/profile").get_data(as_text=True)
    other = _sign_in(app, demo_password, "intake")
    with app.app_context():
        from web.extensions import db

        intake_row = db.session.scalar(select(OfficialSession).where(OfficialSession.ended_at.is_(None),
                                                                     OfficialSession.official_id != laptop_row.official_id))
    assert office.post(f"/profile/sessions/{intake_row.id}/end").status_code == 404  # not one's own
    assert other.get("/api/v1/tasks").status_code == 200
    with app.app_context():
        from web.extensions import db

        actions = db.session.scalars(select(AuditEvent.after).where(AuditEvent.action == "session_ended")
                                      .order_by(AuditEvent.id)).all()
        assert [a["reason"] for a in actions] == ["ended_by_self", "ended_by_self"]
        assert actions[1]["sessions"] == 1


def test_sign_out_everywhere_ends_the_recorded_sessions_too(app, client, demo_password) -> None:  # noqa: ANN001
    first, second = _sign_in(app, demo_password), _sign_in(app, demo_password)
    assert first.post("/profile/sign-out-everywhere").status_code == 303
    assert second.get("/api/v1/tasks").status_code == 401
    with app.app_context():
        from web.extensions import db

        reasons = db.session.scalars(select(OfficialSession.ended_reason)).all()
        assert sorted(reasons) == ["signed_out_everywhere", "signed_out_everywhere"]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis server of this test's own on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_sessions_in_redis_when_configured(make_app, redis_url: str, demo_password, bundled_model_ids) -> None:  # noqa: ANN001
    import redis

    app = make_app(SESSION_REDIS_URL=redis_url, WTF_CSRF_ENABLED=False, LOGIN_RATE_LIMIT="1000 per minute",
                   LOGIN_ACCOUNT_RATE_LIMIT="1000 per minute")
    browser = _sign_in(app, demo_password)
    copied = _cookie(browser)
    store = redis.Redis.from_url(redis_url)
    assert store.exists("lvyue:session:" + copied)
    assert 0 < store.ttl("lvyue:session:" + copied) <= int(timedelta(minutes=30).total_seconds())
    with app.app_context():
        from web.extensions import db

        assert db.session.get(WebSession, "session:" + copied) is None  # not in the database
    assert _replay(app, copied).get("/api/v1/tasks").status_code == 200
    browser.post("/logout")
    assert not store.exists("lvyue:session:" + copied)
    assert _replay(app, copied).get("/api/v1/tasks").status_code == 401
    store.close()
