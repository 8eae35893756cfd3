"""The audit log: append-only events in many hash chains (one per case, a few shards for the rest), each
chain's head, and the seals that fold the heads periodically into one global chain of Merkle roots."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class AuditEvent(Base):
    """Never updated or deleted by the application; `hash` covers the content, the position and `prev_hash`.

    `chain` is the chain the event was appended to (the case's id for a transaction that first audited a case,
    a negative shard number otherwise, -1 for events written before chains existed); `seq` its position there.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_complaint_at", "complaint_id", "at"),
        Index("ix_audit_event_actor_at", "actor_id", "at"),
        UniqueConstraint("chain", "seq", name="uq_audit_event_chain_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: the log outlives its subjects
    actor_label: Mapped[str] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    complaint_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    chain: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.object_type}:{self.object_id} @{self.chain}#{self.seq}>"


class AuditChain(Base):
    """The head of one chain: its newest position and hash. Appending locks this row (only this chain's)."""

    __tablename__ = "audit_chain"
    __table_args__ = (
        # the sealer's work list: chains with events it has not sealed yet
        Index("ix_audit_chain_unsealed", "id", postgresql_where=text("seq > sealed_seq"),
              sqlite_where=text("seq > sealed_seq")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    sealed_seq: Mapped[int] = mapped_column(Integer, default=0)


class AuditSeal(Base):
    """One seal of the global chain: a Merkle root over chain heads, linked to the previous seal.

    `kind` is `seal` (the sealer: heads of the chains that grew since) or `prune` (the heads of the events a prune
    removed: where each shortened chain now legitimately starts, with `cutoff` the prune's date).
    """

    __tablename__ = "audit_seal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(10))
    cutoff: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    chains: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditSealEntry(Base):
    """One leaf of a seal: chain `chain` had head `head` at position `seq`."""

    __tablename__ = "audit_seal_entry"
    __table_args__ = (Index("ix_audit_seal_entry_chain_seq", "chain", "seq"),)

    seal_id: Mapped[int] = mapped_column(ForeignKey("audit_seal.id"), primary_key=True)
    chain: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
