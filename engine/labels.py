"""Chinese labels for the codes the system stores, so that no page shows a raw code: one lookup by vocabulary.

`value_label(field, value)` names a stored value by the field it sits in (status, channel, result, role …), and
`field_label(field)` names the field; both fall back to a neutral Chinese text rather than the code. Used by
the audit log's before/after values and anywhere a code from the database meets a person.
"""
from __future__ import annotations

from typing import Any

from engine.cases.models import BREACH_TYPES, CHANNELS, DOMAINS
from engine.cases.status import RESULTS, STATUSES
from engine.credit.models import RECORD_STATUSES, RECTIFICATION_STATES, SEVERITIES
from engine.org.models import ROLES

INSTANCE_STATUSES = {"running": "办理中", "paused": "暂停计时", "suspended": "已挂起", "error": "出错",
                     "completed": "已完成"}
NOTIFICATION_KINDS = {"reminder": "到期提醒", "escalation": "逾期督办", "info": "通知", "bulletin": "调度通报",
                      "supervision": "挂牌督办", "objection": "异议", "rating": "评价", "supplement": "补正"}
OBJECT_TYPES = {
    "complaint": "案件", "human_task": "任务", "process_instance": "流程实例", "process_model": "流程版本",
    "breach_record": "违约失信记录", "applied_measure": "惩戒措施", "measure_type": "惩戒措施清单",
    "platform_delivery": "平台推送", "official": "用户", "department": "部门", "api_token": "访问令牌",
    "channel_key": "渠道密钥", "audit_event": "审计日志", "time_limit": "办理时限", "calendar_year": "工作日历",
    "typical_case": "典型案例", "evidence_file": "证据材料", "supplement_request": "补正要求", "lane_role": "泳道角色",
    "bulletin": "调度通报", "assessment_sheet": "考核评分表", "official_session": "登录会话",
    "document_template": "公文模板", "official_document": "公文",
}
ACTORS = {"cli": "命令行", "system": "系统", "api": "系统接口", "scheduler": "定时任务"}
FIELD_LABELS = {
    "status": "状态", "result": "办结结果", "channel": "渠道", "task": "任务", "form": "表单", "via": "途径",
    "tracking_code": "受理编号", "roles": "岗位", "role": "岗位", "department": "部门", "reason": "原因",
    "version": "版本", "count": "条数", "page": "页码", "action": "操作", "actor": "人员", "since": "起",
    "until": "止", "complaint_id": "案件", "file_name": "文件名", "label": "说明", "username": "用户名",
    "is_active": "启用", "severity": "失信程度", "domain": "领域", "breach_type": "失信类型",
    "rectification_state": "整改状态", "key": "编号", "amount": "数额", "unit": "单位", "document_number": "文号",
    "accepted": "受理", "outcome": "核实结论", "remarks": "意见", "deadline": "期限", "approved": "同意",
    "explanation": "说明", "requirements": "整改要求", "rectified": "整改到位", "review_comment": "审查意见",
    "national_report_number": "上报文号", "basis": "认定依据", "facts": "事实", "department_code": "部门",
    "method": "处理方式", "resolution": "处理结果", "completed": "已完成", "measures": "措施",
    "request_extension": "申请延期", "extension_reason": "延期理由", "extension_approved": "同意延期",
    "new_deadline": "新期限", "decision_reason": "决定理由", "respondent_reason": "未履约理由", "score": "评分",
    "comment": "意见", "contact_person": "联系人", "contact_phone": "联系电话", "contact_address": "联系地址",
    "contact_email": "电子邮箱", "note": "说明", "due_date": "期限", "answer_text": "答复", "record_id": "记录",
    "measure_code": "措施", "prefix": "文号前缀", "ip": "地址",
}
TASK_TITLES = {  # the bundled diagrams' task ids (a renamed or added task shows its id until listed here)
    "screening": "受理审查", "designate_supervisor": "指定认定部门", "verify": "核实认定", "resolve_dispute": "协调分歧",
    "order_rectification": "督促整改", "decide_extension": "审查延期申请", "report_rectification": "报告整改情况",
    "review_rectification": "审查整改情况", "confirm_breach_task": "确认违约失信", "ndrc_review": "复核并上报",
}
UNITS = {"workday": "工作日", "day": "日"}
_BY_FIELD: dict[str, dict[str, str]] = {
    "status": {**STATUSES, **RECORD_STATUSES, **INSTANCE_STATUSES}, "result": RESULTS, "channel": CHANNELS,
    "role": ROLES, "roles": ROLES, "domain": DOMAINS, "breach_type": BREACH_TYPES, "severity": SEVERITIES,
    "rectification_state": RECTIFICATION_STATES, "unit": UNITS, "kind": NOTIFICATION_KINDS,
    "object_type": OBJECT_TYPES, "task": TASK_TITLES, "via": {"case_page": "案件页面", "api": "接口", "export": "导出", "browser": "浏览器"},
}


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, "其他")


def value_label(field: str, value: Any) -> str:
    """A stored value as a person reads it: codes by their label, booleans 是/否, empty as —."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(value_label(field, item) for item in value) or "—"
    if isinstance(value, dict):
        return describe(value)
    text = str(value)
    known = _BY_FIELD.get(field)
    if known is not None and text in known:
        return known[text]
    for vocabulary in (STATUSES, RESULTS, CHANNELS, ROLES, INSTANCE_STATUSES):
        if text in vocabulary:
            return vocabulary[text]
    return text


def describe(values: dict[str, Any] | None) -> str:
    """A before/after dict as 「状态：受理审查中；渠道：信用云南网站」."""
    if not values:
        return "—"
    return "；".join(f"{field_label(k)}：{value_label(k, v)}" for k, v in values.items())
