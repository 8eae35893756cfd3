"""The complainant's 办件进度: the public milestones of a case, derived from its history, and the step now open.

A milestone is a case event that a rule of MILESTONES recognises — by the event's kind and, for a completed
task, the diagram's task id and the values the form was submitted with. The rules are data: the tracking page,
the API and the messages to the complainant read them through `milestones()`, never per step in a view. A rule
names only the fields it shows (a deadline, the determining department); internal remarks never leave the
history. Events no rule matches are not milestones (reminders, internal notes, claims).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import CaseEvent, Complaint
from engine.cases.status import result_label
from engine.db import as_utc
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.views import countdown, due_state, workdays_to
from engine.notify import mail, sms
from engine.org.services import department_name
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI
from engine.workflow.models import HumanTask, ProcessInstance

SMS_SIGNATURE = "【信用云南】"
OPT_OUT_HINT = "如不需要办理进度通知，可在信用云南网站“进度查询”页面关闭。"


@dataclass(frozen=True)
class MilestoneRule:
    """Which events are the milestone `key`: `kind`, and for task_completed the task id and form values."""

    key: str
    label: str
    kind: str
    task: str | None = None
    when: Mapping[str, Any] = field(default_factory=dict)
    detail: Callable[[Session, CaseEvent], str | None] | None = None

    def matches(self, event: CaseEvent) -> bool:
        return event.is_a(self.kind, self.task, self.when)


def _department_named(session: Session, event: CaseEvent) -> str | None:
    complaint = session.get(Complaint, event.complaint_id)  # the case being announced: loaded already
    return department_name(session, (event.data or {}).get("supervisor"), complaint.supervisor if complaint else None)


def _form_date(name: str, label: str) -> Callable[[Session, CaseEvent], str | None]:
    def detail(_session: Session, event: CaseEvent) -> str | None:
        value = ((event.data or {}).get("form") or {}).get(name)
        return f"{label}：{value}" if value else None

    return detail


def _result(_session: Session, event: CaseEvent) -> str | None:
    result = (event.data or {}).get("result")
    return result_label(result) if result else None


def _fixed(text: str) -> Callable[[Session, CaseEvent], str]:
    return lambda _session, _event: text


# In procedure order; a case shows those that happened, in the order they happened.
MILESTONES: tuple[MilestoneRule, ...] = (
    MilestoneRule("received", "已收到投诉", "registered"),
    MilestoneRule("accepted", "已受理", "task_completed", "screening", {"accepted": True}),
    MilestoneRule("rejected", "不予受理", "task_completed", "screening", {"accepted": False}),
    MilestoneRule("forwarded", "已转交认定部门", "forwarded", detail=_department_named),
    MilestoneRule("verified", "核实结论", "task_completed", "verify", {"outcome": "founded"},
                  _fixed("经核实，投诉反映的情况属实")),
    MilestoneRule("verified", "核实结论", "task_completed", "verify", {"outcome": "unfounded"},
                  _fixed("经核实，投诉反映的情况不属实")),
    MilestoneRule("verified", "核实结论", "task_completed", "verify", {"outcome": "disputed"},
                  _fixed("双方存在分歧，由州（市）信用牵头单位协调处理")),
    MilestoneRule("rectification_ordered", "已督促整改", "task_completed", "order_rectification",
                  detail=_form_date("deadline", "整改期限")),
    MilestoneRule("extension_requested", "被投诉主体申请延期整改", "task_completed", "report_rectification",
                  {"request_extension": True}),
    MilestoneRule("extension_decided", "同意延期整改", "task_completed", "decide_extension",
                  {"extension_approved": True}, _form_date("new_deadline", "新的整改期限")),
    MilestoneRule("extension_decided", "不同意延期整改", "task_completed", "decide_extension",
                  {"extension_approved": False}, _fixed("整改期限不变")),
    MilestoneRule("rectification_reported", "被投诉主体已报告整改情况", "task_completed", "report_rectification",
                  {"request_extension": False}),
    MilestoneRule("rectification_reported", "被投诉主体已报告整改情况", "task_completed", "report_rectification",
                  {"request_extension": None}),
    MilestoneRule("rectification_result", "整改结果", "task_completed", "review_rectification", {"rectified": True},
                  _fixed("整改到位")),
    MilestoneRule("rectification_result", "整改结果", "task_completed", "review_rectification", {"rectified": False},
                  _fixed("拒不整改或整改不到位")),
    MilestoneRule("breach_reported", "违约失信已确认并上报", "task_completed", "ndrc_review", {"approved": True}),
    MilestoneRule("merged", "与同一事项的投诉合并办理", "merged"),
    MilestoneRule("reopened", "重新办理", "reopened"),
    MilestoneRule("reopened", "纠错重新办理", "case_corrected"),
    MilestoneRule("closed", "办结", "closed", detail=_result),
)
MILESTONE_KEYS: dict[str, str] = {rule.key: rule.label for rule in MILESTONES}


@dataclass(frozen=True)
class Milestone:
    key: str
    label: str
    at: datetime
    detail: str | None
    event_id: int


@dataclass(frozen=True)
class CurrentStep:
    """An open step as the complainant sees it: what, where, its time limit and when it is due."""

    title: str
    department: str
    time_limit: str | None  # e.g. 核实认定：15个工作日（可延长15个工作日）
    due_on: date | None  # the last day (Yunnan)
    state: str | None  # engine.deadlines.views.DUE_STATES
    workdays: int | None
    paused: bool

    @property
    def countdown(self) -> str | None:
        return countdown(self.state, self.workdays)


def rule_for(event: CaseEvent) -> MilestoneRule | None:
    return next((rule for rule in MILESTONES if rule.matches(event)), None)


def milestones(session: Session, events: Iterable[CaseEvent]) -> list[Milestone]:
    """The milestones among `events`, in time order."""
    found = []
    for event in sorted(events, key=lambda e: (as_utc(e.at), e.id)):
        rule = rule_for(event)
        if rule is not None:
            detail = rule.detail(session, event) if rule.detail else None
            found.append(Milestone(rule.key, rule.label, as_utc(event.at), detail, event.id))
    return found


def case_milestones(session: Session, complaints: Iterable[Complaint]) -> list[Milestone]:
    """The milestones of a complaint and of the case it was merged into, in time order."""
    ids = list(dict.fromkeys(c.id for c in complaints))
    events = session.scalars(select(CaseEvent).where(CaseEvent.complaint_id.in_(ids)))
    return milestones(session, events)


def current_steps(session: Session, complaint: Complaint, now: datetime | None = None) -> list[CurrentStep]:
    """The case's open steps with their time limit, due day and working days left (none once closed)."""
    moment = as_utc(now) or clock.now()
    tasks = session.scalars(select(HumanTask).where(
        HumanTask.subject_id == complaint.id, HumanTask.completed_at.is_(None)).order_by(HumanTask.created_at))
    paused = session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.subject_id == complaint.id, ProcessInstance.status == "paused").limit(1)) is not None
    cal = WorkCalendar(session)
    steps = []
    for task in tasks:
        limit = (task.due_basis or "").split("。依据", 1)[0] or None
        due_on = as_utc(task.due_at).astimezone(SHANGHAI).date() if task.due_at else None
        steps.append(CurrentStep(task.title, task.department.name, limit, due_on,
                                 due_state(task.due_at, moment, cal), workdays_to(task.due_at, moment, cal), paused))
    return steps


# --- telling the complainant: each milestone by SMS (mobile numbers) and email (when given) ------------------

def message_of(complaint: Complaint, milestone: Milestone) -> str:
    """The text of a milestone for the complainant (SMS and email alike)."""
    detail = f"：{milestone.detail}" if milestone.detail else ""
    return f"您的投诉（查询码 {complaint.tracking_code}）办理进度：{milestone.label}{detail}。"


def announce(session: Session, case_event: CaseEvent) -> bool:
    """Queue the SMS and email for `case_event` if it is a milestone and the complainant has not opted out.

    Called for every new case event while the session flushes (below), so every path that writes a milestone —
    a step of the diagram, a merge, a reopening — tells the complainant in the same transaction. Idempotent
    per event. Returns whether anything was queued.
    """
    rule = rule_for(case_event)
    if rule is None or case_event.complaint_id is None:
        return False
    with session.no_autoflush:
        complaint = session.get(Complaint, case_event.complaint_id)
        if complaint is None or complaint.notices_opted_out_at is not None or complaint.status == "merged":
            return False
        at = as_utc(case_event.at) or clock.now()
        detail = rule.detail(session, case_event) if rule.detail else None
        text = message_of(complaint, Milestone(rule.key, rule.label, at, detail, case_event.id or 0))
        # one key per event: a gateway drops the duplicate of a send whose commit was lost; two steps racing on the
        # same task (the loser is rolled back) never collide on it
        key = f"milestone:{complaint.id}:{rule.key}:{uuid.uuid4().hex}"
        queued = False
        phone = sms.mobile_number(complaint.contact_phone)
        if phone:
            queued |= sms.enqueue(session, key, phone, SMS_SIGNATURE + text + OPT_OUT_HINT, complaint.id,
                                  at, fresh=True) is not None
        if complaint.contact_email:
            queued |= mail.enqueue(session, key, complaint.contact_email, f"【信用云南】投诉办理进度：{rule.label}",
                                   f"{complaint.contact_person}：\n\n{text}\n\n请凭查询码和联系电话后四位在信用云南网站"
                                   f"“政府违约失信投诉专栏 → 进度查询”查看详情。\n{OPT_OUT_HINT}\n\n（本邮件由系统自动发送，请勿回复）",
                                   flush=False, fresh=True) is not None
    return queued


@orm_event.listens_for(Session, "before_flush")
def _announce_new_milestones(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new):
        if isinstance(obj, CaseEvent) and obj.kind in _KINDS:
            announce(session, obj)


_KINDS = frozenset(rule.kind for rule in MILESTONES)


def set_notices(session: Session, complaint: Complaint, wanted: bool, now: datetime | None = None) -> Complaint:
    """The complainant turns progress messages (SMS and email) off or on again; recorded in the history."""
    moment = as_utc(now) or clock.now()
    if wanted == (complaint.notices_opted_out_at is None):
        return complaint
    complaint.notices_opted_out_at = None if wanted else moment
    session.add(CaseEvent(
        complaint_id=complaint.id, at=moment, actor_label="投诉人", kind="notices_changed",
        summary="投诉人重新开启办理进度通知" if wanted else "投诉人关闭办理进度通知（短信和邮件）",
        data={"wanted": wanted}))
    session.flush()
    return complaint
