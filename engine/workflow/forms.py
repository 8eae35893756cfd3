"""Task forms: JSON Schema validation with per-field Chinese messages, and readable summaries."""
from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from engine.errors import FormInvalid

_MESSAGES = {
    "required": "此项为必填项",
    "enum": "请从给定选项中选择",
    "type": "格式不正确",
    "minLength": "内容过短",
    "maxLength": "内容过长（最多 {limit} 字）",
    "minimum": "数值不能小于 {limit}",
    "maximum": "数值不能大于 {limit}",
    "format": "格式不正确",
    "const": "此项取值不被允许",
    "not": "此项取值不被允许",
    "pattern": "格式不正确",
    "additionalProperties": "包含表单中没有的字段",
}


def validate_form(schema: dict, data: dict[str, Any]) -> dict[str, Any]:
    """Return the data of every field the schema knows (None when left out) or raise FormInvalid with field errors."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: len(e.absolute_path)):
        field, message = _explain(schema, error)
        errors.setdefault(field, message)
    if errors:
        raise FormInvalid(errors)
    # every field of the form exists in the task data, so diagram expressions can name it
    return {k: data.get(k) for k in schema.get("properties", {})}


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    """Validators are built once per distinct schema (building one costs more than validating)."""
    return Draft202012Validator(json.loads(schema_json), format_checker=_FORMATS)


_FORMATS = FormatChecker()


def describe(schema: dict, data: dict[str, Any]) -> str:
    """A one-line Chinese summary of submitted form data, using the schema's titles and option labels."""
    parts = []
    for name, prop in schema.get("properties", {}).items():
        if name not in data or data[name] in (None, ""):
            continue
        parts.append(f"{prop.get('title', name)}：{display_value(prop, data[name])}")
    return "；".join(parts)


def labelled_values(schema: dict, data: dict[str, Any]) -> dict[str, str]:
    """Each filled-in field of `data` as title → display value, in the form's order (unknown fields last)."""
    props = schema.get("properties", {})
    found = {}
    for name in [*props, *(k for k in data if k not in props)]:
        if data.get(name) in (None, ""):
            continue
        prop = props.get(name, {})
        found[str(prop.get("title", name))] = display_value(prop, data[name])
    return found


def display_value(prop: dict, value: Any) -> str:
    if isinstance(value, bool):
        labels = prop.get("x-labels") or {}
        return labels.get(str(value).lower(), "是" if value else "否")
    if "enum" in prop and "x-enumNames" in prop and value in prop["enum"]:
        return prop["x-enumNames"][prop["enum"].index(value)]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _explain(schema: dict, error: ValidationError) -> tuple[str, str]:
    path = list(error.absolute_path)
    field = str(path[0]) if path else ""
    if error.validator == "required":
        field = error.message.split("'")[1] if "'" in error.message else field
    if error.validator == "additionalProperties":
        return field or "_form", _MESSAGES["additionalProperties"]
    # a custom message on the failing (sub)schema or on the field's own schema wins
    custom = error.schema.get("x-error") if isinstance(error.schema, dict) else None
    if error.validator == "required" and isinstance(error.schema, dict):
        # a conditional `required` (if/then) carries its message on the field it requires
        custom = custom or error.schema.get("properties", {}).get(field, {}).get("x-error")
    prop = schema.get("properties", {}).get(field, {})
    custom = custom or prop.get("x-error")
    if custom:
        return field or "_form", custom
    template = _MESSAGES.get(str(error.validator), "填写内容不符合要求")
    return field or "_form", template.format(limit=error.validator_value)
