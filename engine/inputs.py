"""Bounds every input shares, whatever its schema says.

- Integers fit the narrowest integer column (PostgreSQL `integer`: −2³¹ … 2³¹−1; SQLite's limit is 2⁶³). An id
  beyond that cannot exist: the caller gets 404/422, not the database's overflow error.
- Decimal and float numbers fit the amount columns (`Numeric(18, 2)`: less than 10¹⁶) and are finite.
- Text carries no NUL character: PostgreSQL refuses it in text columns and SQLite would store it.

`problems(schema, data)` checks loaded marshmallow data field by field (nested schemas and lists too);
`BoundedSchema` runs it for every schema derived from it; the web layer runs it for every API argument schema and
`nul_paths` over every raw request value.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
NUMBER_LIMIT = Decimal(10) ** 16  # Numeric(18, 2): sixteen digits before the decimal point
NUL_MESSAGE = "不能包含空字符（NUL）"
INT_MESSAGE = f"数值超出允许范围（{INT_MIN} 至 {INT_MAX}）"
NUMBER_MESSAGE = "数值超出允许范围（绝对值须小于 10 的 16 次方）"


def problems(schema: Schema, data: Any) -> dict[str, Any]:
    """Field errors (by the field's name in the input) for loaded values beyond the shared bounds."""
    if not isinstance(data, Mapping):
        return {}
    errors: dict[str, Any] = {}
    for name, field in schema.load_fields.items():
        key = field.attribute or name
        if key in data:
            problem = _value_problem(field, data[key])
            if problem:
                errors[field.data_key or name] = problem
    return errors


def _value_problem(field: fields.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
        if field.many and isinstance(value, list):
            nested = {i: p for i, item in enumerate(value) if (p := problems(field.schema, item))}
        else:
            nested = problems(field.schema, value)
        return nested or None
    if isinstance(field, fields.List) and isinstance(value, list):
        inner = {i: p for i, item in enumerate(value) if (p := _value_problem(field.inner, item))}
        return inner or None
    if isinstance(field, fields.Integer) and isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
        return INT_MESSAGE
    if isinstance(field, fields.Decimal | fields.Float) and isinstance(value, Decimal | float):
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not (finite and abs(Decimal(value)) < NUMBER_LIMIT):
            return NUMBER_MESSAGE
    if isinstance(value, str) and "\x00" in value:
        return NUL_MESSAGE
    return None


def nul_paths(value: Any, path: str = "") -> Iterator[str]:
    """The paths (`field`, `items.0.name`) of every string in a JSON-like value that contains a NUL character;
    keys count as well."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "_body"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key).replace("\x00", "\\0")
            if "\x00" in str(key):
                yield f"{path}.{name}" if path else name
            yield from nul_paths(item, f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from nul_paths(item, f"{path}.{i}" if path else str(i))


class BoundedSchema(Schema):
    """A schema whose loaded values also respect the shared bounds (see the module docstring)."""

    @validates_schema
    def _shared_bounds(self, data: dict, **_kwargs: Any) -> None:
        errors = problems(self, data)
        if errors:
            raise ValidationError(errors)
