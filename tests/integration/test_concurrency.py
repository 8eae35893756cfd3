"""Optimistic concurrency with two real threads on PostgreSQL: one step wins, the other is told why."""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.cases.models import CaseEvent
from engine.cases.services import get_complaint, instance_of, open_tasks, register_complaint
from engine.errors import ConcurrentUpdate, EngineError, TaskNotReady
from engine.org.models import Official
from engine.workflow import serializer
from engine.workflow.instances import claim_task, complete_task
from engine.workflow.models import HumanTask
from tests.conftest import COMPLAINT
from tests.processes.conftest import START

pytestmark = pytest.mark.postgres
CHINESE = re.compile("[\u4e00-\u9fff]")
RIVALS = ("km-commerce", "km-commerce-lead")  # two officials of the supervising department
VERIFY = {"outcome": "founded", "explanation": "经核实，扶持资金确未兑现"}


@pytest.fixture
def pg(db_engine: Engine) -> Engine:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (set TEST_DATABASE_URL=postgresql://…): SQLite serialises writers anyway")
    return db_engine


@pytest.fixture
def case_at_verify(session: Session, official: Callable[[str], Official]) -> Callable[[], tuple[int, str]]:
    """Register a case and accept it, so its verify task waits in km-commerce's inbox; committed."""

    def make() -> tuple[int, str]:
        complaint, _ = register_complaint(session, COMPLAINT, official("intake"), now=START)
        [screening] = open_tasks(session, complaint)
        complete_task(session, screening.id, {"accepted": True}, official("intake"), now=START + timedelta(hours=1))
        session.commit()
        [verify] = open_tasks(session, complaint)
        assert verify.spec_name == "verify"
        return complaint.id, verify.id

    return make


def race(db_engine: Engine, work: Callable[[Session, Official], Any]) -> dict[str, BaseException | None]:
    """Run `work` as each rival in its own thread and Session, released together; commit or roll back."""
    barrier = threading.Barrier(len(RIVALS), timeout=20)
    outcomes: dict[str, BaseException | None] = {}

    def worker(username: str) -> None:
        with Session(db_engine, expire_on_commit=False) as session:
            actor = session.scalar(select(Official).where(Official.username == username))
            barrier.wait()
            try:
                work(session, actor)
                session.commit()
                outcomes[username] = None
            except BaseException as exc:  # reported to the main thread, which decides
                session.rollback()
                outcomes[username] = exc

    threads = [threading.Thread(target=worker, args=(name,), name=f"rival-{name}") for name in RIVALS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a rival hung (lock wait?)"
    return outcomes


def one_winner(outcomes: dict[str, BaseException | None], expected: tuple[type[EngineError], ...]) -> EngineError:
    """Exactly one rival succeeded; the other failed with one of `expected`, in Chinese. Returns that error."""
    winners = [name for name, exc in outcomes.items() if exc is None]
    losers = [exc for exc in outcomes.values() if exc is not None]
    assert len(winners) == 1, outcomes
    [error] = losers
    if not isinstance(error, expected):
        raise error
    assert CHINESE.search(error.message), error.message
    return error


def verify_completions(session: Session, complaint_id: int) -> list[CaseEvent]:
    events = session.scalars(select(CaseEvent).where(
        CaseEvent.complaint_id == complaint_id, CaseEvent.kind == "task_completed"))
    return [e for e in events if e.data.get("task") == "verify"]


def assert_advanced_once(db_engine: Engine, complaint_id: int, task_id: str, lock_version: int) -> None:
    with Session(db_engine) as session:
        complaint = get_complaint(session, complaint_id)
        assert len(verify_completions(session, complaint_id)) == 1
        assert [t.spec_name for t in open_tasks(session, complaint)] == ["order_rectification"]
        done = session.get(HumanTask, task_id)
        assert done.completed_at is not None
        assert session.get(Official, done.completed_by_id).username in RIVALS
        instance = instance_of(session, complaint)
        assert instance.lock_version == lock_version + 1
        assert complaint.status == "ordering"  # founded: rectification is being ordered


@pytest.mark.parametrize("round_", range(3))
def test_two_officials_complete_the_same_task_at_once(
        pg: Engine, session: Session, case_at_verify: Callable[[], tuple[int, str]], round_: int) -> None:
    complaint_id, task_id = case_at_verify()
    lock_version = instance_of(session, get_complaint(session, complaint_id)).lock_version

    outcomes = race(pg, lambda s, actor: complete_task(s, task_id, VERIFY, actor, now=START + timedelta(hours=2)))

    one_winner(outcomes, (ConcurrentUpdate, TaskNotReady))
    assert_advanced_once(pg, complaint_id, task_id, lock_version)


@pytest.fixture
def both_read_before_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold each step just before it saves until both rivals have loaded the same instance version."""
    gate = threading.Barrier(len(RIVALS), timeout=20)
    dump = serializer.dump_workflow

    def dump_when_both_ran(workflow: Any) -> str:
        if threading.current_thread().name.startswith("rival-"):
            gate.wait()
        return dump(workflow)

    monkeypatch.setattr(serializer, "dump_workflow", dump_when_both_ran)


@pytest.mark.usefixtures("both_read_before_writing")
def test_the_version_check_refuses_the_second_save(
        pg: Engine, session: Session, case_at_verify: Callable[[], tuple[int, str]]) -> None:
    complaint_id, task_id = case_at_verify()
    lock_version = instance_of(session, get_complaint(session, complaint_id)).lock_version

    outcomes = race(pg, lambda s, actor: complete_task(s, task_id, VERIFY, actor, now=START + timedelta(hours=2)))

    error = one_winner(outcomes, (ConcurrentUpdate,))
    assert error.message == "该案件刚刚已被他人办理，您的提交未保存，请刷新后查看最新状态"
    assert_advanced_once(pg, complaint_id, task_id, lock_version)


@pytest.mark.parametrize("round_", range(3))
def test_exactly_one_claim_wins(
        pg: Engine, session: Session, case_at_verify: Callable[[], tuple[int, str]], round_: int) -> None:
    complaint_id, task_id = case_at_verify()

    outcomes = race(pg, lambda s, actor: claim_task(s, task_id, actor))

    error = one_winner(outcomes, (ConcurrentUpdate,))
    assert error.message == "该任务已被他人认领或处理，请刷新后再试"
    [winner] = [name for name, exc in outcomes.items() if exc is None]
    with Session(pg) as check:
        task = check.get(HumanTask, task_id)
        assert task.claimed_by.username == winner
        assert task.completed_at is None


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    assert not [t for t in threading.enumerate() if t not in before and t.name.startswith("rival-")]
