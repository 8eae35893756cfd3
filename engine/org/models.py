"""Departments (with their superior or competent department), officials and their API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, utcnow

LEVELS = {"province": "省级", "prefecture": "州（市）级", "county": "县（市、区）级"}

ROLES = {
    "intake": "受理登记人员",
    "official": "部门经办人员",
    "leader": "部门负责人",
    "prefecture_lead": "州（市）信用牵头单位人员",
    "ndrc": "省发展改革委信用处人员",
    "process_admin": "流程管理员",
    "sysadmin": "系统管理员",
}


class Department(Base):
    """A government body: respondent, determining department, credit lead or the provincial DRC."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    level: Mapped[str] = mapped_column(String(16))
    division_code: Mapped[str] = mapped_column(String(6))
    prefecture_code: Mapped[str | None] = mapped_column(String(6), index=True)
    superior_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    is_credit_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    superior: Mapped[Department | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"


class Official(Base):
    """A person who signs in; sees the inbox of their department for the lanes their roles allow."""

    __tablename__ = "official"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # a browser session stores the value it signed in with; raising it signs the official out everywhere
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    department: Mapped[Department] = relationship(lazy="joined")

    lock = None  # not stored: the running sign-in delay or lock, set by security.with_locks for display

    # Flask-Login protocol, written out so the engine does not import Flask.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, role: str) -> bool:
        return role in (self.roles or [])

    @property
    def label(self) -> str:
        return f"{self.full_name}（{self.department.name}）"


class ApiToken(Base):
    """A bearer token for an official; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("official.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    official: Mapped[Official] = relationship(lazy="joined")


class OfficialSession(Base):
    """One browser sign-in of an official: the server's record of it, checked on every request (ended, idle too
    long or older than the absolute lifetime → signed out), listed on the profile page."""

    __tablename__ = "official_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # random; kept in the server-side session data
    official_id: Mapped[int] = mapped_column(ForeignKey("official.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(String(32))  # logout, idle, absolute, ended_by_self, …
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class WebSession(Base):
    """Server-side session data of a browser (Flask-Session's store on the database, web/sessions.py); the
    cookie holds only the random id."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expiry: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
