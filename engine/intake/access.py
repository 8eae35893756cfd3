"""Who may decide on suspected duplicates, and what a channel key may do to one complaint (registered with
engine/org/permissions.py)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import object_session

from engine.cases.access import view_case
from engine.cases.models import Complaint
from engine.intake.models import DuplicateCandidate
from engine.org import permissions
from engine.org.models import Official


@permissions.rule(permissions.DECIDE_DUPLICATES)
def _decide_duplicates(official: Official, candidate: DuplicateCandidate | None) -> bool:
    return candidate is None or (view_case(official, candidate.complaint) and view_case(official, candidate.other))


@permissions.channel_rule
def _channel_rule(key: permissions.ChannelPrincipal, permission: str, obj: Any) -> bool:
    """A channel reads the complaints it registered or that answer for one of its references, and lists and adds
    the files it sends for them."""
    if (permission not in (permissions.VIEW_CASE, permissions.VIEW_EVIDENCE, permissions.ADD_EVIDENCE)
            or not isinstance(obj, Complaint)):
        return False
    from engine.intake.services import channel_refs

    return obj.channel == key.channel or bool(channel_refs(object_session(obj), key.channel, obj))
