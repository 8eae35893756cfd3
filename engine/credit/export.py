"""Exports of breach records in the collection-standard fields: CSV (UTF-8 with BOM), JSON and xlsx.

Spreadsheet formula injection: in CSV and xlsx every text cell starting with = + - @ (or tab/CR) gets a leading
apostrophe and is stored as text (engine.exports, shared with every other export), so Excel, WPS or LibreOffice
show it instead of running it. JSON carries the values exactly as the platforms receive them
(`exchange.payload`): it is data for programs, not cells.
"""
from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.cases.models import DOMAINS
from engine.credit import exchange
from engine.credit.models import (
    MEASURE_LEVELS,
    RECORD_STATUSES,
    RECTIFICATION_STATES,
    SEVERITIES,
    BreachRecord,
)
from engine.db import as_utc
from engine.exports import csv_text, neutralise
from engine.workflow.calendar import SHANGHAI

MEASURES_HEADER = "实施中的惩戒措施（CJCS）"
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# coded values that the spreadsheet shows in Chinese next to the code
_LABELS = {"domain": DOMAINS, "severity": SEVERITIES, "status": RECORD_STATUSES,
           "rectification_state": RECTIFICATION_STATES}


def header() -> list[str]:
    return [f"{label}（{name}）" for name, _attr, label in exchange.RECORD_FIELDS] + [MEASURES_HEADER]


def to_csv(records: Sequence[BreachRecord]) -> str:
    rows = []
    for record in records:
        row = exchange.payload(record, "export")
        rows.append([*(row[name] for name, _a, _l in exchange.RECORD_FIELDS), _active_measures(record)])
    return csv_text(header(), rows)


def to_json(records: Sequence[BreachRecord]) -> str:
    return json.dumps([exchange.payload(r, "export") for r in records], ensure_ascii=False, indent=1)


def to_xlsx(records: Sequence[BreachRecord], now: datetime | None = None) -> bytes:
    """Two sheets: the records (typed cells: numbers, dates) and every measure applied to them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "违约失信记录"
    ws.append(header())
    for record in records:
        cells = [_cell(getattr(record, attr), attr) for _name, attr, _label in exchange.RECORD_FIELDS]
        ws.append([*cells, neutralise(_active_measures(record))])
    measures = wb.create_sheet("惩戒措施")
    measures.append([f"{label}（{name}）" for name, _a, label in exchange.MEASURE_FIELDS] + ["记录编号（JLBH）"])
    for record in records:
        for m in record.measures:
            measures.append([m.id, neutralise(m.measure_type.code), neutralise(m.measure_type.name),
                             MEASURE_LEVELS.get(m.measure_type.level, m.measure_type.level),
                             neutralise(m.applied_by_label), _cell(m.applied_at, ""), neutralise(m.document_number),
                             _cell(m.until, ""), _cell(m.ended_at, ""), neutralise(m.end_reason), record.id])
    for sheet in (ws, measures):
        _force_text(sheet)
        for cell in sheet[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="B71C1C")
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
        for index, column in enumerate(sheet.columns, start=1):
            width = max((len(str(c.value)) if c.value is not None else 0) for c in column)
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width * 1.6, 10), 60)
    wb.properties.creator = "履约 · 政府违约失信投诉处置"
    if now is not None:
        wb.properties.created = wb.properties.modified = as_utc(now).replace(tzinfo=None)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(value: Any, attr: str) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):  # shown in Yunnan time, as officials read times everywhere
        return as_utc(value).astimezone(SHANGHAI).replace(tzinfo=None)
    if isinstance(value, date | int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if attr in _LABELS and text in _LABELS[attr]:
        text = f"{_LABELS[attr][text]}（{text}）"
    return neutralise(text)


def _force_text(sheet: Any) -> None:
    """Every string cell is a string (openpyxl would store a value starting with '=' as a formula)."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"


def _active_measures(record: BreachRecord) -> str:
    return "；".join(m.measure_type.name for m in record.active_measures)
