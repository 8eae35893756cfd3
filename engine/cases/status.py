"""Names of case statuses and results; the diagram decides which one a case is in."""
from __future__ import annotations

STATUSES = {
    "registered": "已登记",
    "screening": "受理审查中",
    "assigning": "待指定认定部门",
    "forwarding": "待转交",
    "verifying": "核实认定中",
    "negotiating": "协商或依法处理中",
    "ordering": "待下达整改要求",
    "rectifying": "整改中",
    "extension_review": "延期申请审查中",
    "reviewing": "整改审查中",
    "confirming": "违约失信确认中",
    "ndrc_review": "省发展改革委复核中",
    "correcting": "纠错重办中",
    "closed": "已办结",
    "merged": "已合并办理",  # administrative merge of a duplicate (engine/intake/dedup.py)
}

RESULTS = {
    "rejected": "不予受理",
    "unfounded": "经核实不属实",
    "rectified": "已整改办结",
    "disputed_resolved": "分歧已协商或依法解决",
    "breach_reported": "已确认违约失信并上报",
    "merged": "与同一事项的投诉合并办理",
}


def status_label(code: str | None) -> str:
    return STATUSES.get(code or "", code or "")


def result_label(code: str | None) -> str:
    return RESULTS.get(code or "", code or "")
