"""Complaint rows and their history (who did what, when)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, utcnow
from engine.org.models import Department, Official
from engine.workflow.models import HumanTask, ProcessInstance

DOMAINS = {
    "government_procurement": "政府采购",
    "bidding": "招标投标",
    "investment_promotion": "招商引资",
    "ppp": "政府和社会资本合作",
    "industrial_support": "产业扶持",
    "government_investment": "政府投资",
    "other": "其他",
}

BREACH_TYPES = {
    "unpaid": "未按约付款",
    "policy_unfulfilled": "未兑现政策承诺",
    "unilateral_termination": "单方毁约",
    "restructuring_excuse": "以机构调整/人员变动为由不履约",
    "other": "其他",
}

CHANNELS = {
    "counter": "窗口登记",
    "credit_yunnan": "信用云南网站",
    "internet_plus_inspection": "互联网+督查",
    "hotline_12345": "12345政务服务热线",
    "business_env": "营商环境投诉举报平台",
    "petition": "网上信访平台",
    "miit": "工信部违约拖欠中小企业款项登记（投诉）平台",
    "api": "系统接口",
}


class Complaint(Base):
    """One 违约失信投诉 and the case that handles it."""

    __tablename__ = "complaint"
    __table_args__ = (
        Index("ix_complaint_channel_ref", "channel", "external_ref", unique=True),
        # statistics by period (engine/oversight; measured in bench/oversight.py)
        Index("ix_complaint_received_at", "received_at"),
        Index("ix_complaint_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(40), default="registered", index=True)
    result: Mapped[str | None] = mapped_column(String(40))

    complainant_name: Mapped[str] = mapped_column(String(200))
    complainant_uscc: Mapped[str] = mapped_column(String(18), index=True)
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    contact_person: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(30))
    contact_address: Mapped[str | None] = mapped_column(String(300))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    # the complainant asked to receive no more progress messages (SMS and email) — on the tracking page
    notices_opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_private_enterprise: Mapped[bool] = mapped_column(Boolean, default=True)

    respondent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    respondent_name: Mapped[str] = mapped_column(String(200))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    intake_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))

    agreement_name: Mapped[str] = mapped_column(String(300))
    agreement_number: Mapped[str | None] = mapped_column(String(100))
    agreement_date: Mapped[date | None] = mapped_column(Date)
    domain: Mapped[str] = mapped_column(String(40))
    contract_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    disputed_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    breach_type: Mapped[str] = mapped_column(String(40))
    facts: Mapped[str] = mapped_column(Text)
    claims: Mapped[str] = mapped_column(Text)
    in_litigation: Mapped[bool] = mapped_column(Boolean, default=False)

    channel: Mapped[str] = mapped_column(String(40), default="counter")
    external_ref: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    breach_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supervised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # 挂牌督办

    respondent: Mapped[Department | None] = relationship(foreign_keys=[respondent_id])
    supervisor: Mapped[Department | None] = relationship(foreign_keys=[supervisor_id])
    intake_department: Mapped[Department] = relationship(foreign_keys=[intake_department_id])
    registered_by: Mapped[Official | None] = relationship()


class CaseEvent(Base):
    """One line of a case's history; `public_note` is what the complainant may read."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    actor_label: Mapped[str] = mapped_column(String(300), default="系统")
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    public_note: Mapped[str | None] = mapped_column(Text)

    def is_a(self, kind: str, task: str | None = None, when: Mapping[str, Any] | None = None) -> bool:
        """Whether this is an event of `kind` (of user task `task`, when given) whose form data hold the values of
        `when` — what a milestone rule or a document rule waits for."""
        if self.kind != kind:
            return False
        data = self.data or {}
        if task is not None and data.get("task") != task:
            return False
        form = data.get("form") or {}
        return all(form.get(name) == value for name, value in (when or {}).items())


# The complaint is the subject of its process instances (engine/cases/subject.py): the cases package owns the link
# from the workflow runtime's rows to it, so the runtime's models name no complaint.
for _table in (ProcessInstance.__table__, HumanTask.__table__):
    _table.append_constraint(ForeignKeyConstraint(["subject_id"], ["complaint.id"]))  # type: ignore[attr-defined]


# --- substring search over the case list (engine/cases/search.py) ----------------------------------------
# The database's own text index, kept in sync by the database itself: on SQLite an FTS5 table with the trigram
# tokenizer over these columns (external content = complaint, rows kept by triggers); on PostgreSQL one GIN
# index with pg_trgm's operator class. Created here for create_all and by the migration
# 20261201_3d7e5a9c1b24_case_search for migrated databases; both are outside the models' metadata, so Alembic's
# comparison leaves them out (engine.models.include_in_autogenerate).
SEARCH_COLUMNS = ("tracking_code", "complainant_name", "complainant_uscc", "respondent_name")
SEARCH_FTS_TABLE = "complaint_fts"
SEARCH_TRGM_INDEX = "ix_complaint_trgm"
_cols = ", ".join(SEARCH_COLUMNS)
_new = ", ".join(f"new.{c}" for c in SEARCH_COLUMNS)
_old = ", ".join(f"old.{c}" for c in SEARCH_COLUMNS)
SQLITE_SEARCH_DDL = (
    f"CREATE VIRTUAL TABLE {SEARCH_FTS_TABLE} USING fts5({_cols}, content='complaint', content_rowid='id', "
    "tokenize='trigram')",
    f"CREATE TRIGGER complaint_fts_insert AFTER INSERT ON complaint BEGIN "
    f"INSERT INTO {SEARCH_FTS_TABLE}(rowid, {_cols}) VALUES (new.id, {_new}); END",
    f"CREATE TRIGGER complaint_fts_delete AFTER DELETE ON complaint BEGIN "
    f"INSERT INTO {SEARCH_FTS_TABLE}({SEARCH_FTS_TABLE}, rowid, {_cols}) VALUES ('delete', old.id, {_old}); END",
    f"CREATE TRIGGER complaint_fts_update AFTER UPDATE OF {_cols} ON complaint BEGIN "
    f"INSERT INTO {SEARCH_FTS_TABLE}({SEARCH_FTS_TABLE}, rowid, {_cols}) VALUES ('delete', old.id, {_old}); "
    f"INSERT INTO {SEARCH_FTS_TABLE}(rowid, {_cols}) VALUES (new.id, {_new}); END",
)
POSTGRESQL_SEARCH_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX {SEARCH_TRGM_INDEX} ON complaint USING gin ("
    + ", ".join(f"{c} gin_trgm_ops" for c in SEARCH_COLUMNS) + ")",
)
for _statement in SQLITE_SEARCH_DDL:
    event.listen(Complaint.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRESQL_SEARCH_DDL:
    event.listen(Complaint.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
event.listen(Complaint.__table__, "before_drop",
             DDL(f"DROP TABLE IF EXISTS {SEARCH_FTS_TABLE}").execute_if(dialect="sqlite"))
