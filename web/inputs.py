"""Input guards for every request, whatever the view (bounds from engine/inputs.py):

- `<int:…>` in a URL matches only 0 … 2³¹−1: a larger id is a 404, not the database's overflow error;
- `request.args.get(name, type=int)` / `request.form.get(…, type=int)` treat an integer beyond that range as
  invalid (the default), as they treat "abc";
- every argument schema of the JSON API (flask-smorest) is checked with `engine.inputs.problems` after loading:
  integers, decimal numbers and NUL characters beyond the bounds → 422 with the field's message;
- a NUL character anywhere in the query string, a form, a JSON body, an uploaded file's name or the URL → 422
  naming the field (after the permission check, so a caller without permission still gets 401/403).
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Request, request
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter
from werkzeug.routing.map import Map

from engine.errors import FormInvalid
from engine.inputs import INT_MAX, INT_MIN, NUL_MESSAGE, BoundedSchema, nul_paths, problems


def digits_at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0 … `limit` (up to as many digits as `limit` has)."""
    text = str(limit)
    options = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        rest = len(text) - i - 1
        if int(digit) > 0:
            lower = f"[0-{int(digit) - 1}]" if int(digit) > 1 else "0"
            options.append(text[:i] + lower + (rf"\d{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """Werkzeug's `int` converter, bounded to the database's integer range (documented as `maximum`).

    The bound is in the pattern too: a rule whose converter refuses a value in `to_python` makes Werkzeug answer
    405 when another method's rule has the same path; a pattern that does not match gives the 404."""

    regex = digits_at_most(INT_MAX)

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002 - Werkzeug's names
                 max: int | None = INT_MAX, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


class BoundedMultiDict(ImmutableMultiDict):
    """Query and form values: `get(name, type=int)` gives the default for an integer beyond the integer range."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002 - Werkzeug's signature
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and value is not default and not INT_MIN <= value <= INT_MAX:
            return default
        return value


class BoundedRequest(Request):
    parameter_storage_class = BoundedMultiDict


class BoundedParser(FlaskParser):
    """flask-smorest's argument parser, plus the shared bounds for schemas that do not check them themselves.
    Installed on flask_smorest.Blueprint when web.api is imported (decorators bind the parser as they run)."""

    def _process_location_data(self, location_data: Any, schema: Schema, *args: Any, **kwargs: Any) -> Any:
        data = super()._process_location_data(location_data, schema, *args, **kwargs)
        if not isinstance(schema, BoundedSchema):
            errors = problems(schema, data)
            if errors:
                raise ValidationError(errors)
        return data


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered (the converter applies to rules added afterwards)."""
    app.url_map.converters["int"] = IdConverter
    app.request_class = BoundedRequest


def init_nul_guard(app: Flask) -> None:
    """Register the NUL check; call after the permission check's hook (web/permissions.py)."""
    app.before_request(_refuse_nul)


def _refuse_nul() -> None:
    found: list[str] = []
    for source in (request.view_args or {}, request.args.to_dict(flat=False)):
        found.extend(nul_paths(source))
    if request.mimetype == "application/json":
        found.extend(nul_paths(request.get_json(silent=True)))
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        found.extend(nul_paths(request.form.to_dict(flat=False)))
        found.extend(f"{name}.filename" for name, file in request.files.items(multi=True)
                     if "\x00" in (file.filename or ""))
    if "\x00" in request.path:
        found.append("_path")
    if found:
        fields = sorted({_field_of(path) for path in found})
        raise FormInvalid({name: NUL_MESSAGE for name in fields},
                          "提交的内容包含空字符（NUL）：" + "、".join(fields))


def _field_of(path: str) -> str:
    """`name.0` (a query or form value) → `name`; JSON paths stay as they are."""
    head, _, last = path.rpartition(".")
    return head if head and last.isdigit() else path
