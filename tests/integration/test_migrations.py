"""The Alembic migrations build exactly the schema the models describe, and can be undone.

Runs against a database of its own: a temporary SQLite file, and — when TEST_DATABASE_URL points at
PostgreSQL — also a scratch PostgreSQL database created for this module and dropped afterwards.
(The shared `db_url` fixture cannot be used: its database is filled by `create_all`, and this
test needs an empty one.)
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

import engine
from engine import settings_cache
from engine.builtin import load_builtin
from engine.db import Base, tune_sqlite
from engine.models import include_in_autogenerate
from engine.org.demo import load_demo_organisation
from engine.org.models import Official
from engine.workflow import specs
from tests.conftest import throwaway_database

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "migrations"
PROCESSES = ROOT / "processes"


def _import_all_models() -> None:
    """Every engine/<area>/models.py, so Base.metadata holds every table whatever this run imported."""
    for area in pkgutil.iter_modules(engine.__path__):
        name = f"engine.{area.name}.models"
        if area.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def _backends() -> list[str]:
    backends = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL", "sqlite").startswith(("postgres://", "postgresql")):
        backends.append("postgresql")
    return backends


@pytest.fixture(params=_backends())
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database that exists only for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    with throwaway_database(os.environ["TEST_DATABASE_URL"], "lvyue_migtest") as url:
        yield url


@pytest.fixture
def migration_app(empty_db_url: str) -> Iterator[Flask]:
    """A bare Flask app with its own SQLAlchemy and Migrate, as `migrations/env.py` expects.

    Not `web.create_app`: a second full app would replace the session app held by module-level
    extensions, and this test wants nothing but the migrations and the models.
    """
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = empty_db_url
    db = SQLAlchemy(metadata=Base.metadata)
    db.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS))
    with app.app_context():
        tune_sqlite(db.engine)
        yield app
        db.session.remove()
        db.engine.dispose()


def _partial_index_sql(db_engine, dialect: str) -> str:  # noqa: ANN001
    with db_engine.connect() as conn:
        if dialect == "sqlite":
            query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
        else:
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
        return conn.scalar(text(query), {"name": "ix_human_task_open_department_due"}) or ""


def _search_objects(db_engine, dialect: str) -> set[str]:  # noqa: ANN001
    with db_engine.connect() as conn:
        if dialect == "sqlite":
            return set(conn.scalars(text("SELECT name FROM sqlite_master WHERE name = 'complaint_fts' "
                                         "OR (type = 'trigger' AND tbl_name = 'complaint')")))
        return set(conn.scalars(text("SELECT indexname FROM pg_indexes WHERE indexname = 'ix_complaint_trgm' "
                                     "AND indexdef LIKE '%gin_trgm_ops%'")))


def _search_objects_expected(dialect: str) -> set[str]:
    if dialect == "sqlite":
        return {"complaint_fts", "complaint_fts_insert", "complaint_fts_update", "complaint_fts_delete"}
    return {"ix_complaint_trgm"}


def _settings_triggers(db_engine, dialect: str) -> set[tuple[str, str]]:  # noqa: ANN001
    with db_engine.connect() as conn:
        if dialect == "sqlite":
            query = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'settings_generation%'"
        else:
            query = "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgname = 'settings_generation_bump'"
        return {tuple(row) for row in conn.execute(text(query))}


def _settings_triggers_expected(dialect: str) -> set[tuple[str, str]]:
    if dialect == "sqlite":
        return {(table, f"settings_generation_{table}_{op}") for table in settings_cache.WATCHED
                for op in ("insert", "update", "delete")}
    return {(table, "settings_generation_bump") for table in settings_cache.WATCHED}


def test_upgrade_matches_models_and_downgrade_removes_everything(migration_app: Flask) -> None:
    _import_all_models()
    db_engine = migration_app.extensions["migrate"].db.engine
    flask_migrate.upgrade(directory=str(MIGRATIONS))

    # 1. The migrated schema is the models' schema: autogenerate would write nothing.
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_in_autogenerate})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; run `flask --app web db migrate`:\n{diff}"

    # 2. What autogenerate does not compare: the inbox's partial index keeps its predicate.
    index_sql = _partial_index_sql(db_engine, db_engine.dialect.name).lower()
    assert "completed_at is null" in index_sql, index_sql
    assert "department_id, due_at, id" in index_sql, index_sql

    # 2b. The case search's own objects (outside the models' metadata) exist at head, triggers included.
    assert _search_objects(db_engine, db_engine.dialect.name) == _search_objects_expected(db_engine.dialect.name)

    # 2c. The settings generation (engine/settings_cache.py): its row and the triggers that replace its value on
    # every change of a watched table, whoever writes.
    assert _settings_triggers(db_engine, db_engine.dialect.name) == _settings_triggers_expected(db_engine.dialect.name)
    with db_engine.begin() as conn:
        first = conn.scalar(text("SELECT value FROM settings_generation WHERE id = 1"))
        conn.execute(text("INSERT INTO calendar_year (year, entered_by, entered_at) VALUES (2099, 'psql', '2026-12-07')"))
        conn.execute(text("DELETE FROM calendar_year"))
        assert conn.scalar(text("SELECT value FROM settings_generation WHERE id = 1")) not in (None, first)

    # 3. The migrated database takes the demo organisation and the bundled processes (`make db`).
    load_builtin()
    with Session(db_engine) as session:
        assert load_demo_organisation(session) > 0
        assert specs.deploy_directory(session, PROCESSES)
        session.commit()
        assert session.scalar(select(Official).where(Official.username == "intake")) is not None

    # 4. Downgrading to base leaves nothing but Alembic's own bookkeeping.
    flask_migrate.downgrade(directory=str(MIGRATIONS), revision="base")
    assert set(inspect(db_engine).get_table_names()) - {"alembic_version"} == set()


def test_single_head() -> None:
    """Concurrent branches must be merged (`flask db merge`) before they land."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_the_old_global_chain_becomes_the_legacy_chain_and_still_verifies(migration_app: Flask) -> None:
    """Events written before per-case chains keep their hashes: upgraded, they verify, and new ones follow."""
    import hashlib
    import json
    from datetime import UTC, datetime

    from engine.audit import services as audit
    from engine.audit.chains import LEGACY_CHAIN
    from engine.audit.models import AuditEvent

    _import_all_models()
    db_engine = migration_app.extensions["migrate"].db.engine
    flask_migrate.upgrade(directory=str(MIGRATIONS), revision="3583d6573db0-1")  # the revision before chains
    prev = audit.GENESIS
    with db_engine.begin() as conn:
        for n in range(3):  # as the old code hashed them: content + previous hash, no position
            at = datetime(2026, 11, 1, 8, n, tzinfo=UTC)
            content = {"at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "actor_id": None, "actor_label": "cli",
                       "ip": None, "action": "login", "object_type": "official", "object_id": str(n),
                       "complaint_id": None, "before": None, "after": {"n": n}}
            digest = hashlib.sha256((json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                                     + prev).encode()).hexdigest()
            conn.execute(text("INSERT INTO audit_event (at, actor_label, action, object_type, object_id, after, "
                              "prev_hash, hash) VALUES (:at, 'cli', 'login', 'official', :oid, :after, :prev, :hash)"),
                         {"at": at, "oid": str(n), "after": json.dumps({"n": n}), "prev": prev, "hash": digest})
            prev = digest
    flask_migrate.upgrade(directory=str(MIGRATIONS))
    with Session(db_engine) as session:
        rows = session.execute(select(AuditEvent.chain, AuditEvent.seq).order_by(AuditEvent.id)).all()
        assert rows == [(LEGACY_CHAIN, 1), (LEGACY_CHAIN, 2), (LEGACY_CHAIN, 3)]
        result = audit.verify(session)
        assert (result.ok, result.events, result.chains) == (True, 3, 1), result.message
        audit.record(session, "view_contact", "cli", "complaint", 7, complaint_id=7)
        session.commit()
        assert audit.seal(session) is not None
        session.commit()
        result = audit.verify(session)
        assert (result.ok, result.events, result.chains, result.unsealed) == (True, 4, 2, 0), result.message
    flask_migrate.downgrade(directory=str(MIGRATIONS), revision="base")


def _links(db_engine, column: str) -> tuple[list, list]:  # noqa: ANN001
    with db_engine.connect() as conn:
        return (conn.execute(text(f"SELECT id, {column} FROM process_instance ORDER BY id")).all(),
                conn.execute(text(f"SELECT id, {column} FROM human_task ORDER BY id")).all())


def _foreign_keys(db_engine, table: str) -> set[tuple]:  # noqa: ANN001
    return {(fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
            for fk in inspect(db_engine).get_foreign_keys(table) if fk["referred_table"] == "complaint"}


def test_the_workflow_tables_link_their_subject_by_subject_id_and_keep_the_case(migration_app: Flask) -> None:
    """process_instance.complaint_id and human_task.complaint_id become subject_id: a case's instance and task keep
    their link (and its foreign key to the complaint), and downgrading gives the old columns back."""
    from datetime import UTC, datetime

    _import_all_models()
    db_engine = migration_app.extensions["migrate"].db.engine
    flask_migrate.upgrade(directory=str(MIGRATIONS), revision="6d2b8e4f1a57-1")  # the revision before subject_id
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with db_engine.begin() as conn:
        conn.execute(text("INSERT INTO department (id, code, name, level, division_code, is_credit_lead, is_active) "
                          "VALUES (1, 'd1', '某局', 'province', '530000', false, true)"))
        for n in (1, 2):
            conn.execute(text(
                "INSERT INTO complaint (id, tracking_code, status, complainant_name, complainant_uscc, contact_person, "
                "contact_phone, is_private_enterprise, respondent_name, intake_department_id, agreement_name, domain, "
                "breach_type, facts, claims, in_litigation, channel, received_at) VALUES (:n, :code, 'verifying', "
                "'某公司', '91530100MA6K000000', '李明', '13800000000', true, '某局', 1, '协议', 'other', 'unpaid', "
                "'事实', '诉求', false, 'counter', :at)"), {"n": n, "code": f"TS{n}", "at": at})
        conn.execute(text(
            "INSERT INTO process_model (id, key, version, name, sha256, bpmn_xml, dmn, forms, spec_json, comment, "
            "deployed_by, deployed_at) VALUES (1, 'complaint', 1, '投诉', :sha, '<x/>', '{}', '{}', '{}', '', "
            "'system', :at)"), {"sha": "0" * 64, "at": at})
        for n, subject in ((1, 2), (2, None)):  # a case's instance, and one of no case
            conn.execute(text("INSERT INTO process_instance (id, model_id, complaint_id, status, state, lock_version, "
                              "started_at, updated_at) VALUES (:n, 1, :subject, 'running', '{}', 1, :at, :at)"),
                         {"n": n, "subject": subject, "at": at})
            conn.execute(text("INSERT INTO human_task (id, instance_id, complaint_id, spec_name, title, department_id, "
                              "created_at, due_provisional) VALUES (:id, :n, :subject, 'verify', '核实', 1, :at, false)"),
                         {"id": f"task-{n}", "n": n, "subject": subject, "at": at})
    before = _links(db_engine, "complaint_id")
    assert before == ([(1, 2), (2, None)], [("task-1", 2), ("task-2", None)])

    flask_migrate.upgrade(directory=str(MIGRATIONS))
    assert _links(db_engine, "subject_id") == before
    for table in ("process_instance", "human_task"):
        assert _foreign_keys(db_engine, table) == {(f"fk_{table}_subject_id_complaint", ("subject_id",), "complaint")}
        assert "complaint_id" not in {c["name"] for c in inspect(db_engine).get_columns(table)}
    with Session(db_engine) as session:  # the models read it: the task's case, through the instance's subject
        from engine.workflow.models import HumanTask, ProcessInstance

        task = session.get(HumanTask, "task-1")
        assert (task.subject_id, task.instance.subject_id) == (2, 2)
        assert session.scalar(select(ProcessInstance.id).where(ProcessInstance.subject_id.is_(None))) == 2

    flask_migrate.downgrade(directory=str(MIGRATIONS), revision="5ce7a1b2c3d4")
    assert _links(db_engine, "complaint_id") == before
    for table in ("process_instance", "human_task"):
        assert _foreign_keys(db_engine, table) == {(f"fk_{table}_complaint_id_complaint", ("complaint_id",), "complaint")}
