"""Operations: liveness and readiness, and backups that bring every case back after the data is destroyed."""
from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from engine.audit import services as audit
from engine.audit.models import AuditEvent
from engine.cases.models import CaseEvent, Complaint
from engine.cases.services import register_complaint
from engine.db import Base, tune_sqlite
from engine.deadlines.services import seed_time_limits
from engine.notify.models import SmsOutbox
from engine.org.demo import load_demo_organisation
from engine.org.models import Official
from engine.workflow import instances, specs
from engine.workflow.models import HumanTask
from tests.conftest import COMPLAINT, PROCESSES, _psycopg
from web import ops


def test_healthz_is_plain_ok(client) -> None:  # noqa: ANN001
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"


def test_readyz_wants_the_schema_at_the_migrations_head(app, client, db_engine) -> None:  # noqa: ANN001
    response = client.get("/readyz")  # the test database is built by create_all: never stamped
    assert response.status_code == 503
    assert "migrations not current" in response.get_data(as_text=True)
    head = ops.migration_head()
    assert head
    with db_engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0123456789ab')"))
    try:
        assert "database at 0123456789ab" in client.get("/readyz").get_data(as_text=True)
        with db_engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.get_data(as_text=True)
        assert ready.get_data(as_text=True) == "ready"
    finally:
        with db_engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))


def test_readyz_reports_an_unreachable_database(app, client, monkeypatch) -> None:  # noqa: ANN001
    from web.extensions import db

    def broken() -> None:
        raise ConnectionRefusedError("no database")

    with app.app_context():
        monkeypatch.setattr(db.engine, "connect", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "database unreachable" in response.get_data(as_text=True)


# --- backup and restore on a database of its own ------------------------------------------------------

def _backends() -> list[str]:
    backends = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL", "").startswith(("postgres://", "postgresql")) and shutil.which("pg_dump"):
        backends.append("postgresql")
    return backends


@pytest.fixture(params=_backends())
def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with the demo organisation, the bundled processes and a few cases in different states."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        admin, name = None, None
    else:
        admin_url = make_url(_psycopg(os.environ["TEST_DATABASE_URL"]))
        name = f"lvyue_backup_{secrets.token_hex(4)}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    tune_sqlite(engine)
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            seed_time_limits(session)
            load_demo_organisation(session)
            specs.deploy_directory(session, PROCESSES)
            intake = session.scalar(select(Official).where(Official.username == "intake"))
            for n in range(3):
                complaint, _ = register_complaint(session, {**COMPLAINT, "agreement_number": f"GD-{n}"}, intake)
                if n:  # two of them a step further
                    task = session.scalar(select(HumanTask).where(HumanTask.subject_id == complaint.id))
                    instances.complete_task(session, task.id, {"accepted": True}, intake)
            session.commit()
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _snapshot(engine: Engine) -> dict:
    with Session(engine) as session:
        cases = {
            c.tracking_code: (c.status, c.complainant_name, c.contact_phone, c.agreement_number)
            for c in session.scalars(select(Complaint))
        }
        return {
            "cases": cases,
            "open_tasks": sorted(session.scalars(select(HumanTask.id).where(HumanTask.completed_at.is_(None)))),
            "events": session.scalar(select(func.count()).select_from(CaseEvent)),
            "audit": audit.verify_chain(session),
            "instances": sorted(session.execute(text("SELECT id, state FROM process_instance")).all()),
        }


def test_backup_destroy_restore_brings_every_case_back(scratch: Engine, tmp_path: Path) -> None:
    before = _snapshot(scratch)
    assert len(before["cases"]) == 3
    assert before["audit"][0]
    backup = tmp_path / "lvyue.backup"

    ops.backup_database(scratch.url, backup)
    assert backup.stat().st_size > 0
    if scratch.dialect.name == "postgresql":  # destroy: the tables themselves are gone
        Base.metadata.drop_all(scratch)
        with scratch.connect() as conn:
            assert conn.scalar(text("SELECT to_regclass('complaint')")) is None
    else:  # destroy: every row of every table
        with scratch.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    scratch.dispose()

    ops.restore_database(scratch.url, backup)
    after = _snapshot(scratch)
    assert after == before
    with Session(scratch) as session:  # and work goes on where it stopped
        intake = session.scalar(select(Official).where(Official.username == "intake"))
        open_screening = session.scalar(select(HumanTask).where(HumanTask.spec_name == "screening",
                                                                HumanTask.completed_at.is_(None)))
        instances.complete_task(session, open_screening.id, {"accepted": True}, intake)
        session.commit()
        assert audit.verify_chain(session)[0]


def test_backup_and_restore_commands_on_the_running_app(app, api, tmp_path: Path) -> None:  # noqa: ANN001
    from web.extensions import db

    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        pytest.skip("the commands against the shared PostgreSQL test database would drop it under other "
                    "connections; PostgreSQL backup and restore are tested on a scratch database above")
    cid = api("intake").post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    runner = app.test_cli_runner()
    backup = tmp_path / "running.sqlite3"
    result = runner.invoke(args=["backup", str(backup)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.session.execute(AuditEvent.__table__.delete())
        for table in (CaseEvent, SmsOutbox):  # the case and what refers to it (its receipt SMS)
            db.session.execute(table.__table__.delete().where(table.complaint_id == cid))
        db.session.execute(HumanTask.__table__.delete().where(HumanTask.subject_id == cid))
        db.session.execute(text("DELETE FROM process_instance WHERE subject_id = :cid"), {"cid": cid})
        db.session.execute(Complaint.__table__.delete().where(Complaint.id == cid))
        db.session.commit()
    assert api("intake").get(f"/api/v1/complaints/{cid}").status_code == 404
    refused = runner.invoke(args=["restore", str(backup)], input="n\n")
    assert refused.exit_code == 1
    result = runner.invoke(args=["restore", "--yes", str(backup)])
    assert result.exit_code == 0, result.output
    assert api("intake").get(f"/api/v1/complaints/{cid}").status_code == 200
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_backup_reports_a_missing_database_file(tmp_path: Path) -> None:
    with pytest.raises(ops.OpsError, match="不存在"):
        ops.backup_database(make_url(f"sqlite:///{tmp_path / 'absent.sqlite3'}"), tmp_path / "out")
