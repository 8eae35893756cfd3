"""The migration to record numbers and destination profiles on a database with data in it: every existing record
and measure gets a UUID of its own, and each measure its department (its official's, else the provincial credit
office)."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import flask_migrate
import sqlalchemy as sa
from flask import Flask

from tests.integration.test_migrations import MIGRATIONS, empty_db_url, migration_app  # noqa: F401 - fixtures

REVISION = "8c1f4e2a9b37"  # exchange profiles, record numbers


def _before() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_revision(REVISION).down_revision


def _insert(conn: sa.Connection, table: sa.Table, **given: Any) -> None:
    """Insert a row with `given` values and a plain value for every other required column."""
    samples = {sa.Integer: 0, sa.Boolean: False, sa.Date: date(2026, 3, 2), sa.DateTime: datetime(2026, 3, 2, tzinfo=UTC),
               sa.Numeric: 0, sa.JSON: {}, sa.String: "x", sa.Text: "x"}
    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key or column.server_default is not None:
            continue
        row[column.name] = next(v for t, v in samples.items() if isinstance(column.type, t))
    conn.execute(table.insert().values(**row))


def test_existing_records_and_measures_get_numbers_and_departments(migration_app: Flask) -> None:  # noqa: F811
    engine = migration_app.extensions["migrate"].db.engine
    flask_migrate.upgrade(directory=str(MIGRATIONS), revision=_before())
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as conn:
        _insert(conn, t["department"], id=1, code="ndrc", name="省发展改革委", level="province", division_code="530000",
                is_credit_lead=True, is_active=True)
        _insert(conn, t["department"], id=2, code="km-drc", name="昆明市发展改革委", level="prefecture",
                division_code="530100", is_credit_lead=True, is_active=True)
        _insert(conn, t["official"], id=1, username="km", full_name="某人", department_id=2, roles=["ndrc"],
                is_active=True)
        _insert(conn, t["measure_type"], id=1, code="public_criticism", name="公开通报批评", level="local",
                is_active=True)
        for record_id in (1, 2):
            _insert(conn, t["breach_record"], id=record_id, respondent_name="某局", determining_name="某委",
                    document_number=f"文{record_id}号", domain="other", status="active", version=1)
        _insert(conn, t["applied_measure"], id=1, record_id=1, measure_type_id=1, applied_by_id=1,
                document_number="实1号")
        _insert(conn, t["applied_measure"], id=2, record_id=2, measure_type_id=1, applied_by_id=None,
                document_number="实2号")

    flask_migrate.upgrade(directory=str(MIGRATIONS), revision=REVISION)
    with engine.connect() as conn:
        records = conn.execute(sa.text("SELECT number FROM breach_record ORDER BY id")).scalars().all()
        measures = conn.execute(sa.text("SELECT number, department_id FROM applied_measure ORDER BY id")).all()
    numbers = [uuid.UUID(n) for n in [*records, *(m.number for m in measures)]]
    assert len(set(numbers)) == 4
    assert [m.department_id for m in measures] == [2, 1]  # the official's department; the system's: the DRC
