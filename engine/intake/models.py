"""Channel API keys, channel references kept by a surviving case, and duplicate candidates."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.cases.models import Complaint
from engine.db import Base, utcnow
from engine.org.models import Department, Official


class ChannelKey(Base):
    """An `X-Api-Key` of one intake channel (a code of CHANNELS); only its SHA-256 is stored."""

    __tablename__ = "channel_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(40), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ComplaintReference(Base):
    """A channel reference that belongs to a case other than the one it was registered as (after a merge).

    The merged (newer) complaint keeps its own `channel`/`external_ref`; this row says which surviving
    case now answers for that reference.
    """

    __tablename__ = "complaint_reference"
    __table_args__ = (UniqueConstraint("channel", "external_ref", name="uq_complaint_reference_channel_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)  # the surviving case
    merged_from_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)  # where it came from
    channel: Mapped[str] = mapped_column(String(40))
    external_ref: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DuplicateCandidate(Base):
    """A pair of open complaints that may be the same matter; a human merges or rejects it."""

    __tablename__ = "duplicate_candidate"
    __table_args__ = (
        UniqueConstraint("complaint_id", "other_id", name="uq_duplicate_candidate_pair"),
        Index("ix_duplicate_candidate_open", "decided_at", "score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)  # the newer complaint
    other_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)  # the open one it resembles
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision: Mapped[str | None] = mapped_column(String(20))  # merged / rejected

    complaint: Mapped[Complaint] = relationship(foreign_keys=[complaint_id])
    other: Mapped[Complaint] = relationship(foreign_keys=[other_id])
    decided_by: Mapped[Official | None] = relationship()


class EvidenceFile(Base):
    """An evidence file of a case, stored outside the web root under a random name (`storage_name`).

    The type is the one sniffed from the content (`kind`), never the one the sender claimed.
    """

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)  # after a merge: the survivor
    merged_from_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))  # the case it was submitted with
    original_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # evidence.KINDS
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    source: Mapped[str] = mapped_column(String(20))  # complainant / channel / official
    channel: Mapped[str | None] = mapped_column(String(40))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    supplement_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the 补正 request it answers

    uploaded_by: Mapped[Official | None] = relationship()


class SupplementRequest(Base):
    """补正: an official asks the complainant for more material; the complainant answers on the tracking page.

    An action beside the procedure (not a step of the diagram): any department handling the case may ask at
    any step; the request and the answer are recorded as case events, the answer notifies the department.
    """

    __tablename__ = "supplement_request"
    __table_args__ = (Index("ix_supplement_request_complaint_open", "complaint_id", "answered_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))  # the requesting department
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("official.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str] = mapped_column(Text)  # shown to the complainant
    due_date: Mapped[date | None] = mapped_column(Date)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_text: Mapped[str | None] = mapped_column(Text)

    requested_by: Mapped[Official] = relationship()
    department: Mapped[Department] = relationship()


class CaseRating(Base):
    """The complainant's rating of how a closed case was handled (one per closing)."""

    __tablename__ = "case_rating"
    __table_args__ = (UniqueConstraint("complaint_id", "for_closed_at", name="uq_case_rating_closing"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    for_closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the closing it rates
    score: Mapped[int] = mapped_column(Integer)  # 1–5
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Objection(Base):
    """The complainant's objection to a closed case (a reopen request), decided by the provincial DRC in
    processes/objection.bpmn; one per closing, within OBJECTION_WINDOW_DAYS of it."""

    __tablename__ = "objection"
    __table_args__ = (UniqueConstraint("complaint_id", "for_closed_at", name="uq_objection_closing"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    for_closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    decision: Mapped[str | None] = mapped_column(String(20))  # reopen / dismiss
    decision_reason: Mapped[str | None] = mapped_column(Text)  # shown to the complainant
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
