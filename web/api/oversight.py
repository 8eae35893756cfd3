"""Oversight statistics (调度统计) as JSON: the dashboard's figures and the ranking of prefectures/departments."""
from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.cases.models import CHANNELS, DOMAINS
from engine.org.permissions import SEE_STATISTICS
from engine.oversight.periods import Period
from engine.oversight.scope import GROUP_LABELS, resolve_scope
from engine.oversight.statistics import OVERDUE_BUCKETS, REQUIRED_RECORD_FIELDS, STAGES, figures, ranking
from engine.workflow import clock
from web.api.common import ApiErrorSchema
from web.extensions import db
from web.permissions import protect

blp = Blueprint("api_oversight", __name__, url_prefix="/oversight",
                description="调度统计：受理、核实、整改、违约失信记录、惩戒、修复与数据质量（省发展改革委看全省，州（市）信用牵头单位看本州（市））")
protect(blp, SEE_STATISTICS)  # the scope (all of Yunnan or one prefecture): engine.oversight.scope
MAX_DAYS = 3 * 366
FIRST_YEAR, LAST_YEAR = 2000, 2100  # as the audit filters; far dates overflow in the UTC conversion
LABELS = {"channels": CHANNELS, "domains": DOMAINS, "prefectures": GROUP_LABELS, "stages": STAGES,
          "overdue_buckets": OVERDUE_BUCKETS, "required_fields": REQUIRED_RECORD_FIELDS,
          "intake": {"received": "收到", "accepted": "受理", "rejected": "不予受理", "merged": "合并办理",
                     "pending": "待审查"},
          # JSON objects come out with sorted keys: these lists keep the order the tables use
          "order": {"channels": list(CHANNELS), "domains": list(DOMAINS), "prefectures": list(GROUP_LABELS),
                    "stages": list(STAGES), "overdue_buckets": list(OVERDUE_BUCKETS)}}


class FiguresQuery(Schema):
    start = fields.Date(load_default=None, metadata={"description": "统计期开始日（云南时间，含当日）；缺省为本季度第一天"})
    end = fields.Date(load_default=None, metadata={"description": "统计期结束日（含当日）；缺省为本季度最后一天"})
    prefecture = fields.String(load_default=None, validate=validate.OneOf(list(GROUP_LABELS)), metadata={
        "description": "州（市）代码（530100 等 16 个），530000 为省直部门，none 为未指明被投诉主体"})
    department = fields.String(load_default=None, validate=validate.Length(max=64),
                               metadata={"description": "被投诉主体部门代码（只看该部门）"})
    channel = fields.String(load_default=None, validate=validate.OneOf(list(CHANNELS)), metadata={"description": "投诉渠道"})
    domain = fields.String(load_default=None, validate=validate.OneOf(list(DOMAINS)), metadata={"description": "领域"})

    @validates_schema
    def _period(self, data: dict, **_kwargs: Any) -> None:
        """Check the period as it will be used: a missing bound is the current quarter's."""
        for name in ("start", "end"):
            if data.get(name) and not FIRST_YEAR <= data[name].year <= LAST_YEAR:
                raise ValidationError(f"日期须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间", name)
        given_start, given_end = data.get("start"), data.get("end")
        quarter = Period.quarter_of(clock.now())
        start, end = given_start or quarter.start, given_end or quarter.end
        if end < start:
            if given_start and given_end:
                raise ValidationError("结束日期不能早于开始日期", "end")
            if given_end:
                raise ValidationError(f"结束日期早于本季度第一天（{start.isoformat()}），请同时填写开始日期", "end")
            raise ValidationError(f"开始日期晚于本季度最后一天（{end.isoformat()}），请同时填写结束日期", "start")
        if (end - start).days > MAX_DAYS:
            if given_start and given_end:
                raise ValidationError("统计期最长三年", "end")
            raise ValidationError("统计期最长三年，请同时填写开始日期和结束日期", "end" if given_end else "start")


class RankingQuery(FiguresQuery):
    by = fields.String(load_default="prefecture", validate=validate.OneOf(["prefecture", "department"]),
                       metadata={"description": "prefecture 按州（市）；department 按被投诉主体部门"})
    level = fields.String(load_default=None, validate=validate.OneOf(["province", "prefecture", "county"]),
                          metadata={"description": "按部门排名时只列该层级的部门"})


class IntakeSchema(Schema):
    received = fields.Integer(metadata={"description": "收到（统计期内收到的投诉，含被合并的）"})
    accepted = fields.Integer(metadata={"description": "受理"})
    rejected = fields.Integer(metadata={"description": "不予受理"})
    merged = fields.Integer(metadata={"description": "与同一事项合并办理"})
    pending = fields.Integer(metadata={"description": "尚未完成受理审查"})


class OnTimeSchema(Schema):
    due = fields.Integer(metadata={"description": "统计期内到期（已办结或已逾期）的核实认定任务"})
    on_time = fields.Integer(metadata={"description": "按期完成"})
    late = fields.Integer(metadata={"description": "逾期后完成"})
    late_open = fields.Integer(metadata={"description": "逾期仍未完成"})
    rate = fields.Float(allow_none=True, metadata={"description": "按期核实率（0–1）"})


class StageSchema(Schema):
    stage = fields.String()
    label = fields.String()
    count = fields.Integer(metadata={"description": "统计期内完成的任务数"})
    mean_days = fields.Float(allow_none=True)
    median_days = fields.Float(allow_none=True, metadata={"description": "中位数（天，扣除暂停计时）"})
    p90_days = fields.Float(allow_none=True, metadata={"description": "第 90 百分位（天）"})


class OutcomesSchema(Schema):
    verified = fields.Integer()
    founded = fields.Integer()
    unfounded = fields.Integer()
    disputed = fields.Integer()
    rectifying = fields.Integer()
    rectified = fields.Integer()
    breach_reported = fields.Integer()
    founded_rate = fields.Float(allow_none=True, metadata={"description": "属实率 = 属实 / 已核实"})
    rectification_rate = fields.Float(allow_none=True,
                                      metadata={"description": "整改率 = 已整改办结 / （已整改办结 + 确认违约失信）"})


class OverdueSchema(Schema):
    total = fields.Integer(metadata={"description": "当前逾期未办的任务"})
    supervised = fields.Integer(metadata={"description": "其中已挂牌督办"})
    max_days = fields.Float(allow_none=True)
    mean_days = fields.Float(allow_none=True)
    buckets = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "按逾期天数分段"})
    by_stage = fields.Dict(keys=fields.String(), values=fields.Integer())


class CreditSchema(Schema):
    breaches_confirmed = fields.Integer()
    breaches_migrated = fields.Integer()
    records_with_measures = fields.Integer()
    repeat_respondents = fields.Integer()
    measures_applied = fields.Integer()
    measures_ended = fields.Integer()
    measures_active = fields.Integer()
    repairs = fields.Integer()


class QualitySchema(Schema):
    records = fields.Integer()
    records_missing = fields.Integer()
    missing_by_field = fields.Dict(keys=fields.String(), values=fields.Integer())
    deliveries = fields.Integer()
    delivered_on_time = fields.Integer()
    delivered_late = fields.Integer()
    failing = fields.Integer()
    pending = fields.Integer()


class FiguresSchema(Schema):
    period = fields.Dict(metadata={"description": "{start, end}"})
    scope = fields.Dict(metadata={"description": "{kind: province|prefecture|department, prefecture, department_id, label}"})
    channel = fields.String(allow_none=True)
    domain = fields.String(allow_none=True)
    now = fields.String(metadata={"description": "「当前逾期」的计算时刻（UTC）"})
    intake = fields.Nested(IntakeSchema)
    by_channel = fields.Dict(keys=fields.String(), values=fields.Nested(IntakeSchema))
    by_domain = fields.Dict(keys=fields.String(), values=fields.Nested(IntakeSchema))
    by_prefecture = fields.Dict(keys=fields.String(), values=fields.Nested(IntakeSchema))
    by_month = fields.Dict(keys=fields.String(), values=fields.Nested(IntakeSchema))
    verification = fields.Nested(OnTimeSchema)
    verification_by_month = fields.Dict(keys=fields.String(), values=fields.Nested(OnTimeSchema))
    stages = fields.List(fields.Nested(StageSchema))
    outcomes = fields.Nested(OutcomesSchema)
    overdue = fields.Nested(OverdueSchema)
    credit = fields.Nested(CreditSchema)
    quality = fields.Nested(QualitySchema)
    labels = fields.Dict(metadata={"description": "渠道、领域、州（市）、环节等代码的中文名称"})


class RankRowSchema(Schema):
    key = fields.String(metadata={"description": "州（市）代码或部门 ID"})
    label = fields.String()
    received = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer()
    verify_due = fields.Integer()
    verify_on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    verified = fields.Integer()
    founded = fields.Integer()
    founded_rate = fields.Float(allow_none=True)
    rectified = fields.Integer()
    breach_reported = fields.Integer()
    rectification_rate = fields.Float(allow_none=True)
    overdue_now = fields.Integer()
    breaches_confirmed = fields.Integer()
    records_with_measures = fields.Integer()
    punishment_rate = fields.Float(allow_none=True)
    repeat_respondents = fields.Integer()
    measures_applied = fields.Integer()
    repairs = fields.Integer()
    records_missing = fields.Integer()
    data_quality_rate = fields.Float(allow_none=True)
    deliveries = fields.Integer()
    deliveries_late_or_failing = fields.Integer()


class RankingSchema(Schema):
    period = fields.Dict()
    scope = fields.Dict()
    by = fields.String()
    rows = fields.List(fields.Nested(RankRowSchema))


def period_of(args: dict) -> Period:
    """The requested period; the current quarter (in Yunnan) fills in what is missing."""
    default = Period.quarter_of(clock.now())
    return Period(args.get("start") or default.start, args.get("end") or default.end)


@blp.get("/figures")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(FiguresQuery, location="query")
@blp.response(200, FiguresSchema)
@blp.alt_response(403, schema=ApiErrorSchema, description="不是省发展改革委或州（市）信用牵头单位，或超出本州（市）")
def get_figures(args: dict) -> object:
    """All dashboard figures for a period, for all of Yunnan, one prefecture or one respondent department."""
    scope = resolve_scope(db.session, current_user, args["prefecture"], args["department"])
    result = figures(db.session, period_of(args), scope, channel=args["channel"], domain=args["domain"])
    return {**result.as_dict(), "labels": LABELS}


@blp.get("/ranking")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(RankingQuery, location="query")
@blp.response(200, RankingSchema)
@blp.alt_response(403, schema=ApiErrorSchema, description="不是省发展改革委或州（市）信用牵头单位，或超出本州（市）")
def get_ranking(args: dict) -> object:
    """One row per prefecture (all 16 and 省直) or per respondent department, with the rates bulletins rank by."""
    scope = resolve_scope(db.session, current_user, args["prefecture"], args["department"])
    period = period_of(args)
    rows = ranking(db.session, period, args["by"], scope, channel=args["channel"], domain=args["domain"],
                   level=args["level"])
    return {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
            "scope": {"kind": scope.kind, "prefecture": scope.prefecture, "label": scope.label},
            "by": args["by"], "rows": [r.as_dict() for r in rows]}
