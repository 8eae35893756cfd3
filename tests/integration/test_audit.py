"""The audit log: a hash chain per case sealed into one global chain, verified, searchable; tampering is found and
named; concurrent appends stay chained; no lock of the log is global."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from engine.audit import services as audit
from engine.audit.models import AuditChain, AuditEvent, AuditSeal, AuditSealEntry
from tests.conftest import COMPLAINT


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_chain_links_each_event_to_the_previous(session: Session, official) -> None:  # noqa: ANN001
    intake = official("intake")
    first = audit.record(session, "login", intake, "official", intake.id)
    second = audit.record(session, "view_contact", intake, "complaint", 7, complaint_id=7,
                          after={"amount": Decimal("1.50"), "day": datetime(2026, 1, 2)})
    session.commit()
    assert first.prev_hash == audit.GENESIS
    assert second.prev_hash == first.hash
    session.expire_all()  # hashes must survive the round trip through the database
    assert audit.verify_chain(session) == (True, None, "审计链完整：共 2 条记录")


def test_walk_through_a_case_is_audited_and_verifies(api, app) -> None:  # noqa: ANN001
    from web.extensions import db

    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    task = intake.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    assert intake.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    assert intake.post(f"/api/v1/tasks/{task['id']}/unclaim").status_code == 200
    assert intake.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True}).status_code == 200
    supervisor = api("km-commerce")
    task = supervisor.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    supervisor.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "founded", "explanation": "属实"})
    assert supervisor.get(f"/api/v1/complaints/{cid}").status_code == 200

    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid)
                                         .order_by(AuditEvent.id)))
        assert [e.action for e in events] == [
            "complaint_registered", "task_claimed", "task_unclaimed", "task_completed", "task_completed",
            "view_contact"]
        completed = events[3]
        assert completed.actor_label.startswith("intake ")
        assert completed.after["form"]["accepted"] is True
        assert completed.ip == "127.0.0.1"
        assert audit.verify_chain(db.session)[0]
        db.session.rollback()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK")


def test_editing_a_row_in_the_database_breaks_verify_naming_that_row(session: Session, official, app) -> None:  # noqa: ANN001
    intake = official("intake")
    ids = [audit.record(session, "view_contact", intake, "complaint", n, complaint_id=n).id for n in range(4)]
    session.commit()
    victim = ids[2]
    session.execute(update(AuditEvent.__table__).where(AuditEvent.id == victim).values(after={"forged": True}))
    session.commit()

    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"id {victim}" in result.output
    assert audit.verify_chain(session)[1] == victim


def test_deleting_a_row_breaks_the_next_link(session: Session, official) -> None:  # noqa: ANN001
    intake = official("intake")
    ids = [audit.record(session, "login", intake, "official", intake.id).id for _ in range(3)]
    session.commit()
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[1]})
    session.commit()
    assert audit.verify_chain(session)[:2] == (False, ids[2])


def test_prune_refuses_the_retention_window_and_keeps_the_chain_verifiable(session: Session, official, app) -> None:  # noqa: ANN001
    intake = official("intake")
    now = datetime.now(UTC)
    for days in (400, 300, 10):
        audit.record(session, "login", intake, "official", intake.id, now=now - timedelta(days=days))
    session.commit()
    runner = app.test_cli_runner()
    too_new = (now - timedelta(days=30)).strftime("%Y-%m-%d")
    refused = runner.invoke(args=["audit", "prune", "--before", too_new])
    assert refused.exit_code == 2
    assert "180" in refused.output

    ok = runner.invoke(args=["audit", "prune", "--before", (now - timedelta(days=200)).strftime("%Y-%m-%d")])
    assert ok.exit_code == 0, ok.output
    session.expire_all()
    assert _actions(session) == ["login", "audit_pruned"]
    assert audit.verify_chain(session)[0]
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_search_filters_by_case_actor_and_period(session: Session, official) -> None:  # noqa: ANN001
    intake, ndrc = official("intake"), official("ndrc")
    now = datetime.now(UTC)
    audit.record(session, "view_contact", intake, "complaint", 1, complaint_id=1, now=now - timedelta(days=2))
    audit.record(session, "view_contact", ndrc, "complaint", 2, complaint_id=2, now=now)
    audit.record(session, "login_failed", "nobody", "official", "nobody", now=now)
    session.commit()
    assert [e.complaint_id for e in audit.search(session, complaint_id=2)] == [2]
    assert [e.actor_id for e in audit.search(session, actor="intake")] == [intake.id]
    assert [e.action for e in audit.search(session, actor="nobody")] == ["login_failed"]
    assert len(audit.search(session, since=now - timedelta(days=1))) == 2
    assert len(audit.search(session, until=now - timedelta(days=1))) == 1


def test_export_writes_json_lines_and_is_audited(session: Session, official, app, tmp_path) -> None:  # noqa: ANN001
    import json

    intake = official("intake")
    audit.record(session, "view_contact", intake, "complaint", 5, complaint_id=5)
    audit.record(session, "view_contact", intake, "complaint", 6, complaint_id=6)
    session.commit()
    out = tmp_path / "audit.jsonl"
    result = app.test_cli_runner().invoke(args=["audit", "export", "--complaint-id", "6", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(e["complaint_id"], e["action"]) for e in lines] == [(6, "view_contact")]
    assert lines[0]["hash"]
    session.expire_all()
    assert _actions(session)[-1] == "audit_exported"
    assert audit.verify_chain(session)[0]


def test_audit_api_is_for_administrators_and_the_drc(api) -> None:  # noqa: ANN001
    assert api("intake").get("/api/v1/audit").status_code == 403
    body = api("ndrc").get("/api/v1/audit?actor=ndrc&since=2020-01-01").get_json()
    assert isinstance(body["items"], list)
    again = api("ndrc").get("/api/v1/audit?action=view_audit").get_json()["items"]
    assert again  # the search itself is audited
    assert again[-1]["actor_label"].startswith("ndrc ")
    assert api("ndrc").get("/api/v1/audit?since=yesterday").status_code == 422


def test_concurrent_appends_keep_the_chain_valid(db_engine, bundled_model_ids, official) -> None:  # noqa: ANN001
    """Two threads appending at once: PostgreSQL's advisory lock, SQLite's write lock taken before the read."""
    intake_id = official("intake").id
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(25):
                with Session(db_engine) as s:
                    audit.record(s, "view_contact", f"thread-{n}", "complaint", i, complaint_id=intake_id)
                    s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    with Session(db_engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 50
        assert audit.verify_chain(s) == (True, None, "审计链完整：共 50 条记录")


def _heads(session: Session) -> dict[int, tuple[int, str]]:
    return {c: (s, h) for c, s, h in session.execute(select(AuditChain.id, AuditChain.seq, AuditChain.head))}


def test_each_case_has_its_own_chain_and_a_transaction_appends_to_one(session: Session, official) -> None:  # noqa: ANN001
    intake = official("intake")
    a1 = audit.record(session, "view_contact", intake, "complaint", 11, complaint_id=11)
    session.commit()
    b1 = audit.record(session, "view_contact", intake, "complaint", 12, complaint_id=12)
    b2 = audit.record(session, "view_contact", intake, "complaint", 13, complaint_id=13)  # same transaction
    session.commit()
    a2 = audit.record(session, "view_contact", intake, "complaint", 11, complaint_id=11)
    session.commit()
    login = audit.record(session, "login", intake, "official", intake.id)
    session.commit()
    assert (a1.chain, a1.seq, a2.chain, a2.seq) == (11, 1, 11, 2)
    assert a2.prev_hash == a1.hash
    assert (b1.chain, b2.chain, b2.seq, b2.prev_hash) == (12, 12, 2, b1.hash)  # one chain per transaction
    assert login.chain <= -2  # no case: a shard chain
    session.expire_all()
    assert _heads(session)[11] == (2, a2.hash)
    assert audit.verify(session).chains == 3


def test_seal_folds_chain_heads_into_one_global_chain(session: Session, official, app) -> None:  # noqa: ANN001
    intake = official("intake")
    for case in (21, 22):
        audit.record(session, "view_contact", intake, "complaint", case, complaint_id=case)
        session.commit()
    first = audit.seal(session)
    session.commit()
    assert first is not None
    assert (first.kind, first.chains, first.prev_hash) == ("seal", 2, audit.GENESIS)
    assert audit.seal(session) is None  # nothing grew since
    session.rollback()
    newer = audit.record(session, "view_contact", intake, "complaint", 22, complaint_id=22)
    session.commit()
    result = audit.verify(session)
    assert (result.ok, result.events, result.seals, result.unsealed) == (True, 3, 1, 1)

    runner = app.test_cli_runner()
    sealed = runner.invoke(args=["audit", "seal"])
    assert sealed.exit_code == 0, sealed.output
    assert "已封存 1 条链" in sealed.output
    entries = session.execute(select(AuditSealEntry.chain, AuditSealEntry.seq, AuditSealEntry.head)
                              .order_by(AuditSealEntry.seal_id, AuditSealEntry.chain)).all()
    assert entries[-1] == (22, 2, newer.hash)
    [second] = session.scalars(select(AuditSeal).where(AuditSeal.id != first.id)).all()
    assert second.prev_hash == first.hash
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "OK 审计链完整：共 3 条记录（2 条链，2 次封存，0 条尚待封存）" in verified.output


def test_removing_the_newest_event_of_a_chain_is_found(session: Session, official) -> None:  # noqa: ANN001
    intake = official("intake")
    for _ in range(3):
        audit.record(session, "view_contact", intake, "complaint", 31, complaint_id=31)
        session.commit()
    newest = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": newest.id})
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert "最新的记录被删除或改动" in result.message


def test_a_seal_still_names_the_newest_event_when_the_head_row_is_rewound(session: Session, official) -> None:  # noqa: ANN001
    intake = official("intake")
    for _ in range(3):
        audit.record(session, "view_contact", intake, "complaint", 32, complaint_id=32)
        session.commit()
    assert audit.seal(session) is not None
    session.commit()
    second = session.scalar(select(AuditEvent).where(AuditEvent.chain == 32, AuditEvent.seq == 2))
    session.execute(text("DELETE FROM audit_event WHERE chain = 32 AND seq = 3"))
    session.execute(update(AuditChain.__table__).where(AuditChain.id == 32).values(seq=2, head=second.hash))
    session.commit()
    result = audit.verify(session)
    assert (result.ok, result.broken_id) == (False, second.id)
    assert "已封存到第 3 位，库中只到第 2 位" in result.message


def test_removing_a_whole_sealed_case_chain_is_found(session: Session, official) -> None:  # noqa: ANN001
    intake = official("intake")
    audit.record(session, "view_contact", intake, "complaint", 41, complaint_id=41)
    session.commit()
    audit.record(session, "view_contact", intake, "complaint", 42, complaint_id=42)
    session.commit()
    audit.seal(session)
    session.commit()
    session.execute(text("DELETE FROM audit_event WHERE chain = 41"))
    session.execute(text("DELETE FROM audit_chain WHERE id = 41"))
    session.commit()
    result = audit.verify(session)
    assert (result.ok, result.broken_id) == (False, None)
    assert "第 41 号链的记录全部缺失" in result.message


def test_changed_or_removed_seals_are_found(session: Session, official, app) -> None:  # noqa: ANN001
    intake = official("intake")
    for case in (51, 52, 53):
        audit.record(session, "view_contact", intake, "complaint", case, complaint_id=case)
        session.commit()
        audit.seal(session)
        session.commit()
    seals = session.scalars(select(AuditSeal).order_by(AuditSeal.id)).all()
    assert [s.chains for s in seals] == [1, 1, 1]
    assert audit.verify(session).ok

    session.execute(update(AuditSealEntry.__table__).where(AuditSealEntry.seal_id == seals[1].id)
                    .values(head="f" * 64))
    session.commit()
    assert "默克尔根不符" in audit.verify(session).message
    session.rollback()

    session.execute(delete(AuditSealEntry.__table__).where(AuditSealEntry.seal_id == seals[1].id))
    session.execute(delete(AuditSeal.__table__).where(AuditSeal.id == seals[1].id))
    session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "前序哈希与上一次不符" in result.output


def test_prune_shortens_each_chain_and_a_prune_seal_attests_where_it_starts(session: Session, official) -> None:  # noqa: ANN001
    intake = official("intake")
    now = datetime.now(UTC)
    for case, days in ((61, 400), (61, 300), (61, 5), (62, 400), (63, 2)):
        audit.record(session, "view_contact", intake, "complaint", case, complaint_id=case,
                     now=now - timedelta(days=days))
        session.commit()
    audit.seal(session)
    session.commit()
    assert audit.prune(session, now - timedelta(days=200), "cli:test") == 3
    session.commit()
    left = session.execute(select(AuditEvent.chain, AuditEvent.seq).where(AuditEvent.chain > 0)
                           .order_by(AuditEvent.chain)).all()
    assert left == [(61, 3), (63, 1)]
    prune_seal = session.scalar(select(AuditSeal).where(AuditSeal.kind == "prune"))
    assert prune_seal.chains == 2  # 61 starts after position 2, 62 was removed whole
    assert audit.verify(session).ok
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == audit.PRUNED)).after["deleted"] == 3

    # deleting the oldest kept event is not a prune: nothing attests where chain 61 would start
    session.execute(text("DELETE FROM audit_event WHERE chain = 61 AND seq = 3"))
    audit.record(session, "view_contact", intake, "complaint", 61, complaint_id=61)  # appends at 4
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert "既非链首也无裁剪记录佐证" in result.message


def test_steps_on_two_cases_do_not_wait_for_each_other(db_engine, bundled_model_ids, official) -> None:  # noqa: ANN001
    """No lock of the audit log is global: a step's transaction on case A, still open, does not hold up case B.

    The two verifications are made by different departments (each numbers its own 公文, a lock of its own)."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time whatever the audit log does")
    from engine.cases.services import register_complaint
    from engine.org.models import Official
    from engine.workflow import instances
    from engine.workflow.models import HumanTask

    users = {name: official(name).id for name in ("intake", "km-commerce", "qj-commerce")}
    verify = {"outcome": "founded", "explanation": "属实"}
    with Session(db_engine) as s:
        intake = s.get(Official, users["intake"])
        cases = [register_complaint(s, {**COMPLAINT, "respondent_code": code, "agreement_number": f"LOCK-{code}"},
                                    intake)[0].id for code in ("km-guandu-commerce", "qj-qilin-commerce")]
        for case in cases:
            screening = s.scalar(select(HumanTask.id).where(HumanTask.subject_id == case))
            instances.complete_task(s, screening, {"accepted": True}, intake)
        s.commit()
        task_a, task_b = (s.scalar(select(HumanTask.id).where(HumanTask.subject_id == c,
                                                              HumanTask.completed_at.is_(None))) for c in cases)
    with Session(db_engine) as first, Session(db_engine) as second:
        instances.complete_task(first, task_a, verify, first.get(Official, users["km-commerce"]))
        advisory = first.scalar(text("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
                                     "AND locktype = 'advisory'"))
        assert advisory == 0
        second.execute(text("SET LOCAL lock_timeout = '20s'"))  # a wait for `first` fails here instead of hanging
        instances.complete_task(second, task_b, verify, second.get(Official, users["qj-commerce"]))
        second.commit()  # while case A's step still holds its transaction open
        first.commit()
    with Session(db_engine) as s:
        result = audit.verify(s)
        assert result.ok, result.message
        chains = set(s.scalars(select(AuditEvent.chain).where(AuditEvent.action == "task_completed")))
        assert chains == set(cases)
