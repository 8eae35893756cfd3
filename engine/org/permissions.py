"""Who may do what: named permissions, the roles that grant them and the rules for one object — the one check.

`allowed(principal, permission, obj=None)` answers for a signed-in official, a channel key or the anonymous
public (None). Without `obj` it says whether the principal may do this kind of thing at all (the role grant:
what a page or endpoint requires); with `obj` it also applies the rule for that case, task or record. Views
declare the permission of each endpoint (web/permissions.py); engine services call `require(...)` with the
object before they act. The SQL twins (`case_filter`, `record_filter`) list what `view_case` / `view_records`
allow, so lists and single pages never disagree.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.orm import object_session

from engine.cases.models import Complaint
from engine.credit.models import BreachRecord
from engine.errors import PermissionDenied
from engine.intake.models import ChannelKey, DuplicateCandidate
from engine.org.models import Official
from engine.workflow.models import HumanTask

# --- the permissions ------------------------------------------------------------------------------------
PUBLIC = "public"  # anyone, no sign-in
SIGNED_IN = "signed_in"  # any active official: inbox, notifications, own profile
REGISTER_COMPLAINT = "register_complaint"
VIEW_CASE = "view_case"
VIEW_CONTACT_DATA = "view_contact_data"
VIEW_EVIDENCE = "view_evidence"
ADD_EVIDENCE = "add_evidence"
VIEW_TASK = "view_task"
WORK_TASK = "work_task"
UNCLAIM_TASK = "unclaim_task"
UNCLAIM_FOR_OTHERS = "unclaim_for_others"
PAUSE_CLOCK = "pause_clock"
REQUEST_SUPPLEMENT = "request_supplement"
DECIDE_DUPLICATES = "decide_duplicates"
SEE_OVERDUE = "see_overdue"
VIEW_RECORDS = "view_records"
APPLY_FOR_REPAIR = "apply_for_repair"
MANAGE_MEASURES = "manage_measures"
PUBLISH_CASES = "publish_cases"
OPERATE_EXCHANGE = "operate_exchange"
ADMINISTER_EXCHANGE = "administer_exchange"
VIEW_AUDIT = "view_audit"
ADMINISTER_PROCESSES = "administer_processes"
ADMINISTER_TIME_LIMITS = "administer_time_limits"
ADMINISTER_ORG = "administer_org"
SEE_STATISTICS = "see_statistics"
MANAGE_BULLETINS = "manage_bulletins"
CORRECT_CASE = "correct_case"
CHANNEL_FEED = "channel_feed"  # channel keys only

PERMISSIONS: dict[str, str] = {
    PUBLIC: "公开访问（无需登录）",
    SIGNED_IN: "登录后使用待办、通知和个人设置",
    REGISTER_COMPLAINT: "登记投诉",
    VIEW_CASE: "查看案件",
    VIEW_CONTACT_DATA: "查看投诉人联系方式（每次查看留痕）",
    VIEW_EVIDENCE: "查看、下载案件的证据材料（每次下载留痕）",
    ADD_EVIDENCE: "为未办结的案件补充上传证据材料",
    VIEW_TASK: "查看任务",
    WORK_TASK: "认领、办理本部门本岗位的任务",
    UNCLAIM_TASK: "退回认领",
    UNCLAIM_FOR_OTHERS: "退回他人认领的任务（部门负责人）",
    PAUSE_CLOCK: "暂停、恢复计时",
    REQUEST_SUPPLEMENT: "要求投诉人补正材料",
    DECIDE_DUPLICATES: "合并或排除疑似重复投诉",
    SEE_OVERDUE: "查看逾期督办",
    VIEW_RECORDS: "查看违约失信记录",
    APPLY_FOR_REPAIR: "申请信用修复",
    MANAGE_MEASURES: "实施、解除失信惩戒措施，维护措施清单",
    PUBLISH_CASES: "选定、脱敏编辑、撤下曝光典型案例（审核由信用处负责人在待办中办理）",
    OPERATE_EXCHANGE: "查看、重试平台推送",
    ADMINISTER_EXCHANGE: "维护推送平台的字段与代码对照",
    VIEW_AUDIT: "查询审计日志",
    ADMINISTER_PROCESSES: "流程管理（部署、迁移、实例修复）",
    ADMINISTER_TIME_LIMITS: "维护办理时限和工作日历",
    ADMINISTER_ORG: "部门和用户管理",
    SEE_STATISTICS: "查看统计调度、调度通报和年度考核",
    MANAGE_BULLETINS: "生成、审核调度通报，维护年度考核评分表",
    CORRECT_CASE: "纠错：将案件退回到此前的办理步骤（写明理由，撤回据此作出的违约失信记录）",
    CHANNEL_FEED: "（渠道密钥）跟踪本渠道投诉的办理进展",
}

_CASE_WORK = {SIGNED_IN, VIEW_CASE, VIEW_CONTACT_DATA, VIEW_EVIDENCE, ADD_EVIDENCE, VIEW_TASK, WORK_TASK,
              UNCLAIM_TASK, PAUSE_CLOCK, REQUEST_SUPPLEMENT, VIEW_RECORDS}

# role code (engine.org.models.ROLES) → what it grants; an official holds the union of their roles' grants
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "intake": frozenset(_CASE_WORK | {REGISTER_COMPLAINT, DECIDE_DUPLICATES, SEE_STATISTICS}),  # 受理登记人员
    "official": frozenset(_CASE_WORK | {APPLY_FOR_REPAIR}),  # 部门经办人员
    "leader": frozenset(_CASE_WORK | {APPLY_FOR_REPAIR, UNCLAIM_FOR_OTHERS}),  # 部门负责人
    "prefecture_lead": frozenset(_CASE_WORK | {SEE_OVERDUE, SEE_STATISTICS}),  # 州（市）信用牵头单位
    "ndrc": frozenset(_CASE_WORK | {  # 省发展改革委信用处
        REGISTER_COMPLAINT, DECIDE_DUPLICATES, SEE_OVERDUE, APPLY_FOR_REPAIR, MANAGE_MEASURES, PUBLISH_CASES,
        OPERATE_EXCHANGE, ADMINISTER_EXCHANGE, VIEW_AUDIT, ADMINISTER_TIME_LIMITS, SEE_STATISTICS, MANAGE_BULLETINS,
        CORRECT_CASE}),
    "process_admin": frozenset({SIGNED_IN, VIEW_CASE, VIEW_TASK, ADMINISTER_PROCESSES}),  # 流程管理员
    "sysadmin": frozenset({  # 系统管理员: no case contents
        SIGNED_IN, ADMINISTER_PROCESSES, ADMINISTER_TIME_LIMITS, ADMINISTER_ORG, VIEW_AUDIT, OPERATE_EXCHANGE,
        ADMINISTER_EXCHANGE}),
}
# a channel's X-Api-Key: submit complaints, read its own (a reduced view, chosen by the web layer) and send and
# list the files of its own complaints (engine.intake.services; it downloads none)
CHANNEL_PERMISSIONS = frozenset({PUBLIC, REGISTER_COMPLAINT, VIEW_CASE, VIEW_EVIDENCE, ADD_EVIDENCE, CHANNEL_FEED})

MESSAGES: dict[str, str] = {
    REGISTER_COMPLAINT: "只有受理登记人员和省发展改革委信用处人员可以登记投诉",
    VIEW_CASE: "您无权查看该案件",
    VIEW_EVIDENCE: "证据材料仅省发展改革委、受理登记人员和承办部门可以查看",
    ADD_EVIDENCE: "只有省发展改革委、受理登记人员或承办部门可以为案件补充证据材料",
    VIEW_TASK: "您无权查看该任务",
    WORK_TASK: "该任务不属于您所在部门或您的岗位，无权处理",
    UNCLAIM_TASK: "只有认领人或部门负责人可以退回认领",
    PAUSE_CLOCK: ("只有省发展改革委、受理登记人员或认定部门可以暂停、恢复计时；"
                  "被投诉主体不能暂停本案计时，确有正当理由的，可在报告整改情况时申请延期，由认定部门决定"),
    REQUEST_SUPPLEMENT: ("只有省发展改革委、受理登记人员或承办部门可以要求投诉人补正材料；"
                         "被投诉主体不能向投诉人提出补正要求"),
    DECIDE_DUPLICATES: "只有受理登记人员和省发展改革委信用处人员可以处理疑似重复投诉",
    SEE_OVERDUE: "只有省发展改革委和州（市）信用牵头单位可以查看逾期督办",
    VIEW_RECORDS: "您无权查看该违约失信记录",
    APPLY_FOR_REPAIR: "只有被投诉主体或其上级部门可以申请信用修复",
    MANAGE_MEASURES: "只有省发展改革委可以实施、解除惩戒措施或维护措施清单",
    PUBLISH_CASES: "只有省发展改革委可以选定、编辑或撤下曝光典型案例",
    OPERATE_EXCHANGE: "只有省发展改革委或系统管理员可以查看和重试平台推送",
    ADMINISTER_EXCHANGE: "只有省发展改革委或系统管理员可以维护推送平台的字段与代码对照",
    VIEW_AUDIT: "只有系统管理员和省发展改革委可以查询审计日志",
    ADMINISTER_PROCESSES: "只有流程管理员或系统管理员可以管理流程",
    ADMINISTER_TIME_LIMITS: "只有省发展改革委或系统管理员可以维护办理时限和工作日历",
    ADMINISTER_ORG: "只有系统管理员可以管理部门和用户",
    SEE_STATISTICS: "只有省发展改革委和州（市）信用牵头单位可以查看统计调度",
    MANAGE_BULLETINS: "只有省发展改革委可以生成、审核调度通报和维护考核评分表",
    CORRECT_CASE: "只有省发展改革委可以纠错退回案件",
}
Principal = Official | ChannelKey | None
CLOSED_STATUSES = frozenset({"closed", "merged"})  # no more evidence is added to these


def granted(official: Official) -> frozenset[str]:
    """Everything the official's roles grant (nothing once deactivated)."""
    if not official.is_active:
        return frozenset()
    found: set[str] = {SIGNED_IN}
    for role in official.roles or []:
        found |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(found)


def allowed(principal: Principal, permission: str, obj: Any = None) -> bool:
    """May `principal` do `permission` (to `obj`, when given)? Unknown permissions are refused."""
    if permission == PUBLIC:
        return True
    if principal is None:
        return False
    if isinstance(principal, ChannelKey):
        return (principal.revoked_at is None and permission in CHANNEL_PERMISSIONS
                and (obj is None or _channel_rule(principal, permission, obj)))
    if permission not in granted(principal):
        return False
    rule = _RULES.get(permission)
    return rule is None or rule(principal, obj)


def require(principal: Principal, permission: str, obj: Any = None, message: str | None = None) -> None:
    """Raise PermissionDenied (Chinese message) unless `allowed(...)`."""
    if not allowed(principal, permission, obj):
        raise PermissionDenied(message or MESSAGES.get(permission, "无权执行此操作"))


def roles_granting(permission: str) -> list[str]:
    """Role codes whose grant contains `permission` (for pages and docs)."""
    return [role for role, grants in ROLE_PERMISSIONS.items() if permission in grants]


# --- the rules for one object -----------------------------------------------------------------------------

def sees_all_cases(official: Official) -> bool:
    """The provincial DRC: role ndrc, or an official of the province-level credit lead department."""
    dept = official.department
    return official.has_role("ndrc") or (dept.level == "province" and dept.is_credit_lead)


def prefecture_lead_of(official: Official) -> str | None:
    """The prefecture a prefecture lead (role prefecture_lead in a prefecture's credit lead department) answers
    for — its overdue list and statistics — or None. Others of that department (e.g. intake) are not leads."""
    dept = official.department
    if official.has_role("prefecture_lead") and dept.is_credit_lead and dept.level == "prefecture":
        return dept.prefecture_code
    return None


def _view_case(official: Official, complaint: Complaint | None) -> bool:
    """The provincial DRC sees all; a prefecture lead its prefecture; others where their department
    registered the case or holds or held one of its tasks."""
    if complaint is None or sees_all_cases(official):
        return True
    dept = official.department
    if complaint.intake_department_id == dept.id:
        return True
    if (dept.is_credit_lead and dept.prefecture_code and complaint.respondent is not None
            and complaint.respondent.prefecture_code == dept.prefecture_code):
        return True
    return _took_part(official, complaint)


def _took_part(official: Official, complaint: Complaint) -> bool:
    session = object_session(complaint)
    return session is not None and bool(session.scalar(select(exists().where(
        HumanTask.complaint_id == complaint.id, HumanTask.department_id == official.department_id))))


def _view_contact(official: Official, complaint: Complaint | None) -> bool:
    """Contact data and evidence files: the provincial DRC and intake officials, and the handling departments of
    the case (its determining department, or one that holds or held a task) — never the respondent, never from
    the mere prefecture overview, never administrators."""
    if complaint is None:
        return True
    if not _view_case(official, complaint):
        return False
    if official.has_role("ndrc") or official.has_role("intake"):
        return True
    dept_id = official.department_id
    if complaint.respondent_id == dept_id:
        return False
    return complaint.supervisor_id == dept_id or _took_part(official, complaint)


def _add_evidence(official: Official, complaint: Complaint | None) -> bool:
    """Those who may read the case's evidence, while the case is open (not closed, not merged)."""
    if complaint is None:
        return True
    return complaint.status not in CLOSED_STATUSES and _view_contact(official, complaint)


def _work_task(official: Official, human: HumanTask | None) -> bool:
    """Its department, and its role when the lane demands one."""
    return human is None or (human.department_id == official.department_id
                             and (human.role is None or official.has_role(human.role)))


def _view_task(official: Official, human: HumanTask | None) -> bool:
    """Those who may work on a task may read it; so may those who may see its case."""
    if human is None or (WORK_TASK in granted(official) and _work_task(official, human)):
        return True
    complaint = object_session(human).get(Complaint, human.complaint_id) if human.complaint_id else None
    return complaint is not None and allowed(official, VIEW_CASE, complaint)


def _unclaim(official: Official, human: HumanTask | None) -> bool:
    if human is None:
        return True
    return _work_task(official, human) and (
        human.claimed_by_id in (official.id, None) or UNCLAIM_FOR_OTHERS in granted(official))


def _pause_clock(official: Official, complaint: Complaint | None) -> bool:
    """The provincial DRC, intake officials, the determining department or a department holding an open task —
    never the respondent: it may not stop the clock on its own deadlines (it applies for an extension instead)."""
    return _steers_case(official, complaint)


def _request_supplement(official: Official, complaint: Complaint | None) -> bool:
    """As `_pause_clock`: the respondent never asks the complainant for material."""
    return _steers_case(official, complaint)


def _steers_case(official: Official, complaint: Complaint | None) -> bool:
    if complaint is None:
        return True
    if not _view_case(official, complaint) or is_respondent_of(official, complaint):
        return False
    return (official.has_role("ndrc") or official.has_role("intake")
            or complaint.supervisor_id == official.department_id or _holds_open_task(official, complaint))


def is_respondent_of(official: Official, complaint: Complaint) -> bool:
    """Whether the official works for the body the complaint is about."""
    return complaint.respondent_id is not None and complaint.respondent_id == official.department_id


def _holds_open_task(official: Official, complaint: Complaint) -> bool:
    session = object_session(complaint)
    return session is not None and session.scalar(select(HumanTask.id).where(
        HumanTask.complaint_id == complaint.id, HumanTask.completed_at.is_(None),
        HumanTask.department_id == official.department_id).limit(1)) is not None


def _decide_duplicates(official: Official, candidate: DuplicateCandidate | None) -> bool:
    return candidate is None or (_view_case(official, candidate.complaint) and _view_case(official, candidate.other))


def _see_overdue(official: Official, _obj: Any) -> bool:
    return official.has_role("ndrc") or bool(prefecture_lead_of(official))


def _see_statistics(official: Official, _obj: Any) -> bool:
    """The provincial DRC (all of Yunnan) and prefecture credit leads (their prefecture: engine.oversight.scope)."""
    return sees_all_cases(official) or bool(prefecture_lead_of(official))


def _view_record(official: Official, record: BreachRecord | None) -> bool:
    """The provincial DRC all; a prefecture lead its prefecture; the determining department and the respondent."""
    if record is None or sees_all_cases(official):
        return True
    dept = official.department
    return (dept.id in (record.determining_department_id, record.respondent_id)
            or (dept.is_credit_lead and bool(dept.prefecture_code)
                and record.respondent_prefecture == dept.prefecture_code))


def _apply_for_repair(official: Official, record: BreachRecord | None) -> bool:
    """The respondent itself, its superior, or the provincial DRC on their behalf."""
    if record is None or official.has_role("ndrc"):
        return True
    respondent = record.respondent
    dept_id = official.department_id
    return respondent is not None and dept_id in (respondent.id, respondent.superior_id)


_RULES = {
    VIEW_CASE: _view_case, VIEW_CONTACT_DATA: _view_contact, VIEW_TASK: _view_task, WORK_TASK: _work_task,
    VIEW_EVIDENCE: _view_contact, ADD_EVIDENCE: _add_evidence, UNCLAIM_TASK: _unclaim, PAUSE_CLOCK: _pause_clock, REQUEST_SUPPLEMENT: _request_supplement,
    DECIDE_DUPLICATES: _decide_duplicates,
    SEE_OVERDUE: _see_overdue, VIEW_RECORDS: _view_record, APPLY_FOR_REPAIR: _apply_for_repair,
    SEE_STATISTICS: _see_statistics,
}


def _channel_rule(key: ChannelKey, permission: str, obj: Any) -> bool:
    """A channel reads the complaints it registered or that answer for one of its references, and lists and adds
    the files it sends for them."""
    if permission not in (VIEW_CASE, VIEW_EVIDENCE, ADD_EVIDENCE) or not isinstance(obj, Complaint):
        return False
    from engine.intake.services import channel_refs

    return obj.channel == key.channel or bool(channel_refs(object_session(obj), key.channel, obj))


# --- the SQL twins: which rows a list may show -------------------------------------------------------------

def case_filter(official: Official) -> ColumnElement[bool] | None:
    """SQL condition on Complaint for the cases `official` may see (None: all)."""
    if VIEW_CASE not in granted(official):
        return false()
    if sees_all_cases(official):
        return None
    dept = official.department
    took_part = exists().where(HumanTask.complaint_id == Complaint.id, HumanTask.department_id == dept.id)
    conditions = [Complaint.intake_department_id == dept.id, took_part]
    if dept.is_credit_lead and dept.prefecture_code:
        from engine.org.models import Department

        conditions.append(Complaint.respondent.has(Department.prefecture_code == dept.prefecture_code))
    return or_(*conditions)


def record_filter(official: Official) -> ColumnElement[bool] | None:
    """SQL condition on BreachRecord for the records `official` may see (None: all)."""
    if VIEW_RECORDS not in granted(official):
        return false()
    if sees_all_cases(official):
        return None
    dept = official.department
    conditions = [BreachRecord.determining_department_id == dept.id, BreachRecord.respondent_id == dept.id]
    if dept.is_credit_lead and dept.prefecture_code:
        conditions.append(BreachRecord.respondent_prefecture == dept.prefecture_code)
    return or_(*conditions)


def overdue_prefecture(official: Official) -> str | None:
    """The scope of the overdue view: None for the whole province (provincial DRC), else a prefecture code."""
    require(official, SEE_OVERDUE)
    return None if official.has_role("ndrc") else prefecture_lead_of(official)
