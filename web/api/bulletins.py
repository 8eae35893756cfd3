"""调度通报 and 年度考核 over JSON: list, generate (202 + status URL), progress, review, xlsx; assessment table,
scoring sheet, CSV/xlsx export. Reading: provincial DRC and prefecture credit leads; changing: provincial DRC."""
from __future__ import annotations

from flask import Response, url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.org.permissions import MANAGE_BULLETINS, SEE_STATISTICS
from engine.oversight import assessment as assessments
from engine.oversight import bulletins
from engine.oversight.models import BULLETIN_STATUSES
from engine.oversight.xlsx import assessment_workbook, bulletin_workbook
from engine.workflow.clock import local_date
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
from web.permissions import protect, requires

blp = Blueprint("api_bulletins", __name__, url_prefix=None, description="调度通报与年度考核")
protect(blp, SEE_STATISTICS)  # reading; generating, reviewing and the scoring sheet: manage_bulletins
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BulletinSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    period_kind = fields.String(metadata={"description": "month 月度 / quarter 季度 / year 年度"})
    period_start = fields.Date()
    period_end = fields.Date(metadata={"description": "含当日"})
    revision = fields.Integer(metadata={"description": "版本：退回重新生成后加一"})
    status = fields.String(metadata={"description": "queued/generating/ready/failed/superseded/published"})
    status_label = fields.Function(lambda b: BULLETIN_STATUSES.get(b.status, b.status))
    source = fields.String(metadata={"description": "timer 定时器 / manual 手动 / regenerated 退回后重新生成"})
    progress = fields.Integer(metadata={"description": "生成进度（百分比）"})
    is_public = fields.Boolean()
    generated_at = UtcDateTime(allow_none=True)
    published_at = UtcDateTime(allow_none=True)


class BulletinDetailSchema(BulletinSchema):
    remarks = fields.String(allow_none=True)
    regenerate_reason = fields.String(allow_none=True)
    published_by = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    snapshot = fields.Dict(allow_none=True, metadata={"description": "生成时冻结的数字与排名（之后不再变化）"})
    public_snapshot = fields.Dict(allow_none=True, metadata={"description": "公众页面的部分：仅汇总数字"})


class BulletinPage(PageSchema):
    items = fields.List(fields.Nested(BulletinSchema))


class StatusSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    status_label = fields.Function(lambda b: BULLETIN_STATUSES.get(b.status, b.status))
    progress = fields.Integer()
    progress_note = fields.String()
    error = fields.String(allow_none=True)


class GenerateInput(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["month", "quarter", "year"]),
                         metadata={"description": "month / quarter / year"})
    period_start = fields.Date(required=True, metadata={"description": "期间第一天，例如 2026-10-01"})


class ReviewInput(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "regenerate"]))
    remarks = fields.String(load_default=None, allow_none=True)
    publish_public = fields.Boolean(load_default=False)
    regenerate_reason = fields.String(load_default=None, allow_none=True)


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class YearQuery(Schema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class ExportQuery(YearQuery):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))


class SheetSchema(Schema):
    year = fields.Integer()
    weights = fields.Dict(keys=fields.String(), values=fields.Float(),
                          metadata={"description": "指标 → 权重（非负，合计 100）：" + "、".join(
                              f"{k} {v}" for k, v in assessments.INDICATORS.items())})
    repeat_deduction = fields.Float(metadata={"description": "每个重复失信主体扣减“重复失信控制”的百分点"})
    note = fields.String()
    updated_by = fields.String()


class SheetInput(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    weights = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)
    repeat_deduction = fields.Raw(load_default=assessments.DEFAULT_REPEAT_DEDUCTION)
    note = fields.String(load_default="")


class AssessmentRowSchema(Schema):
    kind = fields.String(metadata={"description": "prefecture 州（市） / department 省直部门"})
    kind_label = fields.String()
    key = fields.String()
    label = fields.String()
    rates = fields.Dict(metadata={"description": "各指标计分所用比率（0–1；无数据按 1）"})
    no_data = fields.List(fields.String())
    score = fields.Float()
    formula = fields.String(metadata={"description": "计算公式"})
    counts = fields.Dict()


class AssessmentSchema(Schema):
    year = fields.Integer()
    sheet = fields.Nested(SheetSchema)
    rows = fields.List(fields.Nested(AssessmentRowSchema))


@blp.get("/bulletins")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(PageQuery, location="query")
@blp.response(200, BulletinPage)
def list_bulletins(args: dict) -> object:
    """Bulletins, newest period first (prefecture leads: published ones only)."""
    rows, total = bulletins.list_bulletins(db.session, current_user, args["limit"], args["offset"])
    return page(rows, total)


@blp.post("/bulletins")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(GenerateInput)
@blp.response(202, StatusSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(400, schema=ApiErrorSchema)
@requires(MANAGE_BULLETINS)
def generate(args: dict) -> object:
    """Start the bulletin process for a period (provincial DRC); poll the `Location` status URL for progress."""
    from web.bulletins import generate_in_background

    bulletin = bulletins.start_manual(db.session, current_user, args["kind"], args["period_start"].isoformat())
    generate_in_background(bulletin.id)
    return bulletin, 202, {"Location": url_for("api_bulletins.bulletin_status", bulletin_id=bulletin.id)}


@blp.get("/bulletins/<int:bulletin_id>")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, BulletinDetailSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_bulletin(bulletin_id: int) -> object:
    """One bulletin with its frozen snapshot."""
    bulletin = bulletins.get_bulletin(db.session, bulletin_id)
    bulletins.ensure_may_read(current_user, bulletin)
    return bulletin


@blp.get("/bulletins/<int:bulletin_id>/status")
@blp.doc(security=[{"bearer": []}])
@blp.response(200, StatusSchema)
def bulletin_status(bulletin_id: int) -> object:
    """Generation progress (what the bulletin page polls)."""
    bulletin = bulletins.get_bulletin(db.session, bulletin_id)
    bulletins.ensure_may_read(current_user, bulletin)
    return bulletin


@blp.post("/bulletins/<int:bulletin_id>/review")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(ReviewInput)
@blp.response(200, BulletinSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
@requires(MANAGE_BULLETINS)
def review(args: dict, bulletin_id: int) -> object:
    """Complete the review task: approve (published) or regenerate (returns the new, queued revision)."""
    from web.bulletins import generate_in_background

    newest = bulletins.review(db.session, bulletin_id, args, current_user)
    if newest.id != bulletin_id:
        generate_in_background(newest.id)
    return newest


@blp.get("/bulletins/<int:bulletin_id>/xlsx")
@blp.doc(security=[{"bearer": []}], responses={"200": {"description": "xlsx 文件", "content": {
    XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def bulletin_xlsx(bulletin_id: int) -> Response:
    """The bulletin as a formatted spreadsheet (figures, the charts' tables, both rankings)."""
    bulletin = bulletins.get_bulletin(db.session, bulletin_id)
    bulletins.ensure_may_read(current_user, bulletin)
    if not bulletin.snapshot:
        from engine.errors import TaskNotReady

        raise TaskNotReady("通报尚未生成完毕")
    return Response(bulletin_workbook(bulletin), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=bulletin-{bulletin.period_start}-r{bulletin.revision}.xlsx"})


@blp.get("/assessment")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(YearQuery, location="query")
@blp.response(200, AssessmentSchema)
def assessment_table(args: dict) -> object:
    """The year's assessment: one row per prefecture and provincial department with score and formula."""
    bulletins.ensure_may_read(current_user)
    year = args["year"] or local_date().year
    sheet, rows = assessments.assessment(db.session, year)
    return {"year": year, "sheet": sheet, "rows": [r.as_dict() for r in rows]}


@blp.get("/assessment/sheet")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(YearQuery, location="query")
@blp.response(200, SheetSchema)
def get_sheet(args: dict) -> object:
    bulletins.ensure_may_read(current_user)
    return assessments.sheet_for(db.session, args["year"] or local_date().year)


@blp.put("/assessment/sheet")
@blp.doc(security=[{"bearer": []}])
@blp.arguments(SheetInput)
@blp.response(200, SheetSchema)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
@requires(MANAGE_BULLETINS)
def put_sheet(args: dict) -> object:
    """Set the year's weights (non-negative, summing to 100) and the repeated-breach deduction (provincial DRC)."""
    bulletins.ensure_may_manage(current_user)
    sheet = assessments.save_sheet(db.session, args["year"], args["weights"], args["repeat_deduction"],
                                   args["note"], current_user)
    return sheet


@blp.get("/assessment/export")
@blp.doc(security=[{"bearer": []}], responses=file_response("考核表（附件）：按 format 为 xlsx 或 CSV", {
    XLSX_TYPE: {"schema": BINARY}, "text/csv": {"schema": TEXT}}))
@blp.arguments(ExportQuery, location="query")
def export_assessment(args: dict) -> Response:
    """The table as xlsx or CSV (UTF-8 with BOM), text cells neutralised against formula injection."""
    bulletins.ensure_may_read(current_user)
    year = args["year"] or local_date().year
    sheet, rows = assessments.assessment(db.session, year)
    if args["format"] == "csv":
        return Response(assessments.assessment_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=assessment-{year}.csv"})
    return Response(assessment_workbook(year, sheet, rows, assessments.INDICATORS), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=assessment-{year}.xlsx"})

