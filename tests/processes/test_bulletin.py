"""bulletin.bpmn at engine level: started by its timer start events (injected clock), generated with progress,
reviewed by the provincial DRC, sent back or published. Each path runs plain and through a save/restore round trip.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.cases.services import register_complaint
from engine.db import as_utc
from engine.errors import EngineError, FormInvalid, PermissionDenied, TaskNotReady
from engine.notify.models import Notification
from engine.oversight import bulletins
from engine.oversight import jobs as oversight_jobs
from engine.oversight.models import Bulletin
from engine.workflow import specs
from engine.workflow.instances import complete_task
from engine.workflow.jobs import start_due_processes
from engine.workflow.models import HumanTask, ProcessInstance, TimerStart
from engine.workflow.start_timers import StartTimer, parse_cycle, start_timers_of
from tests.conftest import COMPLAINT, PROCESSES
from tests.processes.conftest import round_trip


def next_occurrence(session: Session, event_id: str) -> datetime:
    """The first occurrence of a start timer after the bundled version was deployed (the fixture's real time)."""
    model = specs.latest(session, "bulletin")
    (timer,) = [t for t in start_timers_of(session, model) if t.event_id == event_id]
    deployed = as_utc(session.scalar(select(func.min(specs.ProcessModel.deployed_at))
                                     .where(specs.ProcessModel.key == "bulletin")))
    return timer.occurrences(deployed, deployed + timedelta(days=400), limit=1)[0]


def review_task(session: Session, bulletin: Bulletin) -> HumanTask:
    task = bulletins.review_task_of(session, bulletin)
    assert task is not None
    assert task.spec_name == "review"
    return task


def maybe_round_trip(session: Session, bulletin: Bulletin, save_restore: bool) -> None:
    if save_restore:
        round_trip(session, session.get(ProcessInstance, bulletin.instance_id))


@pytest.mark.parametrize("save_restore", [False, True])
def test_monthly_timer_generates_the_previous_month_and_publishes(session: Session, official, save_restore: bool) -> None:  # noqa: ANN001
    due = next_occurrence(session, "start_monthly")
    local = due.astimezone(bulletins.SHANGHAI)
    assert (local.day, local.hour, local.minute) == (1, 9, 0)
    previous_month = (local.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    # one complaint received in the month the bulletin covers, one after it
    register_complaint(session, dict(COMPLAINT), official("intake"),
                       now=datetime.combine(previous_month + timedelta(days=3), datetime.min.time(), UTC))
    register_complaint(session, {**COMPLAINT, "agreement_number": "later"}, official("intake"), now=due)
    session.commit()

    assert start_due_processes(session, due - timedelta(minutes=1)) == 0  # not yet
    assert start_due_processes(session, due + timedelta(minutes=1)) == 1
    assert start_due_processes(session, due + timedelta(minutes=2)) == 0  # the occurrence started once
    (bulletin,) = session.scalars(select(Bulletin)).all()
    assert (bulletin.period_kind, bulletin.period_start, bulletin.status, bulletin.source) == (
        "month", previous_month, "queued", "timer")
    assert bulletin.title == f"{previous_month.year}年{previous_month.month}月政府违约失信投诉处置情况通报"
    row = session.scalar(select(TimerStart))
    assert (row.start_event, as_utc(row.due_at), row.instance_id) == ("start_monthly", due, bulletin.instance_id)
    maybe_round_trip(session, bulletin, save_restore)

    task = review_task(session, bulletin)
    with pytest.raises(TaskNotReady, match="生成完毕后才能审核发布"):  # not generated yet: approval refused
        complete_task(session, task.id, {"decision": "approve"}, official("ndrc"), now=due + timedelta(minutes=3))
    session.rollback()

    assert oversight_jobs.generate_pending(session, due + timedelta(minutes=5)) == 1
    session.refresh(bulletin)
    assert (bulletin.status, bulletin.progress, bulletin.progress_note) == ("ready", 100, "完成")
    snapshot = bulletin.snapshot
    assert snapshot["period"]["start"] == previous_month.isoformat()
    assert snapshot["figures"]["intake"]["received"] == 1  # only the complaint inside the period
    assert [r["label"] for r in snapshot["prefectures"]][:0] == []
    assert len(snapshot["prefectures"]) == 17  # 16 prefectures and 省直
    assert [r["rank"] for r in snapshot["prefectures"]] == list(range(1, 18))
    maybe_round_trip(session, bulletin, save_restore)

    with pytest.raises(PermissionDenied):
        complete_task(session, task.id, {"decision": "approve"}, official("km-drc"))
    session.rollback()
    complete_task(session, task.id, {"decision": "approve", "remarks": "昆明市按时率偏低，请加快核实。",
                                     "publish_public": True}, official("ndrc"), now=due + timedelta(hours=2))
    session.commit()
    session.refresh(bulletin)
    assert bulletin.status == "published"
    assert bulletin.remarks == "昆明市按时率偏低，请加快核实。"
    assert bulletin.is_public
    assert bulletin.public_snapshot["intake"]["received"] == 1
    assert "remarks" not in bulletin.public_snapshot  # free text stays inside the administration
    assert session.get(ProcessInstance, bulletin.instance_id).status == "completed"
    titles = session.scalars(select(Notification.title).where(Notification.kind == "bulletin")).all()
    assert len(titles) >= 2
    assert set(titles) == {f"已发布：{bulletin.title}"}
    assert bulletin.snapshot == snapshot  # frozen


@pytest.mark.parametrize("save_restore", [False, True])
def test_send_back_makes_a_new_revision(session: Session, official, save_restore: bool) -> None:  # noqa: ANN001
    due = next_occurrence(session, "start_quarterly")
    local = due.astimezone(bulletins.SHANGHAI)
    assert local.month in (1, 4, 7, 10)
    assert (local.day, local.hour, local.minute) == (1, 9, 30)
    start_due_processes(session, due)
    first = session.scalar(select(Bulletin).where(Bulletin.period_kind == "quarter"))
    assert first.period_end == local.date() - timedelta(days=1)
    assert (first.period_end - first.period_start).days > 85
    oversight_jobs.generate_pending(session, due)
    maybe_round_trip(session, first, save_restore)
    task = review_task(session, first)
    with pytest.raises(FormInvalid) as refused:
        complete_task(session, task.id, {"decision": "regenerate"}, official("ndrc"), now=due)
    assert refused.value.errors["regenerate_reason"] == "退回重新生成时必须填写原因"
    session.rollback()
    complete_task(session, task.id, {"decision": "regenerate", "regenerate_reason": "补录了红河州数据"},
                  official("ndrc2"), now=due + timedelta(hours=1))
    session.commit()
    session.refresh(first)
    second = session.scalar(select(Bulletin).where(Bulletin.revision == 2))
    assert first.status == "superseded"
    assert first.snapshot is not None
    assert (second.status, second.source, second.regenerate_reason, second.instance_id) == (
        "queued", "regenerated", "补录了红河州数据", first.instance_id)
    maybe_round_trip(session, second, save_restore)
    oversight_jobs.generate_pending(session, due + timedelta(hours=1))
    complete_task(session, review_task(session, second).id, {"decision": "approve", "publish_public": False},
                  official("ndrc"), now=due + timedelta(hours=2))
    session.commit()
    session.refresh(second)
    assert (second.status, second.is_public, second.public_snapshot) == ("published", False, None)


def test_manual_start_for_a_chosen_period(session: Session, official) -> None:  # noqa: ANN001
    now = datetime(2026, 8, 3, 2, tzinfo=UTC)
    with pytest.raises(PermissionDenied):
        bulletins.start_manual(session, official("km-drc"), "quarter", "2026-04-01", now=now)
    with pytest.raises(EngineError, match="第一天"):
        bulletins.start_manual(session, official("ndrc"), "quarter", "2026-05-01", now=now)
    bulletin = bulletins.start_manual(session, official("ndrc"), "quarter", "2026-04-01", now=now)
    session.commit()
    assert (bulletin.period_start, bulletin.period_end, bulletin.source) == (date(2026, 4, 1), date(2026, 6, 30), "manual")
    instance = session.get(ProcessInstance, bulletin.instance_id)
    assert instance.next_timer_at is None  # the timer start events were cancelled, nothing waits inside
    assert session.scalar(select(func.count()).select_from(TimerStart)) == 0


def test_missed_occurrences_are_caught_up_once_each(session: Session) -> None:
    due = next_occurrence(session, "start_monthly")
    later = due + timedelta(days=70)  # scheduler down for two more monthly occurrences and a quarterly one
    started = start_due_processes(session, later)
    starts = session.scalars(select(TimerStart).order_by(TimerStart.due_at)).all()
    assert started == len(starts) >= 3
    assert all(s.instance_id for s in starts)
    assert start_due_processes(session, later) == 0
    kinds = session.scalars(select(Bulletin.period_kind)).all()
    assert kinds.count("month") == 3


def test_cycles_follow_the_calendar() -> None:
    timer = StartTimer("x", "s", "s", "R/2026-01-31T09:00:00+08:00/P1M")
    moments = timer.occurrences(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert [m.astimezone(bulletins.SHANGHAI).date() for m in moments] == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert StartTimer("x", "s", "s", "R2/2026-01-01T00:00:00+00:00/PT1H").occurrences(
        datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)) == [
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC)]
    far = StartTimer("x", "s", "s", "R/2020-01-01T00:00:00+00:00/PT1M")  # skips old cycles without walking them
    assert far.occurrences(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 3, tzinfo=UTC)) == [
        datetime(2026, 1, 1, 0, m, tzinfo=UTC) for m in (1, 2, 3)]
    with pytest.raises(EngineError, match="时区"):
        parse_cycle("R/2026-01-01T09:00:00/P1M")


@pytest.mark.parametrize(("cycle", "message"), [
    ('"R/2026-01-01T09:00:00/P1M"', "须带时区"),
    ('"R/P1M"', "R[次数]/开始时间/间隔"),
    ("workdays(3)", "循环"),  # refused by the general timer check already
])
def test_deploy_refuses_start_timers_the_scheduler_cannot_read(cycle: str, message: str) -> None:
    from engine.errors import InvalidDiagram

    xml = specs.bundle_from_directory(PROCESSES / "bulletin.bpmn")
    broken = specs.Bundle(xml.bpmn_xml.replace('"R/2026-01-01T09:00:00+08:00/P1M"', cycle), xml.dmn, xml.forms)
    with pytest.raises(InvalidDiagram) as refused:
        specs.parse_bundle(broken)
    assert any(message in p["message"] for p in refused.value.details["problems"])
