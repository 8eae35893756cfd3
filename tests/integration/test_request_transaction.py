"""One owner per transaction (web/transaction.py), through HTTP: an engine call that wrote and then refused leaves
nothing behind — the API answers with its JSON error, a page with its form and the Chinese reason."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.cases.models import CaseEvent, Complaint
from engine.errors import ConflictError, EngineError, FormInvalid
from engine.intake import services as intake
from engine.workflow.models import HumanTask, ProcessInstance
from tests.conftest import COMPLAINT, COMPLAINT_FORM
from web.extensions import db


def counts(db_engine: Engine) -> tuple[int, ...]:
    with Session(db_engine) as fresh:
        return tuple(fresh.scalar(select(func.count()).select_from(model))
                     for model in (Complaint, CaseEvent, ProcessInstance, HumanTask, AuditEvent))


@pytest.fixture
def refuse_after_registering(monkeypatch: pytest.MonkeyPatch) -> Callable[[EngineError], list[int]]:
    """Make the officials' registration write the complaint, its procedure and audit event, then refuse."""
    def install(error: EngineError) -> list[int]:
        written: list[int] = []
        register = intake.submit_official

        def register_then_refuse(*args: Any, **kwargs: Any) -> Any:
            complaint, _created = register(*args, **kwargs)
            written.append(complaint.id)  # flushed: the rows exist in the request's transaction
            raise error

        monkeypatch.setattr(intake, "submit_official", register_then_refuse)
        return written

    return install


def test_an_api_call_refused_after_writing_keeps_nothing(api, db_engine: Engine,  # noqa: ANN001
                                                         refuse_after_registering) -> None:  # noqa: ANN001
    client = api("intake")
    before = counts(db_engine)
    written = refuse_after_registering(ConflictError("登记之后被拒绝"))

    response = client.post("/api/v1/complaints", json=COMPLAINT)

    assert response.status_code == 409
    assert response.get_json() == {"code": 409, "status": "操作冲突，请刷新后重试", "message": "登记之后被拒绝"}
    assert written, "the registration ran and flushed before refusing"
    assert counts(db_engine) == before


def test_a_page_form_refused_after_writing_keeps_nothing_and_says_why(client, login, db_engine: Engine,  # noqa: ANN001
                                                                      refuse_after_registering) -> None:  # noqa: ANN001
    login("intake")
    before = counts(db_engine)
    written = refuse_after_registering(FormInvalid({"facts": "事实与理由写得不够清楚，请补充"}))
    page = client.post("/cases/new", data=COMPLAINT_FORM)

    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "事实与理由写得不够清楚，请补充" in text  # the intake form again, with the reason at its field
    assert COMPLAINT["agreement_name"] in text  # and what was entered
    assert written
    assert counts(db_engine) == before


def test_a_view_that_returns_is_committed_once(client, login, db_engine: Engine) -> None:  # noqa: ANN001
    login("intake")
    commits: list[object] = []
    with client.application.app_context():
        app_engine = db.engine
    listener = lambda conn: commits.append(conn)  # noqa: E731
    event.listen(app_engine, "commit", listener)
    try:
        page = client.post("/cases/new", data=COMPLAINT_FORM)
    finally:
        event.remove(app_engine, "commit", listener)
    assert page.status_code == 303
    assert counts(db_engine)[0] >= 1
    # the request's own transaction commits once; the browser session store may commit its own short transaction
    assert 1 <= len(commits) <= 2, len(commits)
