"""The audit log: hash-chained, verified, searchable; tampering is found and named; concurrent appends stay chained."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from engine.audit import services as audit
from engine.audit.models import AuditEvent
from tests.integration.test_api_smoke import COMPLAINT


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
