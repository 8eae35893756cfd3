"""Process models (immutable versions), instances and the inbox projection.

An instance (and each of its tasks) belongs to a subject: `subject_id` holds the id of the domain row it runs for,
or NULL. The runtime names no domain table: the package that owns the subjects declares the foreign key on
these tables (docs/architecture.md, "Dependencies between engine packages")."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, utcnow
from engine.org.models import Department, Official


class ProcessModel(Base):
    """One deployed version of a diagram with its forms and decision tables; never updated."""

    __tablename__ = "process_model"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_model_key_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    dmn: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, deferred=True)
    forms: Mapped[dict[str, dict]] = mapped_column(JSON, default=dict)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)  # read only when the spec cache misses
    comment: Mapped[str] = mapped_column(Text, default="")
    deployed_by: Mapped[str] = mapped_column(String(100), default="system")
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProcessInstance(Base):
    """One run of a process model for its subject; `state` is the serializer's JSON without the spec."""

    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("process_model.id"), index=True)
    subject_id: Mapped[int | None] = mapped_column(Integer, index=True)  # foreign key declared by the subject's owner
    status: Mapped[str] = mapped_column(String(20), default="running")
    state: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    next_timer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    model: Mapped[ProcessModel] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """A READY user task, projected for inbox queries: lane resolved to a department for this case."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index(
            "ix_human_task_open_department_due",
            "department_id",
            "due_at",
            "id",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
        # statistics per stage by completion and by due time (engine/oversight; measured in bench/oversight.py):
        # covering, so a quarter's tasks are read from the index alone on both databases
        Index("ix_human_task_spec_completed", "spec_name", "completed_at", "created_at", "outcome", "subject_id"),
        Index("ix_human_task_spec_due", "spec_name", "due_at", "completed_at", "outcome", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    subject_id: Mapped[int | None] = mapped_column(Integer, index=True)  # its instance's subject
    spec_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(50))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    role: Mapped[str | None] = mapped_column(String(50))
    form: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_basis: Mapped[str | None] = mapped_column(Text)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"))
    outcome: Mapped[str | None] = mapped_column(String(20))

    department: Mapped[Department] = relationship(lazy="joined")
    claimed_by: Mapped[Official | None] = relationship(foreign_keys=[claimed_by_id], lazy="joined")
    instance: Mapped[ProcessInstance] = relationship()


class LaneRole(Base):
    """A lane role an administrator defines in the browser: diagrams name it, its tasks go to one department."""

    __tablename__ = "lane_role"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)  # the lane name diagrams use, e.g. 法规审查处
    label: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    required_role: Mapped[str | None] = mapped_column(String(50))  # an official role the task demands, if any
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")


class TimerStart(Base):
    """One occurrence of a timer start event and the instance it started; the unique key makes it start once."""

    __tablename__ = "timer_start"
    __table_args__ = (UniqueConstraint("process_key", "start_event", "due_at", name="uq_timer_start_occurrence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    start_event: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    error: Mapped[str | None] = mapped_column(Text)  # the start failed; the occurrence is not retried


class ProcessScenario(Base):
    """A scenario of one process (engine/workflow/scenarios.py): kept per process key across versions, run at
    every deploy. `body` is the scenario's JSON (start, steps, services, expected)."""

    __tablename__ = "process_scenario"
    __table_args__ = (UniqueConstraint("process_key", "name", name="uq_process_scenario_key_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(20), default="bundle")  # bundle, upload, case
    updated_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
