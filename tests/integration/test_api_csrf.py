"""The JSON API with the browser's session cookie needs the page's CSRF token for every write (X-CSRFToken);
a bearer token or a channel key needs none (a cross-site form cannot send those headers)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.cases.models import Complaint
from engine.org.models import Official
from tests.conftest import COMPLAINT


@pytest.fixture
def strict(make_app, bundled_model_ids):  # noqa: ANN001, ANN201
    return make_app(WTF_CSRF_ENABLED=True)


def _signed_in(strict, username: str, password: str) -> tuple[object, str]:  # noqa: ANN001
    """A browser signed in through the sign-in form; and the CSRF token its pages carry in <meta>."""
    browser = strict.test_client()
    form = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    assert browser.post("/login", data={"username": username, "password": password,
                                        "csrf_token": token}).status_code == 302
    page = browser.get("/").get_data(as_text=True)
    return browser, re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _count(strict) -> int:  # noqa: ANN001
    from web.extensions import db

    with strict.app_context():
        return db.session.scalar(select(func.count()).select_from(Complaint))


def test_a_session_write_to_the_api_needs_the_csrf_token(strict, demo_password) -> None:  # noqa: ANN001
    browser, token = _signed_in(strict, "intake", demo_password)
    before = _count(strict)
    refused = browser.post("/api/v1/complaints", json=COMPLAINT)  # what a cross-site page could make the browser do
    assert refused.status_code == 400
    assert "缺少安全校验信息" in refused.get_json()["message"]
    forged = browser.post("/api/v1/complaints", json=COMPLAINT, headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 400
    assert _count(strict) == before  # nothing stored
    assert browser.get("/api/v1/tasks").status_code == 200  # reading needs no token

    made = browser.post("/api/v1/complaints", json=COMPLAINT, headers={"X-CSRFToken": token})
    assert made.status_code == 201, made.get_json()
    assert _count(strict) == before + 1


def test_a_bearer_token_needs_no_csrf_token(strict) -> None:  # noqa: ANN001
    from engine.org.services import create_token
    from web.extensions import db

    with strict.app_context():
        token = create_token(db.session, db.session.scalar(select(Official).where(Official.username == "intake")),
                             "csrf test")
        db.session.commit()
    made = strict.test_client().post("/api/v1/complaints", json=COMPLAINT,
                                     headers={"Authorization": f"Bearer {token}"})
    assert made.status_code == 201, made.get_json()


def test_a_bearer_header_decides_who_calls_even_with_a_session_cookie(strict, demo_password) -> None:  # noqa: ANN001
    from engine.org.services import create_token
    from web.extensions import db

    browser, _ = _signed_in(strict, "intake", demo_password)
    fake = browser.get("/api/v1/tasks", headers={"Authorization": "Bearer not-a-token"})
    assert fake.status_code == 401  # not served as the signed-in intake official
    with strict.app_context():
        token = create_token(db.session, db.session.scalar(select(Official).where(Official.username == "ndrc")),
                             "header test")
        db.session.commit()
    assert browser.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert "王鹏" in browser.get("/profile", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
    assert browser.get("/api/v1/tasks").status_code == 200  # the cookie alone still signs intake in
