"""Breach records, measures.bpmn and credit_repair.bpmn at engine level, plain and through save/restore."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.credit import services
from engine.credit.models import BreachRecord, PlatformDelivery
from engine.db import as_utc
from engine.errors import ConflictError, FormInvalid, PermissionDenied
from engine.workflow.instances import complete_task
from engine.workflow.models import HumanTask, ProcessInstance
from tests.processes.conftest import ComplaintRun
from tests.processes.test_complaint import founded_until_review

RunComplaint = Callable[..., ComplaintRun]
save_restore = pytest.mark.parametrize("save_restore", [False, True])
BREACH = {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现扶持资金"}


def confirmed(run: ComplaintRun, severity: str | None = "serious", close: bool = True) -> BreachRecord:
    """Walk the case to a confirmed breach (and through the DRC's review); returns its record."""
    founded_until_review(run, completed=False)
    run.complete("review_rectification", "km-commerce", {"rectified": False, "review_comment": "拒不整改"})
    run.complete("confirm_breach_task", "km-commerce", {**BREACH, "severity": severity})
    if close:
        run.complete("ndrc_review", "ndrc", {"approved": True, "national_report_number": "云发改信用〔2026〕21号"})
        run.assert_closed("breach_reported")
    record = services.record_for_complaint(run.session, run.complaint.id)
    assert record is not None
    return record


def keys(session: Session, record: BreachRecord) -> list[tuple[int, str]]:
    """(version, event) of each queued delivery of the record, in order; every key is a UUID of its own."""
    rows = session.scalars(select(PlatformDelivery).where(PlatformDelivery.record_id == record.id)
                           .order_by(PlatformDelivery.id)).all()
    assert len({uuid.UUID(r.idempotency_key) for r in rows}) == len(rows)
    return [(r.record_version, r.event) for r in rows]


def apply(run: ComplaintRun, record: BreachRecord, code: str, document: str, until: str | None = None) -> None:
    services.start_measure_action(run.session, record, run.official("ndrc"), "apply", now=run._tick())
    run.session.commit()
    run._after_step()
    task = run.task("choose_measure", "ndrc", department="ndrc")
    assert (task.lane, task.role) == ("ndrc", "ndrc")
    run.complete("choose_measure", "ndrc", {"measure_code": code, "document_number": document, "until": until})


# --- the record --------------------------------------------------------------------------------------------

@save_restore
def test_confirming_a_breach_creates_the_record(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore, disputed_amount="3000000")
    record = confirmed(run, severity="serious")
    assert record.respondent_name == "昆明市官渡区商务局"
    assert record.respondent.code == "km-guandu-commerce"
    assert (record.respondent_division, record.respondent_prefecture) == ("530111", "530100")
    assert record.determining_department.code == "km-commerce"
    assert record.determining_name == "昆明市商务局"
    assert (record.document_number, record.basis, record.facts) == ("昆商认〔2026〕3号", "协议第五条", "拒不兑现扶持资金")
    assert record.domain == "investment_promotion"
    assert str(record.amount) == "3000000.00"
    assert record.rectification_deadline == date(2026, 4, 30)
    assert record.rectification_state == "not_rectified"
    assert record.determined_on == record.publication_start == date(2026, 3, 2)
    # serious: published 1–3 years, repair may be applied for after one year
    assert (record.repair_eligible_from, record.publication_end) == (date(2027, 3, 2), date(2029, 3, 2))
    assert (record.status, record.version, record.source) == ("active", 1, "complaint")
    assert keys(run.session, record) == [(1, "created")]
    [event] = run.events("breach_confirmed")
    assert event.data["record_id"] == record.id


@save_restore
def test_a_breach_confirmed_again_updates_the_same_record(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    first = confirmed(run, severity=None, close=False)
    assert first.severity == "ordinary"  # not chosen: ordinary
    assert first.repair_eligible_from == date(2026, 6, 2)
    assert (first.status, keys(run.session, first)) == ("draft", [])  # internal until the DRC approves
    run.complete("ndrc_review", "ndrc", {"approved": False, "review_remarks": "请补充认定依据"})
    run.session.refresh(first)
    assert (first.status, keys(run.session, first)) == ("withdrawn", [])  # sent back: never shown, never sent
    run.complete("confirm_breach_task", "km-commerce", {**BREACH, "basis": "协议第五条、第九条", "severity": "minor"})
    again = services.record_for_complaint(run.session, run.complaint.id)
    assert again.id == first.id
    assert (again.basis, again.severity, again.version, again.status) == ("协议第五条、第九条", "minor", 2, "draft")
    assert again.repair_eligible_from == date(2026, 3, 2)  # minor: any time
    assert again.publication_end == date(2026, 6, 2)
    assert run.session.scalar(select(BreachRecord.id).where(BreachRecord.id != first.id)) is None
    assert keys(run.session, again) == []
    run.complete("ndrc_review", "ndrc", {"approved": True, "national_report_number": "云发改信用〔2026〕22号"})
    run.session.refresh(again)
    assert again.status == "active"
    assert keys(run.session, again) == [(2, "created")]  # the approved version, once


def test_the_severity_must_be_a_known_class(run_complaint: RunComplaint, session: Session, official: Callable) -> None:
    run = run_complaint(False)
    founded_until_review(run, completed=False)
    run.complete("review_rectification", "km-commerce", {"rectified": False})
    task = run.task("confirm_breach_task", "km-commerce")
    with pytest.raises(FormInvalid) as caught:
        complete_task(session, task.id, {**BREACH, "severity": "grave"}, official("km-commerce"), now=run.now)
    assert set(caught.value.errors) == {"severity"}


@pytest.mark.parametrize(("severity", "start", "eligible", "end"), [
    ("minor", date(2026, 3, 31), date(2026, 3, 31), date(2026, 6, 30)),
    ("ordinary", date(2026, 11, 30), date(2027, 2, 28), date(2027, 11, 30)),
    ("serious", date(2028, 2, 29), date(2029, 2, 28), date(2031, 2, 28)),
])
def test_repair_dates_per_severity(severity: str, start: date, eligible: date, end: date) -> None:
    assert services.repair_dates(severity, start) == (eligible, end)


# --- measures.bpmn ---------------------------------------------------------------------------------------

@save_restore
def test_measures_are_applied_and_ended_through_the_process(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    record = confirmed(run)
    apply(run, record, "public_criticism", "云发改信用〔2026〕30号", until="2026-12-31")
    apply(run, record, "government_procurement", "云发改信用〔2026〕31号")
    run.session.refresh(record)
    assert [(m.measure_type.name, m.document_number, m.until) for m in record.active_measures] == [
        ("公开通报批评", "云发改信用〔2026〕30号", date(2026, 12, 31)),
        ("限制参加政府采购", "云发改信用〔2026〕31号", None)]
    criticism = record.active_measures[0]
    assert criticism.applied_by.username == "ndrc"
    assert as_utc(criticism.applied_at) < run.now
    assert record.version == 3

    services.start_measure_action(run.session, record, run.official("ndrc"), "end", criticism.id, now=run._tick())
    run.session.commit()
    run.complete("decide_end", "ndrc", {"end_reason": "通报期满", "end_document_number": "云发改信用〔2026〕40号"})
    run.session.refresh(record)
    assert [m.measure_type.code for m in record.active_measures] == ["government_procurement"]
    assert (criticism.end_reason, criticism.end_document_number) == ("通报期满", "云发改信用〔2026〕40号")
    assert as_utc(criticism.ended_at) == run.now
    assert [e for _k, e in keys(run.session, record)] == ["created", "measure_applied", "measure_applied",
                                                           "measure_ended"]
    assert [v for v, _e in keys(run.session, record)] == [1, 2, 3, 4]
    assert {m.department.code for m in record.measures} == {"ndrc"}  # 实施部门: the applying official's department
    assert len(run.events("measure_applied")) == 2


def test_only_the_ndrc_starts_measures_and_the_same_measure_twice_is_refused(
        run_complaint: RunComplaint, session: Session, official: Callable) -> None:
    run = run_complaint(False)
    record = confirmed(run)
    with pytest.raises(PermissionDenied):
        services.start_measure_action(session, record, official("km-commerce"), "apply")
    apply(run, record, "cancel_awards", "文1")
    services.start_measure_action(session, record, official("ndrc"), "apply", now=run._tick())
    session.commit()
    task = run.task("choose_measure", "ndrc")
    with pytest.raises(ConflictError, match="已在实施「取消评优评先」（文1，.*）.*不能重复实施"):
        complete_task(session, task.id, {"measure_code": "cancel_awards", "document_number": "文2"},
                      official("ndrc"), now=run.now)
    session.rollback()
    with pytest.raises(FormInvalid):
        complete_task(session, task.id, {"measure_code": "no_such", "document_number": "文2"}, official("ndrc"))


@save_restore
def test_a_measure_action_can_be_abandoned(run_complaint: RunComplaint, save_restore: bool) -> None:
    """放弃: the task ends, nothing is applied, the record and the platform hear nothing."""
    run = run_complaint(save_restore)
    record = confirmed(run)
    apply(run, record, "cancel_awards", "文1")
    before = (record.version, keys(run.session, record))
    services.start_measure_action(run.session, record, run.official("ndrc"), "apply", now=run._tick())
    run.session.commit()
    run._after_step()
    task = run.task("choose_measure", "ndrc")
    with pytest.raises(FormInvalid) as caught:  # 实施 needs the measure and its document
        complete_task(run.session, task.id, {"abandon": False}, run.official("ndrc"), now=run.now)
    run.session.rollback()
    assert caught.value.errors == {"measure_code": "请从失信惩戒措施清单中选择措施",
                            "document_number": "实施措施时必须填写实施文书号"}
    run.complete("choose_measure", "ndrc", {"abandon": True})
    run.session.expire_all()
    assert run.session.scalar(select(HumanTask).where(HumanTask.spec_name == "choose_measure",
                                                      HumanTask.completed_at.is_(None))) is None
    assert run.session.get(ProcessInstance, task.instance_id).status == "completed"
    assert [m.measure_type.code for m in record.active_measures] == ["cancel_awards"]
    assert (record.version, keys(run.session, record)) == before


# --- credit_repair.bpmn ------------------------------------------------------------------------------------

def start_repair(run: ComplaintRun, record: BreachRecord, username: str = "guandu-commerce") -> None:
    services.start_repair(run.session, record, run.official(username), now=run._tick())
    run.session.commit()
    run._after_step()


@save_restore
def test_repair_is_refused_before_the_minimum_period(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    record = confirmed(run, severity="serious")
    with pytest.raises(ConflictError) as caught:
        services.start_repair(run.session, record, run.official("guandu-commerce"), now=run.now)
    assert "尚未到可申请信用修复的时间" in caught.value.message
    assert "2027年03月02日" in caught.value.message
    run.session.rollback()
    run.now = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # 2027-03-01 23:00 in Kunming: still one day early
    with pytest.raises(ConflictError):
        services.start_repair(run.session, record, run.official("guandu-commerce"), now=run.now)
    run.session.rollback()
    run.now = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)  # midnight in Kunming: the day has come
    start_repair(run, record)
    run.task("apply_repair", "guandu-commerce", department="km-guandu-commerce")


@save_restore
def test_repair_ends_every_measure_and_publication(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore)
    record = confirmed(run, severity="ordinary")
    apply(run, record, "public_criticism", "云发改信用〔2026〕30号")
    apply(run, record, "support_policies", "云发改信用〔2026〕31号")
    assert record.published_until is None
    assert services.published_records(run.session, date(2026, 3, 10)) == [record]
    run.now = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)
    with pytest.raises(PermissionDenied):  # another department may not apply for it
        services.start_repair(run.session, record, run.official("qj-commerce"), now=run.now)
    start_repair(run, record)
    apply_task = run.task("apply_repair", "guandu-commerce", department="km-guandu-commerce")
    assert apply_task.lane == "respondent"
    with pytest.raises(ConflictError, match="正在办理"):
        services.start_repair(run.session, record, run.official("km-commerce"), now=run.now)
    run.session.rollback()
    run.complete("apply_repair", "guandu-commerce", {"corrected": True, "evidence": "扶持资金已于 5 月足额拨付"})

    decide = run.task("decide_repair", "km-commerce", department="km-commerce")
    assert decide.lane == "supervisor"
    assert decide.due_basis.startswith("信用修复决定")
    assert as_utc(decide.due_at) == datetime(2026, 6, 9, 15, 59, 59, tzinfo=UTC)  # 5 working days
    run.complete("decide_repair", "km-commerce", {"approved": True, "repair_document_number": "昆商修〔2026〕1号"})

    run.session.refresh(record)
    assert (record.status, record.repaired_on, record.repair_document_number) == (
        "repaired", date(2026, 6, 2), "昆商修〔2026〕1号")
    assert record.published_until == date(2026, 6, 2)
    assert record.rectification_state == "rectified"
    assert record.active_measures == []
    assert {m.end_reason for m in record.measures} == {"信用修复"}
    assert record.repair_applied_at is None
    assert services.published_records(run.session, date(2026, 6, 3)) == []
    assert keys(run.session, record)[-1] == (4, "repaired")
    last = run.session.scalar(select(PlatformDelivery).where(PlatformDelivery.record_id == record.id,
                                                             PlatformDelivery.record_version == 4))
    assert (last.payload["number"], last.payload["status"]) == (record.number, "repaired")
    assert last.payload["repair_document_number"] == "昆商修〔2026〕1号"
    assert [(m["end_reason"], m["end_document_number"]) for m in last.payload["measures"]] == [
        ("信用修复", "昆商修〔2026〕1号")] * 2  # the reason and the repair decision, each in its own field
    assert len(run.events("credit_repaired")) == 1
    with pytest.raises(ConflictError):
        services.start_measure_action(run.session, record, run.official("ndrc"), "apply")


@save_restore
def test_repair_refused_with_reasons(run_complaint: RunComplaint, session: Session, official: Callable,
                                     save_restore: bool) -> None:
    run = run_complaint(save_restore)
    record = confirmed(run, severity="minor")
    start_repair(run, record, "km-commerce")  # the respondent's superior may apply for it
    run.complete("apply_repair", "guandu-commerce", {"corrected": True, "evidence": "已拨付一半"})
    task = run.task("decide_repair", "km-commerce")
    with pytest.raises(FormInvalid) as caught:
        complete_task(session, task.id, {"approved": False}, official("km-commerce"), now=run.now)
    assert caught.value.errors == {"reasons": "不予修复时必须说明理由"}
    session.rollback()
    run.complete("decide_repair", "km-commerce", {"approved": False, "reasons": "资金未足额拨付"})
    session.refresh(record)
    assert (record.status, record.version, record.repair_applied_at) == ("active", 1, None)
    assert "资金未足额拨付" in run.events("repair_refused")[0].summary
    start_repair(run, record)  # may apply again
    run.task("apply_repair", "guandu-commerce")


def test_the_service_operation_enforces_the_minimum_period(
        run_complaint: RunComplaint, session: Session, official: Callable) -> None:
    run = run_complaint(False)
    record = confirmed(run, severity="minor")
    start_repair(run, record)
    record.repair_eligible_from = date(2027, 1, 1)  # e.g. the record was corrected to a graver class meanwhile
    session.commit()
    task = run.task("apply_repair", "guandu-commerce")
    with pytest.raises(ConflictError, match="尚未到可申请信用修复的时间"):
        complete_task(session, task.id, {"corrected": True, "evidence": "已履约"}, official("guandu-commerce"))
    session.rollback()
    with pytest.raises(FormInvalid):  # and only corrected breaches may be repaired
        complete_task(session, task.id, {"corrected": False, "evidence": "未履约"}, official("guandu-commerce"))


# --- measures end by themselves at their `until` date (timer in measures.bpmn) -------------------------------

def measure_instances(session: Session, run: ComplaintRun) -> list:
    from engine.workflow.models import ProcessInstance, ProcessModel

    session.expire_all()
    return list(session.scalars(
        select(ProcessInstance).join(ProcessModel, ProcessModel.id == ProcessInstance.model_id)
        .where(ProcessInstance.subject_id == run.complaint.id, ProcessModel.key == "measures")
        .order_by(ProcessInstance.id)))


@save_restore
def test_a_measure_ends_by_itself_when_its_period_is_over(run_complaint: RunComplaint, save_restore: bool) -> None:
    from engine.workflow.jobs import tick
    from tests.processes.conftest import round_trip

    run = run_complaint(save_restore)
    record = confirmed(run)
    apply(run, record, "public_criticism", "云发改信用〔2026〕30号", until="2026-06-30")
    apply(run, record, "support_policies", "云发改信用〔2026〕31号")  # no end date: nothing waits
    timed, open_ended = measure_instances(run.session, run)
    assert (timed.status, open_ended.status) == ("running", "completed")
    assert as_utc(timed.next_timer_at) == datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)  # end of the day in Yunnan
    if save_restore:
        round_trip(run.session, timed)

    assert tick(run.session, now=datetime(2026, 6, 30, 15, 0, tzinfo=UTC)) == 0
    assert tick(run.session, now=datetime(2026, 6, 30, 16, 0, tzinfo=UTC)) == 1
    run.session.refresh(record)
    assert [m.measure_type.code for m in record.active_measures] == ["support_policies"]
    [criticism] = [m for m in record.measures if m.ended_at is not None]
    assert criticism.end_reason == "实施期限届满（截至 2026年06月30日）"
    assert criticism.ended_by_label == "系统（流程）"
    assert keys(run.session, record)[-1] == (4, "measure_ended")
    assert measure_instances(run.session, run)[0].status == "completed"
    assert "期限届满" in run.events("measure_ended")[0].summary


@save_restore
def test_a_timed_measure_ended_earlier_by_repair_is_left_alone(run_complaint: RunComplaint,
                                                               save_restore: bool) -> None:
    from engine.workflow.jobs import tick
    from tests.processes.conftest import round_trip

    run = run_complaint(save_restore)
    record = confirmed(run, severity="minor")
    apply(run, record, "public_criticism", "云发改信用〔2026〕30号", until="2026-12-31")
    apply(run, record, "cancel_awards", "云发改信用〔2026〕31号", until="2027-01-31")
    start_repair(run, record)
    run.complete("apply_repair", "guandu-commerce", {"corrected": True, "evidence": "已足额拨付"})
    run.complete("decide_repair", "km-commerce", {"approved": True, "repair_document_number": "昆商修〔2026〕2号"})
    run.session.refresh(record)
    assert record.active_measures == []  # repair ended every measure, timed ones included
    assert {m.end_reason for m in record.measures} == {"信用修复"}
    versions = keys(run.session, record)
    if save_restore:
        for instance in measure_instances(run.session, run):
            round_trip(run.session, instance)
    assert tick(run.session, now=datetime(2027, 2, 1, 0, 0, tzinfo=UTC)) == 2  # both timers fire ...
    run.session.refresh(record)
    assert {m.end_reason for m in record.measures} == {"信用修复"}  # ... and change nothing
    assert keys(run.session, record) == versions
    assert [i.status for i in measure_instances(run.session, run)] == ["completed", "completed"]
