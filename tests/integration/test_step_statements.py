"""The SQL a completion costs through the service layer (issue 16): counted, not timed.

Each step of the smoke path is completed as a request would (own session, actor loaded, `complete_task`, commit)
and every statement is recorded. The step's own rows take at most 8 statements: the task read with its instance,
process version and the instance's subject (the case, of the class its owner registered: the workflow runtime
names no complaint) in one statement, one UPDATE of the instance (its state and optimistic lock), the task's
completion, the next task's row, the case's status, the history line and the audit chain's two (head, event).
Settings (time limits, calendar, 公文 series, templates and their stored versions) cost no statement while nobody
changes them: the first read takes the settings generation along (engine/settings_cache.py). Nothing the step
loaded is read again. What the procedure does besides (a 公文 numbered and stored, a message queued, a breach
record) comes on top and is budgeted per step, so a statement added anywhere on this path fails here.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.cases.services import open_tasks, register_complaint
from engine.org.models import Official
from engine.workflow.instances import complete_task
from tests.conftest import COMPLAINT

STEPS: list[tuple[str, dict[str, Any], str]] = [
    ("screening", {"accepted": True}, "intake"),
    ("verify", {"outcome": "founded", "explanation": "属实"}, "km-commerce"),
    ("order_rectification", {"deadline": "2027-01-15", "requirements": "按协议兑现扶持资金"}, "km-commerce"),
    ("report_rectification", {"completed": False, "measures": "资金未落实"}, "guandu-commerce"),
    ("review_rectification", {"rectified": False}, "km-commerce"),
    ("confirm_breach_task", {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现"},
     "km-commerce"),
    ("ndrc_review", {"approved": True, "national_report_number": "云发改信用〔2026〕21号"}, "ndrc"),
]
LOADED = {"human_task", "process_instance", "process_model", "complaint"}
# besides the step's own rows: the next task's lane, a message queued, 公文 numbered and stored
BESIDES = {("SELECT", "department"), ("INSERT", "sms_outbox")}
SETTINGS = {"settings_generation", "time_limit", "calendar_year", "calendar_day", "document_series",
            "document_template", "document_template_version"}  # read from the process's snapshots
# every statement of each step, as measured when this test was written (issue 16): the service operations' rows
# (公文, breach record, platform delivery, history lines) included
# since 公文 are rendered after the step, each document also looks up its template version (one SELECT; the first
# document of a template stores it, which the warm-up case does); the case read joined into the first statement made
# room for it except at screening (two documents)
# the case's respondent and supervisor come with the joined read (the lanes route to them), and a department named
# in a history line is taken from those when it is one of them
# settings kept per process (engine/settings_cache.py): no step reads a time limit, the calendar, a 公文 series,
# template or template version while nobody changes them — 127 → 102 statements for the walk
BUDGET = {"screening": 17, "verify": 11, "order_rectification": 12, "report_rectification": 9,
          "review_rectification": 9, "confirm_breach_task": 18, "ndrc_review": 24}
PLAIN = ("report_rectification", "review_rectification")  # steps that run no service operation and issue no 公文


def _table(statement: str) -> tuple[str, str]:
    verb = statement.split(None, 1)[0].upper()
    while re.search(r"\([^()]*\)", statement):  # the table a statement is about: not one its subqueries read
        statement = re.sub(r"\([^()]*\)", "", statement)
    match = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.IGNORECASE)
    return verb, match.group(1) if match else ""


def test_a_completion_stays_within_its_statement_budget(db_engine: Engine, session: Session) -> None:
    complaint, _ = register_complaint(session, dict(COMPLAINT), session.scalar(
        select(Official).where(Official.username == "intake")))
    session.commit()
    seen: list[str] = []
    intake = session.scalar(select(Official).where(Official.username == "intake"))
    # twice before counting: the first walk stores each 公文's template version (a settings change, which the next
    # step reads settings again after: engine/settings_cache.py); the second walks with settings unchanged, as a
    # running system mostly does
    for number in ("WARM-UP-1", "WARM-UP-2"):
        warm_up, _ = register_complaint(session, dict(COMPLAINT, agreement_number=number), intake)
        session.commit()
        for _name, data, username in STEPS:
            [task] = open_tasks(session, warm_up)
            complete_task(session, task.id, dict(data), session.scalar(
                select(Official).where(Official.username == username)))
            session.commit()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            seen.append(" ".join(statement.split()))

    for name, data, username in STEPS:
        [task] = open_tasks(session, complaint)
        assert task.spec_name == name
        with Session(db_engine) as request:
            actor = request.scalar(select(Official).where(Official.username == username))
            seen.clear()
            event.listen(db_engine, "before_cursor_execute", record)
            try:
                complete_task(request, task.id, dict(data), actor)
                request.commit()
            finally:
                event.remove(db_engine, "before_cursor_execute", record)
        session.expire_all()
        tables = [_table(s) for s in seen]
        detail = "\n".join(seen)
        assert tables[0] == ("SELECT", "human_task"), detail
        assert "JOIN process_instance" in seen[0], detail
        reads = [t for t in tables[1:] if t[0] == "SELECT" and t[1] in LOADED]
        assert reads == [], f"{name} reads again what the step loaded: {reads}\n{detail}"
        kinds = Counter(tables)
        assert kinds[("UPDATE", "process_instance")] == 1, detail
        settings = [t for t in tables if t[0] == "SELECT" and t[1] in SETTINGS]
        assert settings == [], f"{name} reads settings nobody changed: {settings}\n{detail}"
        assert len(seen) <= BUDGET[name], f"{name}: {len(seen)} statements, budget {BUDGET[name]}\n{detail}"
        if name in PLAIN:
            own = [t for t in tables if t not in BESIDES]
            assert len(own) <= 8, f"{name}: {len(own)} statements for its own rows\n{detail}"


def test_over_http_a_completion_adds_only_authentication(app, api) -> None:  # noqa: ANN001
    """POST /api/v1/tasks/<id>/complete: before the step's joined read, only the bearer token is checked; the audit
    log's mark for a retry after a timer's step comes with that read, not as a statement of its own."""
    from web.extensions import db

    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=dict(COMPLAINT)).get_json()["id"]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    for name, data, username in STEPS:
        caller = api(username)
        [task] = caller.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"]
        assert task["spec_name"] == name
        with app.app_context():
            engine = db.engine
        seen.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert caller.post(f"/api/v1/tasks/{task['id']}/complete", json=dict(data)).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", record)
        read = next(i for i, s in enumerate(seen) if "FROM human_task JOIN process_instance" in s)
        before = {_table(s) for s in seen[:read]}
        assert before <= {("SELECT", "api_token"), ("UPDATE", "api_token")}, (name, "\n".join(seen[:read]))
        assert "audit_event" in seen[read], "the audit mark is read with the case"
