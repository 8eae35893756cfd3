"""Settings kept per process (engine/settings_cache.py) are never served stale: a time limit, an entered holiday
year, a 公文 series or template changed by any writer — here raw SQL committed on a connection of its own, as
another worker, `psql` or a restore would — counts for the very next step of this process, whose snapshots were
warm; a change rolled back leaves nothing behind."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine import settings_cache
from engine.cases.services import open_tasks, register_complaint
from engine.deadlines.services import due_for_limit, update_time_limit
from engine.documents.layout import build_template
from engine.documents.models import DocumentTemplate, OfficialDocument
from engine.org.models import Department, Official
from engine.workflow.instances import complete_task
from tests.conftest import COMPLAINT


@pytest.fixture
def db(db_engine: Engine, bundled_model_ids: set[int]) -> Engine:
    """The test database (each test's rows are deleted afterwards)."""
    return db_engine


def _other_worker(db_engine: Engine, statement: str, **params: Any) -> None:
    """Run `statement` on a connection of another engine (another worker's pool) and commit it."""
    other = create_engine(db_engine.url)
    try:
        with other.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        other.dispose()


def _screen(db_engine: Engine, number: str, now: datetime | None = None) -> tuple[Any, Any]:
    """Register a complaint and accept it at screening, each in its own session as requests do; the verify task
    and the acceptance notice it issued."""
    with Session(db_engine) as session:
        intake = session.scalar(select(Official).where(Official.username == "intake"))
        complaint, _ = register_complaint(session, dict(COMPLAINT, agreement_number=number), intake)
        session.commit()
        complaint_id = complaint.id
    with Session(db_engine, expire_on_commit=False) as session:
        intake = session.scalar(select(Official).where(Official.username == "intake"))
        [task] = open_tasks(session, session.get(type(complaint), complaint_id))
        complete_task(session, task.id, {"accepted": True}, intake, now=now)
        session.commit()
        [verify] = open_tasks(session, session.get(type(complaint), complaint_id))
        notice = session.scalar(select(OfficialDocument).where(
            OfficialDocument.complaint_id == complaint_id, OfficialDocument.kind == "acceptance_notice"))
        return verify, notice


def test_a_time_limit_changed_by_raw_sql_counts_for_the_very_next_step(db: Engine) -> None:
    verify, _ = _screen(db, "LIMIT-1")
    assert "核实认定：15个工作日" in verify.due_basis
    verify, _ = _screen(db, "LIMIT-2")  # the snapshot is warm now
    assert "核实认定：15个工作日" in verify.due_basis
    try:
        _other_worker(db, "UPDATE time_limit SET amount = 20 WHERE key = 'verify'")
        verify, _ = _screen(db, "LIMIT-3")
        assert "核实认定：20个工作日" in verify.due_basis
    finally:
        _other_worker(db, "UPDATE time_limit SET amount = 15 WHERE key = 'verify'")
    verify, _ = _screen(db, "LIMIT-4")
    assert "核实认定：15个工作日" in verify.due_basis


def test_a_holiday_year_entered_by_raw_sql_counts_for_the_very_next_step(db: Engine) -> None:
    # accepted on Wednesday 2026-12-30: 15 working days reach into 2027, whose schedule chinesecalendar lacks
    now = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)
    before, _ = _screen(db, "YEAR-1", now)
    again, _ = _screen(db, "YEAR-2", now)
    assert before.due_provisional
    assert again.due_provisional
    assert before.due_at == again.due_at
    _other_worker(db, "INSERT INTO calendar_year (year, entered_by, entered_at) VALUES (2027, 'psql', :at)",
                  at=now)
    _other_worker(db, "INSERT INTO calendar_day (day, is_workday, note) VALUES ('2027-01-01', :no, '元旦')",
                  no=False)
    entered, _ = _screen(db, "YEAR-3", now)
    assert not entered.due_provisional
    assert (entered.due_at - before.due_at).days == 1  # New Year's Day (a Friday) is a holiday now
    _other_worker(db, "DELETE FROM calendar_day")
    _other_worker(db, "DELETE FROM calendar_year")
    removed, _ = _screen(db, "YEAR-4", now)
    assert removed.due_provisional
    assert removed.due_at == before.due_at


def test_a_series_and_a_template_changed_by_raw_sql_count_for_the_very_next_document(db: Engine) -> None:
    _, first = _screen(db, "DOC-1")
    _, second = _screen(db, "DOC-2")
    assert first.number.startswith("云发改信用〔")
    assert second.number.startswith("云发改信用〔")
    assert first.template_sha256 == second.template_sha256
    with Session(db) as session:
        ndrc = session.scalar(select(Department.id).where(Department.code == "ndrc"))
    custom = build_template("本单位受理通知（{{ tracking_code }}）", ["自定义正文：{{ complainant }}"])
    _other_worker(db, "INSERT INTO document_series (department_id, prefix) VALUES (:id, '滇信办')", id=ndrc)
    _other_worker(db, "INSERT INTO document_template (kind, docx, file_name, updated_by, updated_at) "
                  "VALUES ('acceptance_notice', :docx, 'x.docx', 'psql', :at)", docx=custom, at=datetime.now(UTC))
    _, changed = _screen(db, "DOC-3")
    assert changed.number.startswith("滇信办〔")
    assert changed.template_sha256 == hashlib.sha256(custom).hexdigest()
    _other_worker(db, "DELETE FROM document_template")
    _other_worker(db, "UPDATE document_series SET prefix = '滇信督'")
    _, back = _screen(db, "DOC-4")
    assert back.number.startswith("滇信督〔")
    assert back.template_sha256 == first.template_sha256


def test_a_change_made_in_the_steps_own_transaction_counts_and_its_rollback_leaves_nothing(db: Engine) -> None:
    _screen(db, "OWN-1")  # warm
    with Session(db) as session:
        intake = session.scalar(select(Official).where(Official.username == "intake"))
        complaint, _ = register_complaint(session, dict(COMPLAINT, agreement_number="OWN-2"), intake)
        update_time_limit(session, "verify", 21, "workday", "试行", 15, actor="test")
        # and a template never issued before: on PostgreSQL its version is stored on a connection of its own while
        # this transaction holds the generation's row (engine/settings_cache.py: PG_INSERT_NOT_WATCHED)
        custom = build_template("试行受理通知（{{ tracking_code }}）", ["正文：{{ complainant }}"])
        session.add(DocumentTemplate(kind="acceptance_notice", docx=custom, file_name="x.docx", updated_by="test"))
        [task] = open_tasks(session, complaint)
        complete_task(session, task.id, {"accepted": True}, intake)
        [verify] = open_tasks(session, complaint)
        assert "核实认定：21个工作日" in verify.due_basis
        notice = session.scalar(select(OfficialDocument).where(
            OfficialDocument.complaint_id == complaint.id, OfficialDocument.kind == "acceptance_notice"))
        assert notice.template_sha256 == hashlib.sha256(custom).hexdigest()
        # after the step noted its generation: a raw UPDATE and an ORM change in the same transaction count too
        session.execute(text("UPDATE time_limit SET amount = 22 WHERE key = 'verify'"))
        assert "核实认定：22个工作日" in due_for_limit(session, "verify", datetime.now(UTC)).basis
        update_time_limit(session, "verify", 23, "workday", "试行", 15, actor="test")
        assert "核实认定：23个工作日" in due_for_limit(session, "verify", datetime.now(UTC)).basis
        other, _ = register_complaint(session, dict(COMPLAINT, agreement_number="OWN-3"), intake)
        [task] = open_tasks(session, other)
        complete_task(session, task.id, {"accepted": True}, intake)
        [verify] = open_tasks(session, other)
        assert "核实认定：23个工作日" in verify.due_basis
        session.rollback()
    verify, notice = _screen(db, "OWN-4")
    assert "核实认定：15个工作日" in verify.due_basis
    assert notice.template_sha256 != hashlib.sha256(custom).hexdigest()


def test_the_schema_made_without_alembic_has_the_row_and_every_trigger(db: Engine) -> None:
    """metadata.create_all (tests, bench) makes what the migration makes (tests/integration/test_migrations.py)."""
    with db.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM settings_generation")) == 1
        if db.dialect.name == "sqlite":
            names = set(conn.scalars(text("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
                                          "AND name LIKE 'settings_generation%'")))
            count = conn.scalar(text("SELECT count(*) FROM sqlite_master WHERE name LIKE 'settings_generation_%'"))
            assert count == 3 * len(settings_cache.WATCHED)
        else:
            names = set(conn.scalars(text("SELECT tgrelid::regclass::text FROM pg_trigger "
                                          "WHERE tgname = 'settings_generation_bump'")))
    assert names == set(settings_cache.WATCHED)
