"""Duplicate detection on realistic Chinese complaint texts (engine only, no HTTP)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine.cases.models import Complaint
from engine.cases.services import open_tasks, register_complaint
from engine.intake.dedup import (
    compare,
    facts_similarity,
    find_duplicates,
    merge_candidate,
    normalise,
    survivor_of,
)
from engine.intake.models import ComplaintReference, DuplicateCandidate
from engine.workflow.models import ProcessInstance
from tests.conftest import COMPLAINT

FACTS = ("2023年3月我公司与官渡区商务局签订招商引资投资协议，约定我公司落地投产后给予产业扶持资金300万元。"
         "我公司已按约完成投资并投产，但扶持资金至今未兑现，多次催告无果。")
REWORDED = ("我司于2023年3月同官渡区商务局签署投资协议，协议约定企业投产后兑现300万元产业扶持资金。"
            "企业已于去年投产，商务局以领导调整为由一直未支付扶持资金。")
SHORT_HOTLINE = "来电人反映：官渡区商务局未兑现招商引资协议中承诺的300万元扶持资金，企业已投产一年多。"
UNRELATED = ("2022年我公司中标某县人民医院医疗设备采购项目，合同金额120万元，设备已于当年验收合格，"
             "医院至今拖欠货款80万元未付。")

BASE = {**{k: v for k, v in COMPLAINT.items() if k != "agreement_number"}, "facts": FACTS}


def _register(session, **changes):  # noqa: ANN001, ANN003, ANN202
    complaint, created = register_complaint(session, {**BASE, **changes}, actor=None,
                                            now=datetime.now(UTC) + timedelta(seconds=len(changes)))
    assert created
    return complaint


def test_normalise_and_similarity() -> None:
    assert normalise("３００ 万元，ＧＤ-ZS") == "300万元gdzs"
    assert facts_similarity(FACTS, FACTS + "  ") == 100
    assert facts_similarity(FACTS, REWORDED) >= 40
    assert facts_similarity(FACTS, SHORT_HOTLINE) >= 40
    assert facts_similarity(FACTS, UNRELATED) < 30
    assert facts_similarity(REWORDED, UNRELATED) < 30
    assert facts_similarity("", FACTS) == 0


def test_compare_weighs_codes_and_facts() -> None:
    a = Complaint(complainant_uscc="91440101MA5CJQ4N59", respondent_id=1, respondent_name="甲", agreement_number="GD-1",
                  facts=FACTS)
    same = Complaint(complainant_uscc="91440101MA5CJQ4N59", respondent_id=1, respondent_name="甲",
                     agreement_number="gd 1", facts=REWORDED)
    score, reasons = compare(a, same)
    assert score >= 90
    assert reasons["same_complainant"]
    assert reasons["same_respondent"]
    assert reasons["same_agreement_number"]
    other_contract = Complaint(complainant_uscc="91440101MA5CJQ4N59", respondent_id=1, respondent_name="甲",
                               agreement_number="GD-2", facts=UNRELATED)
    score, reasons = compare(a, other_contract)
    assert score < 50
    assert reasons["different_agreement_number"]
    another_company = Complaint(complainant_uscc="91350200776049653A", respondent_id=1, respondent_name="甲",
                                facts=REWORDED)
    assert compare(a, another_company)[0] < 50  # same respondent, similar story, different company: not listed


def test_reworded_complaint_from_another_channel_is_a_candidate(session) -> None:  # noqa: ANN001
    first = _register(session, channel="hotline_12345", external_ref="12345-1", facts=SHORT_HOTLINE)
    second = _register(session, channel="credit_yunnan", facts=REWORDED, agreement_number="GD-ZS-2024-017")
    [candidate] = find_duplicates(session, second)
    assert candidate.other_id == first.id
    assert 50 <= candidate.score <= 100
    assert candidate.reasons["same_complainant"]
    assert candidate.reasons["facts_similarity"] >= 40
    assert any("相似度" in label for label in candidate.reasons["labels"])
    assert find_duplicates(session, second) == []  # a pair is stored once


def test_unrelated_complaints_are_not_candidates(session) -> None:  # noqa: ANN001
    _register(session, agreement_number="GD-ZS-2024-017")
    other = _register(session, complainant_uscc="91350200776049653A", complainant_name="厦门某医疗器械有限公司",
                      respondent_code=None, respondent_name="某县人民医院", agreement_name="医疗设备采购合同",
                      domain="government_procurement", breach_type="unpaid", facts=UNRELATED)
    assert find_duplicates(session, other) == []
    same_company_other_contract = _register(session, agreement_number="GD-ZS-2025-001", facts=UNRELATED)
    assert find_duplicates(session, same_company_other_contract) == []


def test_merge_closes_the_newer_case_and_keeps_its_reference(session, official) -> None:  # noqa: ANN001
    older = _register(session, channel="hotline_12345", external_ref="12345-9")
    newer = _register(session, channel="petition", external_ref="XF-9", facts=REWORDED)
    [candidate] = find_duplicates(session, newer)
    survivor = merge_candidate(session, candidate.id, official("intake"))
    assert survivor.id == older.id
    assert newer.status == "merged"
    assert newer.result == "merged"
    assert open_tasks(session, newer) == []
    assert open_tasks(session, older)
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.subject_id == newer.id))
    assert instance.status == "merged"
    assert instance.next_timer_at is None  # the scheduler never fires it again
    ref = session.scalar(select(ComplaintReference))
    assert (ref.complaint_id, ref.channel, ref.external_ref) == (older.id, "petition", "XF-9")
    assert survivor_of(session, newer).id == older.id
    assert session.get(DuplicateCandidate, candidate.id).decision == "merged"
