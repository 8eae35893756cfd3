"""Channel intake API: `X-Api-Key` authentication, the channel's view of its complaints, the update feed,
and the intake officials' duplicate candidates (merge / reject)."""
from __future__ import annotations

from flask import g, request
from flask_login import current_user
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate

from engine.cases.models import CHANNELS
from engine.cases.status import result_label, status_label
from engine.errors import EngineError
from engine.intake import dedup
from engine.intake import services as intake
from engine.intake.models import ChannelKey
from engine.org.permissions import CHANNEL_FEED, DECIDE_DUPLICATES
from web.api.common import ApiErrorSchema, UtcDateTime
from web.extensions import db
from web.permissions import requires

API_KEY_HEADER = "X-Api-Key"
CHANNEL_LIST = "；".join(f"`{code}` {name}" for code, name in CHANNELS.items())


class ChannelKeyInvalid(EngineError):
    http_status = 401


def current_channel_key() -> ChannelKey | None:
    """The channel of the request's `X-Api-Key`; None without the header; 401 when the key is unknown or revoked."""
    if "channel_key" not in g:
        plain = request.headers.get(API_KEY_HEADER, "").strip()
        if not plain:
            g.channel_key = None
        else:
            key = intake.channel_for_key(db.session, plain)
            if key is None:
                raise ChannelKeyInvalid("渠道密钥无效或已吊销（X-Api-Key）")
            g.channel_key = key
    return g.channel_key


# --- the channel's view of a complaint -----------------------------------------------------------------

class PublicNoteSchema(Schema):
    at = UtcDateTime(metadata={"description": "时间（UTC，ISO 8601）", "example": "2026-11-28T02:15:00+00:00"})
    note = fields.String(attribute="public_note",
                         metadata={"description": "写给投诉人的办理说明（不含内部意见）", "example": "您的投诉已收到，我们将依法依规办理。"})


class ChannelComplaintSchema(Schema):
    """What a channel may read about its complaint: no internal remarks, no handling officials."""

    id = fields.Integer(metadata={"description": "案件 ID", "example": 1024})
    tracking_code = fields.String(metadata={"description": "投诉人查询码", "example": "YN261128K7M2Q9XA"})
    channel = fields.String(metadata={"description": "登记渠道：" + CHANNEL_LIST, "example": "hotline_12345"})
    external_refs = fields.List(fields.String(), metadata={
        "description": "本渠道在该案件上的编号（合并后可有多个）", "example": ["12345-20261128-000317"]})
    status = fields.String(metadata={"description": "办理状态代码", "example": "verifying"})
    status_label = fields.String(metadata={"description": "办理状态", "example": "核实认定中"})
    result = fields.String(allow_none=True, metadata={"description": "办结结果代码（未办结为 null）", "example": None})
    result_label = fields.String(allow_none=True, metadata={"description": "办结结果", "example": None})
    received_at = UtcDateTime(metadata={"example": "2026-11-28T02:15:00+00:00"})
    closed_at = UtcDateTime(allow_none=True, metadata={"example": None})
    merged_into = fields.Integer(allow_none=True, metadata={
        "description": "已与同一事项的投诉合并办理时，承办案件的 ID（之后请跟踪该案件）", "example": None})
    public_notes = fields.List(fields.Nested(PublicNoteSchema), metadata={"description": "按时间排列的办理说明"})


def channel_view(key: ChannelKey, complaint_id: int) -> dict:
    complaint = intake.complaint_for_channel(db.session, key, complaint_id)
    survivor = dedup.survivor_of(db.session, complaint)
    return ChannelComplaintSchema().dump({
        "id": complaint.id, "tracking_code": complaint.tracking_code, "channel": complaint.channel,
        "external_refs": intake.channel_refs(db.session, key.channel, complaint),
        "status": complaint.status, "status_label": status_label(complaint.status), "result": complaint.result,
        "result_label": result_label(complaint.result) if complaint.result else None,
        "received_at": complaint.received_at, "closed_at": complaint.closed_at,
        "merged_into": survivor.id if survivor.id != complaint.id else None,
        "public_notes": intake.public_notes(db.session, complaint),
    })


# --- update feed ---------------------------------------------------------------------------------------

channel_blp = Blueprint("api_channel", __name__, url_prefix="/channel",
                        description="渠道对接：以 X-Api-Key 认证的渠道跟踪本渠道投诉的办理进展（参照 Open311 request updates）")


class UpdatesQuery(Schema):
    since = fields.DateTime(required=True, error_messages={"required": "请提供起始时间 since", "invalid": "since 应为 ISO 8601 时间"},
                            metadata={"description": "起始时间（含）；不带时区时按 UTC", "example": "2026-11-28T00:00:00+08:00"})
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=0), metadata={
        "description": "翻页游标：上一页 next.after_id；此时只返回时间恰为 since 且 ID 更大的、以及晚于 since 的更新",
        "example": 5120})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500, error="limit 应在 1–500 之间"),
                           metadata={"description": "每页条数（1–500）", "example": 100})


class UpdateSchema(Schema):
    update_id = fields.Integer(attribute="event.id", metadata={"description": "更新 ID（案件事件 ID）", "example": 5120})
    complaint_id = fields.Integer(attribute="complaint.id", metadata={"example": 1024})
    external_ref = fields.Function(lambda u: u.external_refs[0] if u.external_refs else None, metadata={
        "description": "本渠道的投诉编号（合并后为第一个）", "example": "12345-20261128-000317"})
    external_refs = fields.List(fields.String(), metadata={"description": "本渠道在该案件上的全部编号",
                                                           "example": ["12345-20261128-000317"]})
    status = fields.String(attribute="complaint.status", metadata={"description": "案件当前状态代码", "example": "verifying"})
    status_label = fields.Function(lambda u: status_label(u.complaint.status), metadata={"example": "核实认定中"})
    result = fields.String(attribute="complaint.result", allow_none=True, metadata={"example": None})
    note = fields.String(attribute="event.public_note", metadata={
        "description": "写给投诉人的办理说明", "example": "您的投诉已转交主管部门核实。"})
    updated_at = UtcDateTime(attribute="event.at", metadata={"example": "2026-11-28T03:00:00+00:00"})


class NextPageSchema(Schema):
    since = UtcDateTime(metadata={"example": "2026-11-28T03:00:00+00:00"})
    after_id = fields.Integer(metadata={"example": 5120})


class UpdatesPageSchema(Schema):
    items = fields.List(fields.Nested(UpdateSchema))
    next = fields.Nested(NextPageSchema, allow_none=True, metadata={
        "description": "还有更多时下一页的参数（since 与 after_id 一并传回）；已取完为 null"})


@channel_blp.get("/updates")
@channel_blp.doc(security=[{"channelKey": []}])
@channel_blp.arguments(UpdatesQuery, location="query")
@channel_blp.response(200, UpdatesPageSchema)
@channel_blp.alt_response(401, schema=ApiErrorSchema, description="缺少或无效的 X-Api-Key")
@requires(CHANNEL_FEED, channel=True)  # channel keys only
def updates(args: dict) -> object:
    """Status updates of this channel's complaints since a time, oldest first (only notes for the complainant)."""
    key = current_channel_key()
    if key is None:
        raise ChannelKeyInvalid("请在请求头 X-Api-Key 中提供渠道密钥")
    rows = intake.channel_updates(db.session, key, args["since"], args["after_id"], args["limit"])
    last = rows[-1].event if len(rows) == args["limit"] else None
    return {"items": rows, "next": {"since": last.at, "after_id": last.id} if last else None}


# --- duplicates (intake officials) ---------------------------------------------------------------------

dup_blp = Blueprint("api_duplicates", __name__, url_prefix="/duplicates",
                    description="疑似重复投诉（横向归集）：受理登记人员比对后合并或排除")


class CaseSideSchema(Schema):
    id = fields.Integer(metadata={"example": 1024})
    tracking_code = fields.String(metadata={"example": "YN261128K7M2Q9XA"})
    status = fields.String(metadata={"example": "screening"})
    channel = fields.String(metadata={"example": "hotline_12345"})
    external_ref = fields.String(allow_none=True, metadata={"example": "12345-20261128-000317"})
    complainant_name = fields.String(metadata={"example": "云南滇信科技有限公司"})
    complainant_uscc = fields.String(metadata={"example": "91440101MA5CJQ4N59"})
    respondent_name = fields.String(metadata={"example": "昆明市官渡区商务局"})
    agreement_name = fields.String(metadata={"example": "官渡区招商引资项目投资协议"})
    agreement_number = fields.String(allow_none=True, metadata={"example": "GD-ZS-2024-017"})
    facts = fields.String(metadata={"example": "协议约定的产业扶持资金 300 万元至今未兑现。"})
    claims = fields.String(metadata={"example": "请求按协议兑现扶持资金。"})
    received_at = UtcDateTime(metadata={"example": "2026-11-28T02:15:00+00:00"})


class DuplicateSchema(Schema):
    id = fields.Integer(metadata={"example": 7})
    score = fields.Float(metadata={"description": "重复可能性评分 0–100（≥50 才列出）", "example": 86.5})
    reasons = fields.Dict(metadata={"description": "评分依据：same_complainant / same_respondent / "
                                                   "same_agreement_number / different_agreement_number / facts_similarity（0–100）/ labels（中文说明）",
                                    "example": {"same_complainant": True, "same_respondent": True,
                                                "facts_similarity": 46.0,
                                                "labels": ["同一投诉企业（统一社会信用代码相同）", "同一被投诉主体", "事实描述相似度 46%"]}})
    complaint = fields.Nested(CaseSideSchema, metadata={"description": "新登记的投诉"})
    other = fields.Nested(CaseSideSchema, metadata={"description": "与之相似的在办投诉"})
    created_at = UtcDateTime(metadata={"description": "检出时间", "example": "2026-11-28T02:15:01+00:00"})
    decision = fields.String(allow_none=True, metadata={"description": "merged / rejected；未处理为 null", "example": None})
    decided_at = UtcDateTime(allow_none=True, metadata={"description": "处理时间", "example": None})


class DuplicatesQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class MergedSchema(DuplicateSchema):
    survivor_id = fields.Integer(metadata={"description": "保留的（较早登记的）案件 ID", "example": 1000})


@dup_blp.get("")
@dup_blp.doc(security=[{"bearer": []}])
@dup_blp.arguments(DuplicatesQuery, location="query")
@dup_blp.response(200, DuplicateSchema(many=True))
@dup_blp.alt_response(403, schema=ApiErrorSchema)
@requires(DECIDE_DUPLICATES)
def list_duplicates(args: dict) -> object:
    """Undecided duplicate candidates, highest score first, both cases side by side (intake and ndrc)."""
    return dedup.open_candidates(db.session, current_user, args["limit"], args["offset"])


@dup_blp.post("/<int:candidate_id>/merge")
@dup_blp.doc(security=[{"bearer": []}])
@dup_blp.response(200, MergedSchema)
@dup_blp.alt_response(403, schema=ApiErrorSchema)
@dup_blp.alt_response(409, schema=ApiErrorSchema)
@requires(DECIDE_DUPLICATES)
def merge(candidate_id: int) -> object:
    """Merge: the older case survives with every channel reference; the newer one is closed as merged."""
    survivor = dedup.merge_candidate(db.session, candidate_id, current_user)
    candidate = db.session.get(dedup.DuplicateCandidate, candidate_id)
    candidate.survivor_id = survivor.id  # type: ignore[union-attr] - plain attribute for the response only
    return candidate


@dup_blp.post("/<int:candidate_id>/reject")
@dup_blp.doc(security=[{"bearer": []}])
@dup_blp.response(200, DuplicateSchema)
@dup_blp.alt_response(403, schema=ApiErrorSchema)
@dup_blp.alt_response(409, schema=ApiErrorSchema)
@requires(DECIDE_DUPLICATES)
def reject(candidate_id: int) -> object:
    """Not the same matter: both cases continue."""
    candidate = dedup.reject_candidate(db.session, candidate_id, current_user)
    return candidate


def register(api: Api) -> None:
    """Blueprints of this module (and evidence files), CSRF-exempt like the rest of the API, and the `channelKey` scheme."""
    from web.api.evidence import blp as evidence_blp
    from web.extensions import csrf

    for blp in (channel_blp, dup_blp, evidence_blp):
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix}")
    api.spec.components.security_scheme("channelKey", {
        "type": "apiKey", "in": "header", "name": API_KEY_HEADER,
        "description": "渠道密钥：flask --app web intake create-key CHANNEL（每个渠道一把，可吊销）。渠道：" + CHANNEL_LIST})
