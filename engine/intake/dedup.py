"""Duplicate detection and merging (横向归集).

A newly registered complaint is compared with the open ones that share its complainant's USCC, its
respondent or its agreement number; the facts are compared as normalised Chinese text with rapidfuzz.
Pairs scoring at least `THRESHOLD` are stored as `DuplicateCandidate` rows for an intake official,
who merges or rejects them. Nothing is merged without a human, except exact repeats of a channel
reference (handled by `register_complaint`).

Merging is an administrative action that deliberately bypasses the diagram: the newer case's process
instance is not run to an end event (diagrams cannot be edited for this, and no step of the procedure
"merges"); instead its open tasks are withdrawn (`outcome='merged'`), its instance is set to status
`merged` with no pending timer (the scheduler only fires `running` instances), and the complaint is
closed with status and result `merged`. Every channel reference of the newer case is recorded on the
surviving (older) case in `complaint_reference`, so channels keep following their complaint there, and
every evidence file of the newer case moves to the surviving case (`evidence_file.merged_from_id` remembers
the case it was sent with).
"""
from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import CHANNELS, CaseEvent, Complaint
from engine.db import as_utc, utcnow
from engine.errors import ConflictError, NotFound
from engine.intake.models import ComplaintReference, DuplicateCandidate, EvidenceFile
from engine.org import permissions
from engine.org.models import Official
from engine.workflow.models import HumanTask, ProcessInstance

logger = logging.getLogger(__name__)

THRESHOLD = 50.0  # candidates below this score are not stored
CLOSED_STATUSES = ("closed", "merged")
MAX_COMPARED = 500  # newest open complaints compared per new complaint
RATIO_CHARS = 2000  # the edit-distance ratio looks at this many normalised characters; bigrams at all
WEIGHTS = {"same_complainant": 25, "same_respondent": 20, "same_agreement_number": 30, "facts": 35,
           "different_agreement_number": -20}
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
REASON_LABELS = {
    "same_complainant": "同一投诉企业（统一社会信用代码相同）",
    "same_respondent": "同一被投诉主体",
    "same_agreement_number": "协议编号相同",
    "different_agreement_number": "协议编号不同",
}


def normalise(text: str | None) -> str:
    """NFKC (full-width → half-width), lower case, without whitespace and punctuation."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text or "").lower())


def facts_similarity(a: str | None, b: str | None) -> float:
    """0–100: the best of rapidfuzz's edit-distance ratio, character-bigram Dice and 0.8 × containment.

    Re-worded Chinese texts about the same matter score about 45–70, unrelated ones about 10–25.
    """
    x, bx = _prepared(a or "")
    y, by = _prepared(b or "")
    if not x or not y:
        return 0.0
    if x == y:
        return 100.0
    common = len(bx & by)
    dice = 200.0 * common / (len(bx) + len(by))
    containment = 100.0 * common / min(len(bx), len(by))
    edit = fuzz.ratio(x[:RATIO_CHARS], y[:RATIO_CHARS])  # edit distance is quadratic: bound it
    return round(max(edit, dice, 0.8 * containment), 1)


@lru_cache(maxsize=2048)
def _prepared(text: str) -> tuple[str, frozenset[str]]:
    """Normalised text and its character bigrams (cached: the new complaint is compared with many)."""
    x = normalise(text)
    return x, frozenset(x[i:i + 2] for i in range(len(x) - 1)) or frozenset({x})


def compare(new: Complaint, old: Complaint) -> tuple[float, dict[str, Any]]:
    """(score 0–100, reasons) for a pair of complaints."""
    reasons: dict[str, Any] = {}
    score = 0.0
    if new.complainant_uscc and new.complainant_uscc == old.complainant_uscc:
        reasons["same_complainant"] = True
        score += WEIGHTS["same_complainant"]
    if (new.respondent_id is not None and new.respondent_id == old.respondent_id) or (
            normalise(new.respondent_name) and normalise(new.respondent_name) == normalise(old.respondent_name)):
        reasons["same_respondent"] = True
        score += WEIGHTS["same_respondent"]
    a_no, b_no = normalise(new.agreement_number), normalise(old.agreement_number)
    if a_no and b_no:
        key = "same_agreement_number" if a_no == b_no else "different_agreement_number"
        reasons[key] = True
        score += WEIGHTS[key]
    similarity = facts_similarity(new.facts, old.facts)
    reasons["facts_similarity"] = similarity
    score += WEIGHTS["facts"] * min(max((similarity - 20.0) / 40.0, 0.0), 1.0)
    reasons["labels"] = [REASON_LABELS[k] for k in REASON_LABELS if reasons.get(k)] + [f"事实描述相似度 {similarity:.0f}%"]
    return round(min(max(score, 0.0), 100.0), 1), reasons


def find_duplicates(session: Session, complaint: Complaint) -> list[DuplicateCandidate]:
    """Compare a just-registered complaint with open ones; store and return the likely duplicates."""
    conditions = [Complaint.complainant_uscc == complaint.complainant_uscc,
                  Complaint.respondent_name == complaint.respondent_name]
    if complaint.respondent_id is not None:
        conditions.append(Complaint.respondent_id == complaint.respondent_id)
    if complaint.agreement_number:
        conditions.append(Complaint.agreement_number == complaint.agreement_number)
    others = session.scalars(
        select(Complaint).where(Complaint.id != complaint.id, Complaint.status.not_in(CLOSED_STATUSES), or_(*conditions))
        .order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(MAX_COMPARED))
    known = set(session.scalars(select(DuplicateCandidate.other_id).where(DuplicateCandidate.complaint_id == complaint.id)))
    found = []
    for other in others:
        if other.id in known:
            continue
        score, reasons = compare(complaint, other)
        if score >= THRESHOLD:
            candidate = DuplicateCandidate(complaint_id=complaint.id, other_id=other.id, score=score, reasons=reasons)
            session.add(candidate)
            found.append(candidate)
    if found:
        session.flush()
        logger.info("complaint %s: %d duplicate candidate(s)", complaint.id, len(found))
    return sorted(found, key=lambda c: -c.score)


def may_decide(official: Official) -> bool:
    """`decide_duplicates` (engine.org.permissions): intake officials and the provincial DRC."""
    return permissions.allowed(official, permissions.DECIDE_DUPLICATES)


def open_candidates(session: Session, official: Official, limit: int = 50, offset: int = 0) -> list[DuplicateCandidate]:
    """Undecided candidates whose two complaints are both still open and visible to `official`."""
    permissions.require(official, permissions.DECIDE_DUPLICATES)
    rows = session.scalars(
        select(DuplicateCandidate).where(DuplicateCandidate.decided_at.is_(None))
        .order_by(DuplicateCandidate.score.desc(), DuplicateCandidate.id))
    visible = [c for c in rows if c.complaint.status not in CLOSED_STATUSES and c.other.status not in CLOSED_STATUSES
               and permissions.allowed(official, permissions.DECIDE_DUPLICATES, c)]
    return visible[offset:offset + limit]


def _candidate_for_decision(session: Session, candidate_id: int, official: Official) -> DuplicateCandidate:
    permissions.require(official, permissions.DECIDE_DUPLICATES)
    candidate = session.get(DuplicateCandidate, candidate_id)
    if candidate is None:
        raise NotFound("疑似重复记录不存在")
    permissions.require(official, permissions.DECIDE_DUPLICATES, candidate, "您无权查看其中的案件")
    if candidate.decided_at is not None:
        raise ConflictError("该疑似重复记录已处理")
    return candidate


def reject_candidate(session: Session, candidate_id: int, official: Official, now: datetime | None = None) -> DuplicateCandidate:
    """Not the same matter: both cases continue."""
    candidate = _candidate_for_decision(session, candidate_id, official)
    candidate.decision, candidate.decided_at, candidate.decided_by = "rejected", as_utc(now) or utcnow(), official
    audit(session, "duplicate_rejected", official, "duplicate_candidate", candidate.id, complaint_id=candidate.complaint_id,
          after={"complaint_id": candidate.complaint_id, "other_id": candidate.other_id})
    return candidate


def merge_candidate(session: Session, candidate_id: int, official: Official, now: datetime | None = None) -> Complaint:
    """Merge the pair: the older case survives; returns it."""
    candidate = _candidate_for_decision(session, candidate_id, official)
    a, b = candidate.complaint, candidate.other
    if a.status in CLOSED_STATUSES or b.status in CLOSED_STATUSES:
        raise ConflictError("其中一件投诉已办结或已合并，不能再合并")
    older, newer = sorted((a, b), key=lambda c: (as_utc(c.received_at), c.id))
    moment = as_utc(now) or utcnow()
    merge_into(session, newer, older, official, moment)
    candidate.decision, candidate.decided_at, candidate.decided_by = "merged", moment, official
    return older


def merge_into(session: Session, newer: Complaint, survivor: Complaint, official: Official, moment: datetime) -> None:
    """Administrative merge of `newer` into `survivor` (bypasses the diagram on purpose, see the module doc)."""
    # 1. every channel reference of the newer case now answers on the survivor
    session.execute(update(ComplaintReference).where(ComplaintReference.complaint_id == newer.id)
                    .values(complaint_id=survivor.id))
    if newer.external_ref:
        session.add(ComplaintReference(complaint_id=survivor.id, merged_from_id=newer.id, channel=newer.channel,
                                       external_ref=newer.external_ref, added_at=moment))
    # 2. every evidence file of the newer case now lies on the survivor (remembering where it came from)
    moved = session.execute(update(EvidenceFile).where(EvidenceFile.complaint_id == newer.id).values(
        complaint_id=survivor.id, merged_from_id=func.coalesce(EvidenceFile.merged_from_id, newer.id))).rowcount
    # 3. withdraw the newer case's open tasks and stop its instance (no timers fire on it any more)
    withdrawn = list(session.scalars(select(HumanTask).where(
        HumanTask.subject_id == newer.id, HumanTask.completed_at.is_(None))))
    for task in withdrawn:
        task.completed_at, task.completed_by_id, task.outcome = moment, official.id, "merged"
    for instance in session.scalars(select(ProcessInstance).where(ProcessInstance.subject_id == newer.id)):
        if instance.status not in ("completed", "merged"):
            instance.status, instance.next_timer_at, instance.updated_at = "merged", None, moment
    before = {"status": newer.status}
    newer.status, newer.result, newer.closed_at = "merged", "merged", moment
    channel = CHANNELS.get(newer.channel, newer.channel)
    session.add(CaseEvent(
        complaint_id=newer.id, at=moment, actor_id=official.id, actor_label=official.label, kind="merged",
        summary=f"与案件 #{survivor.id}（{survivor.tracking_code}）反映同一事项，合并办理；撤回待办 {len(withdrawn)} 项",
        data={"merged_into": survivor.id, "withdrawn_tasks": [t.id for t in withdrawn]},
        public_note="经核查，您的投诉与已受理的同一事项投诉合并办理，后续进展将在此一并告知。",
    ))
    session.add(CaseEvent(
        complaint_id=survivor.id, at=moment, actor_id=official.id, actor_label=official.label, kind="merge_received",
        summary=f"并入案件 #{newer.id}（{newer.tracking_code}，渠道：{channel}"
                f"{'，编号 ' + newer.external_ref if newer.external_ref else ''}）"
                f"{f'，证据材料 {moved} 个' if moved else ''}",
        data={"merged_from": newer.id, "evidence_files_moved": moved},
    ))
    session.flush()
    audit(session, "complaint_merged", official, "complaint", newer.id, complaint_id=newer.id,
          before=before, after={"status": "merged", "merged_into": survivor.id})
    logger.info("complaint %s merged into %s by %s", newer.id, survivor.id, official.username)


def survivor_of(session: Session, complaint: Complaint) -> Complaint:
    """The case that answers for `complaint`: itself, or the case it was merged into (following chains)."""
    seen = {complaint.id}
    while complaint.status == "merged":
        target = session.scalar(select(ComplaintReference.complaint_id).where(
            ComplaintReference.merged_from_id == complaint.id).limit(1))
        if target is None:
            target = _merged_into_from_event(session, complaint)
        if target is None or target in seen:
            break
        seen.add(target)
        complaint = session.get(Complaint, target)  # type: ignore[assignment]
    return complaint


def _merged_into_from_event(session: Session, complaint: Complaint) -> int | None:
    event = session.scalar(select(CaseEvent).where(CaseEvent.complaint_id == complaint.id, CaseEvent.kind == "merged")
                           .order_by(CaseEvent.id.desc()).limit(1))
    return (event.data or {}).get("merged_into") if event is not None else None
