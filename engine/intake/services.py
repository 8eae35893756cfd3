"""Channel API keys and the intake services behind the channel API and the public complaint column."""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine import throttle
from engine.audit.services import record as audit
from engine.cases.models import CHANNELS, CaseEvent, Complaint
from engine.cases.schemas import load_complaint
from engine.cases.services import _flatten as flatten_messages  # the same field messages as registering
from engine.cases.services import register_complaint
from engine.db import as_utc, utcnow
from engine.errors import EngineError, FormInvalid, NotFound, TooManyAttempts
from engine.intake import evidence
from engine.intake.dedup import find_duplicates, survivor_of
from engine.intake.models import ChannelKey, ComplaintReference
from engine.org import permissions
from engine.org.models import Official

logger = logging.getLogger(__name__)
LAST_USE_GRANULARITY = timedelta(minutes=5)
PUBLIC_CHANNEL = "credit_yunnan"
KEY_PREFIX = "lvc_"


# --- keys ---------------------------------------------------------------------------------------------

def create_channel_key(session: Session, channel: str, label: str = "", actor: str = "cli") -> tuple[ChannelKey, str]:
    """Create a key for `channel`; returns (row, plain key). The plain key is shown once and never stored."""
    if channel not in CHANNELS:
        raise EngineError(f"未知渠道：{channel}（可选：{'、'.join(CHANNELS)}）")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ChannelKey(channel=channel, key_hash=_digest(plain), label=label[:100])
    session.add(key)
    session.flush()
    audit(session, "channel_key_created", actor, "channel_key", key.id, after={"channel": channel, "label": label})
    logger.info("channel key %s created for %s", key.id, channel)
    return key, plain


def revoke_channel_key(session: Session, key_id: int, actor: str = "cli") -> ChannelKey:
    key = session.get(ChannelKey, key_id)
    if key is None:
        raise NotFound(f"没有编号为 {key_id} 的渠道密钥")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit(session, "channel_key_revoked", actor, "channel_key", key.id, after={"channel": key.channel})
    return key


def list_channel_keys(session: Session) -> list[ChannelKey]:
    return list(session.scalars(select(ChannelKey).order_by(ChannelKey.id)))


def channel_for_key(session: Session, plain: str) -> ChannelKey | None:
    """The unrevoked key matching `plain` (records its last use at most every few minutes), or None."""
    if not plain:
        return None
    key = session.scalar(select(ChannelKey).where(ChannelKey.key_hash == _digest(plain), ChannelKey.revoked_at.is_(None)))
    if key is None:
        return None
    now = utcnow()
    last = as_utc(key.last_used_at)
    if last is None or now - last > LAST_USE_GRANULARITY:
        key.last_used_at = now
    return key


# --- submission ---------------------------------------------------------------------------------------

def submit_from_channel(session: Session, key: ChannelKey, raw: dict[str, Any]) -> tuple[Complaint, bool]:
    """Register a complaint sent by a channel: the channel is the key's, `external_ref` is required.

    Re-sending a reference returns the case that answers for it (the surviving case after a merge),
    with created=False. New complaints are checked for likely duplicates in the same transaction.
    """
    if not str(raw.get("external_ref") or "").strip():
        raise FormInvalid({"external_ref": "通过渠道接口提交时必须提供本渠道的投诉编号"})
    data = {**raw, "channel": key.channel}
    complaint, created = register_complaint(session, data, actor=None)
    if created:
        find_duplicates(session, complaint)
        return complaint, True
    return survivor_of(session, complaint), False


def submit_public(session: Session, raw: dict[str, Any], uploads: list[evidence.Upload] | None = None,
                  policy: evidence.EvidencePolicy | None = None) -> Complaint:
    """Register a complaint from the public column (channel credit_yunnan, no official) with its evidence
    files; check duplicates. Field and file problems are reported together; nothing is kept on any."""
    data = {k: v for k, v in raw.items() if k not in ("channel", "external_ref")}
    data["channel"] = PUBLIC_CHANNEL
    complaint, _created = _register_with_files(session, data, None, uploads or [], policy, "complainant")
    find_duplicates(session, complaint)
    return complaint


def submit_official(session: Session, raw: dict[str, Any], actor: Official,
                    uploads: list[evidence.Upload] | None = None,
                    policy: evidence.EvidencePolicy | None = None) -> tuple[Complaint, bool]:
    """Register a complaint at the counter (an intake official's form or token) with its evidence files;
    a new complaint is checked for likely duplicates. Returns (complaint, created)."""
    permissions.require(actor, permissions.REGISTER_COMPLAINT)
    complaint, created = _register_with_files(session, raw, actor, uploads or [], policy, "official")
    if created:
        find_duplicates(session, complaint)
    return complaint, created


def _register_with_files(session: Session, data: dict[str, Any], actor: Official | None,
                         uploads: list[evidence.Upload], policy: evidence.EvidencePolicy | None,
                         source: str) -> tuple[Complaint, bool]:
    """Register and keep the files; a repeated channel reference returns the existing case, files unkept."""
    if uploads and policy is None:
        raise EngineError("未配置证据材料存储（EVIDENCE_DIR）")
    try:
        staged = evidence.stage(uploads, policy) if uploads and policy else []
    except FormInvalid as exc:  # files refused: report the fields' problems too, write nothing
        try:
            load_complaint(data)
        except ValidationError as invalid:
            raise FormInvalid({**flatten_messages(invalid.messages), **exc.errors}) from exc
        raise
    try:
        complaint, created = register_complaint(session, data, actor=actor)
    except BaseException:
        evidence.discard(staged)
        raise
    if not created:
        evidence.discard(staged)
    elif staged and policy is not None:
        evidence.keep(session, complaint, staged, policy, source, actor=actor, channel=data.get("channel"))
    return complaint, created


def add_channel_evidence(session: Session, key: ChannelKey, complaint_id: int, uploads: list[evidence.Upload],
                         policy: evidence.EvidencePolicy) -> list[Any]:
    """Evidence files a channel sends for one of its complaints (kept on the case that answers for it)."""
    complaint = survivor_of(session, complaint_for_channel(session, key, complaint_id))
    evidence.ensure_open(complaint)
    return evidence.attach(session, complaint, uploads, policy, "channel", channel=key.channel)


# --- what a channel may read --------------------------------------------------------------------------

def channel_refs(session: Session, channel: str, complaint: Complaint) -> list[str]:
    """The references `channel` holds for `complaint`: its own, and those of cases merged into it."""
    refs = [complaint.external_ref] if complaint.channel == channel and complaint.external_ref else []
    refs += list(session.scalars(select(ComplaintReference.external_ref).where(
        ComplaintReference.complaint_id == complaint.id, ComplaintReference.channel == channel)
        .order_by(ComplaintReference.id)))
    return refs


def complaint_for_channel(session: Session, key: ChannelKey, complaint_id: int) -> Complaint:
    """A complaint the channel registered, or one that now answers for a reference of the channel."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("投诉不存在")
    permissions.require(key, permissions.VIEW_CASE, complaint, "该投诉不是由本渠道提交的")
    return complaint


def public_notes(session: Session, complaint: Complaint) -> list[CaseEvent]:
    """Dated notes written for the complainant (never internal summaries), oldest first."""
    return list(session.scalars(select(CaseEvent).where(
        CaseEvent.complaint_id == complaint.id, CaseEvent.public_note.is_not(None), CaseEvent.public_note != "")
        .order_by(CaseEvent.at, CaseEvent.id)))


@dataclass
class Update:
    event: CaseEvent
    complaint: Complaint
    external_refs: list[str]


def channel_updates(session: Session, key: ChannelKey, since: datetime, after_id: int | None = None,
                    limit: int = 100) -> list[Update]:
    """Public notes of the channel's complaints (and of cases their references were merged into) after
    `since` (and after event `after_id` at exactly `since`), ordered by time then id."""
    since = as_utc(since)  # type: ignore[assignment]
    merged_into = select(ComplaintReference.complaint_id).where(ComplaintReference.channel == key.channel)
    position = CaseEvent.at > since
    if after_id is not None:
        position = or_(position, and_(CaseEvent.at == since, CaseEvent.id > after_id))
    else:
        position = CaseEvent.at >= since
    rows = session.execute(
        select(CaseEvent, Complaint).join(Complaint, Complaint.id == CaseEvent.complaint_id)
        .where(or_(Complaint.channel == key.channel, Complaint.id.in_(merged_into)),
               CaseEvent.public_note.is_not(None), CaseEvent.public_note != "", position)
        .order_by(CaseEvent.at, CaseEvent.id).limit(limit))
    return [Update(event, complaint, channel_refs(session, key.channel, complaint)) for event, complaint in rows]


# --- tracking by the complainant ---------------------------------------------------------------------

TRACK_POLICY = throttle.Policy(free=10, lock_after=10, lock_minutes=30)
NOT_FOUND = "未查到该投诉，请核对查询码和联系电话后四位"


def track(session: Session, tracking_code: str, phone_last4: str, policy: throttle.Policy = TRACK_POLICY,
          now: datetime | None = None) -> tuple[Complaint, Complaint, list[CaseEvent]]:
    """(the complaint, the case that answers for it, public notes of both) for a tracking code and the
    contact phone's last four digits; the same NotFound whether the code or the digits are wrong.

    Guessing the digits is throttled per code, whatever address the guesses come from: the
    `policy.lock_after`-th wrong answer locks the code for `policy.lock_minutes` (TooManyAttempts, audited
    as `tracking_locked`). The caller commits also after an error, so the count is kept."""
    now = now or utcnow()
    code = (tracking_code or "").strip().upper()
    if not code:
        raise NotFound(NOT_FOUND)
    key = "track:" + code[:40]
    block = throttle.blocked(session, key, now)
    if block is not None:
        raise TooManyAttempts(_track_locked(block))
    digits = "".join(ch for ch in (phone_last4 or "") if ch.isdigit())
    complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
    phone_digits = "".join(ch for ch in (complaint.contact_phone if complaint else "") if ch.isdigit())
    if complaint is None or len(digits) != 4 or not secrets.compare_digest(phone_digits[-4:], digits):
        block = throttle.failed(session, key, now, policy)
        if block is None:
            raise NotFound(NOT_FOUND)
        audit(session, "tracking_locked", "public", "complaint", complaint.id if complaint else code[:40],
              after={"tracking_code": code[:40], "failures": block.failures, "until": block.until.isoformat()},
              complaint_id=complaint.id if complaint else None, now=now)
        logger.warning("tracking code %s locked until %s after %s wrong answers", code[:40], block.until,
                       block.failures)
        raise TooManyAttempts(_track_locked(block))
    throttle.succeeded(session, key)
    survivor = survivor_of(session, complaint)
    notes = public_notes(session, complaint)
    if survivor.id != complaint.id:
        notes = sorted(notes + public_notes(session, survivor), key=lambda e: (as_utc(e.at), e.id))
    return complaint, survivor, notes


def tracked_case(session: Session, complaint_id: int) -> tuple[Complaint, Complaint, list[CaseEvent]]:
    """The same as `track` for a complaint this browser already proved it may follow (code + digits)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("未查到该投诉，请核对查询码和联系电话后四位")
    survivor = survivor_of(session, complaint)
    notes = public_notes(session, complaint)
    if survivor.id != complaint.id:
        notes = sorted(notes + public_notes(session, survivor), key=lambda e: (as_utc(e.at), e.id))
    return complaint, survivor, notes


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def _track_locked(block: throttle.Block) -> str:
    until = block.until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    return f"该查询码核对失败次数过多，已暂停查询，请于 {until}（北京时间）后再试。"
