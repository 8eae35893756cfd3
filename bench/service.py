"""(b) Steps through the engine service layer: load, run, save, inbox rows, one commit per step."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from bench.common import COMPLAINT, STEPS, check, median_time, stats
from engine.cases.services import register_complaint
from engine.org.models import Official
from engine.workflow import instances, serializer
from engine.workflow.models import HumanTask
from engine.workflow.registry import OPERATIONS


def officials(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {o.username: o.id for o in session.scalars(select(Official))}


def commit_cost(engine: Engine, repeat: int) -> dict[str, float]:
    """Milliseconds of one commit: after a read only ('empty') and after updating one row ('one_row')."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("DELETE FROM bench_commit"))
        conn.execute(text("INSERT INTO bench_commit (id, n) VALUES (1, 0)"))

    def commit_after(sql: str) -> Callable[[], float]:
        def once() -> float:
            with Session(engine) as session:
                session.execute(text(sql))
                start = time.perf_counter()
                session.commit()
                return time.perf_counter() - start
        return once

    result = {}
    for label, sql in (("empty", "SELECT 1"), ("one_row", "UPDATE bench_commit SET n = n + 1 WHERE id = 1")):
        once = commit_after(sql)
        for _ in range(20):
            once()
        result[label] = round(stats([once() for _ in range(repeat)]).median_ms, 4)

    def select_one() -> None:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))

    result["session_select_1_ms"] = round(median_time(select_one, repeat), 4)
    return result


def register_cases(engine: Engine, count: int, who: dict[str, int]) -> tuple[list[int], list[float]]:
    """Register `count` complaints (each starts its instance), one transaction each; returns ids and times."""
    ids, times = [], []
    for _ in range(count):
        start = time.perf_counter()
        with Session(engine) as session:
            actor = session.get(Official, who["intake"])
            complaint, _ = register_complaint(session, dict(COMPLAINT), actor)
            session.commit()
            ids.append(complaint.id)
        times.append(time.perf_counter() - start)
    return ids, times


def open_task_id(engine: Engine, complaint_id: int) -> str:
    with Session(engine) as session:
        return session.scalars(select(HumanTask.id).where(
            HumanTask.subject_id == complaint_id, HumanTask.completed_at.is_(None))).one()


def walk(engine: Engine, complaint_ids: list[int], who: dict[str, int],
         probe: Probe | None = None, cpu: list[float] | None = None) -> tuple[list[float], dict[str, list[float]]]:
    """Complete every case's steps as separate requests would: new session, load actor, complete, commit."""
    times: list[float] = []
    by_name: dict[str, list[float]] = {name: [] for name, _, _ in STEPS}
    for cid in complaint_ids:
        for name, data, username in STEPS:
            task_id = open_task_id(engine, cid)  # what the caller's inbox gave them; untimed
            if probe is not None:
                probe.active = True
            cpu_start, start = time.process_time(), time.perf_counter()
            with Session(engine) as session:
                actor = session.get(Official, who[username])
                done = instances.complete_task(session, task_id, dict(data), actor).spec_name
                if probe is not None:
                    probe.timed(session.commit, "COMMIT (excl. its flush)")()
                else:
                    session.commit()
            elapsed = time.perf_counter() - start
            if cpu is not None:
                cpu.append(time.process_time() - cpu_start)
            if probe is not None:
                probe.active = False
            check(done == name, (done, name))
            times.append(elapsed)
            by_name[name].append(elapsed)
    return times, by_name


@contextmanager
def documents_not_rendered() -> Iterator[None]:
    """公文 numbered and stored as usual, but with an empty .docx: what a step costs without rendering one."""
    from engine.documents import services as documents

    original = documents._render
    documents._render = lambda template, context: b""
    try:
        yield
    finally:
        documents._render = original


def run_service(engine: Engine, cases: int, render_documents: bool = True) -> dict[str, Any]:
    who = officials(engine)
    warm, _ = register_cases(engine, 3, who)
    walk(engine, warm, who)
    ids, start_times = register_cases(engine, cases, who)
    cpu: list[float] = []
    if render_documents:
        times, by_name = walk(engine, ids, who, cpu=cpu)
    else:
        with documents_not_rendered():
            times, by_name = walk(engine, ids, who, cpu=cpu)
    return {
        "cases": cases,
        "step": stats(times).as_dict(),
        "step_cpu_mean_ms": round(sum(cpu) * 1000 / len(cpu), 4),
        "register_complaint": stats(start_times).as_dict(),
        "step_median_ms_by_task": {k: round(stats(v).median_ms, 4) for k, v in by_name.items()},
    }


class Probe:
    """Times the phases of a step by wrapping engine functions; each phase excludes nested phases and SQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.active = False
        self.phase: Counter[str] = Counter()
        self.sql_time = 0.0
        self.sql_count: Counter[str] = Counter()
        self._sql_started = 0.0
        self._stack: list[list[float]] = []  # per open phase: [elapsed of nested phases, SQL inside them]
        self._undo: list[Callable[[], None]] = []

    def _before(self, *args: Any) -> None:
        self._sql_started = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.active:
            self.sql_time += time.perf_counter() - self._sql_started
            self.sql_count[statement.split(None, 1)[0].upper()] += 1

    def timed(self, fn: Callable[..., Any], phase: str) -> Callable[..., Any]:
        probe = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not probe.active:
                return fn(*args, **kwargs)
            probe._stack.append([0.0, 0.0])
            sql_before, start = probe.sql_time, time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed, sql = time.perf_counter() - start, probe.sql_time - sql_before
                nested, nested_sql = probe._stack.pop()
                probe.phase[phase] += elapsed - nested - (sql - nested_sql)
                if probe._stack:
                    probe._stack[-1][0] += elapsed
                    probe._stack[-1][1] += sql

        return wrapper

    def _wrap(self, owner: Any, attr: str, phase: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:  # the engine changed shape: leave that phase in "rest"
            return
        setattr(owner, attr, self.timed(original, phase))
        self._undo.append(lambda: setattr(owner, attr, original))

    def _wrap_helpers(self) -> None:
        original = getattr(instances, "_step_helpers", None)
        if original is None:
            return

        def helpers(ctx: Any) -> dict[str, Any]:
            return {k: self.timed(f, "deadline helpers in expressions") for k, f in original(ctx).items()}

        instances._step_helpers = helpers
        self._undo.append(lambda: setattr(instances, "_step_helpers", original))

    def _wrap_operations(self) -> None:
        saved = dict(OPERATIONS)
        for name, op in saved.items():
            OPERATIONS[name] = replace(op, run=self.timed(op.run, "service operations (excl. SQL)"))
        self._undo.append(lambda: OPERATIONS.update(saved))

    @contextmanager
    def installed(self) -> Iterator[Probe]:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        spiff = "SpiffWorkflow run (user task + engine steps)"
        self._wrap(instances, "validate_form", "form validation (jsonschema)")
        self._wrap(serializer, "load_workflow", "state load (JSON -> workflow)")
        self._wrap(serializer, "dump_workflow", "state dump (workflow -> JSON)")
        self._wrap(BpmnWorkflow, "do_engine_steps", spiff)
        self._wrap(SpiffTask, "run", spiff)
        self._wrap(instances, "_sync_inbox", "inbox projection (ORM query + rows; excl. lanes, due dates, SQL)")
        self._wrap(instances, "_resolve_lane", "lane resolution")
        self._wrap(instances, "_due", "task due dates (time limits, calendar)")
        self._wrap(instances, "_next_timer", "next timer column")
        self._wrap(Session, "flush", "ORM flush (unit of work, excl. SQL)")
        from engine.documents import services as documents

        self._wrap(documents, "_render", "公文 rendering (.docx from its template)")
        self._wrap_helpers()
        self._wrap_operations()
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._before)
            event.remove(self.engine, "after_cursor_execute", self._after)
            for undo in reversed(self._undo):
                undo()
            self._undo.clear()


def breakdown(engine: Engine, cases: int) -> dict[str, Any]:
    """Where the time of one step goes: means per step over an instrumented run (the probes add a little)."""
    who = officials(engine)
    ids, _ = register_cases(engine, cases, who)
    probe = Probe(engine)
    with probe.installed():
        times, _ = walk(engine, ids, who, probe)
    n = len(times)
    total = sum(times) * 1000 / n
    parts = {name: seconds * 1000 / n for name, seconds in probe.phase.items()}
    parts["SQL statements (cursor execute, excl. COMMIT)"] = probe.sql_time * 1000 / n
    parts["rest: SQLAlchemy ORM/session, Python glue"] = total - sum(parts.values())
    return {
        "steps": n,
        "total_ms": round(total, 4),
        "parts_ms": {k: round(v, 4) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])},
        "statements_per_step": {k: round(v / n, 2) for k, v in sorted(probe.sql_count.items())},
        "statements_per_step_total": round(sum(probe.sql_count.values()) / n, 2),
    }
