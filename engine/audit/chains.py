"""The audit log's hash chains: appending without a global lock, sealing, pruning and verifying.

**Chains.** Every event has a chain and a position in it (`seq`, from 1); its `hash` is SHA-256 over its
content, chain, position and the previous event's hash (`prev_hash`; GENESIS for a chain's first event).
A transaction appends all its events to one chain: the chain of the case its first event names (the chain's
number is the case's id), or else one of SHARDS shard chains (-2 … -17) picked at random. Appending locks that
chain's head row (`audit_chain`) until the transaction ends, so steps on different cases never wait for each
other; two steps on one case are serialised by the case's process instance anyway. Holding at most one chain
per transaction means two transactions can never wait for each other's chains. Events written before chains
existed form the legacy chain -1 (hashed without chain and position, as they were written).

A process remembers the head it last wrote per chain: the next append to that chain is one conditional
`UPDATE … WHERE seq = remembered AND head = remembered` plus the `INSERT` (2 statements); when another process
wrote in between, the update matches nothing and the head is read under lock (`INSERT … ON CONFLICT DO UPDATE
… RETURNING`, which also creates a new chain's row), then written (3 statements plus the failed update).

**Seals.** `seal()` (the scheduler every AUDIT_SEAL_SECONDS, or `flask --app web audit seal`) takes the heads of
the chains that grew since they were last sealed — skipping on PostgreSQL those being appended to at this
moment (`FOR UPDATE SKIP LOCKED`; they are sealed next time) — and stores them as the entries of one seal with
their Merkle root; each seal's hash covers its root and the previous seal's hash: the global chain. Only the
sealer (and prune) take the seal lock; appenders never do. The seal's hash also goes to the application log,
a copy outside the database.

**Pruning** deletes, per chain, the oldest events written before a date (a prefix of the chain) and writes a
`prune` seal whose entries are the last deleted position and hash of each shortened chain: where the chain
now legitimately starts.

**Verification** (`verify`) reads one consistent snapshot and proves: every event's hash matches its content;
every chain is contiguous (positions 1, 2, … or from a prune seal's entry on) and each event links to the one
before; each chain's newest event is the head in `audit_chain`; every sealed head is the event at that
position; the seals form one unbroken chain and each seal's root matches its entries. So an event changed,
inserted or removed anywhere — including the newest events of a chain, as long as the head row or a seal
still names them — is found and named. What it cannot prove: someone who can write to the database and
rewrites a chain *and* its head row after the newest seal, or removes the newest seals; the seal hashes in
the application log (or mailed by cron) are the record of those.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, case, func, insert, select, text, tuple_
from sqlalchemy.orm import Session, scoped_session

from engine.audit.models import AuditChain, AuditEvent, AuditSeal, AuditSealEntry
from engine.db import as_utc, utcnow

logger = logging.getLogger("engine.audit.services")

GENESIS = "0" * 64
LEGACY_CHAIN = -1
SHARDS = 16
SEAL_LOCK_KEY = 0x4C7659_5345  # "LvY" "SE": held by the sealer and prune only, never by an append
SEAL_BATCH = 50_000  # chains per seal; more wait for the next one
PRUNED = "audit_pruned"
_TXN_CHAIN = "lvyue_audit_txn_chain"
_HEADS_KEPT = 4096
_heads: WeakKeyDictionary[Engine, dict[int, tuple[int, str]]] = WeakKeyDictionary()

EVENTS = AuditEvent.__table__
CHAINS = AuditChain.__table__
ENTRIES = AuditSealEntry.__table__
# an append's statements, built once (every audited action runs them); the columns SET are given at execution
_ADVANCE = CHAINS.update().where(CHAINS.c.id == bindparam("b_chain"))
_ADVANCE_REMEMBERED = _ADVANCE.where(CHAINS.c.seq == bindparam("b_seq"), CHAINS.c.head == bindparam("b_head"))
_INSERT_EVENT = insert(EVENTS).returning(EVENTS.c.id)
_EVENT_COLUMNS = ("at", "actor_id", "actor_label", "ip", "action", "object_type", "object_id", "complaint_id",
                  "before", "after", "chain", "seq", "prev_hash", "hash")


def shard_chain(n: int) -> int:
    """The number of shard chain `n` (0 … SHARDS-1)."""
    return -2 - n


def chain_for(session: Session, complaint_id: int | None) -> int:
    """The chain this transaction appends to: the one it chose at its first event, else the case's, else a shard."""
    session = _real(session)
    held = session.info.get(_TXN_CHAIN)
    transaction = session.get_transaction()
    if held is not None and transaction is not None and held[0] is transaction:
        return held[1]
    if complaint_id is not None and complaint_id >= 0:
        return int(complaint_id)
    return shard_chain(random.randrange(SHARDS))


def append(session: Session, event: AuditEvent) -> None:
    """Give `event` (its `chain` set) the next position of its chain, hash it and insert it.

    Locks the chain's head row until the transaction ends. Sets `seq`, `prev_hash`, `hash` and `id`.
    """
    session = _real(session)
    heads = _heads.setdefault(session.get_bind(), {})
    chain = event.chain
    remembered = heads.get(chain)
    placed = False
    if remembered is not None:
        _place(event, *remembered)
        placed = session.execute(_ADVANCE_REMEMBERED, {
            "b_chain": chain, "b_seq": remembered[0], "b_head": remembered[1], "seq": event.seq, "head": event.hash,
        }).rowcount == 1
    if not placed:
        seq, head = _lock_head(session, chain)
        _place(event, seq, head)
        session.execute(_ADVANCE, {"b_chain": chain, "seq": event.seq, "head": event.hash})
    event.id = session.execute(_INSERT_EVENT, {name: getattr(event, name) for name in _EVENT_COLUMNS}).scalar_one()
    if len(heads) >= _HEADS_KEPT:
        heads.clear()
    heads[chain] = (event.seq, event.hash)
    session.info[_TXN_CHAIN] = (session.get_transaction(), chain)


def _real(session: Session) -> Session:
    """The session itself, also behind Flask-SQLAlchemy's scoped proxy (which lacks `get_transaction`)."""
    return session() if isinstance(session, scoped_session) else session


def _place(event: AuditEvent, seq: int, head: str) -> None:
    event.seq, event.prev_hash = seq + 1, head
    event.hash = event_hash(event)


def _upsert(session: Session) -> Any:  # noqa: ANN401 - the dialect's insert construct
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the application runs on these two
        raise RuntimeError(f"audit chains need PostgreSQL or SQLite, not {dialect}")
    return dialect_insert


def _lock_head(session: Session, chain: int) -> tuple[int, str]:
    """(seq, head) of `chain` under its row lock; creates the chain (0, GENESIS) if it is new."""
    stmt = _upsert(session)(CHAINS).values(id=chain, seq=0, head=GENESIS, sealed_seq=0)
    stmt = stmt.on_conflict_do_update(index_elements=[CHAINS.c.id], set_={"seq": CHAINS.c.seq})
    row = session.execute(stmt.returning(CHAINS.c.seq, CHAINS.c.head)).one()
    return int(row[0]), str(row[1])


def event_hash(event: Any) -> str:  # noqa: ANN401 - an AuditEvent or a row with its columns
    """SHA-256 of the event's canonical content (with its chain and position) followed by the previous hash."""
    content = {
        "at": _canonical_time(event.at), "actor_id": event.actor_id, "actor_label": event.actor_label,
        "ip": event.ip, "action": event.action, "object_type": event.object_type, "object_id": event.object_id,
        "complaint_id": event.complaint_id, "before": event.before, "after": event.after,
    }
    if event.chain != LEGACY_CHAIN:  # legacy events were hashed before they had a position
        content["chain"], content["seq"] = event.chain, event.seq
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((canonical + event.prev_hash).encode()).hexdigest()


def merkle_root(entries: list[tuple[int, int, str]]) -> str:
    """Merkle root over (chain, seq, head) leaves in chain order (RFC 6962-style leaf/node prefixes)."""
    level = [hashlib.sha256(b"\x00" + f"{c}:{s}:{h}".encode()).digest() for c, s, h in sorted(entries)]
    if not level:
        return GENESIS
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0].hex()


def seal_hash(seal: AuditSeal) -> str:
    """SHA-256 of the seal's canonical content followed by the previous seal's hash."""
    content = {"at": _canonical_time(seal.at), "kind": seal.kind, "chains": seal.chains, "root": seal.root,
               "cutoff": _canonical_time(seal.cutoff) if seal.cutoff else None}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((canonical + seal.prev_hash).encode()).hexdigest()


def _take_seal_lock(session: Session, wait: bool) -> bool:
    """The sealer's own lock (one sealer at a time); appenders never take it. False: another sealer holds it."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        if wait:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY})
            return True
        return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY}))
    if dialect == "sqlite":  # one writer at a time: take the write lock before reading what to seal
        session.execute(text("UPDATE audit_seal SET id = id WHERE 0 = 1"))
    return True


def seal(session: Session, now: datetime | None = None, limit: int = SEAL_BATCH) -> AuditSeal | None:
    """Seal the heads of the chains that grew since their last seal; None when there was nothing (or another
    sealer is at work). Flushes; the caller commits."""
    if not _take_seal_lock(session, wait=False):
        return None
    query = (select(CHAINS.c.id, CHAINS.c.seq, CHAINS.c.head).where(CHAINS.c.seq > CHAINS.c.sealed_seq)
             .order_by(CHAINS.c.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # a chain being appended to now is sealed next time
    entries = [(int(c), int(s), str(h)) for c, s, h in session.execute(query)]
    if not entries:
        return None
    made = _write_seal(session, "seal", entries, now)
    session.execute(CHAINS.update().where(CHAINS.c.id == bindparam("b_chain")).values(sealed_seq=bindparam("b_seq")),
                    [{"b_chain": c, "b_seq": s} for c, s, _ in entries])
    return made


def _write_seal(session: Session, kind: str, entries: list[tuple[int, int, str]], now: datetime | None,
                cutoff: datetime | None = None) -> AuditSeal:
    prev = session.scalar(select(AuditSeal.hash).order_by(AuditSeal.id.desc()).limit(1)) or GENESIS
    made = AuditSeal(at=(as_utc(now) or utcnow()).astimezone(UTC), kind=kind, chains=len(entries),
                     root=merkle_root(entries), prev_hash=prev, cutoff=as_utc(cutoff))
    made.hash = seal_hash(made)
    session.add(made)
    session.flush()
    session.execute(insert(ENTRIES), [{"seal_id": made.id, "chain": c, "seq": s, "head": h} for c, s, h in entries])
    logger.info("audit seal #%s (%s): %d chain(s), root %s, hash %s", made.id, kind, len(entries), made.root,
                made.hash, extra={"audit_seal_id": made.id, "audit_seal_hash": made.hash})
    return made


def prune(session: Session, before: datetime, actor: str) -> int:
    """Delete each chain's events written before `before` (the oldest first, a prefix of the chain) and record
    where the shortened chains start in a `prune` seal and an `audit_pruned` event. Returns how many were deleted.
    The caller enforces the retention window."""
    from engine.audit.services import record

    _take_seal_lock(session, wait=True)
    old = case((EVENTS.c.at < before, EVENTS.c.seq))
    new = case((EVENTS.c.at >= before, EVENTS.c.seq))
    spans = session.execute(select(EVENTS.c.chain, func.min(EVENTS.c.seq), func.max(old), func.min(new))
                            .group_by(EVENTS.c.chain).having(func.max(old).is_not(None))).all()
    cuts: dict[int, tuple[int, int]] = {}  # chain → (first position kept so far, last position to delete)
    for chain, first, last_old, first_new in spans:
        last = int(last_old) if first_new is None else min(int(last_old), int(first_new) - 1)
        if last >= int(first):
            cuts[int(chain)] = (int(first), last)
    if not cuts:
        return 0
    heads: list[tuple[int, int, str]] = []
    positions = [(c, last) for c, (_, last) in cuts.items()]
    for start in range(0, len(positions), 500):
        chunk = positions[start:start + 500]
        heads += [(int(c), int(s), str(h)) for c, s, h in session.execute(
            select(EVENTS.c.chain, EVENTS.c.seq, EVENTS.c.hash).where(tuple_(EVENTS.c.chain, EVENTS.c.seq).in_(chunk)))]
    session.execute(EVENTS.delete().where(EVENTS.c.chain == bindparam("b_chain"), EVENTS.c.seq <= bindparam("b_seq")),
                    [{"b_chain": c, "b_seq": last} for c, last in positions])
    deleted = sum(last - first + 1 for first, last in cuts.values())
    made = _write_seal(session, "prune", heads, None, cutoff=before)
    record(session, PRUNED, actor, "audit_event", None, after={
        "before": before.isoformat(), "deleted": deleted, "chains": len(heads), "seal_id": made.id,
        "seal_hash": made.hash})
    return deleted


@dataclass
class Verification:
    """The outcome of `verify`: ok, the first broken event's id (None when the problem is not one event's), why,
    and what was checked."""

    ok: bool
    broken_id: int | None
    message: str
    events: int = 0
    chains: int = 0
    seals: int = 0
    unsealed: int = 0


class _Broken(Exception):
    def __init__(self, event_id: int | None, message: str) -> None:
        super().__init__(message)
        self.event_id, self.message = event_id, message


def verify(session: Session, batch: int = 1000) -> Verification:
    """Check every event, chain and seal in one consistent snapshot of the database (a connection of its own)."""
    engine = session.get_bind().engine
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect() as conn:
        if options:
            conn = conn.execution_options(**options)
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # one read snapshot for every statement below
        with Session(bind=conn) as snapshot:
            result = Verification(True, None, "")
            try:
                result.seals = _verify_seals(snapshot, batch)
                _verify_chains(snapshot, batch, result)
            except _Broken as broken:
                return Verification(False, broken.event_id, broken.message, result.events, result.chains,
                                    result.seals, result.unsealed)
            finally:
                snapshot.rollback()
    result.message = f"审计链完整：共 {result.events} 条记录"
    return result


def _verify_seals(session: Session, batch: int) -> int:
    seals = session.scalars(select(AuditSeal).order_by(AuditSeal.id).execution_options(yield_per=batch))
    rows = session.execute(select(ENTRIES.c.seal_id, ENTRIES.c.chain, ENTRIES.c.seq, ENTRIES.c.head)
                           .order_by(ENTRIES.c.seal_id, ENTRIES.c.chain).execution_options(yield_per=batch * 10))
    try:
        return _walk_seals(seals, groupby(rows, key=lambda r: r[0]))
    finally:  # server-side cursors on PostgreSQL: close them even when a broken seal ends the walk
        seals.close()
        rows.close()


def _walk_seals(seals: Iterator[AuditSeal], entries: Iterator[tuple[int, Iterator[Any]]]) -> int:
    pending = next(entries, None)
    prev, count = GENESIS, 0
    for made in seals:
        leaves: list[tuple[int, int, str]] = []
        if pending is not None and pending[0] < made.id:
            raise _Broken(None, f"封存链断裂：存在不属于任何封存的条目（封存 {pending[0]} 已被删除？）")
        if pending is not None and pending[0] == made.id:
            leaves = [(int(c), int(s), str(h)) for _, c, s, h in pending[1]]
            pending = next(entries, None)
        if made.prev_hash != prev:
            raise _Broken(None, f"封存链断裂：第 {made.id} 次封存的前序哈希与上一次不符（封存记录被删除、插入或改动）")
        if seal_hash(made) != made.hash:
            raise _Broken(None, f"封存链断裂：第 {made.id} 次封存的内容与其哈希不符（封存记录被改动）")
        if len(leaves) != made.chains or merkle_root(leaves) != made.root:
            raise _Broken(None, f"封存链断裂：第 {made.id} 次封存的条目与其默克尔根不符（封存条目被删除或改动）")
        prev, count = made.hash, count + 1
    if pending is not None:
        raise _Broken(None, f"封存链断裂：存在不属于任何封存的条目（封存 {pending[0]} 已被删除？）")
    return count


def _verify_chains(session: Session, batch: int, result: Verification) -> None:
    legacy = _legacy_anchors(session)
    event_rows = session.scalars(select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)
                                 .execution_options(yield_per=batch))
    head_rows = session.execute(select(CHAINS.c.id, CHAINS.c.seq, CHAINS.c.head).order_by(CHAINS.c.id)
                                .execution_options(yield_per=batch * 10))
    entry_rows = session.execute(
        select(ENTRIES.c.chain, ENTRIES.c.seq, ENTRIES.c.head, AuditSeal.kind, ENTRIES.c.seal_id)
        .join(AuditSeal, AuditSeal.id == ENTRIES.c.seal_id).order_by(ENTRIES.c.chain, ENTRIES.c.seq, ENTRIES.c.seal_id)
        .execution_options(yield_per=batch * 10))
    try:
        _walk_chains(groupby(event_rows, key=lambda e: e.chain), iter(head_rows),
                     groupby(entry_rows, key=lambda r: r[0]), legacy, result)
    finally:  # server-side cursors on PostgreSQL: close them even when a broken chain ends the walk
        for rows in (event_rows, head_rows, entry_rows):
            rows.close()


def _walk_chains(events: Iterator[tuple[int, Iterator[AuditEvent]]], heads: Iterator[Any],
                 entries: Iterator[tuple[int, Iterator[Any]]], legacy: dict[int, str], result: Verification) -> None:
    """Merge the three streams, each in chain order, and check one chain at a time."""
    next_events, next_head, next_entries = next(events, None), next(heads, None), next(entries, None)
    while next_events is not None or next_head is not None or next_entries is not None:
        chain = min(g[0] for g in (next_events, next_head, next_entries) if g is not None)
        chain_events: Iterator[AuditEvent] = iter(())
        head = None
        sealed: list[Any] = []
        if next_events is not None and next_events[0] == chain:
            chain_events, next_events = next_events[1], None
        if next_head is not None and next_head[0] == chain:
            head, next_head = next_head, next(heads, None)
        if next_entries is not None and next_entries[0] == chain:
            sealed, next_entries = list(next_entries[1]), next(entries, None)
        _verify_chain(chain, chain_events, head, sealed, legacy, result)
        if next_events is None:
            next_events = next(events, None)
        result.chains += 1


def _verify_chain(chain: int, events: Iterator[AuditEvent], head: Any, sealed: list[Any],  # noqa: ANN401
                  legacy: dict[int, str], result: Verification) -> None:
    expected: dict[int, str] = {}
    pruned_at: dict[int, str] = {}
    for _, seq, value, kind, seal_id in sealed:
        if expected.setdefault(int(seq), value) != value:
            raise _Broken(None, f"审计链断裂：第 {chain} 号链第 {seq} 位的封存记录自相矛盾（封存 {seal_id}）")
        if kind == "prune":
            pruned_at[int(seq)] = value
    last: AuditEvent | None = None
    first_seq = 0
    for event in events:
        if last is None:
            first_seq = event.seq
            starts = ((event.seq == 1 and event.prev_hash == GENESIS)
                      or pruned_at.get(event.seq - 1) == event.prev_hash
                      or (chain == LEGACY_CHAIN and legacy.get(event.id) == event.prev_hash))
            if not starts:
                raise _Broken(event.id, f"审计链断裂：第 {event.id} 条是其链的第一条，但既非链首也无裁剪记录佐证"
                                        "（之前的记录被删除？）")
        elif event.seq != last.seq + 1:
            raise _Broken(event.id, f"审计链断裂：第 {event.id} 条之前缺少记录（位置 {last.seq + 1}–{event.seq - 1}"
                                    "，记录被删除）")
        elif event.prev_hash != last.hash:
            raise _Broken(event.id, f"审计链断裂：第 {event.id} 条的前序哈希与上一条不符（记录被删除、插入或改动）")
        if event_hash(event) != event.hash:
            raise _Broken(event.id, f"审计链断裂：第 {event.id} 条的内容与其哈希不符（记录被改动）")
        if expected.get(event.seq, event.hash) != event.hash:
            raise _Broken(event.id, f"审计链断裂：第 {event.id} 条与封存时的哈希不符（记录被改动或替换）")
        last = event
        result.events += 1
    if last is None:  # a chain without events: allowed only when a prune removed all of it
        if head is None or pruned_at.get(int(head[1])) != head[2] or max(expected, default=0) > int(head[1]):
            raise _Broken(None, f"审计链断裂：第 {chain} 号链的记录全部缺失（链头或封存记录中有，库中没有）")
        return
    if head is None:
        raise _Broken(last.id, f"审计链断裂：第 {chain} 号链没有链头记录（链头被删除？）")
    if int(head[1]) != last.seq or head[2] != last.hash:
        raise _Broken(last.id, f"审计链断裂：第 {chain} 号链的链头为第 {head[1]} 位，库中最新的记录（第 {last.id} 条）"
                               f"在第 {last.seq} 位（最新的记录被删除或改动）")
    sealed_upto = max(expected, default=0)
    if sealed_upto > last.seq:
        raise _Broken(last.id, f"审计链断裂：第 {chain} 号链已封存到第 {sealed_upto} 位，库中只到第 {last.seq} 位"
                               "（已封存的记录被删除）")
    result.unsealed += last.seq - max(sealed_upto, first_seq - 1)


def _legacy_anchors(session: Session) -> dict[int, str]:
    """first kept id → its prev_hash, as attested by prune events written before chains existed."""
    anchors: dict[int, str] = {}
    for after in session.scalars(select(AuditEvent.after).where(AuditEvent.action == PRUNED,
                                                                 AuditEvent.chain == LEGACY_CHAIN)):
        if isinstance(after, dict) and after.get("first_kept_id") is not None:
            anchors[int(after["first_kept_id"])] = str(after.get("first_kept_prev_hash"))
    return anchors


def _canonical_time(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
