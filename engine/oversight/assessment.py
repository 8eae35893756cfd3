"""The annual assessment table (年度考核): a per-year scoring sheet and one scored row per prefecture and per
provincial department, each with the formula that produced its score.

score = Σ weight × indicator rate, the weights summing to 100:
- 核实认定按时率: verify tasks done by their due time / verify tasks due in the year (statistics.RankRow);
- 整改率: rectified / (rectified + confirmed as breach) of the year's founded cases;
- 数据质量: mean of record completeness (records with every required field) and timely delivery to the
  platform (versions delivered within a day, not failing); the parts without data are left out;
- 惩戒措施落实率: the year's breach records with at least one measure applied / the year's records;
- 重复失信控制: 1 − (respondents with a repeated breach × the deduction per respondent), at least 0.
An indicator with no data (no case of that kind in the year) counts as 100 % and the formula says so.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.errors import FormInvalid
from engine.org.models import Department, Official
from engine.oversight import statistics
from engine.oversight.models import AssessmentSheet
from engine.oversight.periods import Period
from engine.oversight.scope import PROVINCE_CODE
from engine.oversight.xlsx import neutralise
from engine.workflow import clock

logger = logging.getLogger(__name__)
INDICATORS: dict[str, str] = {
    "on_time_verification": "核实认定按时率",
    "rectification": "整改率",
    "data_quality": "数据质量",
    "punishment": "惩戒措施落实率",
    "repeated_breaches": "重复失信控制",
}
DEFAULT_WEIGHTS: dict[str, float] = {"on_time_verification": 30, "rectification": 25, "data_quality": 15,
                                     "punishment": 20, "repeated_breaches": 10}
DEFAULT_REPEAT_DEDUCTION = 20.0
KIND_LABELS = {"prefecture": "州（市）", "department": "省直部门"}


@dataclass
class AssessmentRow:
    kind: str
    key: str
    label: str
    rates: dict[str, float]  # the rate each indicator was scored with (no data → 1.0)
    no_data: list[str]  # indicators without data in the year
    score: float
    formula: str
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "kind_label": self.kind_label, "key": self.key, "label": self.label,
                "rates": self.rates, "no_data": self.no_data, "score": self.score, "formula": self.formula,
                "counts": self.counts}


def sheet_for(session: Session, year: int) -> AssessmentSheet:
    """The year's sheet; without one, the latest earlier year's weights, else the defaults (not saved)."""
    sheet = session.scalar(select(AssessmentSheet).where(AssessmentSheet.year == year))
    if sheet is not None:
        return sheet
    earlier = session.scalar(select(AssessmentSheet).where(AssessmentSheet.year < year)
                             .order_by(AssessmentSheet.year.desc()).limit(1))
    if earlier is not None:
        return AssessmentSheet(year=year, weights=dict(earlier.weights), repeat_deduction=earlier.repeat_deduction,
                               note=earlier.note, updated_by=f"沿用 {earlier.year} 年评分表")
    return AssessmentSheet(year=year, weights=dict(DEFAULT_WEIGHTS), repeat_deduction=DEFAULT_REPEAT_DEDUCTION,
                           note="", updated_by="系统默认")


def validate_sheet(weights: dict[str, Any], repeat_deduction: Any) -> tuple[dict[str, float], float]:
    """Weights: one non-negative number per indicator, summing to 100; the deduction between 0 and 100."""
    errors: dict[str, str] = {}
    clean: dict[str, float] = {}
    for key, label in INDICATORS.items():
        value = weights.get(key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors[key] = f"请填写「{label}」的权重（数字）"
            continue
        if number < 0:
            errors[key] = f"「{label}」的权重不能为负数"
        clean[key] = round(number, 4)
    unknown = set(weights) - set(INDICATORS)
    if unknown:
        errors["_form"] = f"未知的指标：{'、'.join(sorted(unknown))}"
    if not errors and abs(sum(clean.values()) - 100) > 1e-6:
        errors["_form"] = f"各项权重之和应为 100，当前为 {sum(clean.values()):g}"
    try:
        deduction = float(repeat_deduction)
        if not 0 <= deduction <= 100:
            errors["repeat_deduction"] = "每个重复失信主体的扣减应在 0 到 100 个百分点之间"
    except (TypeError, ValueError):
        deduction = 0.0
        errors["repeat_deduction"] = "请填写每个重复失信主体的扣减（数字）"
    if errors:
        raise FormInvalid(errors)
    return clean, deduction


def save_sheet(session: Session, year: int, weights: dict[str, Any], repeat_deduction: Any, note: str,
               actor: Official, now: datetime | None = None) -> AssessmentSheet:
    """Create or change the year's scoring sheet (provincial DRC only; checked by the caller's guard)."""
    clean, deduction = validate_sheet(weights, repeat_deduction)
    if not 2000 <= year <= 2100:
        raise FormInvalid({"year": "请填写四位数年份"})
    sheet = session.scalar(select(AssessmentSheet).where(AssessmentSheet.year == year))
    before = {"weights": sheet.weights, "repeat_deduction": sheet.repeat_deduction} if sheet else None
    if sheet is None:
        sheet = AssessmentSheet(year=year)
        session.add(sheet)
    sheet.weights, sheet.repeat_deduction, sheet.note = clean, deduction, (note or "").strip()
    sheet.updated_by, sheet.updated_at = actor.label, now or clock.now()
    session.flush()
    audit(session, "assessment_sheet_saved", actor, "assessment_sheet", str(sheet.id), before=before,
          after={"year": year, "weights": clean, "repeat_deduction": deduction})
    logger.info("%s saved the %s assessment sheet: %s", actor.username, year, clean)
    return sheet


def assessment(session: Session, year: int, now: datetime | None = None) -> tuple[AssessmentSheet, list[AssessmentRow]]:
    """The year's table: the 16 prefectures, then every provincial department (highest score first in each)."""
    sheet = sheet_for(session, year)
    period = Period.year(year)
    prefectures = [r for r in statistics.ranking(session, period, by="prefecture", now=now) if r.key != PROVINCE_CODE]
    by_dept = {r.key: r for r in statistics.ranking(session, period, by="department", now=now, level="province")}
    for dept in session.scalars(select(Department).where(Department.level == "province",
                                                         Department.is_active.is_(True))):
        by_dept.setdefault(str(dept.id), statistics.RankRow(key=str(dept.id), label=dept.name))
    rows = [score_row("prefecture", r, sheet) for r in prefectures]
    departments = [score_row("department", r, sheet) for r in by_dept.values()]
    rows.sort(key=lambda r: (-r.score, r.key))
    departments.sort(key=lambda r: (-r.score, r.label))
    return sheet, rows + departments


def score_row(kind: str, row: statistics.RankRow, sheet: AssessmentSheet) -> AssessmentRow:
    """Score one unit with the sheet; the formula names every weight and rate."""
    measured = indicator_rates(row, sheet.repeat_deduction)
    rates = {k: (1.0 if v is None else v) for k, v in measured.items()}
    no_data = [k for k, v in measured.items() if v is None]
    parts, values = [], []
    for key in INDICATORS:
        weight = float(sheet.weights.get(key, 0))
        if key == "repeated_breaches":
            term = f"(1−{row.repeat_respondents}×{sheet.repeat_deduction:g}%)"
            term = f"{weight:g}×" + (f"max(0, {term[1:-1]})" if rates[key] == 0 and row.repeat_respondents else term)
        else:
            term = f"{weight:g}×{rates[key]:.1%}" + ("*" if key in no_data else "")
        parts.append(term)
        values.append(round(weight * rates[key], 2))
    score = round(sum(values), 2)
    formula = " + ".join(parts) + " = " + " + ".join(f"{v:.2f}" for v in values) + f" = {score:.2f}"
    if no_data:
        formula += "（*当年无此项数据，按满分计）"
    counts = {"verify_due": row.verify_due, "verify_on_time": row.verify_on_time, "rectified": row.rectified,
              "breach_reported": row.breach_reported, "breaches_confirmed": row.breaches_confirmed,
              "records_missing": row.records_missing, "records_with_measures": row.records_with_measures,
              "deliveries": row.deliveries, "deliveries_late_or_failing": row.deliveries_late_or_failing,
              "repeat_respondents": row.repeat_respondents}
    return AssessmentRow(kind, row.key, row.label, rates, no_data, score, formula, counts)


def indicator_rates(row: statistics.RankRow, repeat_deduction: float) -> dict[str, float | None]:
    """Each indicator's rate (0..1) for one unit, None when the year has no data for it."""
    quality_parts = [rate for rate in (
        row.data_quality_rate,
        round(1 - row.deliveries_late_or_failing / row.deliveries, 4) if row.deliveries else None,
    ) if rate is not None]
    return {
        "on_time_verification": row.on_time_rate,
        "rectification": row.rectification_rate,
        "data_quality": round(sum(quality_parts) / len(quality_parts), 4) if quality_parts else None,
        "punishment": row.punishment_rate,
        "repeated_breaches": round(max(0.0, 1 - row.repeat_respondents * repeat_deduction / 100), 4),
    }


def assessment_csv(rows: list[AssessmentRow]) -> str:
    """CSV (UTF-8 with BOM for Excel) of the table; text cells neutralised against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["类别", "单位", *INDICATORS.values(), "得分", "计算公式"])
    for r in rows:
        writer.writerow([r.kind_label, neutralise(r.label), *(f"{r.rates[k]:.4f}" for k in INDICATORS),
                         f"{r.score:.2f}", neutralise(r.formula)])
    return "\ufeff" + out.getvalue()
