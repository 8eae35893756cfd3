"""统一社会信用代码 (GB 32100-2015): the check character and the Chinese messages."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from engine.cases.schemas import load_complaint
from engine.uscc import is_valid_uscc, uscc_problem


@pytest.mark.parametrize("code", ["91350200776049653A", "91440101MA5CJQ4N59", "123502001549897397"])
def test_valid_codes(code: str) -> None:
    assert uscc_problem(code) is None
    assert is_valid_uscc(code)


@pytest.mark.parametrize(("code", "message"), [
    ("91350203M0001QAY9B", "统一社会信用代码校验位不正确，请核对后重新填写"),
    ("91350200776049653B", "统一社会信用代码校验位不正确，请核对后重新填写"),
    ("91350200776049653", "统一社会信用代码应为18位"),
    ("91350200776049653AA", "统一社会信用代码应为18位"),
    ("", "统一社会信用代码应为18位"),
    ("9135020077604965IA", "统一社会信用代码含有不允许的字符：I"),
    ("91350200776049653a", "统一社会信用代码含有不允许的字符：a"),
    ("9135O2007760Z9653S", "统一社会信用代码含有不允许的字符：OZS"),
    ("91350200-7604965３A", "统一社会信用代码含有不允许的字符：-３"),
])
def test_invalid_codes(code: str, message: str) -> None:
    assert uscc_problem(code) == message
    assert not is_valid_uscc(code)


def test_the_complaint_schema_normalises_and_checks_the_code() -> None:
    base = {
        "complainant_name": "云南滇信科技有限公司", "contact_person": "李明", "contact_phone": "13888001234",
        "respondent_name": "某局", "agreement_name": "协议", "domain": "other", "breach_type": "other",
        "facts": "事实", "claims": "诉求",
    }
    assert load_complaint({**base, "complainant_uscc": " 91440101ma5cjq4n59 "})["complainant_uscc"] == (
        "91440101MA5CJQ4N59")
    with pytest.raises(ValidationError) as caught:
        load_complaint({**base, "complainant_uscc": "91350203M0001QAY9B"})
    assert caught.value.messages == {"complainant_uscc": ["统一社会信用代码校验位不正确，请核对后重新填写"]}
