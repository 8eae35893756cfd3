"""Walking a complaint through complaint.bpmn at engine level, optionally through a save/restore round trip."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import CaseEvent, Complaint
from engine.cases.services import history, instance_of, open_tasks, register_complaint
from engine.errors import PermissionDenied
from engine.org.models import Official
from engine.workflow import serializer, specs
from engine.workflow.inbox import InboxFilter, inbox
from engine.workflow.instances import complete_task, load_workflow
from engine.workflow.models import HumanTask, ProcessInstance
from tests.conftest import COMPLAINT

# 2026-03-02 09:00 in Kunming (a Monday); each step happens an hour after the previous one
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def round_trip(session: Session, instance: ProcessInstance) -> None:
    """Full save/restore: load, re-serialize (stable), restore the spec from spec_json, store back."""
    workflow = load_workflow(instance)
    dumped = serializer.dump_workflow(workflow)
    assert json.loads(dumped) == json.loads(instance.state)
    specs._SPEC_CACHE.clear()
    spec, subprocess_specs = specs.spec_for(instance.model)  # restored from the stored spec_json
    restored = serializer.load_workflow(dumped, spec, subprocess_specs)
    assert serializer.dump_workflow(restored) == dumped
    instance.state = dumped
    session.commit()


@dataclass
class ComplaintRun:
    """One case being walked: register, then complete each step as the department its lane names."""

    session: Session
    official: Callable[[str], Official]
    save_restore: bool
    now: datetime = START
    complaint: Complaint | None = None
    steps: list[str] = field(default_factory=list)

    def register(self, **overrides: Any) -> Complaint:
        self.complaint, created = register_complaint(
            self.session, {**COMPLAINT, **overrides}, self.official("intake"), now=self._tick())
        assert created
        self.session.commit()
        self._after_step()
        return self.complaint

    def task(self, spec_name: str, username: str, department: str | None = None) -> HumanTask:
        """The case's one open task: `spec_name`, in `username`'s inbox and nobody else's outside the department."""
        tasks = open_tasks(self.session, self.complaint)
        assert [t.spec_name for t in tasks] == [spec_name], self.steps
        task = tasks[0]
        actor = self.official(username)
        if department is not None:
            assert task.department.code == department
        assert task.department_id == actor.department_id
        mine, _ = inbox(self.session, actor, InboxFilter(subject_id=self.complaint.id))
        assert [t.id for t in mine] == [task.id]
        for other in self.session.scalars(select(Official)):
            seen, total = inbox(self.session, other, InboxFilter(subject_id=self.complaint.id))
            allowed = other.department_id == task.department_id and (task.role is None or other.has_role(task.role))
            assert ([t.id for t in seen], total) == (([task.id], 1) if allowed else ([], 0)), other.username
        return task

    def complete(self, spec_name: str, username: str, data: dict[str, Any],
                 department: str | None = None) -> HumanTask:
        """Complete the open `spec_name` task as `username` (after checking an outsider may not)."""
        task = self.task(spec_name, username, department)
        outsider = self._outsider(task)
        with pytest.raises(PermissionDenied, match="无权处理"):
            complete_task(self.session, task.id, data, outsider, now=self.now)
        done = complete_task(self.session, task.id, data, self.official(username), now=self._tick())
        self.session.commit()
        self.steps.append(spec_name)
        self._after_step()
        return done

    def events(self, kind: str) -> list[CaseEvent]:
        return [e for e in history(self.session, self.complaint) if e.kind == kind]

    def notices(self) -> list[str]:
        return [e.public_note or "" for e in self.events("complainant_notice")]

    def instance(self) -> ProcessInstance:
        found = instance_of(self.session, self.complaint)
        assert found is not None
        return found

    def assert_closed(self, result: str) -> None:
        self.session.refresh(self.complaint)
        assert self.complaint.status == "closed"
        assert self.complaint.result == result
        assert open_tasks(self.session, self.complaint) == []
        assert self.instance().status == "completed"
        assert [e.data["result"] for e in self.events("closed")] == [result]

    def _tick(self) -> datetime:
        self.now += timedelta(hours=1)
        return self.now

    def _after_step(self) -> None:
        if self.save_restore:
            round_trip(self.session, self.instance())

    def _outsider(self, task: HumanTask) -> Official:
        """An official of the respondent or, when the task is the respondent's, of another department."""
        for username in ("guandu-commerce", "km-commerce", "qj-commerce"):
            candidate = self.official(username)
            if candidate.department_id != task.department_id:
                return candidate
        raise AssertionError("no outsider")


@pytest.fixture
def run_complaint(session: Session, official: Callable[[str], Official]) -> Callable[..., ComplaintRun]:
    """run_complaint(save_restore, **complaint overrides) → a registered case ready to walk."""

    def start(save_restore: bool, **overrides: Any) -> ComplaintRun:
        run = ComplaintRun(session, official, save_restore)
        run.register(**overrides)
        return run

    return start
