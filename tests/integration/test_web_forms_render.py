"""Generic task forms: fields built from JSON Schema, posted strings parsed by type; CSRF tokens on pages."""
from __future__ import annotations

import json
import re
from pathlib import Path

from werkzeug.datastructures import MultiDict

from web.forms_render import build_fields, parse_posted

FORMS = Path(__file__).resolve().parents[2] / "processes" / "forms"


def _form(name: str) -> dict:
    return json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8"))


def test_widgets_follow_schema_and_extensions() -> None:
    screening = {f.name: f for f in build_fields(_form("screening"))}
    assert screening["accepted"].widget == "radio"
    assert screening["accepted"].options == [("true", "受理"), ("false", "不予受理")]
    assert screening["accepted"].required
    assert ("in_litigation", "已进入诉讼、仲裁或信访程序") in screening["reason"].options
    assert screening["remarks"].widget == "textarea"
    verify = {f.name: f for f in build_fields(_form("verify"))}
    assert verify["respondent_reason"].widget == "select"
    assert ("staff_change", "人员变动") in verify["respondent_reason"].options
    order = {f.name: f for f in build_fields(_form("order_rectification"), {"deadline": "2027-01-15"})}
    assert order["deadline"].widget == "date"
    assert order["deadline"].value == "2027-01-15"
    assign = build_fields(_form("assign_supervisor"), departments=[("km-commerce", "昆明市商务局")],
                          errors={"department_code": "此项为必填项"})
    assert assign[0].widget == "select"
    assert assign[0].options == [("km-commerce", "昆明市商务局")]
    assert assign[0].error == "此项为必填项"


def test_posted_values_are_parsed_by_type() -> None:
    schema = {"properties": {"ok": {"type": "boolean"}, "n": {"type": "integer"}, "x": {"type": "number"},
                             "day": {"type": "string", "format": "date"}, "note": {"type": ["string", "null"]}}}
    posted = MultiDict({"ok": "false", "n": "12", "x": "zwölf", "day": "2027-01-15", "note": "  "})
    assert parse_posted(schema, posted) == {"ok": False, "n": 12, "x": "zwölf", "day": "2027-01-15"}


def test_pages_carry_csrf_tokens(app, make_app, client, demo_password) -> None:  # noqa: ANN001
    strict = make_app(WTF_CSRF_ENABLED=True)
    browser = strict.test_client()

    def token(url: str) -> str:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(url).get_data(as_text=True))
        assert found, url
        return found.group(1)

    login = browser.post("/login", data={"username": "intake", "password": demo_password,
                                         "csrf_token": token("/login")})
    assert login.status_code == 302
    assert browser.post("/cases/new", data={"complainant_name": "x"}).status_code == 400
    invalid = browser.post("/cases/new", data={"complainant_name": "x", "csrf_token": token("/cases/new")})
    assert invalid.status_code == 422  # past CSRF, stopped by the engine's validation
