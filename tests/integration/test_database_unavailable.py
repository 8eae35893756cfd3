"""The database going away (issue 18.15, 18.16), through HTTP on SQLite and PostgreSQL: a database that cannot be
reached is a 503 with Retry-After and 「数据库暂时不可用，请稍后重试」 (API JSON and pages), and the end of a request
whose connection the server has just closed never raises past the app."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine

from web.extensions import db

MESSAGE = "数据库暂时不可用，请稍后重试"


@pytest.fixture
def unreachable(make_app, db_engine: Engine, tmp_path: Path) -> Flask:  # noqa: ANN001
    """The app with a database that cannot be reached: a closed port, or an SQLite file in no directory."""
    if db_engine.dialect.name == "postgresql":
        url = "postgresql+psycopg://postgres@127.0.0.1:1/lvyue"
    else:
        url = f"sqlite:///{tmp_path / 'no-such-directory' / 'lvyue.sqlite3'}"
    # PROPAGATE_EXCEPTIONS off as in production: an error while opening the browser session (stored in the
    # database) is raised before any view, where only the 500 path of the app can answer it
    return make_app(SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False)


def assert_unavailable_json(response) -> None:  # noqa: ANN001
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {"code": 503, "status": "服务暂时不可用", "message": MESSAGE}


def test_api_and_pages_answer_503_with_retry_after(unreachable: Flask, client, login) -> None:  # noqa: ANN001
    down = unreachable.test_client()
    assert_unavailable_json(down.get("/api/v1/tasks", headers={"Authorization": "Bearer any-token"}))
    assert_unavailable_json(down.get("/api/v1/public/typical-cases"))  # anonymous
    signed_in = down.post("/login", data={"username": "ndrc", "password": "whatever"})
    assert signed_in.status_code == 503
    assert int(signed_in.headers["Retry-After"]) >= 5  # the sign-in rate limit may ask for longer
    page = signed_in.get_data(as_text=True)
    assert MESSAGE in page
    assert "服务暂时不可用（503）" in page
    # an official signed in before the database went away: the page, not the WSGI server's English 500
    login("ndrc")
    down.set_cookie("session", client.get_cookie("session").value)
    inbox = down.get("/")
    assert (inbox.status_code, inbox.headers["Retry-After"]) == (503, "5")
    assert MESSAGE in inbox.get_data(as_text=True)


def _kill_connection(app: Flask, db_engine: Engine) -> None:
    """Close the request's database connection as the server would: PostgreSQL terminates the backend, SQLite's
    file handle is closed under it."""
    connection = db.session.connection()
    if db_engine.dialect.name == "postgresql":
        pid = connection.connection.driver_connection.info.backend_pid
        with db_engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    else:
        connection.connection.dbapi_connection.close()


def test_a_connection_lost_at_the_end_of_a_request_does_not_break_the_answer(
        make_app, db_engine: Engine, bundled_model_ids: set[int], api) -> None:  # noqa: ANN001
    app = make_app()
    app.after_request(lambda response: (_kill_connection(app, db_engine), response)[1])
    token = api("ndrc").headers
    response = app.test_client().get("/api/v1/tasks", headers=token)  # teardown's ROLLBACK meets a dead connection
    assert response.status_code == 200
    assert "items" in response.get_json()
    again = app.test_client().get("/api/v1/tasks", headers=token)  # the dead connection was discarded, not reused
    assert again.status_code == 200


def test_a_connection_lost_during_a_request_is_a_503(
        make_app, db_engine: Engine, bundled_model_ids: set[int], api) -> None:  # noqa: ANN001
    if db_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: the server ends the connection (SQLite has no server; its unreachable file is above)")
    app = make_app()
    token = api("ndrc").headers

    @app.before_request
    def server_restarts() -> None:
        _kill_connection(app, db_engine)

    response = app.test_client().get("/api/v1/tasks", headers=token)
    assert_unavailable_json(response)
