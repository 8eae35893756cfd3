"""The Alembic migrations build exactly the schema the models describe, and can be undone.

Runs against a database of its own: a temporary SQLite file, and — when TEST_DATABASE_URL points at
PostgreSQL — also a scratch PostgreSQL database created for this module and dropped afterwards.
(The shared `db_url` fixture cannot be used: its database is filled by `create_all`, and this
test needs an empty one.)
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from engine.db import Base

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _psycopg(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


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
    admin_url = make_url(_psycopg(os.environ["TEST_DATABASE_URL"]))
    name = f"lvyue_migtest_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migrated_app(empty_db_url: str):  # noqa: ANN201 - a Flask app
    from web import create_app

    return create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": empty_db_url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret-key",
    })


def _partial_index_sql(engine, dialect: str) -> str:  # noqa: ANN001
    with engine.connect() as conn:
        if dialect == "sqlite":
            query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
        else:
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
        return conn.scalar(text(query), {"name": "ix_human_task_open_department_due"}) or ""


def test_upgrade_matches_models_and_downgrade_removes_everything(migrated_app) -> None:  # noqa: ANN001
    import flask_migrate

    from engine.org.models import Official
    from web.extensions import db

    assert (MIGRATIONS / "env.py").exists()
    with migrated_app.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS))
        engine = db.engine
        dialect = engine.dialect.name

        # 1. The migrated schema is the models' schema: autogenerate would write nothing.
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ; run `flask --app web db migrate`:\n{diff}"

        # 2. What autogenerate does not compare: the inbox's partial index keeps its predicate.
        index_sql = _partial_index_sql(engine, dialect).lower()
        assert "completed_at is null" in index_sql, index_sql
        assert "department_id, due_at, id" in index_sql, index_sql

        # 3. The migrated database takes the demo data and the bundled processes (`make db`).
        runner = migrated_app.test_cli_runner()
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["deploy-processes"])
        assert result.exit_code == 0, result.output
        assert db.session.scalar(select(Official).where(Official.username == "intake")) is not None
        db.session.remove()

        # 4. Downgrading to base leaves nothing but Alembic's own bookkeeping.
        flask_migrate.downgrade(directory=str(MIGRATIONS), revision="base")
        remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        engine.dispose()


def test_single_head() -> None:
    """Concurrent branches must be merged (`flask db merge`) before they land."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads
