"""Sign-out everywhere (a per-official session generation checked on every request), sessions ended by a new
password, and argon2 hashes renewed at sign-in when the parameters grew."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from engine.audit.models import AuditEvent
from engine.org.models import Official

PASSWORD = "Lijiang2026pass"


@pytest.fixture
def person(session, official) -> str:  # noqa: ANN001
    """A fresh official of 昆明市商务局 (removed after the test like every row a test adds)."""
    from engine.org.admin import create_official

    create_official(session, official("sysadmin"), "km-sessions", "会话测试", None, "km-commerce", ["official"],
                    PASSWORD)
    session.commit()
    return "km-sessions"


def _browser(app, username: str, password: str = PASSWORD):  # noqa: ANN001, ANN202
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": password}).status_code == 302
    assert client.get("/").status_code == 200
    return client


def _signed_out(client) -> bool:  # noqa: ANN001
    response = client.get("/")
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_out_everywhere_ends_every_browser_session_but_not_tokens(app, api, person) -> None:  # noqa: ANN001
    office, laptop = _browser(app, person), _browser(app, person)
    token = api(person)
    profile = office.get("/profile").get_data(as_text=True)
    assert "/profile/tokens/" in profile  # the token is listed with its revoke button
    assert "在所有设备上退出登录" in profile
    ended = office.post("/profile/sign-out-everywhere")
    assert ended.status_code == 303
    assert ended.headers["Location"].endswith("/login")
    assert _signed_out(office)
    assert _signed_out(laptop)
    assert token.get("/api/v1/tasks").status_code == 200  # API tokens are revoked one by one
    again = _browser(app, person)  # a new sign-in gets the new generation
    assert not _signed_out(again)
    from web.extensions import db

    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "signed_out_everywhere"))
        assert (event.before, event.after) == ({"session_generation": 0}, {"session_generation": 1})
        assert event.actor_label.startswith("km-sessions ")


def test_an_administrator_signs_a_user_out_everywhere_and_a_new_password_ends_sessions(  # noqa: ANN001
        app, demo_password, person) -> None:
    admin = _browser(app, "sysadmin", demo_password)
    first = _browser(app, person)
    assert admin.post(f"/admin/users/{person}/sign-out-everywhere").status_code == 303
    assert _signed_out(first)
    second = _browser(app, person)
    assert admin.post(f"/admin/users/{person}/password", data={
        "password": "Dali2027secure", "password2": "Dali2027secure"}).status_code == 303
    assert _signed_out(second)
    _browser(app, person, "Dali2027secure")
    assert not _signed_out(admin)  # the administrator's own session goes on


def test_a_weaker_argon2_hash_is_renewed_at_sign_in(app, session, person) -> None:  # noqa: ANN001
    current = PasswordHasher()
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    user = session.scalar(select(Official).where(Official.username == person))
    user.password_hash = weak
    session.commit()
    assert current.check_needs_rehash(weak)
    _browser(app, person)
    session.expire_all()
    renewed = session.scalar(select(Official.password_hash).where(Official.username == person))
    assert renewed != weak
    assert renewed.startswith("$argon2id$")
    assert not current.check_needs_rehash(renewed)
    _browser(app, person)  # and the password still works
