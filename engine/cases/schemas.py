"""The complaint's fields and their checks, shared by the intake form and the API."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates

from engine.cases.models import BREACH_TYPES, CHANNELS, DOMAINS
from engine.inputs import BoundedSchema
from engine.uscc import uscc_problem

REQUIRED = {"required": "此项为必填项", "null": "此项不能为空"}


def _text(max_len: int, required: bool = True, **kw: object) -> fields.String:
    return fields.String(
        required=required,
        validate=validate.Length(min=1 if required else 0, max=max_len,
                                 error=f"长度应在 {1 if required else 0}–{max_len} 字之间"),
        error_messages={**REQUIRED, "invalid": "应为文本"},
        **kw,
    )


class ComplaintInput(BoundedSchema):
    """A complaint as registered by an intake official or sent by a channel."""

    complainant_name = _text(200, metadata={"description": "投诉企业名称", "example": "云南滇信科技有限公司"})
    complainant_uscc = fields.String(required=True, error_messages=REQUIRED,
                                     metadata={"description": "统一社会信用代码（GB 32100 校验）",
                                               "example": "91440101MA5CJQ4N59"})
    legal_representative = _text(100, required=False, load_default=None,
                                 metadata={"description": "法定代表人", "example": "王建国"})
    contact_person = _text(100, metadata={"description": "联系人", "example": "李明"})
    contact_phone = fields.String(required=True, error_messages=REQUIRED,
                                  validate=validate.Regexp(r"^[0-9+\-() ]{7,20}$", error="请填写有效的联系电话"),
                                  metadata={"description": "联系电话（投诉人凭后四位查询进度）", "example": "13888001234"})
    contact_email = fields.Email(load_default=None, allow_none=True,
                                 validate=validate.Length(max=200, error="电子邮箱不超过 200 个字符"),
                                 error_messages={"invalid": "请填写有效的电子邮箱，例如 liming@example.com"},
                                 metadata={"description": "电子邮箱（可选）：办理进度的通知也发到这里",
                                           "example": "liming@example.com"})
    contact_address = _text(300, required=False, load_default=None,
                            metadata={"description": "联系地址", "example": "昆明市官渡区春城路 100 号"})
    is_private_enterprise = fields.Boolean(load_default=True, error_messages={"invalid": "应为是或否"},
                                           metadata={"description": "是否民营企业", "example": True})
    respondent_code = fields.String(load_default=None, allow_none=True,
                                    metadata={"description": "被投诉主体在组织数据中的编码；未知时留空并填写名称",
                                              "example": "km-guandu-commerce"})
    respondent_name = _text(200, required=False, load_default=None,
                            metadata={"description": "被投诉主体名称（编码未知时必填）", "example": "昆明市官渡区商务局"})
    agreement_name = _text(300, metadata={"description": "协议或合同名称", "example": "官渡区招商引资项目投资协议"})
    agreement_number = _text(100, required=False, load_default=None,
                             metadata={"description": "协议编号（用于重复投诉比对）", "example": "GD-ZS-2024-017"})
    agreement_date = fields.Date(load_default=None, allow_none=True, error_messages={"invalid": "日期格式应为 YYYY-MM-DD"},
                                 metadata={"description": "签订日期", "example": "2023-03-15"})
    domain = fields.String(required=True, error_messages=REQUIRED,
                           validate=validate.OneOf(list(DOMAINS), error="领域不在可选范围内"),
                           metadata={"description": "领域：" + "、".join(f"{k}={v}" for k, v in DOMAINS.items()),
                                     "example": "investment_promotion"})
    contract_amount = fields.Decimal(load_default=None, allow_none=True, places=2, as_string=True,
                                     validate=validate.Range(min=0, error="金额不能为负数"),
                                     error_messages={"invalid": "金额应为数字"},
                                     metadata={"description": "合同金额（元）", "example": "5000000.00"})
    disputed_amount = fields.Decimal(load_default=None, allow_none=True, places=2, as_string=True,
                                     validate=validate.Range(min=0, error="金额不能为负数"),
                                     error_messages={"invalid": "金额应为数字"},
                                     metadata={"description": "争议金额（元）", "example": "3000000.00"})
    breach_type = fields.String(required=True, error_messages=REQUIRED,
                                validate=validate.OneOf(list(BREACH_TYPES), error="失信类型不在可选范围内"),
                                metadata={"description": "失信类型：" + "、".join(f"{k}={v}" for k, v in BREACH_TYPES.items()),
                                          "example": "policy_unfulfilled"})
    facts = _text(10000, metadata={"description": "违约失信事实（用于重复投诉比对）",
                                   "example": "协议约定的产业扶持资金 300 万元至今未兑现。"})
    claims = _text(5000, metadata={"description": "投诉诉求", "example": "请求按协议兑现扶持资金。"})
    in_litigation = fields.Boolean(load_default=False, error_messages={"invalid": "应为是或否"},
                                   metadata={"description": "是否已进入诉讼、仲裁或信访程序", "example": False})
    channel = fields.String(load_default="counter", validate=validate.OneOf(list(CHANNELS), error="渠道未知"),
                             metadata={"description": "来源渠道（使用 X-Api-Key 时固定为密钥的渠道）：" + "、".join(
                                 f"{k}={v}" for k, v in CHANNELS.items()), "example": "hotline_12345"})
    external_ref = _text(100, required=False, load_default=None,
                         metadata={"description": "来源渠道自己的编号（重复提交同一编号不会重复立案；使用 X-Api-Key 时必填）",
                                   "example": "12345-20261128-000317"})

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
