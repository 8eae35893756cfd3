"""Task-page previews named by a form's `x-preview`: the inbox shows, below the form, the page the public will
see for what is being edited (and fills the form with the text so far)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.credit import exposure
from engine.credit.exposure import PublicCase
from engine.workflow.models import HumanTask
from web.extensions import db

EDITABLE = {"title", "public_text"}


@dataclass
class TaskPreview:
    case: PublicCase
    errors: dict[str, str]
    editable: bool  # the form edits the text (redaction) rather than judging it (approval)
    record_id: int
    defaults: dict[str, str] = field(default_factory=dict)


def task_preview(human: HumanTask, schema: dict, values: dict[str, Any] | None) -> TaskPreview | None:
    """The preview of `human`'s typical case for the posted `values` (None: the text as stored)."""
    if schema.get("x-preview") != "typical_case":
        return None
    case = exposure.case_of_instance(db.session, human.instance_id)
    if case is None:
        return None
    editable = set(schema.get("properties", {})) >= EDITABLE
    title, text = case.title, case.public_text
    if editable and values is not None:
        title, text = str(values.get("title") or ""), str(values.get("public_text") or "")
    view, errors = exposure.preview(db.session, case, title.strip(), text.strip())
    defaults = {"title": case.title, "public_text": case.public_text} if editable else {}
    return TaskPreview(view, errors if editable else {}, editable, case.record_id, defaults)
