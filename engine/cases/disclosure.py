"""What of an audit event one viewer may read: a case's contents only for those who may see the case.

The audit log is open to system administrators, who may not see case contents (engine.org.permissions:
no `view_case`). An event about a case (it has `complaint_id`) therefore shows its before/after values
only to a viewer allowed `view_case` for that complaint, and the complainant's contact fields only to one
also allowed `view_contact_data`; everyone else reads the field names with the values hidden, except a few
plain facts about the step (status, task, position …). Pages, the API and the browser export take events
from here; `flask audit export` (the operator on the server) gives them whole. It lives with the cases,
not in engine/audit, because the log knows no case.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.audit.services import as_dict, name_resolver
from engine.cases.contact import CONTACT_FIELDS
from engine.cases.models import Complaint
from engine.org import permissions
from engine.org.models import Official

HIDDEN = "（已隐去）"
# keys whose values say what happened, not what the case contains: shown to every auditor (an administrator's
# reason and a failed step's error are what repairing a process needs)
PLAIN_FACTS = frozenset({"status", "task", "task_id", "position", "via", "kept_row", "kept_outcome", "count",
                         "tracking_code", "channel", "reason", "error"})


@name_resolver("tracking_code")
def complaint_ids(_session: Session, tracking_code: str) -> Select:
    """SQL selecting the id of the case with this tracking code (an audit search's `tracking_code`)."""
    return select(Complaint.id).where(Complaint.tracking_code == tracking_code)


class Disclosure:
    """One viewer's reading of audit events; remembers what they may see per case."""

    def __init__(self, session: Session, viewer: Official) -> None:
        self.session, self.viewer = session, viewer
        self._seen: dict[int, tuple[bool, bool]] = {}

    def may_see(self, complaint_id: int | None) -> tuple[bool, bool]:
        """(case contents, contact data) for events of this case; everything for events of no case."""
        if complaint_id is None:
            return True, True
        if complaint_id not in self._seen:
            complaint = self.session.get(Complaint, complaint_id)
            case = complaint is not None and permissions.allowed(self.viewer, permissions.VIEW_CASE, complaint)
            contact = case and permissions.allowed(self.viewer, permissions.VIEW_CONTACT_DATA, complaint)
            self._seen[complaint_id] = (case, contact)
        return self._seen[complaint_id]

    def view(self, event: AuditEvent) -> dict[str, Any]:
        """Every field of the event (`at` a datetime), before/after as the viewer may read them, and
        `redacted`: whether anything was hidden (the hash then covers values the viewer does not get)."""
        case, contact = self.may_see(event.complaint_id)
        before, after = _shown(event.before, case, contact), _shown(event.after, case, contact)
        return {"id": event.id, "at": event.at, "actor_id": event.actor_id, "actor_label": event.actor_label,
                "ip": event.ip, "action": event.action, "object_type": event.object_type,
                "object_id": event.object_id, "complaint_id": event.complaint_id, "before": before,
                "after": after, "chain": event.chain, "seq": event.seq, "prev_hash": event.prev_hash,
                "hash": event.hash, "redacted": (before, after) != (event.before, event.after)}

    def views(self, events: list[AuditEvent]) -> list[dict[str, Any]]:
        return [self.view(e) for e in events]

    def export_line(self, event: AuditEvent) -> dict[str, Any]:
        """`view` as an export line: services.as_dict with the viewer's before/after and `redacted`."""
        shown = self.view(event)
        return {**as_dict(event), "before": shown["before"], "after": shown["after"], "redacted": shown["redacted"]}


def _shown(value: Any, case: bool, contact: bool, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _shown(v, case, contact, k) for k, v in value.items()}
    if value is None or value == "":
        return value
    if key in CONTACT_FIELDS and not contact:
        return HIDDEN
    if case or key in PLAIN_FACTS:
        if isinstance(value, list):
            return [_shown(v, case, contact, key) for v in value]
        return value
    return HIDDEN
