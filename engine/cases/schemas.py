"""The complaint's fields and their checks, shared by the intake form and the API."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from engine.cases.models import BREACH_TYPES, CHANNELS, DOMAINS
from engine.cases.uscc import uscc_problem

REQUIRED = {"required": "此项为必填项", "null": "此项不能为空"}


def _text(max_len: int, required: bool = True, **kw: object) -> fields.String:
    return fields.String(
        required=required,
        validate=validate.Length(min=1 if required else 0, max=max_len,
                                 error=f"长度应在 {1 if required else 0}–{max_len} 字之间"),
        error_messages={**REQUIRED, "invalid": "应为文本"},
        **kw,
    )


class ComplaintInput(Schema):
    """A complaint as registered by an intake official or sent by a channel."""

    complainant_name = _text(200, metadata={"description": "投诉企业名称", "example": "云南滇信科技有限公司"})
    complainant_uscc = fields.String(required=True, error_messages=REQUIRED,
                                     metadata={"description": "统一社会信用代码（GB 32100 校验）",
                                               "example": "91440101MA5CJQ4N59"})
    legal_representative = _text(100, required=False, load_default=None)
    contact_person = _text(100, metadata={"description": "联系人"})
    contact_phone = fields.String(required=True, error_messages=REQUIRED,
                                  validate=validate.Regexp(r"^[0-9+\-() ]{7,20}$", error="请填写有效的联系电话"),
                                  metadata={"example": "13888001234"})
    contact_address = _text(300, required=False, load_default=None)
    is_private_enterprise = fields.Boolean(load_default=True, error_messages={"invalid": "应为是或否"})
    respondent_code = fields.String(load_default=None, allow_none=True,
                                    metadata={"description": "被投诉主体在组织数据中的编码；未知时留空并填写名称"})
    respondent_name = _text(200, required=False, load_default=None,
                            metadata={"description": "被投诉主体名称（编码未知时必填）"})
    agreement_name = _text(300, metadata={"description": "协议或合同名称"})
    agreement_number = _text(100, required=False, load_default=None)
    agreement_date = fields.Date(load_default=None, allow_none=True, error_messages={"invalid": "日期格式应为 YYYY-MM-DD"})
    domain = fields.String(required=True, error_messages=REQUIRED,
                           validate=validate.OneOf(list(DOMAINS), error="领域不在可选范围内"),
                           metadata={"description": "领域：" + "、".join(f"{k}={v}" for k, v in DOMAINS.items())})
    contract_amount = fields.Decimal(load_default=None, allow_none=True, places=2, as_string=True,
                                     validate=validate.Range(min=0, error="金额不能为负数"),
                                     error_messages={"invalid": "金额应为数字"})
    disputed_amount = fields.Decimal(load_default=None, allow_none=True, places=2, as_string=True,
                                     validate=validate.Range(min=0, error="金额不能为负数"),
                                     error_messages={"invalid": "金额应为数字"})
    breach_type = fields.String(required=True, error_messages=REQUIRED,
                                validate=validate.OneOf(list(BREACH_TYPES), error="失信类型不在可选范围内"),
                                metadata={"description": "、".join(f"{k}={v}" for k, v in BREACH_TYPES.items())})
    facts = _text(10000, metadata={"description": "违约失信事实"})
    claims = _text(5000, metadata={"description": "投诉诉求"})
    in_litigation = fields.Boolean(load_default=False, error_messages={"invalid": "应为是或否"},
                                   metadata={"description": "是否已进入诉讼、仲裁或信访程序"})
    channel = fields.String(load_default="counter", validate=validate.OneOf(list(CHANNELS), error="渠道未知"))
    external_ref = _text(100, required=False, load_default=None,
                         metadata={"description": "来源渠道自己的编号（重复提交同一编号不会重复立案）"})

    @validates("complainant_uscc")
    def _check_uscc(self, value: str, **_: object) -> None:
        problem = uscc_problem(value.strip().upper())
        if problem:
            raise ValidationError(problem)


def load_complaint(data: dict) -> dict:
    """Validated complaint fields, or marshmallow's ValidationError with messages per field."""
    loaded = ComplaintInput().load(data)
    loaded["complainant_uscc"] = loaded["complainant_uscc"].strip().upper()
    if not loaded.get("respondent_code") and not loaded.get("respondent_name"):
        raise ValidationError({"respondent_name": ["请选择被投诉主体或填写其名称"]})
    return loaded
