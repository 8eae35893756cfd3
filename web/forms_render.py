"""Generic HTML forms from a task's JSON Schema: fields to render, and posted values parsed by type."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from engine.org.models import LEVELS, Department

RADIO_LIMIT = 4  # enums with at most this many options render as radio buttons, longer ones as a select


@dataclass
class FormField:
    """One field as the template draws it; `value` is the string the browser posts back."""

    name: str
    title: str
    widget: str  # radio | select | date | textarea | number | text
    description: str = ""
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    error: str | None = None
    max_length: int | None = None
    min: str | None = None  # a date field's earliest and latest accepted day (the server checks them too)
    max: str | None = None


def main_type(prop: dict) -> str:
    """The property's JSON type, ignoring "null" in a type list."""
    types = prop.get("type", "string")
    if isinstance(types, list):
        types = next((t for t in types if t != "null"), "string")
    return str(types)


def build_fields(
    schema: dict, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
    departments: list[tuple[str, str]] | None = None, hints: dict[str, str] | None = None,
    ranges: dict[str, tuple[str | None, str | None]] | None = None,
) -> list[FormField]:
    """The fields of `schema` in its order, filled with `values` (as posted or stored) and `errors`; `hints` are
    appended to a field's description (e.g. a date's default, earliest and latest day)."""
    values, errors, hints = values or {}, errors or {}, hints or {}
    required = set(schema.get("required", []))
    result = []
    for name, prop in schema.get("properties", {}).items():
        kind = main_type(prop)
        item = FormField(name=name, title=prop.get("title", name), widget="text",
                         description="；".join(t for t in (prop.get("description", ""), hints.get(name, "")) if t),
                         required=name in required,
                         value=_as_text(values.get(name)), error=errors.get(name),
                         max_length=prop.get("maxLength"))
        if kind == "boolean":
            labels = prop.get("x-labels") or {}
            item.widget = "radio"
            item.options = [("true", labels.get("true", "是")), ("false", labels.get("false", "否"))]
        elif "enum" in prop:
            names = prop.get("x-enumNames") or [str(v) for v in prop["enum"]]
            item.options = [("" if v is None else str(v), label) for v, label in zip(prop["enum"], names, strict=False)]
            item.widget = "radio" if len(item.options) <= RADIO_LIMIT else "select"
        elif prop.get("x-widget") == "department":
            item.widget = "select"
            item.options = list(departments or [])
        elif prop.get("x-widget") == "textarea":
            item.widget = "textarea"
        elif kind == "string" and prop.get("format") == "date":
            item.widget = "date"
            item.min, item.max = (ranges or {}).get(name, (None, None))
        elif kind in ("integer", "number"):
            item.widget = "number"
        result.append(item)
    return result


def parse_posted(schema: dict, form: MultiDict) -> dict[str, Any]:
    """Posted strings converted by schema type; empty fields are left out (the engine treats them as None).

    Values that do not convert stay strings so the engine's validation reports them per field.
    """
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        raw = (form.get(name) or "").strip()
        if raw == "":
            continue
        kind = main_type(prop)
        if kind == "boolean":
            data[name] = {"true": True, "false": False}.get(raw, raw)
        elif kind == "integer":
            data[name] = _convert(int, raw)
        elif kind == "number":
            data[name] = _convert(float, raw)
        else:  # strings, including dates as ISO strings
            data[name] = raw
    return data


def department_choices(session: Session) -> list[tuple[str, str]]:
    """Active departments as (code, name), province first, then prefectures and counties, by name."""
    order = case({level: i for i, level in enumerate(LEVELS)}, value=Department.level, else_=len(LEVELS))
    rows = session.execute(select(Department.code, Department.name).where(Department.is_active.is_(True))
                           .order_by(order, Department.name))
    return [(code, name) for code, name in rows]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _convert(kind: type, raw: str) -> Any:
    try:
        return kind(raw)
    except ValueError:
        return raw


COMPLAINT_TEXT_FIELDS = (
    "complainant_name", "complainant_uscc", "legal_representative", "contact_person", "contact_phone",
    "contact_address", "contact_email", "respondent_code", "respondent_name", "agreement_name", "agreement_number",
    "agreement_date", "domain", "contract_amount", "disputed_amount", "breach_type", "facts", "claims",
)
COMPLAINT_BOOLEAN_FIELDS = ("is_private_enterprise", "in_litigation")


def complaint_from_form(form: MultiDict | dict[str, str]) -> dict[str, Any]:
    """A posted complaint form (public column or officials' page) as the engine's ComplaintInput expects it:
    trimmed text, empty fields left out, booleans from "true"/"false"."""
    raw: dict[str, Any] = {name: (form.get(name) or "").strip() for name in COMPLAINT_TEXT_FIELDS}
    raw = {k: v for k, v in raw.items() if v}
    for name in COMPLAINT_BOOLEAN_FIELDS:
        raw[name] = form.get(name) == "true"
    return raw
