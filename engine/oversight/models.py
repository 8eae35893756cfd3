"""Bulletins (调度通报: a frozen snapshot of one period's figures) and the annual assessment's scoring sheets."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow

PERIOD_KINDS = {"month": "月度", "quarter": "季度", "year": "年度", "custom": "指定期间"}
BULLETIN_STATUSES = {
    "queued": "等待生成", "generating": "生成中", "ready": "待审核", "failed": "生成失败",
    "superseded": "已被新版替代", "published": "已发布",
}


class Bulletin(Base):
    """One revision of one period's bulletin; `snapshot` is written once by the generation and never changes.

    Sending a bulletin back for regeneration makes a new revision; the old one is kept as `superseded`.
    """

    __tablename__ = "bulletin"
    __table_args__ = (UniqueConstraint("period_kind", "period_start", "period_end", "revision",
                                       name="uq_bulletin_period_revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # included
    title: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    source: Mapped[str] = mapped_column(String(20), default="timer")  # timer | manual | regenerated
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent, while generating
    progress_note: Mapped[str] = mapped_column(String(200), default="")
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    public_snapshot: Mapped[dict | None] = mapped_column(JSON)  # aggregate figures only, set when published publicly
    remarks: Mapped[str | None] = mapped_column(Text)
    regenerate_reason: Mapped[str | None] = mapped_column(Text)  # why the previous revision was sent back
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    generation_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    generated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(300))


class AssessmentSheet(Base):
    """The scoring sheet of one assessment year: indicator weights (sum 100) and the repeated-breach deduction."""

    __tablename__ = "assessment_sheet"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    weights: Mapped[dict[str, float]] = mapped_column(JSON)
    repeat_deduction: Mapped[float] = mapped_column(Float, default=20.0)  # percentage points of that indicator per respondent
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(300), default="system")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
