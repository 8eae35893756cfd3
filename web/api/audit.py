"""Search the audit log (system administrators and the provincial DRC)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from engine.audit import services as audit
from engine.cases.disclosure import Disclosure
from engine.org.permissions import VIEW_AUDIT
from web.api.common import ApiErrorSchema, UtcDateTime
from web.extensions import db
from web.permissions import requires

blp = Blueprint("api_audit", __name__, url_prefix="/audit", description="审计日志查询")
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Moment(fields.Field):
    """An ISO 8601 date or date-time; without an offset it is Beijing time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ValidationError("请使用 ISO 8601 日期或时间，例如 2026-11-28 或 2026-11-28T09:30:00+08:00") from exc
        if not 2000 <= moment.year <= 2100:  # as the audit page; 9999-12-31 overflows in the database driver
            raise ValidationError("日期须在 2000 年至 2100 年之间")
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


class AuditQuery(Schema):
    complaint_id = fields.Integer(load_default=None, metadata={"description": "案件 ID"},
                                  validate=validate.Range(min=1, max=2**31 - 1, error="案件 ID 应为正整数"))
    actor = fields.String(load_default=None, metadata={"description": "用户名或用户 ID"})
    action = fields.String(load_default=None, metadata={"description": "例如 login、login_failed、view_contact"})
    since = Moment(load_default=None, metadata={"description": "起（含），无时区按北京时间"})
    until = Moment(load_default=None, metadata={"description": "止（不含）"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = UtcDateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_label = fields.String()
    ip = fields.String(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String(allow_none=True)
    complaint_id = fields.Integer(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    chain = fields.Integer(metadata={"description": "所在哈希链：案件编号，或负数（分片链；-1 为旧的单一链）"})
    seq = fields.Integer(metadata={"description": "在该链中的位置（从 1 起）"})
    prev_hash = fields.String()
    hash = fields.String()
    redacted = fields.Boolean(metadata={"description": "案件内容已隐去（查询人无权查看该案件或联系方式）"})


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))


@blp.get("")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(AuditQuery, location="query")
@blp.response(200, AuditPage)
@blp.alt_response(403, schema=ApiErrorSchema)
@requires(VIEW_AUDIT)
def search(args: dict) -> object:
    """Audit events, oldest first, filtered by case, person, action and period. The search is itself audited."""
    rows = Disclosure(db.session, current_user).views(audit.search(db.session, **args))
    audit.record(db.session, "view_audit", current_user, "audit_event", None,
                 after={k: v.isoformat() if isinstance(v, datetime) else v for k, v in args.items() if v is not None})
    return {"items": rows}
