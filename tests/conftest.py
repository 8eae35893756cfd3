"""Shared fixtures: a database created for this run (SQLite file or a fresh PostgreSQL database,
dropped afterwards), the demo organisation, the bundled processes, an app and engine-level sessions.

Choose the database with TEST_DATABASE_URL: unset/`sqlite` → a temporary SQLite file;
`postgresql://user@host:port/postgres` → a new database `lvyue_test_<random>` on that server.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

import engine.models  # noqa: F401 - the whole schema
from engine.builtin import load_builtin
from engine.db import Base, tune_sqlite
from engine.deadlines.services import seed_time_limits
from engine.org.demo import DEMO_PASSWORD, load_demo_organisation
from engine.org.models import Department, Official
from engine.workflow import specs
from engine.workflow.models import ProcessModel, ProcessScenario

load_builtin()  # the lanes, operations and start facts that deploying and running processes need

ROOT = Path(__file__).resolve().parent.parent
# the sample complaint the tests register (HTTP API body and engine input alike)
COMPLAINT: dict[str, Any] = {
    "complainant_name": "云南滇信科技有限公司",
    "complainant_uscc": "91440101MA5CJQ4N59",
    "contact_person": "李明",
    "contact_phone": "13888001234",
    "respondent_code": "km-guandu-commerce",
    "agreement_name": "官渡区招商引资项目投资协议",
    "agreement_number": "GD-ZS-2024-017",
    "domain": "investment_promotion",
    "breach_type": "policy_unfulfilled",
    "facts": "协议约定的产业扶持资金 300 万元至今未兑现。",
    "claims": "请求按协议兑现扶持资金。",
}
# the same complaint as the complaint form posts it (the public column and the officials' page)
COMPLAINT_FORM: dict[str, str] = {**COMPLAINT, "is_private_enterprise": "true", "in_litigation": "false"}

PROCESSES = ROOT / "processes"


def ticker_script(imports: str, call: str) -> str:
    """A scheduler process for the race tests (`python -c SCRIPT db_url now`): runs `call` against the database
    until it does nothing more, prints the total."""
    return f"""
import sys
from datetime import datetime
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
import engine.models  # noqa: F401
from engine.builtin import load_builtin
{imports}
load_builtin()
db = create_engine(sys.argv[1])
now = datetime.fromisoformat(sys.argv[2])
total = 0
with Session(db) as session:
    while True:
        done = {call}
        total += done
        if not done:
            break
print(total)
"""


def _psycopg(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a database that exists only for this test run."""
    base = os.environ.get("TEST_DATABASE_URL", "sqlite")
    if base in ("", "sqlite"):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    with throwaway_database(base, "lvyue_test") as url:
        yield url


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new PostgreSQL database on the server of `server_url`, named `prefix` and a random suffix; dropped (even
    while connected) when the block ends."""
    admin_url = make_url(_psycopg(server_url))
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url, connect_args={"timeout": 30} if db_url.startswith("sqlite") else {})
    tune_sqlite(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        seed_time_limits(session)
        load_demo_organisation(session)
        specs.deploy_directory(session, PROCESSES)
        # no process starts with kept scenarios: a test that deploys runs those it uploads (tests/integration/
        # test_scenarios_http.py); the bundled ones run in tests/processes/test_scenarios.py
        session.execute(ProcessScenario.__table__.delete())
        for table in ("audit_seal_entry", "audit_seal", "audit_event", "audit_chain"):  # each test starts an empty log
            session.execute(Base.metadata.tables[table].delete())
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def bundled_model_ids(db_engine: Engine) -> set[int]:
    """Ids of the rows every test starts with: the bundled process versions, demo departments and officials."""
    with Session(db_engine) as session:
        _BASELINE.update({
            ProcessModel.__table__.name: set(session.scalars(select(ProcessModel.id))),
            Department.__table__.name: set(session.scalars(select(Department.id))),
            Official.__table__.name: set(session.scalars(select(Official.id))),
        })
        for table in (Department.__table__, Official.__table__):
            _BASELINE_ROWS[table.name] = {row["id"]: dict(row) for row in session.execute(select(table)).mappings()}
        return _BASELINE[ProcessModel.__table__.name]


_BASELINE: dict[str, set[int]] = {}
_BASELINE_ROWS: dict[str, dict[int, dict]] = {}  # demo departments and officials as seeded: tests may edit them
# seeded once per run; tests that change them restore them (the settings generation: engine/settings_cache.py)
REFERENCE_TABLES = {"time_limit", "settings_generation"}


@pytest.fixture(autouse=True)
def _clean_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used the database, delete every row it added (baseline rows stay)."""
    yield
    if "db_engine" not in request.fixturenames:
        return
    engine: Engine = request.getfixturevalue("db_engine")
    request.getfixturevalue("bundled_model_ids")
    with Session(engine) as session:
        for name, rows in _BASELINE_ROWS.items():  # undo edits of seeded rows first (lockouts, moves, deactivation)
            table = Base.metadata.tables[name]
            for row in session.execute(select(table)).mappings():
                if row["id"] in rows and dict(row) != rows[row["id"]]:
                    session.execute(table.update().where(table.c.id == row["id"]).values(rows[row["id"]]))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in REFERENCE_TABLES:
                continue
            if table.name in _BASELINE:
                session.execute(table.delete().where(table.c.id.not_in(_BASELINE[table.name])))
            else:
                session.execute(table.delete())
        session.commit()


@pytest.fixture
def session(db_engine: Engine, bundled_model_ids: set[int]) -> Iterator[Session]:
    """An engine-level session (no Flask); the test commits or not as the caller would."""
    with Session(db_engine, expire_on_commit=False) as s:
        yield s
        s.rollback()


@pytest.fixture
def official(session: Session):  # noqa: ANN201 - returns a lookup function
    def lookup(username: str) -> Official:
        found = session.scalar(select(Official).where(Official.username == username))
        assert found is not None, username
        return found

    return lookup


@pytest.fixture(scope="session")
def app(db_url: str, db_engine: Engine):  # noqa: ANN201
    from web import create_app
    from web.extensions import db

    application = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret-key",
        # the suite signs in hundreds of times from 127.0.0.1; tests of the limits set them lower (test_security)
        "LOGIN_RATE_LIMIT": "10000 per minute",
        "LOGIN_ACCOUNT_RATE_LIMIT": "10000 per minute",
    })
    yield application
    with application.app_context():  # close pooled connections before the test database is dropped
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_app(db_url: str, db_engine: Engine):  # noqa: ANN201
    """Build extra apps on the test database with other settings; their connections are closed afterwards."""
    from web import create_app
    from web.extensions import db

    made = []

    def build(**config: object):  # noqa: ANN202
        application = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url,
                                  "SECRET_KEY": "test-secret-key", **config})
        made.append(application)
        return application

    yield build
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app, bundled_model_ids: set[int]):  # noqa: ANN001, ANN201
    return app.test_client()


@pytest.fixture
def api(app, client, bundled_model_ids: set[int]):  # noqa: ANN001, ANN201
    """Call the JSON API as a given official: api("km-commerce").get("/api/v1/tasks")."""
    from engine.org.services import create_token
    from web.extensions import db

    tokens: dict[str, str] = {}

    class Caller:
        def __init__(self, username: str) -> None:
            if username not in tokens:
                with app.app_context():
                    user = db.session.scalar(select(Official).where(Official.username == username))
                    tokens[username] = create_token(db.session, user, "test")
                    db.session.commit()
            self.headers = {"Authorization": f"Bearer {tokens[username]}"}

        def get(self, url: str, **kw):  # noqa: ANN003, ANN201
            return client.get(url, headers=self.headers, **kw)

        def post(self, url: str, json: object = None, **kw):  # noqa: ANN003, ANN201
            return client.post(url, headers=self.headers, json=json, **kw)

    return Caller


@pytest.fixture
def demo_password() -> str:
    return DEMO_PASSWORD


@pytest.fixture
def login(client, demo_password):  # noqa: ANN001, ANN201
    """Sign the test client in as a demo official: login("km-commerce")."""

    def sign_in(username: str | None) -> None:
        client.post("/logout")
        if username:  # None: only sign out
            response = client.post("/login", data={"username": username, "password": demo_password})
            assert response.status_code == 302, response.get_data(as_text=True)

    return sign_in
