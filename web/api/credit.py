"""Breach records (违约失信记录): search, read, export; measures and repair started here run as BPMN processes;
the measure catalogue; the platform delivery log with a retry for failed deliveries."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.cases.models import DOMAINS
from engine.credit import exchange, profiles, publication
from engine.credit import export as record_export
from engine.credit import services as credit
from engine.credit.models import (
    DELIVERY_EVENTS,
    MEASURE_LEVELS,
    RECORD_STATUSES,
    RECTIFICATION_STATES,
    SEVERITIES,
)
from engine.org.permissions import (
    ADMINISTER_EXCHANGE,
    APPLY_FOR_REPAIR,
    MANAGE_MEASURES,
    OPERATE_EXCHANGE,
    PUBLIC,
    SIGNED_IN,
    VIEW_RECORDS,
)
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI
from web.api.common import (
    BINARY,
    TEXT,
    XLSX_TYPE,
    ApiErrorSchema,
    PageSchema,
    UtcDateTime,
    file_response,
    page,
)
from web.extensions import db
from web.permissions import requires

blp = Blueprint("api_credit", __name__, url_prefix=None, description="违约失信记录、惩戒措施、信用修复与平台推送")


class RecordQuery(Schema):
    complaint_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1, error="案件 ID 应为正整数"),
                                  error_messages={"invalid": "案件 ID 应为整数"},
                                  metadata={"description": "只看该案件形成的记录"})
    respondent = fields.String(load_default=None, metadata={"description": "被投诉主体名称（包含）或统一社会信用代码"})
    domain = fields.String(load_default=None, validate=validate.OneOf(list(DOMAINS)))
    status = fields.String(load_default=None, validate=validate.OneOf(list(RECORD_STATUSES)))
    prefecture = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$", error="州（市）代码应为 6 位数字"))
    division = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$", error="行政区划代码应为 6 位数字"),
                             metadata={"description": "被投诉主体的行政区划代码或其所在州（市）代码"})
    rectification_state = fields.String(load_default=None, validate=validate.OneOf(list(RECTIFICATION_STATES)))
    determined_from = fields.Date(load_default=None, metadata={"description": "认定日期起（含）"})
    determined_to = fields.Date(load_default=None, metadata={"description": "认定日期止（含）"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ExportQuery(RecordQuery):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "json", "xlsx"]))


class MeasureSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "措施编号（CSBH）：全局唯一的 UUID"})
    code = fields.Function(lambda m: m.measure_type.code)
    name = fields.Function(lambda m: m.measure_type.name)
    level = fields.Function(lambda m: m.measure_type.level)
    department = fields.Function(lambda m: m.department.name if m.department else None,
                                 metadata={"description": "实施部门（SSBM）"})
    applied_by = fields.String(attribute="applied_by_label", metadata={"description": "实施人（经办人员）"})
    applied_at = UtcDateTime()
    document_number = fields.String()
    until = fields.Date(allow_none=True)
    ended_at = UtcDateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    end_document_number = fields.String(allow_none=True, metadata={"description": "解除（结束）文书号"})
    active = fields.Function(lambda m: m.ended_at is None)


class DeliverySchema(Schema):
    id = fields.Integer()
    record_id = fields.Integer()
    record_version = fields.Integer()
    target = fields.String()
    idempotency_key = fields.String(metadata={"description": "幂等键：每个记录版本一个 UUID"})
    event = fields.String()
    event_label = fields.Function(lambda d: DELIVERY_EVENTS.get(d.event, d.event))
    created_at = UtcDateTime()
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime()
    last_error = fields.String(allow_none=True)
    held_reason = fields.String(allow_none=True, metadata={"description": "暂停推送的原因（无法按平台对照转换）"})
    held_at = UtcDateTime(allow_none=True)
    content_digest = fields.String(allow_none=True, metadata={"description": "所发送内容的 SHA-256（十六进制）"})
    delivered_at = UtcDateTime(allow_none=True)
    delivered_via = fields.String(allow_none=True)


class RecordSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "记录编号（JLBH）：全局唯一、不变的 UUID"})
    version = fields.Integer()
    status = fields.String()
    status_label = fields.Function(lambda r: RECORD_STATUSES.get(r.status, r.status))
    complaint_id = fields.Integer(allow_none=True)
    source = fields.String()
    respondent_name = fields.String()
    respondent_uscc = fields.String(allow_none=True)
    respondent_division = fields.String(allow_none=True)
    respondent_prefecture = fields.String(allow_none=True)
    determining_name = fields.String()
    determining_uscc = fields.String(allow_none=True)
    determined_on = fields.Date()
    document_number = fields.String()
    domain = fields.String()
    domain_label = fields.Function(lambda r: DOMAINS.get(r.domain, r.domain))
    amount = fields.Decimal(as_string=True, allow_none=True)
    rectification_deadline = fields.Date(allow_none=True)
    rectification_state = fields.String()
    severity = fields.String()
    severity_label = fields.Function(lambda r: SEVERITIES.get(r.severity, r.severity))
    publication_start = fields.Date()
    publication_end = fields.Date(allow_none=True)
    published_until = fields.Date(allow_none=True)
    repair_eligible_from = fields.Date(metadata={"description": "最早可申请信用修复的日期"})
    repaired_on = fields.Date(allow_none=True)
    repair_document_number = fields.String(allow_none=True)
    active_measure_count = fields.Function(lambda r: len(r.active_measures))


class RecordDetailSchema(RecordSchema):
    basis = fields.String()
    facts = fields.String()
    repair_rule = fields.Function(lambda r: credit.repair_rule_text(r))
    repair_applied_at = UtcDateTime(allow_none=True)
    active_measures = fields.List(fields.Nested(MeasureSchema))
    measures = fields.List(fields.Nested(MeasureSchema))
    deliveries = fields.Function(lambda r: DeliverySchema(many=True).dump(exchange.deliveries_of(db.session, r.id)),
                                 metadata={"description": "推送平台日志（每个记录版本一条）"})


class RecordPage(PageSchema):
    items = fields.List(fields.Nested(RecordSchema))


class MeasureActionInput(Schema):
    action = fields.String(load_default="apply", validate=validate.OneOf(["apply", "end"]))
    measure_id = fields.Integer(load_default=None, metadata={"description": "解除时：要解除的措施 ID"})


class StartedSchema(Schema):
    instance_id = fields.Integer()
    process = fields.String()


class MeasureTypeSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String(metadata={"description": "national 国家 / city 城市 / local 地方"})
    is_active = fields.Boolean()


class MeasureTypeInput(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    level = fields.String(required=True, validate=validate.OneOf(list(MEASURE_LEVELS)))
    is_active = fields.Boolean(load_default=True)


def _filters(args: dict) -> dict[str, Any]:
    return {k: args.get(k) for k in ("respondent", "domain", "status", "prefecture", "division", "complaint_id",
                                     "rectification_state", "determined_from", "determined_to")}


@blp.get("/breach-records")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(RecordQuery, location="query")
@blp.response(200, RecordPage)
@requires(VIEW_RECORDS)
def list_records(args: dict) -> object:
    """Breach records the caller may see: the provincial DRC all, a prefecture credit lead its prefecture,
    a department those it determined or is the respondent of."""
    rows, total = credit.search_records(db.session, current_user, **_filters(args), limit=args["limit"],
                                        offset=args["offset"])
    return page(rows, total)


@blp.get("/breach-records/export")
@blp.doc(security=[{"bearer": []}], responses=file_response("记录文件（附件）：按 format 为 xlsx、CSV 或 JSON", {
    XLSX_TYPE: {"schema": BINARY}, "text/csv": {"schema": TEXT},
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}))
@blp.arguments(ExportQuery, location="query")
@requires(VIEW_RECORDS)
def export_records(args: dict) -> object:
    """All matching records in the collection fields: xlsx (records and measures sheets, typed cells), CSV (UTF-8
    with BOM) or JSON. In xlsx and CSV a text starting with = + - @ is prefixed with ' (formula injection)."""
    fmt = args["format"]
    body = record_export.export_records(db.session, current_user, fmt, _filters(args), clock.now())
    return Response(body, mimetype=record_export.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f"attachment; filename=breach-records.{fmt}"})


@blp.get("/breach-records/<int:record_id>")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, RecordDetailSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@requires(VIEW_RECORDS)
def get_record(record_id: int) -> object:
    """A record with its measures (active ones separately) and its delivery log."""
    return credit.view_record(db.session, record_id, current_user)


@blp.post("/breach-records/<int:record_id>/measures")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(MeasureActionInput)
@blp.response(201, StartedSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
@requires(MANAGE_MEASURES)
def start_measure(args: dict, record_id: int) -> object:
    """Start measures.bpmn (provincial DRC): the task to choose a measure, or to end one, appears in the inbox."""
    record = credit.view_record(db.session, record_id, current_user)
    instance = credit.start_measure_action(db.session, record, current_user, args["action"], args["measure_id"])
    return {"instance_id": instance.id, "process": credit.MEASURES_PROCESS}


@blp.post("/breach-records/<int:record_id>/repair")
@blp.doc(security=[{"bearer": []}])
@blp.response(201, StartedSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="最短公示期未满（message 写明最早可申请日期）或申请办理中")
@requires(APPLY_FOR_REPAIR)
def start_repair(record_id: int) -> object:
    """Start credit_repair.bpmn (the respondent or its superior): the application form appears in its inbox."""
    record = credit.view_record(db.session, record_id, current_user)
    instance = credit.start_repair(db.session, record, current_user)
    return {"instance_id": instance.id, "process": credit.REPAIR_PROCESS}


@blp.get("/measure-types")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, MeasureTypeSchema(many=True))
@requires(SIGNED_IN)
def list_measure_types() -> object:
    """The measure catalogue (失信惩戒措施清单)."""
    rows = credit.measure_types(db.session, active_only=request.args.get("all") is None)
    return rows


@blp.put("/measure-types/<string:code>")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(MeasureTypeInput)
@blp.response(200, MeasureTypeSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@requires(MANAGE_MEASURES)
def save_measure_type(args: dict, code: str) -> object:
    """Add or change a catalogue entry (provincial DRC)."""
    entry = credit.save_measure_type(db.session, current_user, code, args["name"], args["level"], args["is_active"])
    return entry


@blp.get("/platform-deliveries")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, DeliverySchema(many=True))
@requires(OPERATE_EXCHANGE)
def list_deliveries() -> object:
    """Failed deliveries (attempted, not yet delivered) — the operator view; `?state=held` for the versions held
    because they cannot be mapped for their destination (with the reason); `?record_id=` for one record's log."""
    if request.args.get("record_id"):
        record_id = request.args.get("record_id", type=int)  # None also beyond the id range (web/inputs.py)
        if record_id is None:
            abort(422)
        return exchange.deliveries_of(db.session, record_id)
    if request.args.get("state") == "held":
        return exchange.held_deliveries(db.session)
    return exchange.failed_deliveries(db.session)


@blp.post("/platform-deliveries/<int:delivery_id>/retry")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, DeliverySchema)
@blp.alt_response(409, schema=ApiErrorSchema)
@requires(OPERATE_EXCHANGE)
def retry_delivery(delivery_id: int) -> object:
    """Make a failed delivery due at once; the next scheduler tick sends it."""
    row = exchange.retry_now(db.session, delivery_id, actor=current_user)
    return row


class ProfileSchema(Schema):
    target = fields.String()
    target_label = fields.String()
    revision = fields.Integer(metadata={"description": "0：默认对照（未修改）"})
    updated_by = fields.String(allow_none=True)
    updated_at = UtcDateTime(allow_none=True)
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields", attribute="fields",
                          metadata={"description": "我方字段键 → 平台字段名（空字符串：不发送）"})
    measure_fields = fields.Dict(keys=fields.String(), values=fields.String())
    codes = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()),
                        metadata={"description": "代码表 → {我方代码: 平台代码}"})
    missing = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                          metadata={"description": "尚未对照的我方代码（含有它们的版本暂停推送）"})


class ProfileInput(Schema):
    fields_ = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), data_key="fields",
                          attribute="fields", load_default=dict)
    measure_fields = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), load_default=dict)
    codes = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)


@blp.get("/exchange-profiles")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, ProfileSchema(many=True))
@requires(ADMINISTER_EXCHANGE)
def list_profiles() -> object:
    """Every destination's profile (field names and code lists), stored or the defaults."""
    return exchange.all_profiles(db.session)


@blp.get("/exchange-profiles/<string:target>")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, ProfileSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@requires(ADMINISTER_EXCHANGE)
def get_profile(target: str) -> object:
    """One destination's profile (`provincial`, `national`)."""
    return profiles.profile_for(db.session, target)


@blp.put("/exchange-profiles/<string:target>")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(ProfileInput)
@blp.response(200, ProfileSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema, description="字段名或代码有误：errors 按 fields.<键>、codes.<代码表>.<代码> 列出")
@requires(ADMINISTER_EXCHANGE)
def save_profile(args: dict, target: str) -> object:
    """Change field names and codes (only those given; the rest stays); a new revision, audited. Held versions are
    checked against it at the next delivery run."""
    saved = profiles.save_profile(db.session, current_user, target, args)
    return saved


@blp.delete("/exchange-profiles/<string:target>")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, ProfileSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@requires(ADMINISTER_EXCHANGE)
def reset_profile(target: str) -> object:
    """Back to the defaults (audited)."""
    profile = profiles.reset_profile(db.session, current_user, target)
    return profile


class PublicRecordSchema(Schema):
    """What the public sees of a record in its publication period: the respondent (a government body) and the
    determination — no facts text, no complainant (names, phone, code in the basis text are masked)."""

    id = fields.Integer()
    respondent_name = fields.String()
    respondent_uscc = fields.String(allow_none=True)
    respondent_division = fields.String(allow_none=True)
    determining_name = fields.String()
    determined_on = fields.Date()
    document_number = fields.String()
    basis = fields.String(metadata={"description": "认定依据（投诉人名称、电话等已屏蔽）"})
    domain = fields.String()
    domain_label = fields.String()
    severity_label = fields.String()
    publication_start = fields.Date()
    publication_end = fields.Date(allow_none=True)
    active_measures = fields.List(fields.String())


class PublicQuery(Schema):
    respondent = fields.String(load_default=None, validate=validate.Length(max=100),
                               metadata={"description": "失信主体名称（包含）"})
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class PublicRecordPage(Schema):
    total = fields.Integer(metadata={"description": "公示期内符合条件的记录总数"})
    items = fields.List(fields.Nested(PublicRecordSchema))


@blp.get("/public/breach-records")
@blp.arguments(PublicQuery, location="query")
@blp.response(200, PublicRecordPage)
@requires(PUBLIC)
def public_records(args: dict) -> object:
    """Records currently in their publication period (no sign-in), newest first, paged as {total, items}; repaired
    records and those past the last day of their publication period are not listed. The same rows as the page
    /public/breach-records."""
    today = clock.now().astimezone(SHANGHAI).date()
    rows, total = publication.public_records(db.session, today, args["limit"], args["offset"],
                                             respondent=args["respondent"])
    return {"total": total, "items": rows}
