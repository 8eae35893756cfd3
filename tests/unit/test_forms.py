"""Task forms: JSON Schema validation with per-field Chinese messages, and readable summaries."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import FormInvalid
from engine.workflow.forms import describe, validate_form

FORMS = Path(__file__).resolve().parents[2] / "processes" / "forms"
SCHEMA = {
    "type": "object",
    "required": ["name", "kind"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "title": "名称", "minLength": 1, "maxLength": 5},
        "kind": {"type": "string", "title": "类型", "enum": ["a", "b"], "x-enumNames": ["甲", "乙"]},
        "deadline": {"type": "string", "format": "date", "title": "期限"},
        "when": {"type": "string", "format": "date", "title": "日期", "x-error": "请填写有效的日期（YYYY-MM-DD）"},
        "amount": {"type": "number", "title": "金额", "minimum": 0, "maximum": 100},
        "ok": {"type": "boolean", "title": "结论", "x-labels": {"true": "同意", "false": "退回"}},
    },
}


def form_errors(schema: dict, data: dict) -> dict[str, str]:
    with pytest.raises(FormInvalid) as caught:
        validate_form(schema, data)
    assert caught.value.message == "提交的内容有误，请按提示修改。"
    assert caught.value.details == {"errors": caught.value.errors}
    return caught.value.errors


def load(name: str) -> dict:
    return json.loads((FORMS / name).read_text(encoding="utf-8"))


def test_valid_data_comes_back_with_every_field() -> None:
    clean = validate_form(SCHEMA, {"name": "甲方", "kind": "a", "deadline": "2026-10-08"})
    assert clean == {"name": "甲方", "kind": "a", "deadline": "2026-10-08", "when": None, "amount": None, "ok": None}


def test_required() -> None:
    assert form_errors(SCHEMA, {}) == {"name": "此项为必填项", "kind": "此项为必填项"}


def test_enum() -> None:
    assert form_errors(SCHEMA, {"name": "x", "kind": "c"}) == {"kind": "请从给定选项中选择"}


@pytest.mark.parametrize("value", ["2026-13-01", "2026/10/08", "明天", "2026-02-30"])
def test_date_format(value: str) -> None:
    assert form_errors(SCHEMA, {"name": "x", "kind": "a", "deadline": value}) == {"deadline": "格式不正确"}


def test_x_error_replaces_the_generic_message() -> None:
    assert form_errors(SCHEMA, {"name": "x", "kind": "a", "when": "明天"}) == {"when": "请填写有效的日期（YYYY-MM-DD）"}


def test_limits_are_named() -> None:
    errors = form_errors(SCHEMA, {"name": "一二三四五六", "kind": "a", "amount": 101})
    assert errors == {"name": "内容过长（最多 5 字）", "amount": "数值不能大于 100"}
    assert form_errors(SCHEMA, {"name": "x", "kind": "a", "amount": -1}) == {"amount": "数值不能小于 0"}
    assert form_errors(SCHEMA, {"name": "", "kind": "a"}) == {"name": "内容过短"}
    assert form_errors(SCHEMA, {"name": 3, "kind": "a"}) == {"name": "格式不正确"}


def test_unknown_fields() -> None:
    assert form_errors(SCHEMA, {"name": "x", "kind": "a", "extra": 1}) == {"_form": "包含表单中没有的字段"}


def test_the_verify_forms_excuse_rule_explains_itself() -> None:
    verify = load("verify.json")
    for reason in ("restructuring", "staff_change"):
        errors = form_errors(verify, {"outcome": "unfounded", "respondent_reason": reason, "explanation": "换届"})
        assert list(errors) == ["outcome"]
        assert "以机构调整、人员变动为由不履约的，均属于违约失信情形" in errors["outcome"]
    for outcome in ("founded", "disputed"):
        validate_form(verify, {"outcome": outcome, "respondent_reason": "restructuring", "explanation": "换届"})
    validate_form(verify, {"outcome": "unfounded", "respondent_reason": "funds_shortage", "explanation": "已付"})


def test_conditional_requirements_use_the_forms_messages() -> None:
    screening = load("screening.json")
    assert form_errors(screening, {"accepted": False}) == {"reason": "不予受理时必须选择原因"}
    assert form_errors(screening, {"accepted": False, "reason": None}) == {"reason": "不予受理时必须选择原因"}
    assert validate_form(screening, {"accepted": True})["reason"] is None
    review = load("ndrc_review.json")
    assert form_errors(review, {"approved": True}) == {"national_report_number": "同意上报时必须填写上报文号"}
    assert form_errors(review, {"approved": True, "national_report_number": ""}) == {
        "national_report_number": "同意上报时必须填写上报文号"}


def test_describe_uses_titles_and_labels() -> None:
    summary = describe(SCHEMA, {"name": "甲方", "kind": "b", "ok": False, "amount": None, "deadline": ""})
    assert summary == "名称：甲方；类型：乙；结论：退回"
    assert describe(SCHEMA, {"ok": True}) == "结论：同意"
