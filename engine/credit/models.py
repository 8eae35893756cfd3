"""Breach records, the measure catalogue, measures applied to records, the platform delivery outbox and
published typical cases (曝光典型案例)."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, utcnow
from engine.org.models import Department, Official

SEVERITIES = {"minor": "轻微", "ordinary": "一般", "serious": "严重"}
RECORD_STATUSES = {"draft": "待省发展改革委复核（未公开）", "active": "有效（公示中）", "repaired": "已修复",
                   "withdrawn": "已撤回"}
RECTIFICATION_STATES = {"not_rectified": "未整改", "rectifying": "整改中", "rectified": "已整改"}
MEASURE_LEVELS = {"national": "国家层面", "city": "城市层面", "local": "地方层面"}
APPROVED_STATUSES = ("active", "repaired")  # records the DRC approved at 复核: the ones that count as breaches
PLATFORM_TARGETS = {"provincial": "省信用信息共享平台", "national": "全国信用信息共享平台"}
# what happened to a record version (the platforms' operation code: engine.credit.profiles maps it per destination)
DELIVERY_EVENTS = {"created": "新建", "updated": "更新", "measure_applied": "实施惩戒措施", "measure_ended": "惩戒措施结束",
                   "repaired": "信用修复", "withdrawn": "撤回", "corrected": "更正"}
RECORD_SOURCES = {"complaint": "政府违约失信投诉处置", "platform_migration": "信用平台迁移"}
TYPICAL_CASE_STATUSES = {
    "selecting": "待选定", "redacting": "脱敏编辑中", "pending_approval": "待负责人审核",
    "published": "已公开曝光", "withdrawn": "已撤下", "dropped": "未选定",
}
SELECTION_REASONS = {"serious": "情节严重", "repeated": "多次违约失信", "criticised": "被公开通报批评或社会关注度高"}


def new_number() -> str:
    """A globally unique, stable number (a UUID): the same on every installation, never reused after a restore."""
    return str(uuid.uuid4())


class BreachRecord(Base):
    """One 违约失信记录 (政务信用记录); `version` grows with every change the platforms must hear about."""

    __tablename__ = "breach_record"
    __table_args__ = (
        Index("ix_breach_record_status_determined", "status", "determined_on"),
        Index("ix_breach_record_prefecture", "respondent_prefecture"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(36), unique=True, default=new_number)  # 记录编号 (JLBH)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    source: Mapped[str] = mapped_column(String(40), default="complaint")

    respondent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    respondent_name: Mapped[str] = mapped_column(String(200))
    respondent_uscc: Mapped[str | None] = mapped_column(String(18))
    respondent_division: Mapped[str | None] = mapped_column(String(6))
    respondent_prefecture: Mapped[str | None] = mapped_column(String(6))

    determining_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    determining_name: Mapped[str] = mapped_column(String(200))
    determining_uscc: Mapped[str | None] = mapped_column(String(18))
    determined_on: Mapped[date] = mapped_column(Date)
    document_number: Mapped[str] = mapped_column(String(100))
    basis: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    rectification_deadline: Mapped[date | None] = mapped_column(Date)
    rectification_state: Mapped[str] = mapped_column(String(20), default="not_rectified")

    severity: Mapped[str] = mapped_column(String(20), default="ordinary")
    publication_start: Mapped[date] = mapped_column(Date)
    publication_end: Mapped[date | None] = mapped_column(Date)  # the latest day of publication for the class
    repair_eligible_from: Mapped[date] = mapped_column(Date)  # earliest day credit repair may be applied for
    published_until: Mapped[date | None] = mapped_column(Date)  # set when publication stops early (repair)

    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    repair_applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # an application is open
    repaired_on: Mapped[date | None] = mapped_column(Date)
    repair_document_number: Mapped[str | None] = mapped_column(String(100))

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    respondent: Mapped[Department | None] = relationship(foreign_keys=[respondent_id])
    determining_department: Mapped[Department | None] = relationship(foreign_keys=[determining_department_id])
    measures: Mapped[list[AppliedMeasure]] = relationship(back_populates="record", order_by="AppliedMeasure.id")

    @property
    def active_measures(self) -> list[AppliedMeasure]:
        return [m for m in self.measures if m.ended_at is None]


class MeasureType(Base):
    """An entry of the measure catalogue (失信惩戒措施清单), editable by the provincial DRC."""

    __tablename__ = "measure_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AppliedMeasure(Base):
    """A measure applied to a record: by which department (and official), when, by which document, until when; and
    how it ended (reason and document separately)."""

    __tablename__ = "applied_measure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(36), unique=True, default=new_number)  # 措施编号 (CSBH)
    record_id: Mapped[int] = mapped_column(ForeignKey("breach_record.id"), index=True)
    measure_type_id: Mapped[int] = mapped_column(ForeignKey("measure_type.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))  # 实施部门 (SSBM)
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    applied_by_label: Mapped[str] = mapped_column(String(300), default="")
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    document_number: Mapped[str] = mapped_column(String(100))
    until: Mapped[date | None] = mapped_column(Date)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(500))
    end_document_number: Mapped[str | None] = mapped_column(String(100))
    ended_by_label: Mapped[str | None] = mapped_column(String(300))

    record: Mapped[BreachRecord] = relationship(back_populates="measures")
    measure_type: Mapped[MeasureType] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship()
    applied_by: Mapped[Official | None] = relationship()


class PlatformDelivery(Base):
    """One version of one record waiting for (or done with) delivery to a credit-sharing platform.

    `payload` is the version as it was (engine.credit.exchange.snapshot, our field names and codes); `body` is what
    the destination's profile made of it, kept unchanged while the platform may have stored it (`content_digest`
    is its SHA-256); `held_reason` says why a version that cannot be mapped waits instead of being sent."""

    __tablename__ = "platform_delivery"
    __table_args__ = (
        Index("ix_platform_delivery_pending", "delivered_at", "next_attempt_at"),
        # each destination keeps its own log: the same key (a UUID per record version) once per target
        UniqueConstraint("target", "idempotency_key", name="uq_platform_delivery_target_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("breach_record.id"), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(20), default="provincial")
    idempotency_key: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(30))  # a key of DELIVERY_EVENTS
    payload: Mapped[dict] = mapped_column(JSON)
    body: Mapped[str | None] = mapped_column(Text)
    content_digest: Mapped[str | None] = mapped_column(String(64))
    held_reason: Mapped[str | None] = mapped_column(Text)
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_via: Mapped[str | None] = mapped_column(String(20))  # http | drop

    record: Mapped[BreachRecord] = relationship()


class ExchangeProfile(Base):
    """How one destination wants a record: its field names and its code for each of our coded values. No row →
    the defaults (engine.credit.profiles); an administrator's edit stores the whole profile with a new revision."""

    __tablename__ = "exchange_profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(20), unique=True)
    fields: Mapped[dict] = mapped_column(JSON)  # our key → the platform's field name ("" = not sent)
    measure_fields: Mapped[dict] = mapped_column(JSON)
    codes: Mapped[dict] = mapped_column(JSON)  # code list → {our code: the platform's code}
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TypicalCase(Base):
    """A breach record selected for publication as a typical case: the redacted public text, who edited and
    who approved it, and its publication or withdrawal. `public_facts` freezes the record's public fields at
    redaction, so the approver sees and the public page shows the same thing."""

    __tablename__ = "typical_case"
    __table_args__ = (Index("ix_typical_case_status_published", "status", "published_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("breach_record.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="selecting")
    selection_reason: Mapped[str | None] = mapped_column(String(20))
    selection_note: Mapped[str | None] = mapped_column(Text)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    selected_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    selected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    title: Mapped[str] = mapped_column(String(200), default="")
    public_text: Mapped[str] = mapped_column(Text, default="")
    public_facts: Mapped[dict] = mapped_column(JSON, default=dict)
    redacted_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_remarks: Mapped[str | None] = mapped_column(Text)  # the leader's last remarks (sent back or approved)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    withdrawn_by_label: Mapped[str | None] = mapped_column(String(300))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    record: Mapped[BreachRecord] = relationship()
    selected_by: Mapped[Official | None] = relationship(foreign_keys=[selected_by_id])
    redacted_by: Mapped[Official | None] = relationship(foreign_keys=[redacted_by_id])
    approved_by: Mapped[Official | None] = relationship(foreign_keys=[approved_by_id])
