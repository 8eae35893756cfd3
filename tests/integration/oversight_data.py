"""A small data set with known answers for the oversight statistics (period: 2026 Q1, figures taken at NOW).

Cases go through the engine's own services (register, complete tasks, timers, pause/resume, merge, process
migration, breach records, measures, repair); only the platform delivery outcomes are set directly, because
driving a failing receiver through days of backoff is a longer path than this data set needs.
Every time below is Yunnan time (UTC+8); the expected figures in test_oversight_figures.py are worked out by
hand from this script.

  A  官渡区商务局 (昆明 530100), counter, 招商引资: accepted → verified founded on time → rectified
  B  昆明市财政局 (530100), 12345, 政府采购: received 2026-01-01 00:30 (UTC: still 2025) → rejected
  B0 昆明市财政局 (530100), counter, 政府采购: received 2025-12-31 23:30 → outside Q1, screening left open
  C  麒麟区商务局 (曲靖 530300), 信用云南, 招标投标: accepted → migrated to a version with a legal review at
     verify → unfounded
  D  蒙自市工信局 (红河 532500), counter, 招商引资: verified late (escalated 挂牌督办 by its timer) → founded →
     rectification deadline passed (timer) → breach confirmed → sent back by the DRC (reopened) → confirmed
     again → reported; one measure applied
  E  省商务厅 (省直 530000), counter, PPP: accepted, verify left open past due, escalated by its timer
  F  宾川县农业农村局 (大理 532900), 网上信访, 产业扶持: clock paused 5 days during verify → disputed,
     dispute resolution open
  G  官渡区商务局 (530100), 营商环境平台, 招商引资: merged into A while A was open
  H  麒麟区商务局 (530300), 工信部平台, 其他: received 2026-03-30, screening still open
  R  麒麟区商务局 (530300), 信用云南, 招标投标: verified unfounded and closed; the complainant objected, the DRC
     reopened it (a new run of the procedure) → verified again, founded → rectified
  M1 a record migrated from the platform (麒麟区商务局, determined 2025-05-06, minor) with a measure applied
     2026-01-15, repaired 2026-03-20
  M2 a record migrated from the platform (蒙自市工信局 again: a repeated breach), determined 2026-02-20,
     every required field filled
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.cases.services import open_tasks, register_complaint
from engine.credit import services as credit
from engine.credit.models import BreachRecord, PlatformDelivery
from engine.deadlines.pauses import pause_clock, resume_clock
from engine.intake.dedup import merge_into
from engine.org.models import Official
from engine.workflow import jobs as workflow_jobs
from engine.workflow import specs
from engine.workflow.instances import complete_task
from tests.processes.variants import with_legal_review

SHANGHAI = ZoneInfo("Asia/Shanghai")


def yn(*args: int) -> datetime:
    """A Yunnan wall-clock time as aware UTC."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


NOW = yn(2026, 4, 10, 10)
BASE: dict[str, Any] = {
    "complainant_name": "云南滇信科技有限公司",
    "complainant_uscc": "91440101MA5CJQ4N59",
    "contact_person": "李明",
    "contact_phone": "13888001234",
    "agreement_name": "项目投资协议",
    "breach_type": "policy_unfulfilled",
    "facts": "协议约定的扶持资金至今未兑现。",
    "claims": "请求按协议兑现。",
}
ACCEPT = {"accepted": True, "remarks": "属于受理范围"}


class Builder:
    def __init__(self, session: Session, official: Callable[[str], Official]) -> None:
        self.session, self.official = session, official
        self.cases: dict[str, Complaint] = {}

    def register(self, name: str, at: datetime, respondent: str, channel: str, domain: str, **extra: Any) -> Complaint:
        raw = {**BASE, "respondent_code": respondent, "channel": channel, "domain": domain,
               "agreement_name": f"项目投资协议 {name}", "facts": f"案件 {name}：协议约定的扶持资金至今未兑现。",
               **extra}
        if channel != "counter":
            raw["external_ref"] = f"ref-{name}"
        complaint, created = register_complaint(self.session, raw, self.official("intake"), now=at)
        assert created
        self.session.commit()
        self.cases[name] = complaint
        return complaint

    def step(self, name: str, spec_name: str, username: str, data: dict[str, Any], at: datetime) -> None:
        [task] = [t for t in open_tasks(self.session, self.cases[name]) if t.spec_name == spec_name]
        complete_task(self.session, task.id, data, self.official(username), now=at)
        self.session.commit()

    def tick(self, at: datetime) -> None:
        workflow_jobs.tick(self.session, now=at)
        self.session.commit()


def build(session: Session, official: Callable[[str], Official]) -> Builder:
    b = Builder(session, official)
    # A ------------------------------------------------------------------------------------------------
    b.register("A", yn(2026, 1, 5, 9), "km-guandu-commerce", "counter", "investment_promotion")
    b.step("A", "screening", "intake", ACCEPT, yn(2026, 1, 6, 9))
    b.step("A", "verify", "km-commerce", {"outcome": "founded", "explanation": "属实"}, yn(2026, 1, 8, 9))
    b.step("A", "order_rectification", "km-commerce", {"deadline": "2026-02-09", "requirements": "兑现"},
           yn(2026, 1, 9, 9))
    # G: the same matter, merged into A while A is open
    b.register("G", yn(2026, 1, 20, 9), "km-guandu-commerce", "business_env", "investment_promotion")
    merge_into(session, b.cases["G"], b.cases["A"], official("intake"), yn(2026, 1, 20, 10))
    session.commit()
    b.step("A", "report_rectification", "guandu-commerce", {"completed": True, "measures": "已拨付"},
           yn(2026, 1, 19, 9))
    b.step("A", "review_rectification", "km-commerce", {"rectified": True, "review_comment": "到账"},
           yn(2026, 1, 21, 9))
    # B, B0 -----------------------------------------------------------------------------------------------
    b.register("B", yn(2026, 1, 1, 0, 30), "km-finance", "hotline_12345", "government_procurement")
    b.step("B", "screening", "intake", {"accepted": False, "reason": "out_of_scope"}, yn(2026, 1, 2, 0, 30))
    b.register("B0", yn(2025, 12, 31, 23, 30), "km-finance", "counter", "government_procurement")
    # D: late, escalated, rectification deadline passed, reopened by the DRC --------------------------------
    b.register("D", yn(2026, 1, 12, 9), "hh-mengzi-industry", "counter", "investment_promotion")
    b.step("D", "screening", "intake", ACCEPT, yn(2026, 1, 13, 9))
    b.tick(yn(2026, 2, 10, 9))  # verify is overdue: 挂牌督办
    b.step("D", "verify", "hh-industry", {"outcome": "founded", "explanation": "属实"}, yn(2026, 2, 13, 9))
    b.step("D", "order_rectification", "hh-industry", {"deadline": "2026-03-02", "requirements": "兑现"},
           yn(2026, 2, 14, 9))
    b.tick(yn(2026, 3, 3, 9))  # the rectification deadline passed: the report task is withdrawn
    breach = {"document_number": "红工信认〔2026〕1号", "basis": "协议第五条", "facts": "拒不兑现"}
    b.step("D", "confirm_breach_task", "hh-industry", breach, yn(2026, 3, 5, 9))
    b.step("D", "ndrc_review", "ndrc", {"approved": False, "review_remarks": "请补充依据"}, yn(2026, 3, 6, 9))
    b.step("D", "confirm_breach_task", "hh-industry", {**breach, "basis": "协议第五条、第九条"}, yn(2026, 3, 9, 9))
    b.step("D", "ndrc_review", "ndrc", {"approved": True, "national_report_number": "云发改信用〔2026〕9号"},
           yn(2026, 3, 10, 9))
    record_d = credit.record_for_complaint(session, b.cases["D"].id)
    # as a record confirmed before the codes were required (confirmation now refuses a party without a code)
    record_d.respondent_uscc = record_d.determining_uscc = None
    credit.apply_measure(session, record_d, "public_criticism", "红发改〔2026〕3号", None, official("ndrc"),
                         yn(2026, 3, 12, 9))
    session.commit()
    # E: verify overdue now, escalated -----------------------------------------------------------------------
    b.register("E", yn(2026, 3, 2, 9), "yn-commerce", "counter", "ppp")
    b.step("E", "screening", "intake", ACCEPT, yn(2026, 3, 3, 9))
    b.tick(yn(2026, 3, 26, 9))
    # F: paused during verify, disputed ----------------------------------------------------------------------
    b.register("F", yn(2026, 2, 24, 9), "dl-binchuan-agri", "petition", "industrial_support")
    b.step("F", "screening", "intake", ACCEPT, yn(2026, 2, 25, 9))
    pause_clock(session, b.cases["F"], official("dl-gov"), "等待投诉人补正材料", now=yn(2026, 2, 26, 9))
    session.commit()
    resume_clock(session, b.cases["F"], official("dl-gov"), now=yn(2026, 3, 3, 9))
    session.commit()
    b.step("F", "verify", "dl-gov", {"outcome": "disputed", "explanation": "对合同条款有争议"}, yn(2026, 3, 5, 9))
    # H: screening open --------------------------------------------------------------------------------------
    b.register("H", yn(2026, 3, 30, 9), "qj-qilin-commerce", "miit", "other")
    # R: closed, objected to, reopened by the DRC, handled again -------------------------------------------
    from engine.intake.feedback import object_to

    b.register("R", yn(2026, 1, 6, 9), "qj-qilin-commerce", "credit_yunnan", "bidding")
    b.step("R", "screening", "intake", ACCEPT, yn(2026, 1, 7, 9))
    b.step("R", "verify", "qj-commerce", {"outcome": "unfounded", "explanation": "已履行"}, yn(2026, 1, 9, 9))
    object_to(session, b.cases["R"], "付款并未到账", now=yn(2026, 1, 12, 9))
    session.commit()
    b.step("R", "decide_objection", "ndrc", {"reopen": True, "decision_reason": "请重新核实付款情况"},
           yn(2026, 1, 13, 9))
    b.step("R", "screening", "intake", ACCEPT, yn(2026, 1, 14, 9))
    b.step("R", "verify", "qj-commerce", {"outcome": "founded", "explanation": "属实"}, yn(2026, 1, 16, 9))
    b.step("R", "order_rectification", "qj-commerce", {"deadline": "2026-02-16", "requirements": "付款"},
           yn(2026, 1, 17, 9))
    b.step("R", "report_rectification", "qilin-commerce", {"completed": True, "measures": "已付款"},
           yn(2026, 1, 27, 9))
    b.step("R", "review_rectification", "qj-commerce", {"rectified": True, "review_comment": "到账"},
           yn(2026, 1, 29, 9))
    # C (last: cases registered after the new version is deployed would start on it) -----------------------------------
    b.register("C", yn(2026, 2, 2, 9), "qj-qilin-commerce", "credit_yunnan", "bidding")
    b.step("C", "screening", "intake", ACCEPT, yn(2026, 2, 3, 9))
    v1 = specs.latest(session, "complaint")
    v2 = specs.deploy(session, with_legal_review(), deployed_by="procadmin", comment="增加法律审核")
    session.commit()
    from engine.cases.services import instance_of

    [verdict] = workflow_jobs.migrate(session, v1.id, v2.id, [instance_of(session, b.cases["C"]).id],
                                  official("procadmin"), now=yn(2026, 2, 3, 10))
    assert verdict.can_migrate, verdict
    b.step("C", "verify", "qj-commerce", {"outcome": "unfounded", "explanation": "已履行"}, yn(2026, 2, 6, 9))
    b.step("C", "legal_review", "ndrc", {"opinion": "同意"}, yn(2026, 2, 7, 9))
    # M1, M2: records migrated from the platform -------------------------------------------------------------
    qilin = _dept(session, "qj-qilin-commerce")
    mengzi = _dept(session, "hh-mengzi-industry")
    m1 = credit.create_record(
        session, now=yn(2025, 5, 6, 9), source="platform_migration", severity="minor",
        respondent_id=qilin.id, respondent_name=qilin.name, respondent_uscc="11530300015190489A",
        respondent_division=qilin.division_code, respondent_prefecture=qilin.prefecture_code,
        determining_name="曲靖市商务局", determining_uscc="11530300015190454F", determined_on=date(2025, 5, 6),
        document_number="曲商认〔2025〕2号", basis="协议第三条", facts="迁移记录", domain="bidding")
    credit.apply_measure(session, m1, "cancel_awards", "曲发改〔2026〕1号", None, official("ndrc"), yn(2026, 1, 15, 9))
    credit.repair_record(session, m1, "曲商修〔2026〕1号", official("ndrc"), yn(2026, 3, 20, 9))
    credit.create_record(
        session, now=yn(2026, 2, 20, 9), source="platform_migration", respondent_id=mengzi.id,
        respondent_name=mengzi.name, respondent_uscc="11532503015190411X",
        respondent_division=mengzi.division_code, respondent_prefecture=mengzi.prefecture_code,
        determining_name="红河州工业和信息化局", determining_uscc="11532500015190422Y",
        determined_on=date(2026, 2, 20), document_number="红工信认〔2026〕0号", basis="协议", facts="迁移记录",
        domain="investment_promotion")
    session.commit()
    return b


def set_deliveries(session: Session, outcomes: dict[str, tuple[str, timedelta | None, int]]) -> None:
    """Platform delivery outcomes by idempotency key suffix: (`on_time`/`late`/`failing`/`pending`, delay, attempts)."""
    for row in session.scalars(select(PlatformDelivery)):
        record = session.get(BreachRecord, row.record_id)
        label = f"{record.document_number}:{row.record_version}"
        status, delay, attempts = outcomes[label]
        row.attempts = attempts
        row.delivered_at = (row.created_at + delay) if delay is not None else None
        row.last_error = "HTTP 503" if status == "failing" else None
    session.commit()


def _dept(session: Session, code: str) -> Any:
    from engine.org.models import Department

    return session.scalar(select(Department).where(Department.code == code))
