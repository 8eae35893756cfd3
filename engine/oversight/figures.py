"""Each oversight figure defined once: its key, its Chinese label, its unit and how it is counted.

The statistics (statistics.py) compute the numbers, the drill-down (drill.py) lists what lies behind them, bulletins
(bulletins.py, the pages' templates) and their .xlsx (xlsx.py) show them — all by these definitions, so a figure
has one name everywhere and its list has as many rows as its number. The SQL conditions the statistics and the
drill-down share are in query.py (`verify_due_task`, `overdue_task`, `record_missing`, …).
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.oversight.stages import STAGES


@dataclass(frozen=True)
class Figure:
    """One figure: `label` in overviews, on its drill-down page and in its .xlsx row (with the unit), `short` as
    a column heading of a ranking; `path` where its number sits in `Figures.as_dict()` (None: in rankings only);
    `counts` what one unit is: cases, tasks, records, measures, record versions, or a rate."""

    key: str
    label: str
    unit: str  # 件 条 项 次 个, "" for a rate
    counts: str
    path: str | None = None
    short: str = ""

    @property
    def heading(self) -> str:
        return self.short or self.label

    @property
    def rate(self) -> bool:
        return self.counts == "rate"

    @property
    def row_label(self) -> str:
        """The label with its unit, as the .xlsx overview writes it: 收到投诉（件）."""
        return f"{self.label}（{self.unit}）" if self.unit else self.label


_ALL = [
    Figure("received", "收到投诉", "件", "cases", "intake.received"),
    Figure("accepted", "受理", "件", "cases", "intake.accepted"),
    Figure("rejected", "不予受理", "件", "cases", "intake.rejected"),
    Figure("merged", "合并办理", "件", "cases", "intake.merged"),
    Figure("pending", "待受理审查", "件", "cases", "intake.pending"),
    Figure("verified", "已核实", "件", "cases", "outcomes.verified"),
    Figure("founded", "核实属实", "件", "cases", "outcomes.founded", short="属实"),
    Figure("unfounded", "核实不属实", "件", "cases", "outcomes.unfounded"),
    Figure("disputed", "有分歧", "件", "cases", "outcomes.disputed"),
    Figure("rectifying", "整改中", "件", "cases", "outcomes.rectifying"),
    Figure("rectified", "已整改办结", "件", "cases", "outcomes.rectified", short="已整改"),
    Figure("breach_reported", "确认违约失信办结", "件", "cases", "outcomes.breach_reported"),
    Figure("verify_due", "应核实认定", "件", "tasks", "verification.due", short="应核实"),
    Figure("verify_on_time", "按时核实认定", "件", "tasks", "verification.on_time", short="按时核实"),
    Figure("verify_late", "逾期核实认定", "件", "tasks", None),
    Figure("on_time_rate", "核实认定按时率", "", "rate", "verification.rate", short="核实按时率"),
    Figure("founded_rate", "核实属实率", "", "rate", "outcomes.founded_rate", short="属实率"),
    Figure("rectification_rate", "整改率", "", "rate", "outcomes.rectification_rate"),
    Figure("overdue", "当前逾期任务", "件", "tasks", "overdue.total"),
    Figure("supervised", "当前逾期且挂牌督办", "件", "tasks", "overdue.supervised"),
    Figure("breaches", "确认违约失信", "条", "records", "credit.breaches_confirmed"),
    Figure("records_with_measures", "已实施惩戒的记录", "条", "records", None),
    Figure("punishment_rate", "惩戒落实率", "", "rate", None),
    Figure("repeat_respondents", "重复失信主体", "个", "respondents", "credit.repeat_respondents"),
    Figure("measures_applied", "实施惩戒措施", "项", "measures", "credit.measures_applied"),
    Figure("measures_ended", "解除惩戒措施", "项", "measures", "credit.measures_ended"),
    Figure("repairs", "信用修复", "条", "records", "credit.repairs"),
    Figure("records_missing", "缺少必填字段的记录", "条", "records", "quality.records_missing"),
    Figure("data_quality_rate", "记录完整率", "", "rate", None),
    Figure("deliveries", "推送平台（记录版本）", "次", "versions", "quality.deliveries"),
    Figure("deliveries_on_time", "按时送达的记录版本", "次", "versions", "quality.delivered_on_time"),
    Figure("deliveries_late", "迟报的推送", "次", "versions", "quality.delivered_late"),
    Figure("deliveries_failing", "推送失败", "次", "versions", "quality.failing"),
    Figure("deliveries_pending", "等待推送的记录版本", "次", "versions", "quality.pending"),
    Figure("deliveries_bad", "迟报或推送失败", "次", "versions", None),
]
FIGURES: dict[str, Figure] = {f.key: f for f in _ALL}
FIGURES.update({f"stage:{k}": Figure(f"stage:{k}", f"已完成「{v}」", "件", "cases") for k, v in STAGES.items()
                if k != "total"})

# The overview of a bulletin, on its page and in its .xlsx, in this order.
OVERVIEW = ("received", "accepted", "rejected", "merged", "verify_due", "verify_on_time", "on_time_rate",
            "founded_rate", "rectification_rate", "overdue", "supervised", "breaches", "measures_applied",
            "measures_ended", "repairs", "repeat_respondents", "records_missing", "deliveries_late",
            "deliveries_failing")
# The columns of a ranking (statistics.RankRow attribute → figure); rates are 0..1.
RANK_FIGURES: dict[str, str] = {
    "received": "received", "accepted": "accepted", "verify_due": "verify_due", "verify_on_time": "verify_on_time",
    "on_time_rate": "on_time_rate", "founded": "founded", "rectified": "rectified",
    "rectification_rate": "rectification_rate", "overdue_now": "overdue", "breaches_confirmed": "breaches",
    "records_with_measures": "records_with_measures", "punishment_rate": "punishment_rate",
    "repeat_respondents": "repeat_respondents", "repairs": "repairs", "data_quality_rate": "data_quality_rate",
    "deliveries_late_or_failing": "deliveries_bad",
}
# The columns of the intake tables (by channel, domain, prefecture, month): how screening came out.
INTAKE_HEADINGS: dict[str, str] = {"received": "收到", "accepted": "受理", "rejected": "不予受理",
                                   "merged": "合并办理", "pending": "待审查"}


def value(figures: dict, figure: str) -> object:
    """The number of `figure` in a `Figures.as_dict()` (a bulletin's snapshot), None when absent."""
    node: object = figures
    for part in (FIGURES[figure].path or "").split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def label(figure: str) -> str:
    return FIGURES[figure].label
