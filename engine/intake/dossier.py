"""What an official sees of a case while deciding a task: the decisions made so far (with the values of each
form by field title), the evidence files they may read and the 补正 exchanges with the complainant.

Decisions come from the case history (`task_completed` events carry the task, its department and the
submitted form); a decision later undone by 退回 (repair.move_back or the DRC's correction) is marked
`superseded`, so nobody decides on a step that no longer counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import CaseEvent, Complaint
from engine.deadlines import dates
from engine.intake import evidence, supplements
from engine.intake.models import EvidenceFile, SupplementRequest
from engine.org import permissions
from engine.org.models import Official
from engine.workflow import clock
from engine.workflow.forms import labelled_values
from engine.workflow.instances import task_form, task_properties
from engine.workflow.models import HumanTask, ProcessInstance

MOVED_BACK_KINDS = ("task_moved_back", "case_corrected")


@dataclass
class Decision:
    """One completed user task of the case."""

    task: str
    title: str
    completed_at: datetime
    department: str | None
    official: str | None
    values: dict[str, str]
    superseded: bool = False


@dataclass
class Dossier:
    """The case file shown beside a task's form."""

    decisions: list[Decision]
    evidence: list[EvidenceFile] | None  # None: the viewer may not read the evidence (see `evidence_count`)
    evidence_count: int
    supplements: list[SupplementRequest]
    compare: list[Decision] = field(default_factory=list)  # the decisions the task's diagram asks to show side by side
    defaults: dict[str, str] = field(default_factory=dict)  # pre-filled form values (dates from time limits)
    hints: dict[str, str] = field(default_factory=dict)  # per date field: default, earliest and latest date
    ranges: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # per date field: min, max


def decisions(session: Session, complaint_id: int) -> list[Decision]:
    """The case's completed user tasks, oldest first, each with its form values by field title."""
    events = list(session.scalars(select(CaseEvent).where(
        CaseEvent.complaint_id == complaint_id,
        CaseEvent.kind.in_(("task_completed", *MOVED_BACK_KINDS))).order_by(CaseEvent.at, CaseEvent.id)))
    forms = _forms_of(session, complaint_id)
    found: list[tuple[CaseEvent, Decision]] = []
    for event in events:
        data = event.data or {}
        if event.kind in MOVED_BACK_KINDS:
            _supersede(found, str(data.get("task_id") or ""), event.at)
            continue
        spec_name = str(data.get("task") or "")
        form_name, title = data.get("form_name"), data.get("title")
        if form_name is None or title is None:  # events written before the task's details were kept
            row = _task_row(session, complaint_id, spec_name)
            form_name = form_name or (row.form if row else None)
            title = title or (row.title if row else spec_name)
        schema = forms.get(str(form_name or ""), {})
        official = session.get(Official, event.actor_id) if event.actor_id else None
        department = data.get("department") or (official.department.name if official else None)
        found.append((event, Decision(
            task=spec_name, title=str(title), completed_at=event.at, department=department,
            official=official.full_name if official else event.actor_label,
            values=labelled_values(schema, data.get("form") or {}))))
    return [decision for _, decision in found]


def for_task(session: Session, human: HumanTask, viewer: Official, now: datetime | None = None) -> Dossier:
    """Everything the task page and `GET /api/v1/tasks/{id}` show beside the form: the case file, the decisions the
    diagram's `compareWith` property names (side by side), and the form's date defaults and bounds."""
    moment = now or clock.now()
    wanted = [name.strip() for name in str(task_properties(human).get("compareWith") or "").split(",") if name.strip()]
    found = dossier(session, human, viewer, wanted)
    if human.completed_at is None:
        schema = task_form(human)
        found.defaults = dates.form_defaults(session, schema, moment)
        found.hints = dates.form_hints(session, schema, moment)
        found.ranges = dates.form_ranges(session, schema, moment)
    return found


def dossier(session: Session, human: HumanTask, viewer: Official, compare_with: list[str] | None = None) -> Dossier:
    """Decisions, evidence (as the viewer may see it) and 补正 exchanges of the task's case."""
    complaint = session.get(Complaint, human.subject_id) if human.subject_id else None
    if complaint is None:
        return Dossier([], None, 0, [])
    made = decisions(session, complaint.id)
    files = evidence.files_of(session, complaint)
    may_read = permissions.allowed(viewer, permissions.VIEW_EVIDENCE, complaint)
    wanted = compare_with or []
    compare = [_latest(made, name) for name in wanted]
    return Dossier(made, files if may_read else None, len(files), supplements.requests_of(session, [complaint]),
                   [d for d in compare if d is not None])


def _latest(made: list[Decision], spec_name: str) -> Decision | None:
    return next((d for d in reversed(made) if d.task == spec_name and not d.superseded), None)


def _supersede(found: list[tuple[CaseEvent, Decision]], task_id: str, at: datetime) -> None:
    """A move back to task `task_id` at `at` undoes that task's last decision and every one after it."""
    start = None
    for index, (event, _) in enumerate(found):
        if str((event.data or {}).get("task_id") or "") == task_id and event.at <= at:
            start = index
    if start is None:
        return
    for _, decision in found[start:]:
        decision.superseded = True


def _forms_of(session: Session, complaint_id: int) -> dict[str, dict]:
    """Forms of every process version the case's instances ran on (a migrated case keeps its old forms too)."""
    forms: dict[str, dict] = {}
    for instance in session.scalars(select(ProcessInstance).where(ProcessInstance.subject_id == complaint_id)
                                    .order_by(ProcessInstance.id)):
        forms = {**instance.model.forms, **forms}
    return forms


def _task_row(session: Session, complaint_id: int, spec_name: str) -> HumanTask | None:
    return session.scalar(select(HumanTask).where(HumanTask.subject_id == complaint_id,
                                                  HumanTask.spec_name == spec_name).limit(1))
