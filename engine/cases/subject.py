"""The complaint as the subject of its process instances: what the workflow runtime asks of it (loading, a line
in its history, its tracking code, its status), registered with engine/workflow/registry.py: `subject`."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from engine.cases.models import CaseEvent, Complaint
from engine.cases.status import STATUSES
from engine.org.models import Official
from engine.workflow import registry


def _load(session: Session, complaint_id: int) -> Complaint | None:
    return session.get(Complaint, complaint_id)


def note(session: Session, complaint_id: int, at: datetime, kind: str, summary: str, actor: Official | None = None,
         data: dict[str, Any] | None = None) -> None:
    """One line of the case's history written by the process (by `actor`, when an official's step caused it)."""
    fields: dict[str, Any] = {"data": data} if data is not None else {}
    if actor is not None:
        fields.update(actor_id=actor.id, actor_label=actor.label)
    session.add(CaseEvent(complaint_id=complaint_id, at=at, kind=kind, summary=summary, **fields))


def _count_notes(session: Session, kind: str) -> dict[int, int]:
    return dict(session.execute(  # type: ignore[arg-type]
        select(CaseEvent.complaint_id, func.count()).where(CaseEvent.kind == kind)
        .group_by(CaseEvent.complaint_id)).all())


def _set_status(complaint: Complaint, status: str) -> None:
    """The `caseStatus` of the first task that became ready; a closed case stays closed."""
    if complaint.status != "closed":
        complaint.status = status


def _statuses() -> Mapping[str, str]:
    return STATUSES


registry.subject(registry.Subject(
    load=_load, note=note, count_notes=_count_notes, label=lambda complaint: complaint.tracking_code,
    label_columns=lambda: (Complaint.id, Complaint.tracking_code), status=lambda complaint: complaint.status,
    set_status=_set_status, statuses=_statuses,
    # the lanes (engine/cases/lanes.py) route most steps to the respondent or its supervisor
    step_options=lambda: (joinedload(Complaint.respondent), joinedload(Complaint.supervisor))))
