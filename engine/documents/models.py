"""Issued formal documents, their per-department yearly counters, and administrators' templates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import settings_cache
from engine.db import Base, utcnow
from engine.org.models import Department


class OfficialDocument(Base):
    """One 公文 of a case: its kind, 文号 (unique per issuing department and year) and the rendered .docx."""

    __tablename__ = "official_document"
    __table_args__ = (UniqueConstraint("department_id", "year", "seq", name="uq_official_document_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    case_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # what the step fixed: the template's values and the template version; the .docx is rendered from them on
    # first download (engine/documents/services.py: docx_of) and kept. Documents issued before hold only docx.
    context: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    template_sha256: Mapped[str | None] = mapped_column(String(64))
    docx: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    department: Mapped[Department] = relationship()


class DocumentTemplateVersion(Base):
    """A template as it was when a document was issued from it (by content hash; written once, never changed)."""

    __tablename__ = "document_template_version"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    docx: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DocumentCounter(Base):
    """The last 文号 sequence number a department used in a year; rows are updated under lock, so gap-free."""

    __tablename__ = "document_counter"

    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class DocumentTemplate(Base):
    """An administrator's .docx template for one kind; without a row the built-in default is used."""

    __tablename__ = "document_template"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    docx: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    file_name: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DocumentSeries(Base):
    """A department's 文号 prefix (机关代字), e.g. 云发改信用 → 云发改信用〔2026〕12号."""

    __tablename__ = "document_series"

    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(40))


for _watched in (DocumentSeries, DocumentTemplate, DocumentTemplateVersion):  # kept per process: engine/settings_cache.py
    settings_cache.watch(_watched)
