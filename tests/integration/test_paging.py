"""Paged lists count only as far as a page needs: exact up to offset + 1000, "1000+" beyond (engine/paging.py)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.org.models import Official
from engine.paging import CAP, Total, capped_count
from engine.workflow.models import HumanTask, ProcessInstance, ProcessModel


def _fill_inbox(session: Session, username: str, count: int) -> set[str]:
    """`count` open tasks in the department of `username` (one instance each); their ids."""
    department = session.scalar(select(Official.department_id).where(Official.username == username))
    model = session.scalar(select(ProcessModel.id).where(ProcessModel.key == "complaint"))
    now = datetime.now(UTC)
    rows = session.execute(insert(ProcessInstance).returning(ProcessInstance.id), [
        {"model_id": model, "status": "running", "state": "{}", "lock_version": 1} for _ in range(count)]).scalars()
    tasks = [{"id": str(uuid.uuid4()), "instance_id": instance, "spec_name": "verify", "title": "核实认定",
              "lane": "ndrc", "department_id": department, "role": None, "form": "verify.json",
              "due_at": now + timedelta(minutes=n), "created_at": now} for n, instance in enumerate(rows)]
    session.execute(insert(HumanTask), tasks)
    session.commit()
    return {t["id"] for t in tasks}


def test_a_capped_total_is_a_bound_that_grows_with_the_offset(session: Session) -> None:
    ids = _fill_inbox(session, "ndrc", CAP + 150)
    query = select(HumanTask).where(HumanTask.id.in_(ids))
    first = capped_count(session, query)
    assert (int(first), first.exact, str(first)) == (CAP, False, f"{CAP}+")
    assert (first.pages(50), first.has_next(1, 50)) == (None, True)
    later = capped_count(session, query, offset=CAP)
    assert (int(later), later.exact, str(later)) == (CAP + 150, True, str(CAP + 150))
    assert later.pages(50) == (CAP + 150 + 49) // 50
    small = Total(3)
    assert (small.exact, str(small), small + 1) == (True, "3", 4)


def test_the_api_inbox_reports_a_bound_and_a_walk_still_reads_every_task(api, session: Session) -> None:  # noqa: ANN001
    ids = _fill_inbox(session, "ndrc", CAP + 150)
    caller = api("ndrc")
    body = caller.get("/api/v1/tasks?limit=500").get_json()
    assert (body["total"], body["total_exact"], len(body["items"])) == (CAP, False, 500)
    seen: list[str] = []
    offset, total = 0, body["total"]
    while offset < total:  # the walk docs/api.md describes
        page = caller.get(f"/api/v1/tasks?limit=500&offset={offset}").get_json()
        seen += [t["id"] for t in page["items"]]
        offset, total = offset + 500, page["total"]
    assert page["total_exact"] is True
    assert set(seen) == ids
    assert len(seen) == len(ids)
    few = api("km-commerce").get("/api/v1/tasks").get_json()
    assert (few["total"], few["total_exact"]) == (0, True)


def test_the_inbox_page_says_1000_plus_and_offers_the_next_page(client, login, session: Session) -> None:  # noqa: ANN001
    _fill_inbox(session, "ndrc", CAP + 10)
    login("ndrc")
    page = client.get("/").get_data(as_text=True)
    assert f"共 {CAP}+ 项" in page
    assert "下一页" in page
    assert "第 1 页" in page  # no page count: it is not known
    last = client.get(f"/?page={(CAP + 10 + 19) // 20}").get_data(as_text=True)  # 20 a page
    assert f"共 {CAP + 10} 项" in last
    assert "下一页" not in last


def test_the_case_list_reports_whether_its_total_is_exact(api) -> None:  # noqa: ANN001
    from tests.conftest import COMPLAINT

    intake = api("intake")
    assert intake.post("/api/v1/complaints", json=COMPLAINT).status_code == 201
    body = api("ndrc").get("/api/v1/complaints").get_json()
    assert (body["total"], body["total_exact"], len(body["items"])) == (1, True, 1)
