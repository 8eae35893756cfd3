"""A request that fails after registering a complaint keeps nothing of it (one transaction, also on SQLite)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.cases.models import CaseEvent, Complaint
from engine.cases.services import register_complaint
from engine.workflow.models import ProcessInstance
from tests.conftest import COMPLAINT


def _counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as fresh:
        return (fresh.scalar(select(func.count()).select_from(Complaint)),
                fresh.scalar(select(func.count()).select_from(CaseEvent)),
                fresh.scalar(select(func.count()).select_from(ProcessInstance)))


def test_rollback_after_registering_keeps_nothing(db_engine: Engine, session: Session, official) -> None:  # noqa: ANN001
    before = _counts(db_engine)
    complaint, created = register_complaint(session, {**COMPLAINT, "channel": "hotline_12345", "external_ref": "TX-1"},
                                            official("intake"))
    assert created
    assert complaint.id is not None
    session.rollback()  # what a request does when a later step of it fails
    assert _counts(db_engine) == before


def test_commit_after_registering_keeps_everything(db_engine: Engine, session: Session, official) -> None:  # noqa: ANN001
    before = _counts(db_engine)
    register_complaint(session, {**COMPLAINT, "channel": "hotline_12345", "external_ref": "TX-2"}, official("intake"))
    session.commit()
    after = _counts(db_engine)
    assert after[0] == before[0] + 1  # the complaint
    assert after[1] > before[1]  # its history
    assert after[2] == before[2] + 1  # its procedure
