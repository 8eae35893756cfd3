"""Chinese default messages for every marshmallow field, schema and validator, installed once for the process.

marshmallow's own messages are English ("Missing data for required field.", "Length must be between 1 and
2000."). A schema may still give its own `error_messages` or `error=` text; everything it does not name falls back
to these. Fields build their messages when they are created (a schema's class body), so this module must be
imported before any schema is defined: `engine/__init__.py` and `web/__init__.py` import it first.
"""
from __future__ import annotations

import inspect

from marshmallow import Schema, fields, validate

FIELD_MESSAGES: dict[str, dict[str, str]] = {
    "Field": {"required": "此项为必填项", "null": "此项不能为空", "validator_failed": "填写的值无效"},
    "String": {"invalid": "应为文本", "invalid_utf8": "文本不是有效的 UTF-8 编码"},
    "Number": {"invalid": "应为数字", "too_large": "数字过大"},
    "Integer": {"invalid": "应为整数"},
    "Decimal": {"special": "不能为 NaN 或无穷大", "invalid": "应为数字"},
    "Float": {"special": "不能为 NaN 或无穷大", "invalid": "应为数字"},
    "Boolean": {"invalid": "应为是或否（true / false）"},
    "DateTime": {"invalid": "应为日期时间（ISO 8601，例如 2026-03-02T09:00:00+08:00）",
                 "invalid_awareness": "日期时间应带时区（例如 +08:00）", "format": "无法按日期时间格式输出"},
    "NaiveDateTime": {"invalid": "应为日期时间（ISO 8601，例如 2026-03-02T09:00:00）",
                      "invalid_awareness": "日期时间不应带时区", "format": "无法按日期时间格式输出"},
    "AwareDateTime": {"invalid": "应为日期时间（ISO 8601，例如 2026-03-02T09:00:00+08:00）",
                      "invalid_awareness": "日期时间应带时区（例如 +08:00）", "format": "无法按日期时间格式输出"},
    "Date": {"invalid": "日期格式应为 YYYY-MM-DD", "format": "无法按日期格式输出"},
    "Time": {"invalid": "时间格式应为 HH:MM[:SS]", "invalid_awareness": "时间的时区不正确", "format": "无法按时间格式输出"},
    "TimeDelta": {"invalid": "应为时间长度", "format": "无法按时间长度输出"},
    "_TemporalField": {"invalid": "日期或时间格式不正确", "invalid_awareness": "日期或时间的时区不正确",
                       "format": "无法按日期或时间格式输出"},
    "List": {"invalid": "应为列表"},
    "Tuple": {"invalid": "应为列表（元组）"},
    "Mapping": {"invalid": "应为对象（键值对）"},
    "Nested": {"type": "类型不正确，应为对象"},
    "Email": {"invalid": "电子邮箱地址无效"},
    "Url": {"invalid": "网址无效"},
    "URL": {"invalid": "网址无效"},
    "UUID": {"invalid_uuid": "不是有效的 UUID"},
    "IP": {"invalid_ip": "不是有效的 IP 地址"},
    "IPv4": {"invalid_ip": "不是有效的 IPv4 地址"},
    "IPv6": {"invalid_ip": "不是有效的 IPv6 地址"},
    "IPInterface": {"invalid_ip_interface": "不是有效的 IP 网段"},
    "IPv4Interface": {"invalid_ip_interface": "不是有效的 IPv4 网段"},
    "IPv6Interface": {"invalid_ip_interface": "不是有效的 IPv6 网段"},
    "Enum": {"unknown": "应为以下之一：{choices}"},
}
SCHEMA_MESSAGES = {"type": "请求内容的类型不正确，应为 JSON 对象", "unknown": "不允许的字段"}
VALIDATOR_MESSAGES: dict[str, dict[str, str]] = {
    "Length": {"message_min": "长度不能少于 {min} 个字符", "message_max": "长度不能超过 {max} 个字符",
               "message_all": "长度应在 {min}–{max} 个字符之间", "message_equal": "长度应为 {equal} 个字符"},
    "Range": {"message_min": "应{min_op} {{min}}", "message_max": "应{max_op} {{max}}",
              "message_all": "应{min_op} {{min}}且{max_op} {{max}}", "message_gte": "大于或等于",
              "message_gt": "大于", "message_lte": "小于或等于", "message_lt": "小于"},
    "OneOf": {"default_message": "应为以下之一：{choices}"},
    "ContainsOnly": {"default_message": "所选的值中有不在以下范围内的：{choices}"},
    "ContainsNoneOf": {"default_message": "所选的值中有不允许的：{values}"},
    "NoneOf": {"default_message": "填写的值不允许"},
    "Equal": {"default_message": "应等于 {other}"},
    "Regexp": {"default_message": "格式不正确"},
    "Email": {"default_message": "电子邮箱地址无效"},
    "URL": {"default_message": "网址无效"},
    "Predicate": {"default_message": "填写的值无效"},
}


def install() -> None:
    """Put the Chinese messages in place of marshmallow's English defaults (idempotent)."""
    for name, cls in inspect.getmembers(fields, inspect.isclass):
        if issubclass(cls, fields.Field) and name in FIELD_MESSAGES:
            cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}), **FIELD_MESSAGES[name]}
    Schema._default_error_messages = {**Schema._default_error_messages, **SCHEMA_MESSAGES}
    for name, messages in VALIDATOR_MESSAGES.items():
        for attribute, message in messages.items():
            setattr(getattr(validate, name), attribute, message)


install()
