"""Who may do what: named permissions, the roles that grant them and the rules for one object — the one check.

`allowed(principal, permission, obj=None)` answers for a signed-in official, a channel key or the anonymous
public (None). Without `obj` it says whether the principal may do this kind of thing at all (the role grant:
what a page or endpoint requires); with `obj` it also applies the rule for that case, task or record. Views
declare the permission of each endpoint (web/permissions.py); engine services call `require(...)` with the
object before they act.

This module knows officials and roles only. The rules for one object are registered with `@rule(permission)` by
the package that owns the object (cases: engine/cases/access.py, tasks: engine/workflow/access.py, records:
engine/credit/access.py, duplicates and channel keys: engine/intake/access.py; engine/builtin.py imports them
all); their SQL twins (`case_filter`, `record_filter`) sit beside them, so lists and single pages never disagree.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from engine.errors import PermissionDenied
from engine.org.models import Official

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


class ChannelPrincipal(Protocol):
    """A channel's key (engine.intake.models.ChannelKey) as the check sees it."""

    channel: str
    revoked_at: Any


Principal = Official | ChannelPrincipal | None
Rule = Callable[[Official, Any], bool]
ChannelRule = Callable[[ChannelPrincipal, str, Any], bool]
# the permissions whose answer depends on the object: refused outright until their rule is registered
OBJECT_RULED = frozenset({
    VIEW_CASE, VIEW_CONTACT_DATA, VIEW_TASK, WORK_TASK, VIEW_EVIDENCE, ADD_EVIDENCE, UNCLAIM_TASK, PAUSE_CLOCK,
    REQUEST_SUPPLEMENT, DECIDE_DUPLICATES, SEE_OVERDUE, VIEW_RECORDS, APPLY_FOR_REPAIR, SEE_STATISTICS})
_RULES: dict[str, Rule] = {}
_CHANNEL_RULES: list[ChannelRule] = []


def rule(permission: str) -> Callable[[Rule], Rule]:
    """Register the rule `allowed(official, permission, obj)` applies to one object (or to None)."""

    def register(fn: Rule) -> Rule:
        _RULES[permission] = fn
        return fn

    return register


def channel_rule(fn: ChannelRule) -> ChannelRule:
    """Register what a channel key may do to one object (any registered rule saying yes allows it)."""
    _CHANNEL_RULES.append(fn)
    return fn


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
    if not isinstance(principal, Official):  # a channel key
        return (principal.revoked_at is None and permission in CHANNEL_PERMISSIONS
                and (obj is None or any(check(principal, permission, obj) for check in _CHANNEL_RULES)))
    if permission not in granted(principal):
        return False
    found = _RULES.get(permission)
    if found is None and permission in OBJECT_RULED:
        raise RuntimeError(f"no rule registered for {permission}: call engine.builtin.load_builtin() first")
    return found is None or found(principal, obj)


def require(principal: Principal, permission: str, obj: Any = None, message: str | None = None) -> None:
    """Raise PermissionDenied (Chinese message) unless `allowed(...)`."""
    if not allowed(principal, permission, obj):
        raise PermissionDenied(message or MESSAGES.get(permission, "无权执行此操作"))


def roles_granting(permission: str) -> list[str]:
    """Role codes whose grant contains `permission` (for pages and docs)."""
    return [role for role, grants in ROLE_PERMISSIONS.items() if permission in grants]


# --- the rules that need nothing but the official ---------------------------------------------------------

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


@rule(SEE_OVERDUE)
def _see_overdue(official: Official, _obj: Any) -> bool:
    return official.has_role("ndrc") or bool(prefecture_lead_of(official))


@rule(SEE_STATISTICS)
def _see_statistics(official: Official, _obj: Any) -> bool:
    """The provincial DRC (all of Yunnan) and prefecture credit leads (their prefecture: engine.oversight.scope)."""
    return sees_all_cases(official) or bool(prefecture_lead_of(official))


def overdue_prefecture(official: Official) -> str | None:
    """The scope of the overdue view: None for the whole province (provincial DRC), else a prefecture code."""
    require(official, SEE_OVERDUE)
    return None if official.has_role("ndrc") else prefecture_lead_of(official)
