"""(d) Inbox query time at many open tasks, with the composite partial index and with weaker indexes."""
from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from bench.common import check, median_time
from engine.org.models import Department, Official
from engine.workflow import inbox as inbox_service
from engine.workflow.models import HumanTask, ProcessInstance, ProcessModel

COMPOSITE = "ix_human_task_open_department_due"
INBOX_USER = "ndrc"  # department ndrc, role ndrc: the busiest inbox
SHARE_IN_BUSY_DEPARTMENT = 0.3


def fill(engine: Engine, count: int, seed: int = 20260101) -> dict[str, Any]:
    """Insert `count` open human tasks (one instance each), 30 % of them in the busiest department."""
    rng = random.Random(seed)
    with Session(engine) as session:
        model_id = session.scalar(select(ProcessModel.id).where(ProcessModel.key == "complaint"))
        departments = list(session.scalars(select(Department.id)))
        busy = session.scalar(select(Official.department_id).where(Official.username == INBOX_USER))
        first_instance = (session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
    now = datetime.now(UTC)
    others = [d for d in departments if d != busy]
    instances, tasks = [], []
    for i in range(count):
        instance_id = first_instance + i
        instances.append({"id": instance_id, "model_id": model_id, "status": "running", "state": "{}",
                          "lock_version": 1, "started_at": now, "updated_at": now})
        dept = busy if rng.random() < SHARE_IN_BUSY_DEPARTMENT else rng.choice(others)
        tasks.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "instance_id": instance_id,
            "spec_name": "verify", "title": "核实认定", "lane": "supervisor", "department_id": dept,
            "role": rng.choice([None, None, "ndrc", "ndrc", "intake"]), "form": "verify.json",
            "due_at": None if rng.random() < 0.05 else now + timedelta(minutes=rng.randrange(0, 525600)),
            "created_at": now,
        })
    chunk = 10_000
    with Session(engine) as session:
        for start in range(0, count, chunk):
            session.execute(insert(ProcessInstance), instances[start:start + chunk])
        for start in range(0, count, chunk):
            session.execute(insert(HumanTask), tasks[start:start + chunk])
        session.commit()
    analyze(engine)
    return {"open_tasks": count, "share_in_busiest_department": SHARE_IN_BUSY_DEPARTMENT}


def analyze(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _explain(engine: Engine, official: Official, hinted: bool) -> str:
    query = inbox_service._visible(official, inbox_service.InboxFilter(), hinted).order_by(
        HumanTask.due_at, HumanTask.id).limit(50)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.execute(text(prefix + str(compiled))).all()
    return " | ".join(str(r[-1]) for r in rows)


def time_inbox(engine: Engine, repeat: int, shipped: bool = True) -> dict[str, Any]:
    """Median times of the inbox's first page: the whole service call, the page query alone, the count alone.

    `shipped`: the shipped index is there (the inbox() call names it on SQLite); else only the queries, unhinted."""
    with Session(engine) as session:
        official = session.scalar(select(Official).where(Official.username == INBOX_USER))
        check(official is not None, INBOX_USER)
        visible = inbox_service._visible(official, inbox_service.InboxFilter(), shipped)
        total = session.scalar(select(func.count()).select_from(visible.subquery()))
        page_query = visible.order_by(HumanTask.due_at, HumanTask.id).limit(50)
        count_query = select(func.count()).select_from(visible.subquery())

        def whole() -> None:
            session.expunge_all()
            session.rollback()
            inbox_service.inbox(session, official, limit=50)

        def page_only() -> None:
            session.expunge_all()
            session.scalars(page_query).all()

        def count_only() -> None:
            session.scalar(count_query)

        for fn in (whole, page_only, count_only) if shipped else (page_only, count_only):
            fn()
        result = {
            "visible_total": total,
            "page_query_orm_ms": round(median_time(page_only, repeat), 4),
            "count_query_ms": round(median_time(count_only, repeat), 4),  # exact, for comparison
        }
        if shipped:
            rows, capped = inbox_service.inbox(session, official, limit=50)
            check(len(rows) == 50, len(rows))
            result["inbox_call_ms"] = round(median_time(whole, repeat), 4)  # capped count + page
            result["inbox_total"] = str(capped)
        with engine.connect() as conn:  # the same statement through Core: rows, no ORM objects
            result["page_query_core_ms"] = round(median_time(lambda: conn.execute(page_query).all(), repeat), 4)
    with Session(engine) as session:
        official = session.scalar(select(Official).where(Official.username == INBOX_USER))
        result["plan"] = _explain(engine, official, shipped)
    return result


def run_inbox(engine: Engine, count: int, repeat: int) -> dict[str, Any]:
    """Fill, then time the inbox with the composite partial index, with department_id alone, with neither."""
    result: dict[str, Any] = {"fill": fill(engine, count)}
    result["composite_partial_index"] = time_inbox(engine, repeat)
    with engine.begin() as conn:
        conn.execute(text(f"DROP INDEX {COMPOSITE}"))
        conn.execute(text("CREATE INDEX ix_bench_human_task_department ON human_task (department_id)"))
    analyze(engine)
    result["index_on_department_only"] = time_inbox(engine, repeat, shipped=False)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_bench_human_task_department"))
    analyze(engine)
    result["no_department_index"] = time_inbox(engine, repeat, shipped=False)
    return result
