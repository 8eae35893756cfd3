"""typical_case.bpmn at engine level, plain and through save/restore: selection, the personal-data check of the
redaction step, approval by a second official (or sent back), publication and withdrawal."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.credit import exposure, redaction, services
from engine.credit.models import BreachRecord, TypicalCase
from engine.errors import ConflictError, FormInvalid, PermissionDenied
from engine.workflow.instances import complete_task
from engine.workflow.models import ProcessInstance
from tests.processes.conftest import ComplaintRun, round_trip
from tests.processes.test_complaint import founded_until_review

RunComplaint = Callable[..., ComplaintRun]
save_restore = pytest.mark.parametrize("save_restore", [False, True])
PERSONAL = {"contact_person": "李明", "contact_phone": "13888001234", "legal_representative": "王建国",
            "contact_address": "昆明市官渡区关上街道100号"}
FACTS = ("企业联系人李明（电话 138 8800 1234，邮箱 liming@dianxin.cn）多次催告，"
         "云南滇信科技有限公司依协议应得的扶持资金 300 万元仍未兑现。")
CLEAN_TITLE = "昆明市官渡区商务局拒不兑现招商引资扶持资金"
CLEAN_TEXT = ("2026年3月2日，昆明市商务局认定昆明市官渡区商务局违约失信（昆商认〔2026〕3号）。\n\n"
              "该局与某企业签订投资协议后，拒不兑现约定的产业扶持资金 300 万元，经督促仍不整改。")


def breach(run: ComplaintRun, severity: str = "serious", facts: str = FACTS) -> BreachRecord:
    founded_until_review(run, completed=False)
    run.complete("review_rectification", "km-commerce", {"rectified": False, "review_comment": "拒不整改"})
    run.complete("confirm_breach_task", "km-commerce", {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条",
                                                        "facts": facts, "severity": severity})
    run.complete("ndrc_review", "ndrc", {"approved": True, "national_report_number": "云发改信用〔2026〕21号"})
    record = services.record_for_complaint(run.session, run.complaint.id)
    assert record is not None
    return record


def case_of(session: Session, record: BreachRecord) -> TypicalCase:
    session.expire_all()
    return session.scalar(select(TypicalCase).where(TypicalCase.record_id == record.id)
                          .order_by(TypicalCase.id.desc()).limit(1))


def start(run: ComplaintRun, record: BreachRecord, username: str = "ndrc") -> TypicalCase:
    instance = exposure.start_exposure(run.session, record, run.official(username), now=run._tick())
    run.session.commit()
    step(run, record)
    assert instance.id == case_of(run.session, record).instance_id
    return case_of(run.session, record)


def step(run: ComplaintRun, record: BreachRecord) -> None:
    """After each step: the typical case's own instance through a save/restore round trip too."""
    if run.save_restore:
        case = case_of(run.session, record)
        round_trip(run.session, run.session.get(ProcessInstance, case.instance_id))


def do(run: ComplaintRun, record: BreachRecord, spec: str, username: str, data: dict, department: str = "ndrc") -> None:
    run.complete(spec, username, data, department=department)
    step(run, record)


def refused(run: ComplaintRun, spec: str, username: str, data: dict) -> FormInvalid:
    task = run.task(spec, username)
    with pytest.raises(FormInvalid) as caught:
        complete_task(run.session, task.id, data, run.official(username), now=run.now)
    run.session.rollback()
    return caught.value


def audit_actions(session: Session, case: TypicalCase) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "typical_case", AuditEvent.object_id == str(case.id)).order_by(AuditEvent.id)))


# --- the whole path ----------------------------------------------------------------------------------------

@save_restore
def test_selected_redacted_approved_published_and_withdrawn(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore, **PERSONAL)
    record = breach(run)
    case = start(run, record)
    assert case.status == "selecting"
    task = run.task("select_case", "ndrc", department="ndrc")
    assert (task.lane, task.role) == ("ndrc", "ndrc")

    error = refused(run, "select_case", "ndrc", {"selected": True})
    assert error.errors == {"selection_reason": "选定为典型案例时必须选择选定理由"}
    error = refused(run, "select_case", "ndrc", {"selected": True, "selection_reason": "repeated"})
    assert "只有 1 条违约失信记录" in error.errors["selection_reason"]
    error = refused(run, "select_case", "ndrc", {"selected": True, "selection_reason": "criticised"})
    assert "selection_note" in error.errors
    do(run, record, "select_case", "ndrc", {"selected": True, "selection_reason": "serious"})

    case = case_of(run.session, record)
    assert (case.status, case.selection_reason, case.selected_by.username) == ("redacting", "serious", "ndrc")
    # the draft the official starts from has the complainant masked already
    assert "某企业" in case.public_text
    assert "某某" in case.public_text
    for personal in ("李明", "13888001234", "8800", "liming@dianxin.cn", "滇信", "王建国"):
        assert personal not in case.public_text + case.title
    assert redaction.check_public_text(run.session, record, case.title, case.public_text) == {}

    for text, expected in [
        ("请联系 138-8800-1234 了解详情", "手机号码「138-8800-1234」"),
        ("联系人：李明", "投诉人联系人姓名「李明」"),
        ("滇信科技反映", "投诉企业字号「滇信」"),
        ("邮箱 someone@example.com", "电子邮箱「someone@example.com」"),
        ("身份证 530111199001011234", "身份证号码「530111199001011234」"),
        ("地址：昆明市官渡区关上街道100号", "投诉人地址「昆明市官渡区关上街道100号」"),
        ("电话 0871-63123456", "固定电话号码「0871-63123456」"),
    ]:
        error = refused(run, "redact_case", "ndrc", {"title": CLEAN_TITLE, "public_text": CLEAN_TEXT + text})
        assert set(error.errors) == {"public_text"}, text
        assert error.errors["public_text"].startswith("公开文本中仍含有个人信息，请删除或改写后再提交：")
        assert expected in error.errors["public_text"], (text, error.errors)
    error = refused(run, "redact_case", "ndrc", {"title": "王建国拖欠案", "public_text": CLEAN_TEXT})
    assert "投诉企业法定代表人姓名「王建国」" in error.errors["title"]
    assert case_of(run.session, record).status == "redacting"

    do(run, record, "redact_case", "ndrc", {"title": CLEAN_TITLE, "public_text": CLEAN_TEXT})
    case = case_of(run.session, record)
    assert (case.status, case.title, case.redacted_by.username) == ("pending_approval", CLEAN_TITLE, "ndrc")
    assert case.public_facts["respondent_name"] == "昆明市官渡区商务局"
    approve = run.task("approve_case", "ndrc2", department="ndrc")
    assert (approve.lane, approve.role) == ("ndrc_leader", "leader")  # ndrc (not a leader) does not see it
    assert exposure.published_cases(run.session)[1] == 0

    do(run, record, "approve_case", "ndrc2", {"approved": True})
    case = case_of(run.session, record)
    assert (case.status, case.approved_by.username) == ("published", "ndrc2")
    assert case.published_at is not None
    assert exposure.published_cases(run.session) == ([case], 1)
    assert exposure.get_published(run.session, case.id) is case
    view = exposure.public_view(case)
    assert (view.title, view.paragraphs[0]) == (CLEAN_TITLE, CLEAN_TEXT.split("\n\n")[0])
    assert run.session.get(ProcessInstance, case.instance_id).status == "completed"
    assert [e.kind for e in run.events("typical_case_selected") + run.events("typical_case_redacted")
            + run.events("typical_case_published")] == [
        "typical_case_selected", "typical_case_redacted", "typical_case_published"]

    # withdrawal: provincial DRC only, with a reason; logged in the case history and the audit chain
    with pytest.raises(PermissionDenied):
        exposure.withdraw(run.session, case, "无", run.official("km-commerce"), now=run._tick())
    with pytest.raises(FormInvalid) as caught:
        exposure.withdraw(run.session, case, "  ", run.official("ndrc"), now=run._tick())
    assert caught.value.errors == {"reason": "请填写撤下理由"}
    exposure.withdraw(run.session, case, "被投诉主体已提起行政复议", run.official("ndrc"), now=run._tick())
    run.session.commit()
    case = case_of(run.session, record)
    assert (case.status, case.withdrawal_reason) == ("withdrawn", "被投诉主体已提起行政复议")
    assert case.withdrawn_by_label.startswith("王鹏")
    assert exposure.published_cases(run.session) == ([], 0)
    [event] = run.events("typical_case_withdrawn")
    assert "被投诉主体已提起行政复议" in event.summary
    assert event.actor_label.startswith("王鹏")
    assert audit_actions(run.session, case) == [
        "typical_case_selected", "typical_case_redacted", "typical_case_published", "typical_case_withdrawn"]
    with pytest.raises(ConflictError):
        exposure.withdraw(run.session, case, "再撤一次", run.official("ndrc"))
    # withdrawn: the record may be selected again
    start(run, record)
    run.task("select_case", "ndrc")


@save_restore
def test_sent_back_edited_again_then_approved(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore, **PERSONAL)
    record = breach(run)
    start(run, record)
    do(run, record, "select_case", "ndrc", {"selected": True, "selection_reason": "serious"})
    do(run, record, "redact_case", "ndrc", {"title": CLEAN_TITLE, "public_text": CLEAN_TEXT})
    refusal = refused(run, "approve_case", "ndrc2", {"approved": False})
    assert refusal.errors == {"review_remarks": "退回修改时必须写明修改意见"}
    do(run, record, "approve_case", "ndrc2", {"approved": False, "review_remarks": "请删去具体金额"})
    case = case_of(run.session, record)
    assert (case.status, case.review_remarks, case.title) == ("redacting", "请删去具体金额", CLEAN_TITLE)
    assert "请删去具体金额" in run.events("typical_case_returned")[0].summary
    run.task("redact_case", "ndrc")
    do(run, record, "redact_case", "ndrc", {"title": CLEAN_TITLE, "public_text": CLEAN_TEXT.replace(" 300 万元", "")})
    do(run, record, "approve_case", "ndrc2", {"approved": True, "review_remarks": "同意"})
    case = case_of(run.session, record)
    assert case.status == "published"
    assert "300 万元" not in case.public_text
    assert audit_actions(run.session, case) == [
        "typical_case_selected", "typical_case_redacted", "typical_case_returned", "typical_case_redacted",
        "typical_case_published"]


@save_restore
def test_not_selected_ends_the_process(run_complaint: RunComplaint, save_restore: bool) -> None:
    run = run_complaint(save_restore, **PERSONAL)
    record = breach(run, severity="ordinary")
    start(run, record)
    do(run, record, "select_case", "ndrc", {"selected": False, "selection_note": "情节一般"})
    case = case_of(run.session, record)
    assert (case.status, case.selection_note) == ("dropped", "情节一般")
    assert run.session.get(ProcessInstance, case.instance_id).status == "completed"
    start(run, record)  # may be proposed again later


def test_the_editor_may_not_approve_own_text(run_complaint: RunComplaint, session: Session, official: Callable) -> None:
    run = run_complaint(False, **PERSONAL)
    record = breach(run)
    start(run, record, "ndrc2")
    do(run, record, "select_case", "ndrc2", {"selected": True, "selection_reason": "serious"})
    do(run, record, "redact_case", "ndrc2", {"title": CLEAN_TITLE, "public_text": CLEAN_TEXT})
    task = run.task("approve_case", "ndrc2")
    with pytest.raises(PermissionDenied, match="审核人不能是编辑公开文本的同一人"):
        complete_task(session, task.id, {"approved": True}, official("ndrc2"), now=run.now)
    session.rollback()
    assert case_of(session, record).status == "pending_approval"


def test_who_may_start_and_only_one_case_per_record(run_complaint: RunComplaint, official: Callable) -> None:
    run = run_complaint(False, **PERSONAL)
    record = breach(run)
    with pytest.raises(PermissionDenied):
        exposure.start_exposure(run.session, record, official("km-commerce"))
    start(run, record)
    with pytest.raises(ConflictError, match="已有典型案例（待选定）"):
        exposure.start_exposure(run.session, record, official("ndrc"))


def test_repair_withdraws_the_published_case(run_complaint: RunComplaint, session: Session) -> None:
    run = run_complaint(False, **PERSONAL)
    record = breach(run, severity="serious")
    start(run, record)
    do(run, record, "select_case", "ndrc", {"selected": True, "selection_reason": "serious"})
    do(run, record, "redact_case", "ndrc", {"title": CLEAN_TITLE, "public_text": CLEAN_TEXT})
    do(run, record, "approve_case", "ndrc2", {"approved": True})
    services.repair_record(session, record, "昆商修〔2027〕1号", None, datetime(2027, 3, 3, 2, tzinfo=UTC))
    session.commit()
    case = case_of(session, record)
    assert (case.status, case.withdrawal_reason) == ("withdrawn", exposure.REPAIR_WITHDRAWAL)
    with pytest.raises(ConflictError, match="已修复"):
        exposure.start_exposure(session, record, run.official("ndrc"))


# --- the check on its own ----------------------------------------------------------------------------------

TERMS = [("云南滇信科技有限公司", "投诉企业名称", "某企业"), ("滇信", "投诉企业字号", "某企业"),
         ("李明", "投诉人联系人姓名", "某某"), ("13888001234", "投诉人联系电话", "＊＊＊")]


@pytest.mark.parametrize(("text", "kinds"), [
    ("致电13888001234", ["手机号码"]),
    ("致电 +86 139 1234 5678", ["手机号码"]),
    ("电话：0871-63123456", ["固定电话号码"]),
    ("身份证号 53011119900101123X", ["身份证号码"]),
    ("发邮件至 li.ming@163.com", ["电子邮箱"]),
    ("李明反映", ["投诉人联系人姓名"]),
    ("滇信公司", ["投诉企业字号"]),
    ("号码1388800 1234", ["手机号码"]),
    # what a public text normally contains is not personal data
    ("2026年3月2日认定（昆商认〔2026〕3号），涉及金额 3000000.00 元，2026-04-30 前整改", []),
    ("被投诉主体统一社会信用代码 11530100MB0X12345K，热线 12345", []),
])
def test_what_the_check_finds(text: str, kinds: list[str]) -> None:
    assert [f.kind for f in redaction.find_personal_data(text, TERMS)] == kinds


@pytest.mark.parametrize(("name", "trade"), [
    ("云南滇信科技有限公司", "滇信"), ("昆明市春城建筑工程有限责任公司", "春城"), ("广州市恒达贸易有限公司", "恒达"),
    ("大理州苍洱农业开发股份有限公司", "苍洱"), ("某公司", ""),
])
def test_the_trade_name_of_an_enterprise(name: str, trade: str) -> None:
    assert redaction._trade_name(name) == trade


def test_masking_leaves_no_personal_data() -> None:
    masked = redaction.mask(FACTS, TERMS)
    assert redaction.find_personal_data(masked, TERMS) == []
    assert "某某" in masked
    assert "某企业" in masked
