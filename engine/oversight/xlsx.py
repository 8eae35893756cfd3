"""Spreadsheets (openpyxl) of a bulletin snapshot and of the assessment table: styled, frozen headers, safe text.

Every text cell goes through `neutralise` (engine/exports.py, shared by every export): a value starting with = + - @ (or a tab/CR) would be read by Excel or
LibreOffice as a formula (spreadsheet formula injection); such text gets a leading apostrophe and is stored as a
plain string.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from engine.cases.models import CHANNELS, DOMAINS
from engine.exports import FORMULA_PREFIXES, neutralise  # noqa: F401 - the shared rule, re-exported here
from engine.oversight.figures import FIGURES, INTAKE_HEADINGS

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TITLE_FONT = Font(bold=True, size=14)
THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
FORMATS = {"int": "#,##0", "rate": "0.0%", "days": "0.0", "score": "0.00", "text": "@"}


def bulletin_workbook(bulletin: Any) -> bytes:
    """The bulletin as .xlsx: overview with the key figures, the charts' tables, stage times and both rankings."""
    from engine.oversight.bulletins import RANK_COLUMNS, RATE_COLUMNS, data_as_of, local_time_text, overview

    snapshot = bulletin.snapshot or {}
    figures = snapshot.get("figures") or {}
    wb = Workbook()
    ws = wb.active
    ws.title = "概况"
    key_figures = [(FIGURES[key].row_label, number, "rate" if FIGURES[key].rate else "int")
                   for key, _label, number, _unit in overview(snapshot)]
    ws.append([neutralise(bulletin.title)])
    ws["A1"].font = TITLE_FONT
    ws.merge_cells("A1:B1")
    period = snapshot.get("period") or {}
    ws.append(["统计期间", neutralise(period.get("label", ""))])
    ws.append(["版本", f"第 {bulletin.revision} 版"])
    generated, complete = data_as_of(bulletin)
    ws.append(["生成时间", local_time_text(generated) + ("" if complete or generated is None else "（统计期尚未结束）")])
    ws.append(["审核意见", neutralise(bulletin.remarks or "")])
    ws.append([])
    header_row = ws.max_row + 1
    _table(ws, ("指标", "数值"), [(label, value) for label, value, _ in key_figures],
           [None, [fmt for _, _, fmt in key_figures]], start_row=header_row)

    _intake_sheet(wb, "按渠道", "渠道", figures.get("by_channel") or {}, CHANNELS)
    _intake_sheet(wb, "按领域", "领域", figures.get("by_domain") or {}, DOMAINS)
    from engine.oversight.scope import GROUP_LABELS

    _intake_sheet(wb, "按州（市）", "州（市）", figures.get("by_prefecture") or {}, GROUP_LABELS)
    _intake_sheet(wb, "按月", "月份", figures.get("by_month") or {}, {})
    stages = figures.get("stages") or []
    ws = wb.create_sheet("各环节用时")
    _table(ws, ("环节", "件数", "平均（天）", "中位数（天）", "90%分位（天）"),
           [(s.get("label"), s.get("count"), s.get("mean_days"), s.get("median_days"), s.get("p90_days")) for s in stages],
           [None, "int", "days", "days", "days"])
    for name, rows, who in (("州（市）排名", snapshot.get("prefectures") or [], "州（市）"),
                            ("部门排名", snapshot.get("departments") or [], "部门")):
        ws = wb.create_sheet(name)
        columns = list(RANK_COLUMNS)
        _table(ws, ("排名", who, *RANK_COLUMNS.values()),
               [(r.get("rank"), r.get("label"), *(r.get(c) for c in columns)) for r in rows],
               ["int", None, *("rate" if c in RATE_COLUMNS else "int" for c in columns)], autofilter=True)
    return _bytes(wb)


def assessment_workbook(year: int, sheet: Any, rows: Sequence[Any], indicators: dict[str, str]) -> bytes:
    """The annual assessment: one row per prefecture and provincial department with each formula; the weights."""
    wb = Workbook()
    ws = wb.active
    ws.title = "考核结果"
    keys = list(indicators)
    _table(ws, ("类别", "单位", *(f"{label}" for label in indicators.values()), "得分", "计算公式"),
           [(r.kind_label, r.label, *(r.rates[k] for k in keys), r.score, r.formula) for r in rows],
           [None, None, *("rate" for _ in keys), "score", None], autofilter=True)
    ws = wb.create_sheet("评分表")
    _table(ws, ("指标", "权重（分）"), [(indicators[k], sheet.weights.get(k, 0)) for k in keys], [None, "score"])
    ws.append([])
    ws.append(["重复失信每个主体扣减该项得分（百分点）", sheet.repeat_deduction])
    ws.append(["说明", neutralise(sheet.note or "")])
    ws.append(["考核年度", year])
    return _bytes(wb)


def _intake_sheet(wb: Workbook, title: str, first: str, data: dict[str, dict], labels: dict[str, str]) -> None:
    ws = wb.create_sheet(title)
    _table(ws, (first, *INTAKE_HEADINGS.values()),
           [(labels.get(key, key), *((values or {}).get(k, 0) for k in INTAKE_HEADINGS)) for key, values in data.items()],
           [None, *("int" for _ in INTAKE_HEADINGS)])


def _table(ws: Worksheet, header: Sequence[str], rows: Iterable[Sequence[Any]], formats: Sequence[Any],
           start_row: int | None = None, autofilter: bool = False) -> None:
    """Header (styled, frozen unless the sheet has a freeze already), rows with number formats per column,
    column widths from the widest value. Data cells get no per-cell style objects: openpyxl's style lookups
    are what makes large sheets slow.

    `formats[i]` is a key of FORMATS for column i, None for text, or a list giving one format per row.
    """
    row_no = start_row or (1 if ws.max_row == 1 and ws["A1"].value is None else ws.max_row + 1)
    widths = {col: _width(name) for col, name in enumerate(header, start=1)}
    for col, name in enumerate(header, start=1):
        cell = ws.cell(row=row_no, column=col, value=neutralise(name))
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    first = row_no + 1
    for index, values in enumerate(rows):
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=first + index, column=col)
            fmt = formats[col - 1] if col - 1 < len(formats) else None
            fmt = fmt[index] if isinstance(fmt, list) else fmt
            if fmt is None or isinstance(value, str):
                cell.value = neutralise("" if value is None else str(value))
                cell.data_type = "s"
                shown = cell.value
            else:
                cell.value = value
                cell.number_format = FORMATS[fmt]
                shown = f"{value:.1%}" if fmt == "rate" and isinstance(value, float) else value
            widths[col] = max(widths.get(col, 0), _width(shown))
    if ws.freeze_panes is None:
        ws.freeze_panes = ws.cell(row=first, column=1)
    if autofilter and ws.max_row >= first:
        ws.auto_filter.ref = f"A{row_no}:{get_column_letter(len(header))}{ws.max_row}"
    for col, width in widths.items():
        current = ws.column_dimensions[get_column_letter(col)].width or 0
        ws.column_dimensions[get_column_letter(col)].width = min(max(width, current, 8), 60)


def _width(value: Any) -> int:
    """Display width of a value: CJK characters count double, plus a margin."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) + 2


def _bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
